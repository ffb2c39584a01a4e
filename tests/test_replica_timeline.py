"""A recorded replica's timeline (`dagc.serve.replica_timeline`): on several attention-DP ranks its KV shares come
from notes of the ranks changed, each rank's blocks at an event computed from its last note, rather than from every
rank's blocks taken at every event — the same shares, bit for bit, as reading every rank at every event, across the
chunks they are computed in, with the prefix cache evicting and requests preempted.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from dagc.lang.load import load_plan_text
from dagc.serve import replica_timeline
from dagc.serve.load import simulate
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h200" {engine} }}
workload {{
  batch = 64  prompt = 4000  generate = 500  serving = inflight  chunk = 8192
  {traffic}
}}
strategy {strategy}
"""


@functools.cache
def _checked(text: str):
    plan = load_plan_text(text)
    return plan, check(plan)[0]


def _timeline(text: str, kv_tokens: int | None):
    plan, r = _checked(text)
    load = simulate(plan, r.strategy, r.layout, kv_tokens=kv_tokens)
    assert load.timeline is not None
    return load


@pytest.mark.parametrize("strategy,traffic,kv_tokens", [
    ("tp 1 ; ep 8", "rate = 6 requests/s  requests = 400  lengths = lognormal  prefix = 1500 tokens", 12_000),
    ("tp 1 ; ep 8", "rate = 20 requests/s  requests = 300", 8_000),
    ("tp 2 ; ep 8", "rate = 8 requests/s  requests = 300  lengths = lognormal  prefix = 1500 tokens", None),
    ("dp 2 < tp 1 ; ep 4 >", "concurrency = 48  requests = 300", None),
])
def test_the_kv_shares_from_notes_are_those_of_every_rank_read_at_every_event(monkeypatch, strategy, traffic,
                                                                              kv_tokens):
    """The reference notes every rank at every event, so that each share is a rank's blocks read where they were
    taken; the shares computed from the changed ranks' notes alone, in chunks of 7 events, are the same."""
    text = PLAN.format(strategy=strategy, traffic=traffic, engine="")
    monkeypatch.setattr(replica_timeline, "CHUNK", 7)
    noted = _timeline(text, kv_tokens)
    real = replica_timeline.ReplicaTimeline.note

    def note_every_rank(self) -> None:
        self.dirty.update(range(self.blocks.g))
        real(self)
    monkeypatch.setattr(replica_timeline.ReplicaTimeline, "note", note_every_rank)
    every = _timeline(text, kv_tokens)
    if kv_tokens is not None:
        assert noted.preemptions.sum() > 0, "a cache this small preempts"
    assert len(noted.timeline.t) > 7 * 10, "the run crosses many chunks"
    assert np.array_equal(noted.timeline.kv_share, every.timeline.kv_share)
    assert np.array_equal(noted.timeline.t, every.timeline.t)
    assert noted.timeline.kv_share.max() > 0.0


@pytest.mark.parametrize("strategy,traffic,kv_tokens", [
    ("tp 1 ; ep 8", "rate = 20 requests/s  requests = 300", 8_000),
    ("tp 2 ; ep 8", "concurrency = 48  requests = 300", None),
])
def test_each_kv_share_is_the_fullest_ranks_blocks_held_after_its_event(monkeypatch, strategy, traffic, kv_tokens):
    """Without a prefix cache a prefilled request changes no rank's blocks held, so each event's share is read after
    it: every rank's blocks taken to the event's step, the most held (used less evictable) over the rank's blocks
    (one replica, of 8 attention-DP ranks and of 4)."""
    text = PLAN.format(strategy=strategy, traffic=traffic, engine="")
    _checked(text)                                    # the check's own run before the records are read
    monkeypatch.setattr(replica_timeline, "CHUNK", 7)
    read: list[float] = []
    real = replica_timeline.ReplicaTimeline.noted

    def noted(self, t: float, running: int, waiting: int, step: int, kv_used: float) -> None:
        blocks = self.blocks
        for r in range(blocks.g):
            blocks.sync(r, step)
        read.append(max(kv.used - kv.evictable for kv in blocks.kv) / blocks.kv[0].total)
        real(self, t, running, waiting, step, kv_used)
    monkeypatch.setattr(replica_timeline.ReplicaTimeline, "noted", noted)
    load = _timeline(text, kv_tokens)
    assert len(read) == len(load.timeline.t) > 7 * 10
    assert np.array_equal(load.timeline.kv_share, np.array(read))
    assert load.timeline.kv_share.max() > 0.0


def test_an_engine_that_never_preempts_reads_its_promised_blocks_at_every_event():
    """TensorRT-LLM admits a request only while its rank holds it at full length: the share is the blocks promised,
    above zero whenever a request is in flight (a replica of 8 attention-DP ranks, which take their decode blocks
    late)."""
    text = PLAN.format(strategy="tp 1 ; ep 8", traffic="rate = 6 requests/s  requests = 200", engine="engine = trtllm")
    load = _timeline(text, None)
    tl = load.timeline
    busy = tl.running > 0
    assert busy.any() and (tl.kv_share[busy] > 0).all()
    # one request at full length: ⌈(4,000 + 500) / 16⌉ = 282 blocks of its rank's, whatever the steps taken so far
    plan, r = _checked(text)
    blocks = load.kv_tokens // 16
    assert tl.kv_share.max() >= 282 / blocks
