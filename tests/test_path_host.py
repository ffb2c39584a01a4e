"""The critical path's host time (`PathBreakdown.host_s`, report.json's `critical_path.<phase>.host_s`): the part of
its compute that is the engine's host time (`dagc.cost.cost.host_step_s`), so that "compute 93 %" no longer hides
that four tenths of a decode step is the engine's scheduling, per-request and per-layer work."""

from __future__ import annotations

import pytest

from dagc.export.result_json import path_json
from dagc.lang.load import load_plan_text
from dagc.plan.engines import ENGINE_TERMS
from dagc.verdict.check import check

PLAN = """model preset "mixtral-8x7b"
cluster {{ gpus = 8  gpu preset "h100-sxm"  engine = {engine} }}
workload {{ batch = 16  prompt = 1024  generate = 128 }}
strategy tp 8
"""


def _paths(engine: str):
    (r,) = check(load_plan_text(PLAN.format(engine=engine)))
    assert r.metrics is not None
    assert r.metrics.critical_path is not None
    return {k.value: p for k, p in r.metrics.critical_path.items()}


@pytest.mark.parametrize("engine", ["vllm", "sglang", "trtllm"])
def test_a_decode_paths_host_time_is_the_engines_per_step_request_and_layer_terms_by_hand(engine):
    t = ENGINE_TERMS[engine]
    # one stage of tp 8, static: each of the two decode steps on the path runs its embedding (the step's host time,
    # for the 16 requests its one engine process runs) and 32 layers' QKV projections (the time per layer)
    per_step = t.step_s + 16 * t.step_request_s + 32 * t.layer_s
    decode = _paths(engine)["decode"]
    assert per_step > 0
    assert decode.host_s == pytest.approx(2 * per_step, rel=1e-9)
    assert 0 < decode.host_s < decode.compute_s <= decode.makespan_s
    assert path_json(decode)["host_s"] == decode.host_s
    # the prefill's one pass: its embedding and 32 QKV projections
    assert _paths(engine)["prefill"].host_s == pytest.approx(per_step, rel=1e-9)


def test_the_plain_reference_has_no_host_time_on_its_path():
    assert all(p.host_s == 0.0 for p in _paths("pytorch").values())
