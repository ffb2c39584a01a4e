"""A price written as a price tag, currency first (`price = $2/h`, `$2.49`), is told its number then its unit
(`dagc.lang.per_unit`). Until 2026-11-29 the plan's line got "names of presets and files are quoted: preset
"h100-sxm"", and `--set 'cluster.price=$2/h'` the general "a number with its unit, a name or a quoted string"."""

from __future__ import annotations

import pytest

from dagc.cli.main import main
from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm"  price = %s }
workload { batch = 8  prompt = 512  generate = 64 }
strategy tp 8
"""


@pytest.mark.parametrize("written, meant", [("$2/h", "2"), ("$2.49", "2.49"), ("$ 2.49/hour", "2.49")])
def test_a_price_written_currency_first_is_told_its_number_then_its_unit(written, meant):
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN % written)
    (d,) = exc.value.diagnostics
    assert d.code == "E001" and (d.span.line, d.span.column) == (2, 52)       # at the `$`
    assert d.hint == f"a price is its number, then its unit: write `price = {meant} $/h`"
    assert load_plan_text(PLAN % f"{meant} $/h").cluster.price_per_gpu_hour == float(meant)


def test_a_set_price_written_currency_first_is_told_the_set_that_reads(tmp_path, capsys):
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN % "2 $/h")
    assert main(["check", str(plan), "--no-search", "--set", "cluster.price=$3/h"]) != 0
    err = " ".join(capsys.readouterr().err.split())
    assert "help: a price is its number, then its unit: --set 'cluster.price=3 $/h'" in err
