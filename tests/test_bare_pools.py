"""Pools written without their `< … >` — `prefill 2 tp 4 decode 1 tp 4 ; ep 16`, the axes after each count — are
E205 whose hint writes each pool's strategy in its scope (`dagc.lang.pool_hint.bare_pools_hint`). Until 2026-11-29
that strategy was told "the pools of a disaggregated strategy are written side by side, not split by `;`": its `;`
splits the decode pool's domains, not the pools."""

from __future__ import annotations

import pytest

from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text, parse_strategy

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 32  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 2000  generate = 200  serving = inflight }
strategy %s
"""


@pytest.mark.parametrize("written, meant", [
    ("prefill 2 tp 4 decode 1 tp 4 ; ep 8", "prefill 2 < tp 4 > decode 1 < tp 4 ; ep 8 >"),
    ("prefill 2 tp 4 ; ep 4 decode 1 tp 4", "prefill 2 < tp 4 ; ep 4 > decode 1 < tp 4 >"),
    ("prefill 1 tp 8 decode 2 tp 8 with overlap none", "prefill 1 < tp 8 > decode 2 < tp 8 > with overlap none"),
])
def test_pools_without_their_scope_are_written_with_it(written, meant):
    strategy, (d,) = flatten(parse_strategy(written))
    assert strategy is None
    assert d.code == "E205" and d.message == "each pool's strategy goes inside its `< … >`, after its count"
    assert d.hint == f"write `{meant}`"
    plan = load_plan_text(PLAN % meant)                # the strategy it writes reads
    fixed, diagnostics = flatten(plan.strategies[0])
    assert fixed is not None and not diagnostics


def test_pools_split_by_a_semicolon_keep_their_message():
    _, (d,) = flatten(parse_strategy("prefill 2 < tp 4 > ; decode 1 < tp 4 >"))
    assert d.message == "the pools of a disaggregated strategy are written side by side, not split by `;`"
