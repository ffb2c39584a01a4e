"""One replica's step prices are shared by every count of its replicas (`dagc.serve.shared._replica_key`): a step
of `dp k < S >` is priced at the requests in flight on one replica, the very price `S` alone gives at them, so a
next step that replicates a strategy, or a search's candidate that is a replica of one checked, prices nothing
`S`'s check priced."""

from __future__ import annotations

import functools

import pytest

from dagc.export.result_json import load_json
from dagc.lang.load import load_plan_text
from dagc.plan.cluster import hardware
from dagc.serve.shared import cache_clear, shared_prices
from dagc.serve.step_prices import StepPrices
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = {gpus}  gpus_per_node = 8  gpu preset "h200" }}
workload {{ batch = {batch}  prompt = 1000  generate = 200  serving = inflight
  rate = 8 requests/s  requests = 200 }}
require {{ ttft_p99 <= 1 s }}
strategy {strategy}
"""
KEYS = [(n, p, ell) for n in (1, 3, 8, 13, 32) for p in (0, 1, 64, 700, 1500, 4000) for ell in (500, 1000, 2000)]


def _checked(strategy: str, gpus: int, batch: int = 32):
    r = check(load_plan_text(PLAN.format(gpus=gpus, batch=batch, strategy=strategy)))[0]
    assert r.valid and r.layout is not None
    return r


@functools.cache
def _alone_steps(inner: str, gpus: int) -> tuple:
    """`S`'s steps at KEYS on fresh prices (none shared), priced once in this module for each count of its
    replicas compared with them."""
    alone = _checked(inner, gpus)
    a = StepPrices(alone.plan, alone.strategy, alone.layout)
    return tuple(a.step(*key) for key in KEYS)


@pytest.mark.parametrize(("inner", "gpus"), [("tp 2", 2), ("tp 1 ; ep 4", 4), ("tp 8", 8)])
@pytest.mark.parametrize("k", [2, 4])
def test_a_replica_prices_each_step_as_the_strategy_alone(inner, gpus, k):
    """The premise, on fresh prices (none shared): each step of `dp k < S >` at n requests a replica is `S`'s."""
    replicated = _checked(f"dp {k} < {inner} >", gpus * k, 32 * k)
    b = StepPrices(replicated.plan, replicated.strategy, replicated.layout)
    assert replicated.layout.dp == k
    assert tuple(b.step(*key) for key in KEYS) == _alone_steps(inner, gpus)
    assert b.priced > 0


def test_the_replicas_prices_are_the_strategys_own():
    cache_clear()
    alone, replicated = _checked("tp 2", 2), _checked("dp 2 < tp 2 >", 4, 64)
    a = shared_prices(StepPrices(alone.plan, alone.strategy, alone.layout))
    for key in KEYS:
        a.step(*key)
    b = shared_prices(StepPrices(replicated.plan, replicated.strategy, replicated.layout))   # its check's
    assert b is not a and b.cache is a.cache
    before = b.priced
    assert [b.step(*key) for key in KEYS] == [a.step(*key) for key in KEYS]
    assert b.priced == before                 # every step already priced by the strategy alone
    other = _checked("tp 4", 4)               # another strategy: its own prices
    assert shared_prices(StepPrices(other.plan, other.strategy, other.layout)).cache is not a.cache


def test_a_replicated_check_is_the_same_after_its_strategy_alone():
    """The load of `dp 2 < tp 2 >` checked after `tp 2` (its steps shared) is the one it gives alone."""
    cache_clear()
    fresh = _checked("dp 2 < tp 2 >", 4, 64).load
    cache_clear()
    _checked("tp 2", 2)
    after = _checked("dp 2 < tp 2 >", 4, 64).load
    assert fresh is not None and after is not None
    assert load_json(after) == load_json(fresh)
    assert load_json(after)["capacity_requests_per_s"] is not None


def test_a_strategys_deployment_is_read_once_for_both_keys(monkeypatch):
    """`shared_prices` reads what the steps of a strategy read of its plan (the cluster's hardware, the workload
    it runs) once, and keys both its prices and its replicas' steps by that one value."""
    import dagc.serve.shared as shared

    r = _checked("dp 2 < tp 2 >", 4, 64)
    cache_clear()                   # its prices made anew: both keys read
    calls = []

    def counted(cluster):
        calls.append(cluster)
        return hardware(cluster)

    monkeypatch.setattr(shared, "hardware", counted)
    shared_prices(StepPrices(r.plan, r.strategy, r.layout))
    assert len(calls) == 1
