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


def test_a_word_near_several_names_lists_the_nearest(tmp_path):
    """`tp8e` is no axis and no name written another way: the plan's names most like it by difflib's ratio
    (2 × matches / total letters): `tp8ep` 2·4/9 = 0.89, `tp8` 2·3/7 = 0.86; `dpep` 2·2/8 = 0.5 and `tp4x2`
    2·2/9 = 0.44 fall under 0.6."""
    path = tmp_path / "q.moe"
    path.write_text('model preset "qwen3-235b-a22b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
                    "workload { batch = 64  prompt = 2000  generate = 400 }\nstrategy tp8 = tp 8\n"
                    "strategy tp8ep = tp 8 ; ep 8\nstrategy dpep = tp 1 ; ep 8\nstrategy tp4x2 = dp 2 < tp 4 >\n")
    with pytest.raises(PlanError) as exc:
        strategy_option("tp8e", load_plan(path))
    (d,) = exc.value.diagnostics
    assert d.hint is not None and d.hint.startswith(
        "the plan's strategies nearest `tp8e`: `tp8ep` (`tp 8 ; ep 8`) or `tp8` (`tp 8`); axes are dp (data)")


def test_a_word_like_no_name_is_told_the_plans_names_beside_the_axes():
    """`--strategy fast` on a plan whose strategies are `tensor` and `expert`: the hint listed the axes alone."""
    assert _hint("fast") == ("axes are dp (data), pp (pipeline), tp (tensor), cp (context), sp (sequence), "
                             "ep (expert), etp (expert tensor); no strategy of the plan is named `fast`: its names "
                             "are `tensor` and `expert`")
