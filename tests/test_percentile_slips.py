"""A tail percentile or a dotted one in `require { … }` is told what dagc reports (dagc.lang.keyword_slips,
`percentile_slip_hint`; trial 46): `ttft_p99.9 <= 2 s`, an SLO many services write, was E001 "unexpected `.9`" with
the hint "fields are written `name = value`"."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from conftest import plan_text

WORKLOAD = "workload { batch = 64  prompt = 1000  generate = 100  serving = inflight  rate = 12 requests/s }"


def e001(require: str):
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(workload=WORKLOAD, require=f"require {{ {require} }}"), "plan.moe")
    (d,) = exc.value.diagnostics
    assert d.code == "E001"
    return d


@pytest.mark.parametrize(("require", "hint"), [
    ("ttft_p99.9 <= 2 s", "dagc reports the percentiles 50, 90, 95 and 99 of a load: `ttft_p99` is its highest (a "
                          "p99.9 would rest on the slowest few of a run's requests)"),
    ("e2e_p99.99 <= 30 s", "dagc reports the percentiles 50, 90, 95 and 99 of a load: `e2e_p99` is its highest (a "
                           "p99.99 would rest on the slowest few of a run's requests)"),
])
def test_a_percentile_slip_is_told_what_dagc_reports(require, hint):
    assert e001(require).hint == hint


@pytest.mark.parametrize("require", ["ttft. <= 1 s", "ttft_p99. <= 1 s"])
def test_a_dot_that_is_no_decimal_percentile_gets_no_percentile_hint(require):
    assert "percentile" not in e001(require).hint
