"""A run of a differently quantised checkpoint is not of a plan of the model's bf16 weights: `Qwen3-30B-A3B-FP8`
against a `qwen3-30b-a3b` plan was accepted, its kernels fitted as the bf16 model's."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_calibrate_manifest_sets import PLAN, RUN

from dagc.calibrate.match import disagreements
from dagc.calibrate.runs import read_runs
from dagc.lang.load import load_plan_text


def _found(tmp_path: Path, model_id: str, plan: str = PLAN):
    text = RUN.replace('"model_id":"Qwen/Qwen3-30B-A3B"', f'"model_id":"{model_id}"')
    (tmp_path / "run.json").write_text(text)
    (r,) = read_runs(tmp_path / "run.json")
    return disagreements(r, load_plan_text(plan, "plan.moe"), "plan.moe"), text


def test_an_fp8_checkpoint_against_bf16_weights_is_refused_at_its_model_id(tmp_path: Path):
    (d,), text = _found(tmp_path, "Qwen/Qwen3-30B-A3B-FP8")
    assert d.code == "E110" and (d.span.line, d.span.column) == (1, text.index('"model_id"') + 1)
    assert d.message == ("run run.json is not of plan `plan.moe`: the run measured `Qwen/Qwen3-30B-A3B-FP8`, a "
                         "checkpoint of fp8 weights (`FP8`); the plan's model has `weights = bf16`")
    assert d.hint == ("give the plan the checkpoint's precision: `weights = fp8` in its model "
                      '(`--set model.weights=fp8`; in a manifest, `set = ["model.weights=fp8"]`)')


@pytest.mark.parametrize(("model_id", "said"), [
    ("Qwen/Qwen3-30B-A3B-GPTQ-Int4", "int4"),            # the first marker: GPTQ, 4- or 8-bit
    ("Qwen/Qwen3-30B-A3B-Instruct-2507-FP8", "fp8"),
    ("nvidia/Qwen3-30B-A3B-NVFP4", "nvfp4"),
    ("Qwen/Qwen3-30B-A3B-AWQ", "int4"),
])
def test_the_markers_huggingface_names_carry(tmp_path: Path, model_id: str, said: str):
    (d,), _ = _found(tmp_path, model_id)
    assert f"`--set model.weights={said}`" in d.hint


@pytest.mark.parametrize("model_id", [
    "Qwen/Qwen3-30B-A3B", "/models/qwen3-30b-a3b", "my-org/finetune-fp8",     # no marker; no family known
    "Qwen/Qwen3-30B-A3B-Instruct-2507",
])
def test_names_without_a_marker_or_of_no_known_family_are_not_judged(tmp_path: Path, model_id: str):
    assert _found(tmp_path, model_id)[0] == []


def test_a_plan_of_the_checkpoints_precision_takes_the_run(tmp_path: Path):
    fp8 = PLAN.replace('model preset "qwen3-30b-a3b"', 'model preset "qwen3-30b-a3b" { weights = fp8 }')
    assert _found(tmp_path, "Qwen/Qwen3-30B-A3B-FP8", fp8)[0] == []
