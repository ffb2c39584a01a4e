"""Digits other than ASCII's get the hint that says the number meant, in a `--set` as in a plan; a field whose
floor only stands for "above 0" (a mix's weight, a price) says so of 0 or less, not its tiny floor."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.fleet import load_fleet
from dagc.lang.load import load_plan_text
from dagc.lang.overrides import load_plan_with

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 2048  generate = 256 }
strategy tp 8
"""


def _errors(run) -> list:
    with pytest.raises(PlanError) as exc:
        run()
    return exc.value.diagnostics


@pytest.mark.parametrize(("value", "meant"), [("١٢٨", "128"), ("８", "8"), ("६४", "64")])
def test_a_set_value_in_other_digits_is_told_the_number_it_writes(tmp_path, value, meant):
    path = tmp_path / "p.moe"
    path.write_text(PLAN)
    [d] = _errors(lambda: load_plan_with(path, (f"workload.batch={value}",)))
    assert (d.code, d.span.source.path, d.span.text) == ("E001", "--set", value)
    assert d.hint == f"numbers are written with the ASCII digits 0–9 (`{value}` is {meant}: write `{meant}`)"
    # the same hint as a plan that writes it
    [p] = _errors(lambda: load_plan_text(PLAN.replace("batch = 64", f"batch = {value}")))
    assert p.hint == d.hint


@pytest.mark.parametrize("weight", ["0", "-2 %", "0 %"])
def test_a_mix_weight_of_zero_must_be_above_zero(tmp_path, weight):
    path = tmp_path / "f.moe"
    path.write_text(PLAN.replace("generate = 256", "generate = 256  rate = 1 requests/s")
                    + f'fleet {{ gpu preset "h100-sxm"\n  mix "a" {{ weight = {weight} }} }}\n')
    [d] = _errors(lambda: load_fleet(path))
    assert d.code == "E104" and d.message == f"`weight` = {weight} is out of range: it must be above 0"
    assert "1e-" not in (d.hint or "") and d.span.text == weight


def test_a_price_of_zero_must_be_above_zero_and_one_below_the_floor_is_told_the_floor(tmp_path):
    [d] = _errors(lambda: load_plan_text(PLAN.replace('"h100-sxm" }', '"h100-sxm"  price = 0 $/h }')))
    assert d.message == "`price` = 0 $/h is out of range: it must be above 0"
    # above 0 but below the floor dagc reads (1e-9 $/h): the floor, which "above 0" would not be true of
    [d] = _errors(lambda: load_plan_text(PLAN.replace('"h100-sxm" }', '"h100-sxm"  price = 1e-12 $/h }')))
    assert "must be at least" in d.message
    path = tmp_path / "f.moe"
    path.write_text(PLAN.replace("generate = 256", "generate = 256  rate = 1 requests/s")
                    + 'fleet { gpu preset "h100-sxm"\n  mix "a" { weight = 1e-12 } }\n')
    [d] = _errors(lambda: load_fleet(path))
    assert "must be at least" in d.message
