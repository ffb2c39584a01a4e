"""A price written in words, as a buyer reads it off a price list — `price = 2.49 $ per hour`, `2000 $ per month`,
`2.49 $ an hour` — is told the price in `$/h`, as `2.49 $/GPU-hour` is. The parser stops at the word after `per`
(`per` read as the next field's name), and the hint was "fields are written `name = value`"."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 1024  generate = 300  serving = inflight  rate = 5 requests/s }
fleet {
  gpu preset "h100-sxm" { price = PRICE }
}
"""


@pytest.mark.parametrize(("price", "column", "hint"), [
    ("2.49 $ per hour", 46, "`$ per hour` is dollars per hour: write `price = 2.49 $/h`"),
    # 2000 / 730 hours = 2.740 $/h
    ("2000 $ per month", 46, "`$ per month` is dollars per month (730 hours): write `price = 2.74 $/h`"),
    ("2.49 $ an hour", 45, "a price is one GPU's rent per hour, its unit written as one word: `price = 2.49 $/h` "
                           "(or `$/hour`)"),
])
def test_a_price_in_words_is_told_in_dollars_an_hour(price, column, hint):
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.replace("PRICE", price), "p.moe", needs_strategy=False)
    [d] = exc.value.diagnostics
    assert (d.code, d.span.line, d.span.column, d.hint) == ("E001", 5, column, hint)
