"""A strategy in another tool's spelling with several unknown axes (`TP 8 X EP 2`) is one E101 naming each, from
the first to the last, its rewrite said once (dagc.lang.axis_hint); unknown axes with hints of their own stay
an error each."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError, render
from dagc.lang.load import load_plan_text, strategy_option

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64 }
"""
REWRITE = "did you mean `tp 8 ; ep 2`? each axis then its degree"


def test_uppercase_axes_are_one_error_with_one_rewrite():
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN + "strategy TP 8 X EP 2\n")
    (d,) = exc.value.diagnostics
    # line 4, `strategy ` is 9 characters: `TP` at column 10, `EP` ends at column 18, the caret over `TP 8 X EP`
    assert (d.code, d.message, d.span.line, d.span.column, d.span.text) == (
        "E101", "unknown axes `TP`, `X`, `EP`", 4, 10, "TP 8 X EP")
    assert d.hint is not None and d.hint.startswith(REWRITE)
    assert render(d).count("did you mean") == 1 and "^^^^^^^^^" in render(d)


def test_in_the_strategy_option_too():
    with pytest.raises(PlanError) as exc:
        strategy_option("TP 8 X EP 2", load_plan_text(PLAN + "strategy tp 8\n"))
    assert [(d.message, d.span.column) for d in exc.value.diagnostics] == [("unknown axes `TP`, `X`, `EP`", 1)]


def test_misspelt_axes_with_hints_of_their_own_are_said_each():
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN + "strategy tq 8 ; eq 2\n")
    assert [(d.message, d.span.column) for d in exc.value.diagnostics] == [
        ("unknown axis `tq`", 10), ("unknown axis `eq`", 17)]
