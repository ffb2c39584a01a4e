"""What an AIPerf export says of its run beyond its figures: that the benchmark was stopped before it finished
(`was_cancelled`), and, with `--gpu-telemetry`, the GPUs it ran on (`telemetry_data`, AIPerf's documented export:
"Working with Profile Export Files"). A new user's export of a run stopped at 120 of its 320 requests was fitted,
once told `--set workload.requests=120`, as a run that sent 120; and one of eight A100s was fitted as a run of the
plan's H100s — neither was said."""

from __future__ import annotations

import json

import pytest

from dagc.calibrate.match import disagreements
from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "calibrate" / "profile_export_aiperf.json"     # 100 requests at 16 clients
PLAN = """model preset "mixtral-8x7b"
cluster {{ gpus = 8  gpu preset "{gpu}"  engine = vllm }}
workload {{ batch = 64  prompt = 512  generate = 128  serving = inflight  concurrency = 16  requests = 100 }}
strategy tp 8
"""


def telemetry(*names: str) -> dict[str, object]:
    """AIPerf's `telemetry_data` of one DCGM endpoint with GPUs of these names."""
    gpus = {f"gpu_{i}": {"gpu_index": i, "gpu_name": n, "gpu_uuid": f"GPU-{i}", "hostname": "node1",
                         "metrics": {"gpu_utilization": {"unit": "%", "avg": 80.0}}} for i, n in enumerate(names)}
    return {"summary": {"endpoints_configured": ["http://localhost:9401/metrics"],
                        "endpoints_successful": ["http://localhost:9401/metrics"]},
            "endpoints": {"localhost:9401": {"gpus": gpus}}}


def written(tmp_path, **change) -> str:
    path = tmp_path / "profile_export_aiperf.json"
    path.write_text(json.dumps(json.loads(FIXTURE.read_text()) | change, indent=2))
    return str(path)


def test_a_cancelled_benchmark_is_refused_at_was_cancelled(tmp_path):
    path = written(tmp_path, was_cancelled=True)
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    text = open(path).read()
    assert d.code == "E110" and d.span.start == text.index('"was_cancelled"')
    assert d.message == ("field `was_cancelled` is true: the benchmark was stopped before it finished, and its figures "
                         "are of the requests done by then, not of the traffic it was set to send")
    assert d.hint == "calibrate on a run that finished (AIPerf writes `was_cancelled` false)"
    assert read_runs(written(tmp_path, was_cancelled=False))[0].requests == 100


def _said(tmp_path, gpu: str, *names: str):
    (run,) = read_runs(written(tmp_path, telemetry_data=telemetry(*names)))
    return disagreements(run, load_plan_text(PLAN.format(gpu=gpu)), "plan.moe")


def test_a_run_on_other_gpus_than_the_plan_s_is_refused_at_its_telemetry(tmp_path):
    (d,) = _said(tmp_path, "h100-sxm", *["NVIDIA A100-SXM4-80GB"] * 8)
    assert d.code == "E110" and d.span.text == '"gpu_name"'
    assert d.message == ("run profile_export_aiperf.json is not of plan `plan.moe`: its GPU telemetry names "
                         "`NVIDIA A100-SXM4-80GB` (an A100), the plan's GPU is preset `h100-sxm` (an H100)")
    assert d.hint == "calibrate with the plan of the GPUs this run measured: `--set cluster.gpu=a100-80g` (in a " \
                     'manifest, `set = ["cluster.gpu=a100-80g"]`)'


@pytest.mark.parametrize("gpu, names", [
    ("h100-sxm", ["NVIDIA H100 80GB HBM3"] * 8),
    ("h200", ["NVIDIA H200"] * 8),
    ("gb200", ["NVIDIA GB200"] * 4),              # not taken for a B200
    ("h200", ["NVIDIA H20"] * 8 + ["NVIDIA H200"]),   # GPUs of two kinds: not judged
    ("generic-400t", ["NVIDIA A100-SXM4-80GB"]),  # a GPU of no family: not judged
    ("h100-sxm", ["Some Accelerator 9000"]),       # a name of no family dagc knows: not judged
])
def test_the_plan_s_gpus_or_a_run_dagc_cannot_tell_are_not_refused(tmp_path, gpu, names):
    assert _said(tmp_path, gpu, *names) == []


def test_an_h20_is_not_an_h200(tmp_path):
    (d,) = _said(tmp_path, "h200", *["NVIDIA H20"] * 8)
    assert "`NVIDIA H20` (an H20), the plan's GPU is preset `h200` (an H200)" in d.message
    assert "--set cluster.gpu=h20" in d.hint


RATE_PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 64  prompt = 512  generate = 128  serving = inflight  rate = 10 requests/s  requests = 100 ARRIVAL }
strategy tp 8
"""


def _at_rate(tmp_path, mode: str | None, arrival: str = ""):
    doc = json.loads(FIXTURE.read_text())
    doc["input_config"]["loadgen"] = {"request_rate": 10.0, "request_count": 100} | (
        {} if mode is None else {"request_rate_mode": mode})
    path = tmp_path / "profile_export_aiperf.json"
    path.write_text(json.dumps(doc, indent=2))
    (run,) = read_runs(path)
    return disagreements(run, load_plan_text(RATE_PLAN.replace("ARRIVAL", arrival)), "plan.moe")


def test_a_constant_rate_is_uniform_arrivals_not_poisson_ones(tmp_path):
    # AIPerf's `--request-rate-mode constant` spaces its requests evenly (RequestRateMode.CONSTANT); its default,
    # poisson, draws them as dagc's default `arrival = poisson` does: a constant run was fitted as Poisson arrivals
    (d,) = _at_rate(tmp_path, "constant")
    assert d.code == "E110" and d.span.text == '"request_rate_mode"'
    assert d.message == ("run profile_export_aiperf.json is not of plan `plan.moe`: the run's arrivals were evenly "
                         "spaced (`request_rate_mode` constant), the plan's Poisson (`arrival = poisson`)")
    assert d.hint == ('give the plan the run\'s traffic: `--set "workload.arrival=uniform"` (in a manifest, '
                      '`set = ["workload.arrival=uniform"]`), or calibrate with the plan this run measured')
    assert _at_rate(tmp_path, "constant", "arrival = uniform") == []
    assert _at_rate(tmp_path, "poisson") == [] and _at_rate(tmp_path, None) == []
    (d,) = _at_rate(tmp_path, "poisson", "arrival = uniform")
    assert "the run's arrivals were Poisson (`request_rate_mode` poisson), the plan's evenly spaced" in d.message
