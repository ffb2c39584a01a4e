"""`calibration from` naming what `dagc calibrate` reads — a benchmark run, a manifest of runs — instead of what it
writes: E109 at the path, whose hint is the command that fits a calibration on that file (docs/calibrate.md); any
other file keeps the hint to make one, and none is echoed."""

from __future__ import annotations

import json
from pathlib import Path, PurePath

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 64  prompt = 512  generate = 128  serving = inflight  rate = 4 requests/s  requests = 200 }
calibration from "rate4.json"
strategy tp 1
"""

# the fields of `vllm bench serve --save-result` (vllm/benchmarks/serve.py), as docs/calibrate.md lists them
VLLM_RUN = {"backend": "vllm", "model_id": "Qwen/Qwen3-30B-A3B", "num_prompts": 200, "request_rate": 4.0,
            "burstiness": 1.0, "max_concurrency": None, "duration": 52.5, "completed": 200,
            "total_input_tokens": 102400, "total_output_tokens": 25600, "request_throughput": 3.81,
            "output_throughput": 487.6, "total_token_throughput": 2438.1, "mean_ttft_ms": 90.0, "median_ttft_ms": 85.5,
            "p99_ttft_ms": 144.0, "mean_tpot_ms": 20.5, "median_tpot_ms": 20.1, "p99_tpot_ms": 26.7,
            "mean_itl_ms": 20.5, "median_itl_ms": 18.5, "p99_itl_ms": 51.3}


def _e109(directory: Path):
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN, base_dir=directory)
    (d,) = exc.value.diagnostics
    assert d.code == "E109" and d.span is not None and d.span.text == '"rate4.json"'
    return d


@pytest.mark.parametrize("text", [
    json.dumps(VLLM_RUN, indent=2),                                      # one run, as vLLM writes it
    "\n".join(json.dumps(VLLM_RUN | {"request_rate": r}) for r in (2, 4)),   # runs appended, a line each: no JSON
    json.dumps({"time_to_first_token": {"unit": "ms", "avg": 90.0}}),    # AIPerf's metrics
])
def test_a_benchmark_run_named_as_the_calibration_is_told_how_to_fit_one(tmp_path, text):
    (tmp_path / "rate4.json").write_text(text)
    d = _e109(tmp_path)
    assert d.hint == ("`rate4.json` is a benchmark run: fit a calibration on it with `dagc calibrate rate4.json --plan "
                      'PLAN -o cal.json` (3 runs or more of other traffics fit its terms) and name that file, '
                      '`calibration from "cal.json"` (docs/calibrate.md)')
    assert "Qwen" not in d.message and "90" not in d.message and "90" not in d.hint   # never echoed


@pytest.mark.parametrize("text", [
    'plan = "p.moe"\n[[run]]\nfile = "rate2.json"\n',
    # an entry with its `strategy`, as docs/calibrate.md's manifest has: the line was read as a plan's, and the hint
    # was `dagc calibrate RUN… --plan rate4.json`, a manifest given as the plan (E110 in `dagc calibrate`)
    'plan = "p.moe"\n[[run]]\nfile = "rate2.json"\nstrategy = "tp 8"\n',
])
def test_a_manifest_named_as_the_calibration_is_told_how_to_fit_one(tmp_path, text):
    (tmp_path / "rate4.json").write_text(text)
    d = _e109(tmp_path)
    assert d.message == "calibration `rate4.json` is not valid JSON"
    assert d.hint is not None and d.hint.startswith("`rate4.json` is a manifest of runs: fit a calibration on them "
                                                    "with `dagc calibrate rate4.json -o cal.json`")


@pytest.mark.parametrize("text", ['{"step_s": 0.001}', '{"step_s": ', "[]"])
def test_another_file_keeps_the_hint_to_make_one(tmp_path, text):
    (tmp_path / "rate4.json").write_text(text)
    assert _e109(tmp_path).hint == "make the file with `dagc calibrate` (docs/calibrate.md)"


def test_a_directory_or_binary_file_named_as_the_calibration_is_not_called_a_plan(tmp_path):
    # was `cannot read calibration `rate4.json`: the path is a directory, not a plan file`, hinted `give the path of a
    # .moe file`: a plan named there is E109 too
    (tmp_path / "rate4.json").mkdir()
    d = _e109(tmp_path)
    assert d.message == "cannot read calibration `rate4.json`: the path is a directory, not a calibration file"
    assert d.hint == 'give the path of the file `dagc calibrate … -o FILE` wrote (`calibration from "FILE"`)'
    (tmp_path / "rate4.json").rmdir()
    (tmp_path / "rate4.json").write_bytes(b"\x00\x01")
    d = _e109(tmp_path)
    assert d.message == "cannot read calibration `rate4.json`: the file is binary, not a calibration"
    assert d.hint == "a calibration is UTF-8 text"


def test_a_directory_named_as_a_config_or_expert_loads_is_not_called_a_plan(tmp_path):
    (tmp_path / "cfg").mkdir()
    text = PLAN.replace('calibration from "rate4.json"\n', "")
    text = text.replace('model preset "qwen3-30b-a3b"', 'model from "cfg"')
    text = text.replace("requests = 200 }", 'requests = 200  routing from "cfg" }')
    with pytest.raises(PlanError) as exc:
        load_plan_text(text, base_dir=tmp_path)
    said = sorted((d.message.rsplit(": ", 1)[1], d.hint) for d in exc.value.diagnostics)
    assert said == [("the path is a directory, not a config.json file", "give the path of the model's config.json"),
                    ("the path is a directory, not an expert load file",
                     "give the path of the expert load JSON (docs/language.md, \"Measured expert loads\")")]


@pytest.mark.parametrize(("written", "meant"), [("cal.jsn", "cal.json"), ("runs/cal.jsn", "runs/cal.json")])
def test_a_missing_calibration_is_told_the_file_beside_it_it_is_a_slip_of(tmp_path, written, meant):
    # a new user's trial: `calibration from "cal.jsn"` beside cal.json was hinted "check the path" alone
    (tmp_path / "runs").mkdir()
    (tmp_path / meant).write_text('{"secret": 12345}')
    (tmp_path / PurePath(meant).parent / "plan.moe").write_text("x")
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.replace("rate4.json", written), base_dir=tmp_path)
    (d,) = exc.value.diagnostics
    assert d.message == "cannot read calibration `cal.jsn`: the file does not exist"
    assert d.hint == f'did you mean `calibration from "{meant}"`? (`cal.json` is beside the path written)'
    assert "12345" not in d.hint                     # names only: the file beside it is never read


def test_a_missing_calibration_like_no_file_beside_it_keeps_the_hint_to_check_the_path(tmp_path):
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.replace("rate4.json", "cal.json"), base_dir=tmp_path)
    (d,) = exc.value.diagnostics
    assert (d.message, d.hint) == ("cannot read calibration `cal.json`: the file does not exist", "check the path")

