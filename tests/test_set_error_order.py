"""A `--set` mistake is told in the order the command line reads: an option's unknown field before its value
(`--set workload.log=traces/x.csv`: until 2026-11-30 only the value's E001, and the E101 met once the value was
quoted), and several options' diagnostics in the order the options were given (until then in the order their
fields fall in the plan's block: `batch`, written in the plan, before `lgo`, added at the block's end)."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.overrides import SET_SOURCE, load_plan_with
from conftest import plan_text


def _diagnostics(path, options):
    with pytest.raises(PlanError) as exc:
        load_plan_with(path, options)
    return [(d.code, d.span.source.text[d.span.start:d.span.end]) for d in exc.value.diagnostics]


def test_an_unknown_field_is_told_before_its_bad_value(write_plan):
    said = _diagnostics(write_plan(plan_text()), ["workload.log=traces/x.csv"])
    assert said == [("E101", "log"), ("E001", "/x.csv")]


def test_a_known_field_with_a_bad_value_is_told_its_value_alone(write_plan):
    assert _diagnostics(write_plan(plan_text()), ["workload.batch=traces/x.csv"]) == [("E001", "/x.csv")]


def test_an_unknown_inner_field_is_told_with_the_plans_hint(write_plan):
    with pytest.raises(PlanError) as exc:
        load_plan_with(write_plan(plan_text()), ["workload.speculative.tokenz=2 x y"])
    first = exc.value.diagnostics[0]
    assert (first.code, first.message) == ("E101", "unknown field `tokenz` in workload.speculative")
    assert first.span.source.path == SET_SOURCE and "`tokens`" in (first.hint or "")


@pytest.mark.parametrize("options", [["workload.lgo=1", "workload.batch=abc"],
                                     ["workload.batch=abc", "workload.lgo=1"]])
def test_options_are_told_in_the_order_given(write_plan, options):
    said = _diagnostics(write_plan(plan_text()), options)
    assert [text for _, text in said] == [o.split("=")[0].split(".")[1] if "lgo" in o else "abc" for o in options]
