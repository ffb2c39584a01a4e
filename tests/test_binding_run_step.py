"""The step a load is bound by is quoted as the run ran it, at its own requests in flight, beside the steady
state's with every request slot busy (dagc.serve.binding, dagc.export.binding_text; docs/load.md "What binds")."""

from __future__ import annotations

import numpy as np
import pytest

from dagc.export.binding_text import binding_text
from dagc.export.result_json import load_json
from dagc.lang.load import load_plan_text
from dagc.layout.mix import shares
from dagc.units import Dimension, format_si
from dagc.verdict.check import check


def test_the_decode_step_is_the_runs_at_its_concurrency():
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200"  engine = pytorch } '
                          "workload { batch = 256 prompt = 1000 generate = 200 serving = inflight "
                          "rate = 0.5 requests/s requests = 100 } require { tpot_p90 <= 1 ms } strategy tp 8")
    r = check(plan)[0]
    assert r.load is not None
    b = load_json(r.load)["binding"]
    assert b["limit"] == "step_compute" and b["step"] == "decode"
    assert b["running_mean"] < 10                  # a request every 2 s: a few in flight, not 256
    load = r.load.load
    # the run's step: its decode steps' durations weighted by the tokens each emitted
    assert b["run_step_s"] == pytest.approx(float(np.average(load.itl, weights=load.itl_weight)), rel=1e-12)
    assert b["run_step_s"] < 0.8 * b["step_s"]     # the steady state's step runs all 256 at once
    text = binding_text(b)
    assert text is not None
    # beside it the steady state's steps averaged as the run's are: its decode steps and, a share f_g of them,
    # those carrying a prompt chunk (the mixed step) — not the decode step alone
    f_g = shares(r.plan.workload, r.layout).group_share
    m = r.metrics
    mean = (1 - f_g) * m.decode_step_s + f_g * m.mixed_step_s
    assert b["steady_mean_step_s"] == pytest.approx(mean, rel=1e-9) and b["step_s"] == m.decode_step_s
    assert (f"the decode step takes {format_si(b['run_step_s'], Dimension.TIME)} on average in this run "
            f"({format_si(mean, Dimension.TIME)} in the steady state, every request slot busy; "
            f"{format_si(b['step_s'], Dimension.TIME)} for a step without a prompt chunk)") in text


def test_the_steady_steps_beside_the_runs_count_the_tokens_a_speculative_step_emits():
    """With speculative decoding a step emits several tokens: the steady state's mean step is the TPOT × the
    tokens a step emits (eagle drafting 2 at acceptance 0.6: 1 + 0.6 + 0.36 = 1.96), as the run's steps are."""
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200"  engine = pytorch } '
                          "workload { batch = 256 prompt = 1000 generate = 200 serving = inflight "
                          "rate = 0.5 requests/s requests = 100 "
                          "speculative { method = eagle  tokens = 2  acceptance = 0.6 } } "
                          "require { tpot_p90 <= 1 ms } strategy tp 8")
    r = check(plan)[0]
    b = load_json(r.load)["binding"]
    assert b["step"] == "decode"
    assert b["steady_mean_step_s"] == pytest.approx(r.metrics.tpot_s * 1.96, rel=1e-9)
