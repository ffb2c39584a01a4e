"""A negative number without its unit gets a hint of a valid quantity (the dimension's example), not the user's
number with the unit added — `--set 'workload.rate=-3 requests/s'` is itself an error (E104)."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 2  gpu preset "h100-sxm"  {cluster} }}
workload {{ batch = 64  prompt = 1000  generate = 200  serving = inflight  {workload} }}
strategy tp 2
"""


@pytest.mark.parametrize(("cluster", "workload", "hint"), [
    ("", "rate = -3", "write a positive quantity with its unit, e.g. `rate = 12 requests/s`"),
    ("price = -1", "", "write a positive quantity with its unit, e.g. `price = 2.5 $/h`"),
    ("", "rate = 3", "write it with a unit, e.g. `rate = 3 requests/s`"),      # a valid number keeps the user's
])
def test_a_unitless_number_is_hinted_with_a_valid_quantity(cluster, workload, hint):
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.format(cluster=cluster, workload=workload))
    (d,) = [d for d in exc.value.diagnostics if d.code == "E102"]
    assert d.hint == hint
