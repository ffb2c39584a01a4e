"""The step a load is bound by is quoted as the run ran it, at its own requests in flight, beside the steady
state's with every request slot busy (dagc.serve.binding, dagc.export.binding_text; docs/load.md "What binds")."""

from __future__ import annotations

import numpy as np
import pytest

from dagc.export.binding_text import binding_text
from dagc.lang.load import load_plan_text
from dagc.units import Dimension, format_si
from dagc.verdict.check import check


def test_the_decode_step_is_the_runs_at_its_concurrency():
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200"  engine = pytorch } '
                          "workload { batch = 256 prompt = 1000 generate = 200 serving = inflight "
                          "rate = 0.5 requests/s requests = 100 } require { tpot_p90 <= 1 ms } strategy tp 8")
    r = check(plan)[0]
    assert r.load is not None
    b = r.load.to_json()["binding"]
    assert b["limit"] == "step_compute" and b["step"] == "decode"
    assert b["running_mean"] < 10                  # a request every 2 s: a few in flight, not 256
    load = r.load.load
    # the run's step: its decode steps' durations weighted by the tokens each emitted
    assert b["run_step_s"] == pytest.approx(float(np.average(load.itl, weights=load.itl_weight)), rel=1e-12)
    assert b["run_step_s"] < 0.8 * b["step_s"]     # the steady state's step runs all 256 at once
    text = binding_text(b)
    assert text is not None
    assert (f"the decode step takes {format_si(b['run_step_s'], Dimension.TIME)} on average in this run "
            f"({format_si(b['step_s'], Dimension.TIME)} in the steady state, every request slot busy)") in text
