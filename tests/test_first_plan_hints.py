"""Hints a new user of the plan language met that did not say what was meant: a percentile written with a dot
(`ttft.p99`), …; each named with what it was told until 2026-11-30."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from conftest import plan_text


def _first(text: str):
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    return exc.value.diagnostics[0]


@pytest.mark.parametrize(("written", "meant"), [("ttft.p99", "ttft_p99"), ("p99.ttft", "ttft_p99"),
                                                ("tpot.99", "tpot_p99"), ("e2e.p90", "e2e_p90")])
def test_a_dotted_percentile_is_told_its_spelling(written, meant):
    # until 2026-11-30: "remove it; docs/language.md describes what may stand here"
    d = _first(plan_text(require=f"require {{ {written} <= 2 s }}"))
    assert d.code == "E001"
    kind = meant.split("_")[0]
    assert d.hint == (f"a requirement's name is one word: did you mean `{meant}`? (the percentiles are "
                      f"`{kind}_p50` … `{kind}_p99`)")


def test_a_dotted_word_that_is_no_percentile_keeps_the_general_hint():
    assert _first(plan_text(require="require { foo.bar <= 2 s }")).hint == \
        "remove it; docs/language.md describes what may stand here"
