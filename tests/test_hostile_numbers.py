"""A plan from a pull request may write a number of hundreds of digits: the diagnostic that refuses it quotes at most
`MAX_QUOTE_CHARS` of it (docs/limits.md, "user text quoted in a message: 60 characters"), as every other quotation."""

from __future__ import annotations

import pytest

from dagc.diagnostics import MAX_QUOTE_CHARS
from dagc.lang.load import PlanError, load_plan_text

PLAN = """model preset "mixtral-8x7b"
cluster {{ gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm" }}
workload {{ batch = {batch}  prompt = 2048  generate = 256 }}
strategy a = tp 8
"""


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_number_of_hundreds_of_digits_is_quoted_cut(digits):
    with pytest.raises(PlanError) as e:
        load_plan_text(PLAN.format(batch="9" * digits))
    (d,) = e.value.diagnostics
    assert d.code == "E104" and (d.span.line, d.span.column) == (3, 20)
    # 59 nines and the ellipsis: the 60 characters a quotation keeps, not the 400 or 1,000 it held before
    assert d.message == f"`{'9' * (MAX_QUOTE_CHARS - 1)}…` is too large"
    assert d.hint == "dagc reads numbers up to 1e30"


def test_a_short_number_past_1e30_is_quoted_whole():
    with pytest.raises(PlanError) as e:
        load_plan_text(PLAN.format(batch="1e308"))
    assert [d.message for d in e.value.diagnostics] == ["`1e308` is too large"]
