"""W505's hint (GPUs available but unused) never proposes more GPUs than a `gpus` requirement of the plan allows:
seed 003's plan rents 1,024 GPUs and requires `gpus <= 64`, and its 64-GPU strategy was told "dp 16 would use
1,024" — a change that breaks the plan's own requirement (dagc.rules.unused_hint)."""

from __future__ import annotations

import pytest

from dagc.verdict.check import check, load_plan_text
from conftest import plan_text

C64 = 'cluster { gpus = 64  gpus_per_node = 8  gpu preset "h100-sxm"  engine = pytorch }'


def _w505(require: str, strategy: str = "strategy tp 8", cluster: str = C64):
    text = plan_text(cluster=cluster, require=require, strategy=strategy)
    (d,) = [d for d in check(load_plan_text(text))[0].diagnostics if d.code == "W505"]
    return d


@pytest.mark.parametrize("require, hint", [
    ("", "dp 8 would use 64"),                                           # no cap: as before
    ("require { gpus <= 32 }", "dp 4 would use 32 (`gpus <= 32` allows no more)"),     # 64 / 8 = 8 replicas, 4 allowed
    ("require { gpus < 24 }", "dp 2 would use 16 (`gpus < 24` allows no more)"),
    ("require { gpus <= 8 }", "`gpus <= 8` allows no more GPUs than the strategy's 8: `gpus = 8` rents only what it "
                              "uses"),
    ("require { gpus <= 12 }", "a strategy of 12 GPUs would use what `gpus <= 12` allows, or `gpus = 8` "
                               "rents only what this one uses"),
])
def test_the_unused_gpus_hint_keeps_within_a_gpus_requirement(require, hint):
    assert _w505(require).hint == hint


def test_a_strategy_that_fills_no_whole_dp_is_told_the_cap_too():
    """64 GPUs, pp 3 < tp 8 > uses 24: no whole dp fills the cluster; under `gpus <= 24` no other strategy may use
    more, so "a strategy of 64 GPUs" is not said."""
    d = _w505("require { gpus <= 24 }", "strategy pp 3 < tp 8 >",
              'cluster { gpus = 64  gpus_per_node = 8  gpu preset "h100-sxm"  engine = pytorch }')
    assert d.hint == "`gpus <= 24` allows no more GPUs than the strategy's 24: `gpus = 24` rents only what it uses"


@pytest.mark.parametrize("strategy, hint", [
    ("strategy dp 2 < tp 8 >", "dp 8 would use 64"),               # 4 copies of 16 GPUs: dp 2 × 4, not dp 4 (32 GPUs)
    ("strategy dp 3 < tp 4 >", "dp 15 would use 60"),              # 5 copies of 12 GPUs: dp 3 × 5
])
def test_the_replicas_proposed_count_the_strategys_own_dp(strategy, hint):
    """A strategy that writes `dp` is told the `dp` that fills the cluster, not how many copies of itself do:
    until 2026-12-03 `dp 2 < tp 8 >` on 100 GPUs read "dp 6 would use 96", where `dp 6 < tp 8 >` uses 48."""
    assert _w505("", strategy).hint == hint
