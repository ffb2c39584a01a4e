"""A run of another model of the plan's family is told apart by its whole size — Mixtral's experts × size, Llama 4's
expert count, GLM's `Air` —, and the hint names the preset the run's model is, as `--set model=…`. A run of
Mixtral-8x22B was fitted on a plan of `mixtral-8x7b` (their names' sizes, `8x22B` and `8x7B`, were not read), a
run of Llama 4 Maverick on one of Scout (both 17B), of GLM-4.5-Air on one of GLM-4.5; a run of another model was
hinted "calibrate with the plan of the model this run measured", naming none."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dagc.calibrate.match import disagreements
from dagc.calibrate.runs import read_runs
from dagc.lang.load import load_plan_text

FIXTURES = Path(__file__).parent / "fixtures" / "calibrate"
PLAN = """model preset "{model}"
cluster {{ gpus = 8  gpu preset "h100-sxm"  engine = vllm }}
workload {{ batch = 64  prompt = 512  generate = 128  serving = inflight  concurrency = 16  requests = 100 }}
strategy tp 8
"""


def said(model_id: str, preset: str) -> list[tuple[str, str | None]]:
    (run,) = read_runs(FIXTURES / "profile_export_aiperf.json")      # a Mixtral 8x7B run of 16 clients, 100 requests
    plan = load_plan_text(PLAN.format(model=preset), "p.moe")
    return [(d.message.partition("`: ")[2], d.hint) for d in disagreements(dataclasses.replace(run, model=model_id),
                                                                          plan, "p.moe") if "model" in d.message]


@pytest.mark.parametrize("model_id, preset, named", [
    ("mistralai/Mixtral-8x22B-Instruct-v0.1", "mixtral-8x7b", "mixtral-8x22b"),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mixtral-8x22b", "mixtral-8x7b"),
    ("meta-llama/Llama-4-Maverick-17B-128E-Instruct", "llama-4-scout", "llama-4-maverick"),
    ("zai-org/GLM-4.5-Air", "glm-4.5", None),
    ("Qwen/Qwen3-30B-A3B", "mixtral-8x7b", "qwen3-30b-a3b"),
])
def test_a_run_of_another_model_names_it_and_its_preset(model_id, preset, named):
    hint = "calibrate with the plan of the model this run measured" + (
        f': `--set model={named}` (in a manifest, `set = ["model={named}"]`)' if named else "")
    assert [h for _, h in said(model_id, preset)] == [hint]


@pytest.mark.parametrize("model_id, preset", [
    ("mistralai/Mixtral-8x7B-v0.1", "mixtral-8x7b"), ("deepseek-ai/DeepSeek-R1", "deepseek-v3"),
    ("meta-llama/Llama-4-Scout-17B-16E", "llama-4-scout"), ("zai-org/GLM-4.5", "glm-4.5"),
    ("/models/my-finetune", "mixtral-8x7b"),
])
def test_a_run_of_the_plans_model_or_an_unknown_name_is_not_refused(model_id, preset):
    assert said(model_id, preset) == []
