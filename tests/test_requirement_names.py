"""A requirement named as `vllm bench serve` names its results — `median_ttft_ms`, `p99_e2el_ms`, `mean_tpot_ms` —
is told dagc's name for it (`ttft_p50`, `e2e_p99`), or, for a mean, which dagc does not judge, the percentiles it
does (dagc.lang.requirements), where the hint listed every requirement."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64  serving = inflight  rate = 2 requests/s }
require { NAME <= 2 s }
strategy tp 8
"""


@pytest.mark.parametrize("name, hint", [
    ("median_ttft", "did you mean `ttft_p50`?"),
    ("median_ttft_ms", "did you mean `ttft_p50`?"),
    ("p99_e2el_ms", "did you mean `e2e_p99`?"),
    ("e2el_p99", "did you mean `e2e_p99`?"),
    ("p90_itl_ms", "did you mean `itl_p90`?"),
    ("mean_tpot_ms", "dagc judges percentiles of the load, not a mean: `tpot_p50` (the median) … `tpot_p99`, "
                     "or the steady state's `tpot`"),
    ("mean_e2el_ms", "dagc judges percentiles of the load, not a mean: `e2e_p50` (the median) … `e2e_p99`"),
    ("ttft_avg", "dagc judges percentiles of the load, not a mean: `ttft_p50` (the median) … `ttft_p99`, "
                 "or the steady state's `ttft`"),
])
def test_a_benchmarks_name_for_a_latency_is_told_dagcs(name, hint):
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.replace("NAME", name))
    (d,) = exc.value.diagnostics
    assert (d.code, d.message, d.hint) == ("E101", f"unknown requirement `{name}`", hint)
    if hint.startswith("did you mean"):
        load_plan_text(PLAN.replace("NAME", hint.split("`")[1]))      # what it names is read


@pytest.mark.parametrize("name, n", [("latency_p99", "99"), ("p90_latency", "90"), ("Latency-P95", "95")])
def test_a_latency_percentile_is_told_the_three_it_may_be(name, n):
    """`latency_p99 <= 2 s`, as an SLO is often written: until 2026-11-30 the list of every requirement, where
    `latency <= 2 s` was told `tpot`, `ttft` and `e2e_p50`; each of the three named is read."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.replace("NAME", name))
    (d,) = exc.value.diagnostics
    assert (d.code, d.hint) == ("E101", f"`{name}` is not one of dagc's requirements: between two tokens of a request "
                                        f"it is `tpot_p{n} <= 2 s`, to the first token `ttft_p{n} <= 2 s`, a request's "
                                        f"whole time `e2e_p{n} <= 2 s`")
    for meant in (f"tpot_p{n}", f"ttft_p{n}", f"e2e_p{n}"):
        load_plan_text(PLAN.replace("NAME", meant))
