"""AIPerf 0.13's profile export (PyPI, 2026-09): aiperf/exporters/metrics_json_exporter.py writes the same metrics as
before, but its `input_config` is the benchmark's config (aiperf/config/config.py `BenchmarkConfig`): the models in
`models.items`, the traffic in `phases` — a warmup phase, then the profiling one, each of a `type` (aiperf/config/
phases.py: `concurrency`, `poisson`, `constant`, `gamma`, `user_centric`, `fixed_schedule`) with its `concurrency`,
`rate` and `requests`. There is no `loadgen`: dagc refused every such export, ``field `input_config.loadgen` is
missing``."""

from __future__ import annotations

import json

import pytest

from dagc.calibrate.match import disagreements
from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError, render
from dagc.lang.load import load_plan_text
from conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "calibrate" / "profile_export_aiperf_0.13.json"   # 100 requests, 16 clients
PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 64  prompt = 512  generate = 128  serving = inflight  TRAFFIC  requests = 100 }
strategy tp 8
"""


def _with_profiling(tmp_path, **phase):
    doc = json.loads(FIXTURE.read_text())
    doc["input_config"]["phases"][1] = {"name": "profiling", "kind": "profiling"} | phase
    path = tmp_path / "profile_export_aiperf.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_the_profiling_phase_s_clients_and_the_models_are_read():
    (run,) = read_runs(FIXTURE)
    assert (run.tool, run.requests, run.rate, run.concurrency, run.prompt, run.generate) == \
        ("aiperf", 100, None, 16, 512.0, 128.0)
    assert run.model == "mistralai/Mixtral-8x7B-Instruct-v0.1"
    text = FIXTURE.read_text()
    assert run.span("concurrency").start == text.index('"concurrency"', text.index('"name": "profiling"'))
    assert disagreements(run, load_plan_text(PLAN.replace("TRAFFIC", "concurrency = 16")), "plan.moe") == []


@pytest.mark.parametrize("kind, arrival", [("constant", "uniform"), ("poisson", "poisson")])
def test_a_rate_phase_is_a_rate_and_its_type_the_arrivals(tmp_path, kind, arrival):
    (run,) = read_runs(_with_profiling(tmp_path, type=kind, rate=10.0, requests=100))
    assert (run.rate, run.concurrency, run.arrival) == (10.0, None, arrival)
    said = disagreements(run, load_plan_text(PLAN.replace("TRAFFIC", "rate = 10 requests/s")), "plan.moe")
    if arrival == "poisson":
        assert said == []
    else:
        (d,) = said
        assert d.span.text == '"type"' and d.message.endswith(
            "the run's arrivals were evenly spaced (`type` constant), the plan's Poisson (`arrival = poisson`)")


@pytest.mark.parametrize("kind", ["gamma", "fixed_schedule", "user_centric"])
def test_a_phase_of_another_traffic_is_refused_at_its_type(tmp_path, kind):
    path = _with_profiling(tmp_path, type=kind, rate=10.0)
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    text = path.read_text()
    assert d.code == "E110" and "Traceback" not in render(d)
    assert d.span.start == text.index('"type"', text.index('"name": "profiling"'))
    assert d.message.startswith(f"field `input_config.phases.profiling.type` is `{kind}`: ")


def test_a_run_aiperf_marks_incomplete_is_refused_at_is_complete(tmp_path):
    # aiperf/common/models/export_models.py: `is_complete` "False when the run degraded before finishing (for example
    # the record-stall watchdog fired), so tooling can reject the artifact"
    doc = json.loads(FIXTURE.read_text()) | {"is_complete": False, "incomplete_reason": "record stall"}
    path = tmp_path / "profile_export_aiperf.json"
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    assert d.code == "E110" and d.span.start == path.read_text().index('"is_complete"')
    assert d.message == ("field `is_complete` is false: AIPerf says the run degraded before it finished "
                         "(`incomplete_reason` says how), and its figures are not of the traffic it was set to send")
    assert d.hint == "calibrate on a run that finished (AIPerf writes `is_complete` true)"
    assert "record stall" not in render(d)
