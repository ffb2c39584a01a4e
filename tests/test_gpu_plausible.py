"""E107: a custom GPU whose figures no accelerator has (a unit slip) is refused at the figure."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from conftest import plan_text


@pytest.mark.parametrize("gpu, at, says", [
    ("memory = 80 GB  flops = 1 PFLOPS  hbm = 3 MB/s", "hbm = 3 MB/s", "`hbm` is outside"),
    ("memory = 80 GB  flops = 200000 TFLOPS  hbm = 3 TB/s", "flops = 200000 TFLOPS", "`flops` is outside"),
    ("memory = 200 TB  flops = 1 PFLOPS  hbm = 3 TB/s", "memory = 200 TB", "`memory` is outside"),
    ("memory = 80 GB  flops = 90 PFLOPS  hbm = 3 TB/s", "hbm = 3 TB/s", "30,000 bf16 FLOPs per byte"),
])
def test_implausible_figures_are_e107_at_the_figure(gpu, at, says):
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(cluster=f'cluster {{ gpus = 8  gpu "x" {{ {gpu} }} }}'))
    (d,) = exc.value.diagnostics
    assert d.code == "E107" and d.span.text == at and says in d.message


def test_every_datasheet_is_plausible():
    plan = load_plan_text(plan_text(cluster='cluster { gpus = 8  gpu "x" { memory = 16 GB  flops = 125 TFLOPS  '
                                            'hbm = 900 GB/s } }'))         # a V100
    assert plan.cluster.gpu.name == "x"
