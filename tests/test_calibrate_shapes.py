"""A run file's counts and model names of the wrong shape are E110 at their field, in every tool's format alike: until
2026-12-03 AIPerf's `request_count.avg` of 400.7 was rounded to 401 unsaid (a vLLM `completed` of 200.5 was refused),
and a `model_names` of `[5]` or `[]` (a vLLM `model_id` of 5) was read as a run that names no model."""

from __future__ import annotations

import json

import pytest

from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError
from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "calibrate"


def refused(tmp_path, name: str, change) -> tuple[str, str]:
    doc = json.loads((FIXTURES / name).read_text())
    change(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    assert d.code == "E110" and d.span is not None
    return d.message, path.read_text()[d.span.start:]       # located at the field's key


@pytest.mark.parametrize("avg", [400.7, 0.5])
def test_aiperf_s_request_count_is_a_whole_number(tmp_path, avg):
    message, at = refused(tmp_path, "profile_export_aiperf.json",
                          lambda d: d.__setitem__("request_count", {"unit": "requests", "avg": avg}))
    assert message.startswith("field `request_count.avg` ") and "whole number" in message
    assert at.startswith('"avg"')


@pytest.mark.parametrize("names", [[5], [], [""], "Qwen/Qwen3-30B-A3B"])
def test_aiperf_s_model_names_are_a_list_of_names(tmp_path, names):
    message, at = refused(tmp_path, "profile_export_aiperf.json",
                          lambda d: d["input_config"]["endpoint"].__setitem__("model_names", names))
    assert message == ('field `input_config.endpoint.model_names` is not a list of model names (AIPerf writes the '
                       'models it ran as names: ["Qwen/Qwen3-30B-A3B"])')
    assert at.startswith('"model_names"')


@pytest.mark.parametrize("model", [5, "", ["a"]])
def test_vllm_s_model_id_is_a_name(tmp_path, model):
    message, at = refused(tmp_path, "vllm.json", lambda d: d.__setitem__("model_id", model))
    assert message == "field `model_id` is not a model's name (the tool writes the model it served as a string)"
    assert at.startswith('"model_id"')


def test_the_fixtures_read_as_they_are():
    assert read_runs(FIXTURES / "profile_export_aiperf.json")[0].requests == 100
    assert read_runs(FIXTURES / "vllm.json")[0].model
