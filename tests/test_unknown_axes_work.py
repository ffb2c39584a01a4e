"""A strategy of many unknown axes is refused in seconds: each E101's hint reads the whole strategy as another tool
would write it (`tp=8, ep=16`, an engine's flags), and until 2026-11-30 it found the statement by scanning the plan,
read the whole expression again and searched all the text before the axis (for `tp 2k`) for every axis, so that a
strategy of N unknown axes took time N²: 800 axes 10 s, the 10,000 of a 100 KB plan (within the 100,000-token bound,
docs/limits.md) more than five minutes. The statement's bounds and the expression's readings are now worked out
once, and the search reads the few characters before the axis."""

from __future__ import annotations

import time

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from conftest import plan_text

AXES = 2_000


def test_two_thousand_unknown_axes_take_seconds():
    text = plan_text(strategy="strategy " + " ".join(f"ax{i} 2" for i in range(AXES)))
    start = time.process_time()
    with pytest.raises(PlanError) as exc:
        load_plan_text(text, "p.moe")
    spent = time.process_time() - start
    kept = exc.value.diagnostics
    assert [(d.code, d.message) for d in kept[:2]] == [("E101", "unknown axis `ax0`"), ("E101", "unknown axis `ax1`")]
    assert kept[0].hint == kept[1].hint == ("axes are dp (data), pp (pipeline), tp (tensor), cp (context), "
                                           "sp (sequence), ep (expert), etp (expert tensor)")
    assert kept[-1].message == f"and {AXES - 50:,} more diagnostics not shown (E101 ×{AXES - 50:,})"
    # about 30 CPU seconds before, under 2 after: 8 leaves room for a slow machine
    assert spent < 8, spent


def test_a_rewrite_still_names_every_axis_it_reads():
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(strategy="strategy TP8EP2"), "p.moe")
    (d,) = exc.value.diagnostics
    assert (d.code, d.message, d.hint[:30]) == ("E101", "unknown axis `TP8EP2`", "did you mean `tp 8 ; ep 2`? ea")
