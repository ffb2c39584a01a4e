"""Hints that name what really fixes the plan: a price's unit (`$/h`, not `$` removed), the GPUs a model's
weights need when no spreading of them fits, and the layer count when that is what overflows the memory."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from conftest import plan_text


def _error(text: str):
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    (d,) = [d for d in exc.value.diagnostics if d.is_error]
    return d


@pytest.mark.parametrize("written", ["2.49 $/GPU-hour", "2.49 $ /h", "2.49 $/gpu-h"])
def test_a_price_unit_dagc_cannot_lex_is_told_the_unit(written):
    cluster = 'cluster {{ gpus = 8  gpu preset "h200"  price = {} }}'
    d = _error(plan_text(cluster=cluster.format(written)))
    assert d.code == "E001" and "remove it" not in d.hint
    assert d.hint == ("a price is one GPU's rent per hour, its unit written as one word: `price = 2.49 $/h` "
                      "(or `$/hour`)")
    plan = load_plan_text(plan_text(cluster=cluster.format("2.49 $/h")))       # the hint's own form is legal
    assert plan.cluster.price_per_gpu_hour == pytest.approx(2.49)
