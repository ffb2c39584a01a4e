"""The decode steps' KV blocks (`dagc.serve.replica_blocks`) and the prefix cache's pool (`dagc.serve.kv_blocks`).

A replica whose ranks hold their cap of the run's largest requests at their longest (`roomy`) skips the
check for blocks before each stretch of decode steps: the run is the checked run, bit for bit, whether or
not the check is skipped; a small cache is not roomy, and preempts. The pool evicts its least recently
used cached blocks, as many as the request taking blocks needs.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from dagc.lang.load import load_plan_text
from dagc.serve import replica as replica_module, replica_blocks as replica_blocks_module
from dagc.serve.kv_blocks import RankKV
from dagc.serve.load import simulate
from dagc.serve.replica_blocks import DecodeBlocks
from dagc.serve.requests import Requests
from dagc.serve.run import Req, Run
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h200" }}
workload {{
  batch = 64  prompt = 4000  generate = 500  serving = inflight  chunk = 8192
  {extra}
  {traffic}
}}
strategy {strategy}
"""


def _arrays(load) -> dict[str, np.ndarray]:
    out = {}
    for f in dataclasses.fields(load):
        value = getattr(load, f.name)
        if f.name == "timeline":
            if value is None:                     # a run that records none
                continue
            out |= {f"timeline.{g.name}": np.asarray(getattr(value, g.name)) for g in dataclasses.fields(value)}
        elif f.name != "traffic":
            out[f.name] = np.asarray(value if value is not None else np.nan)
    return out


@functools.cache
def _checked(text: str):
    """The plan and its first strategy's check, once in this module for the runs that read its strategy and layout."""
    plan = load_plan_text(text)
    return plan, check(plan)[0]


def _run(monkeypatch, text: str, kv_tokens: int | None, checked: bool) -> tuple[dict[str, np.ndarray], list[bool]]:
    """The run's figures, and whether each replica was roomy; `checked`: every replica checks its blocks."""
    plan, r = _checked(text)
    seen: list[bool] = []
    real = replica_module.roomy

    def roomy(*args) -> bool:
        seen.append(real(*args))
        return seen[-1] and not checked
    monkeypatch.setattr(replica_module, "roomy", roomy)
    return _arrays(simulate(plan, r.strategy, r.layout, kv_tokens=kv_tokens)), seen


@pytest.mark.parametrize("strategy,traffic,extra", [
    ("tp 1 ; ep 8", "rate = 6 requests/s  requests = 600  lengths = lognormal  prefix = 1500 tokens", ""),
    ("dp 2 < tp 1 ; ep 4 >", "concurrency = 48  requests = 600", ""),
    ("tp 8", "rate = 8 requests/s  requests = 600  lengths = exponential",
     "speculative { method = mtp  tokens = 1  acceptance = 0.8 }"),
])
def test_a_roomy_replica_runs_as_one_that_checks_its_blocks_to_the_last_bit(monkeypatch, strategy, traffic, extra):
    text = PLAN.format(strategy=strategy, traffic=traffic, extra=extra)
    skipped, roomy = _run(monkeypatch, text, None, checked=False)
    checked, _ = _run(monkeypatch, text, None, checked=True)
    assert roomy and all(roomy), "the H200s' KV cache holds every rank's cap of these requests"
    assert skipped.keys() == checked.keys()
    for name, value in skipped.items():
        nan = value.dtype.kind == "f"
        assert value.shape == checked[name].shape and np.array_equal(value, checked[name], equal_nan=nan), name


def test_a_small_cache_is_not_roomy_and_preempts(monkeypatch):
    text = PLAN.format(strategy="tp 8", traffic="concurrency = 64  requests = 400", extra="")
    figures, roomy = _run(monkeypatch, text, 60_000, checked=False)
    assert roomy == [False]
    assert figures["preemptions"].sum() > 0


def test_the_pool_evicts_its_least_recently_used_blocks_as_many_as_it_needs():
    kv = RankKV(100, 64)                          # 4 blocks a hashed prompt block
    kv.take(80)
    for h in range(5):
        assert kv.add([h], 0, 1) == 1             # cached as the request that prefilled it holds it
    kv.used += 20                                 # those 5 × 4 blocks
    kv.release([0, 1, 2, 3, 4], 5)                # nobody holds them now: evictable, 0 the least recent
    assert (kv.used, kv.evictable, kv.free) == (100, 20, 20)
    kv.take(9)                                    # 9 over: three entries of 4 blocks go, the three oldest
    assert list(kv.cache) == [3, 4] and (kv.used, kv.evictable) == (97, 8)
    kv.take(50)                                   # more than the cache holds: all of it goes
    assert not kv.cache and (kv.used, kv.evictable) == (139, 0)


@pytest.mark.parametrize("traffic,kv_tokens", [
    ("rate = 6 requests/s  requests = 600  lengths = lognormal  prefix = 1500 tokens", None),
    ("rate = 6 requests/s  requests = 400  lengths = lognormal  prefix = 1500 tokens", 12_000),   # evicts, preempts
    ("rate = 20 requests/s  requests = 400", 8_000),                                           # short of blocks
])
@pytest.mark.parametrize("strategy", ["tp 1 ; ep 8", "tp 8"])
def test_a_replica_taking_its_ranks_blocks_late_runs_as_one_taking_them_every_event(monkeypatch, traffic, kv_tokens,
                                                                                    strategy):
    """A run that records no timeline (a capacity's trial), on 8 attention-DP ranks as on one, takes a rank's
    decode blocks only when the rank is next read or changed (`DecodeBlocks.sync`): every figure the same, bit for
    bit, as the recorded run — on one rank, which takes them at every event, and on 8, which takes them late too but
    at other moments (as its timeline notes the ranks changed: tests/test_replica_timeline.py) — with the prefix cache
    evicting and requests preempted."""
    plan, r = _checked(PLAN.format(strategy=strategy, traffic=traffic, extra=""))
    lazy: list[bool] = []
    real = replica_module.Replica.run

    def run(self) -> None:
        lazy.append(self.lazy)
        real(self)
    monkeypatch.setattr(replica_module.Replica, "run", run)
    late = _arrays(simulate(plan, r.strategy, r.layout, kv_tokens=kv_tokens, watch=True))   # no percentile watched
    eager = _arrays(simulate(plan, r.strategy, r.layout, kv_tokens=kv_tokens))
    assert lazy == [True, strategy != "tp 8"], "the unrecorded run takes its blocks late, the recorded one on 8 too"
    if kv_tokens is not None:
        assert late["preemptions"].sum() > 0, "a cache this small preempts"
    assert not any(name.startswith("timeline") for name in late)
    for name, value in late.items():
        nan = value.dtype.kind == "f"
        assert value.shape == eager[name].shape and np.array_equal(value, eager[name], equal_nan=nan), name


@pytest.mark.parametrize("traffic,syncs_a_request", [
    ("rate = 4 requests/s  requests = 300", 2),                                              # admitted unread
    ("rate = 4 requests/s  requests = 300  lengths = lognormal  prefix = 1500 tokens", 3),    # its cache read
])
def test_a_rank_that_can_refuse_no_request_is_not_read_to_admit_one(monkeypatch, traffic, syncs_a_request):
    """A roomy replica of 8 ranks without a prefix cache admits a request without bringing the rank's decode blocks
    up to date (`Replica.always_fits`): a rank's blocks are taken as its block phases change, when a request's prompt
    is in and when it leaves — 2 a request; with a prefix cache, whose blocks admission reads, 3."""
    plan, r = _checked(PLAN.format(strategy="tp 1 ; ep 8", traffic=traffic, extra=""))
    calls: list[int] = []
    real = replica_blocks_module.DecodeBlocks.sync

    def sync(self, rank: int, step: int) -> None:
        calls.append(rank)
        real(self, rank, step)
    monkeypatch.setattr(replica_blocks_module.DecodeBlocks, "sync", sync)
    load = simulate(plan, r.strategy, r.layout)
    assert load.preemptions is not None and load.preemptions.sum() == 0
    assert len(calls) == syncs_a_request * 300


def test_a_decoding_requests_own_blocks_grow_a_block_every_p_steps_from_its_first_blocks_phase():
    """`DecodeBlocks.blocks_now`: ⌈u0 / 16⌉ own blocks for its `u0` own prompt tokens, and one more each time its
    block's tokens pass 16 — at 1 token a step (P = 16), u0 = 20 tokens hold 2 blocks, 4 tokens in the second: 12
    steps fill it, the 13th takes a third block, the 29th a fourth, the 45th a fifth; from any step it starts at."""
    requests = Requests(None, np.array([20, 40]), np.array([100, 100]))
    blocks = DecodeBlocks(Run.of(requests), [RankKV(1000, 16)], 1.0, [1], no_evict=False, lazy=False)
    for start in (0, 5, 37):
        req = Req(0, 99, 20, [])
        req.start = start
        blocks.decoding(req, 0, 20)
        held = [blocks.blocks_now(req, start + s) for s in (0, 12, 13, 28, 29, 45)]
        assert held == [2, 2, 3, 3, 4, 5], start
