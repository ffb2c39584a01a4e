"""W510's hint names what sets the micro-batches and the batch it means: a strategy's `with microbatches 64` was hinted
`microbatches = 32` — a workload field that option overrides, so the line changed nothing — and at the workload's
line; a prefill pool's instance, whose batch is `prefill_batch`, was told to "raise the batch" (until 2026-12-01)."""

from __future__ import annotations

from dagc.lang.load import load_plan_text, parse_strategy
from dagc.verdict.check import check_strategy

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h100-sxm" }}
workload {{ batch = 16  prompt = 1024  generate = 64{more} }}
strategy {strategy}
"""


def _w510(strategy: str, more: str = ""):
    plan = load_plan_text(PLAN.format(strategy=strategy, more=more), "p.moe")
    return [d for d in check_strategy(plan, parse_strategy(strategy)).diagnostics if d.code == "W510"]


def test_the_strategys_own_microbatches_are_hinted_as_its_option():
    (d,) = _w510("pp 2 < tp 2 ; ep 2 > with microbatches 32")
    assert d.message.startswith("only 16 of the 32 micro-batches carry requests: 16 requests per attention-DP group")
    assert d.span.text == "microbatches 32"
    assert d.hint == "write `with microbatches 16`, or raise the batch to 32 to fill 32 micro-batches"
    assert _w510("pp 2 < tp 2 ; ep 2 > with microbatches 16") == []        # the hinted option holds
    (d,) = _w510("pp 2 < tp 2 ; ep 2 >", "  microbatches = 32")            # the workload's: its own field, as before
    assert d.span.text == "microbatches = 32" and d.hint.startswith("set `microbatches = 16`, or raise the batch")


def test_a_prefill_pool_is_hinted_its_prefill_batch():
    pools = "prefill 1 < pp 2 < tp 2 > > decode 1 < tp 2 ; ep 2 > with microbatches 4"
    (d,) = _w510(pools, "  serving = inflight  prefill_batch = 2")
    assert d.message.startswith("prefill pool: only 2 of the 4 micro-batches carry requests: 2 requests per "
                                "attention-DP group (prefill_batch 2 / (dp 1 × attention DP 1))")
    assert d.hint == "write `with microbatches 2`, or write `prefill_batch = 4` to fill 4 micro-batches"
    assert _w510(pools, "  serving = inflight  prefill_batch = 4") == []       # the hinted field fills them


def test_a_prefill_pools_bubble_is_hinted_its_prefill_batch_too():
    pools = "prefill 1 < pp 2 < tp 2 > > decode 1 < tp 2 ; ep 2 >"
    plan = load_plan_text(PLAN.format(strategy=pools, more="  serving = inflight  prefill_batch = 1"), "p.moe")
    (d,) = [d for d in check_strategy(plan, parse_strategy(pools)).diagnostics if d.code == "W504"]
    assert d.message.startswith("prefill pool: 1 micro-batch for 2 stages")
    assert d.hint == ("the plan sets no `microbatches`, so the default of one per stage asks for 2, but the requests "
                      "fill only 1 (W510): write `prefill_batch = 2` or more to fill 2")


def test_a_pools_w510_is_at_the_option_that_set_its_microbatches():
    # at the pool (`prefill 1 < pp 2 < tp 2 > >`) until 2026-12-02, where a plain strategy's is at its option
    pools = "prefill 1 < pp 2 < tp 2 > > decode 1 < pp 2 < tp 2 > > with microbatches 32"
    ds = _w510(pools, "  serving = inflight  prefill_batch = 2")
    assert [d.message.split(":")[0] for d in ds] == ["prefill pool", "decode pool"]
    assert [d.span.text for d in ds] == ["microbatches 32"] * 2
    (d,) = _w510("prefill 1 < pp 2 < tp 2 > > decode 1 < tp 2 >", "  serving = inflight  prefill_batch = 1")
    assert d.span.text == "pp 2"          # no count written: the pool's `pp`, as a plain strategy's
