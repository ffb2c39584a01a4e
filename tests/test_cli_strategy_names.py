"""`--strategy` that misspells one of the plan's strategy names, or gives a name options: the hint names the plan's
strategy (it said only which axes exist, or `did you mean ep?` for `expert`)."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan, strategy_option
from conftest import EXAMPLES

PLAN = EXAMPLES / "mixtral-8x7b-1node.moe"       # strategy tensor = tp 8; strategy expert = tp 2 ; ep 8


def _hint(text: str) -> str | None:
    with pytest.raises(PlanError) as exc:
        strategy_option(text, load_plan(PLAN))
    (d,) = exc.value.diagnostics
    assert d.code == "E101"
    return d.hint


def test_a_misspelt_name_is_pointed_at_the_plans_strategy():
    assert _hint("expertt") == "did you mean the plan's strategy `expert` (`tp 2 ; ep 8`)?"
    assert _hint("tensr") == "did you mean the plan's strategy `tensor` (`tp 8`)?"


def test_a_name_with_options_is_told_its_expression():
    assert _hint("expert with microbatches 2") == ("`expert` is the plan's strategy `tp 2 ; ep 8`; --strategy takes a "
                                                    "name alone, or an expression with options: "
                                                    "`tp 2 ; ep 8 with microbatches 2`")


def test_an_unknown_axis_far_from_every_name_keeps_the_axes_hint():
    assert _hint("foo").startswith("axes are dp (data)")
    assert strategy_option("expert", load_plan(PLAN)).text == "tp 2 ; ep 8"
