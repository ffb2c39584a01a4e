"""A strategy's name quoted (`strategy "fast" = tp 8`) or of several words (`strategy option 1 = pp 4 < ep 16 >`, as
the seed reports name their options) is E001 at the name, its hint the line with the name as one word — which the plan
then takes; until 2026-12-01 both were told "docs/language.md describes what may stand here"."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

HEAD = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64 }
"""


@pytest.mark.parametrize(("line", "message", "span", "fixed"), [
    ('strategy "fast" = tp 8', "unexpected `\"fast\"`: a strategy's name is not quoted", '"fast"',
     "strategy fast = tp 8"),
    ("strategy option 1 = tp 2 ; ep 8", "`option 1` is several words: a strategy's name is one", "option 1",
     "strategy option_1 = tp 2 ; ep 8"),
    ('strategy "EP-16 x TP-4" = tp 4 ; ep 8', "unexpected `\"EP-16 x TP-4\"`: a strategy's name is not quoted",
     '"EP-16 x TP-4"', "strategy EP-16_x_TP-4 = tp 4 ; ep 8"),
])
def test_a_strategy_name_that_is_no_word_is_hinted_one(line, message, span, fixed):
    with pytest.raises(PlanError) as exc:
        load_plan_text(HEAD + line + "\n", "p.moe")
    (d,) = exc.value.diagnostics
    assert (d.code, d.message, d.span.text) == ("E001", message, span)
    assert d.hint == f"a strategy's name is one word, unquoted: `{fixed}`"
    (s,) = load_plan_text(HEAD + fixed + "\n", "p.moe").strategies           # the hinted line reads
    assert s.name == fixed.split()[1]
