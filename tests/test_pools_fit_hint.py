"""E308's hint writes the disaggregated strategy with as many instances as the cluster holds, pasteable, as E401's
names a `dp` that fits. Until 2026-11-30 it said only "use fewer instances or smaller ones, or a larger cluster":
seed 001's `prefill 1 < tp 4 > decode 3 < tp 4 ; ep 16 >` tried on 40 GPUs (`--set cluster.gpus=40`) was left to
work out that 4 + 2 × 16 = 36 fit."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = """model "seed001-moe" {
  layers = 16  hidden = 4096  heads = 32  kv_heads = 8  head_dim = 128  vocab = 32000
  moe { experts = 16  top_k = 2  ffn = 11008  gated = true }
}
cluster { gpus = GPUS  gpus_per_node = 8  gpu preset "h100-sxm" }
workload { batch = 128  prompt = 2048  generate = 512  serving = inflight }
strategy STRATEGY
"""
GENERIC = "use fewer instances or smaller ones, or a larger cluster"


def _e308(gpus: int, strategy: str):
    [r] = check(load_plan_text(PLAN.replace("GPUS", str(gpus)).replace("STRATEGY", strategy)))
    return r, [d for d in r.diagnostics if d.code == "E308"]


def test_the_hint_names_the_decode_instances_that_fit_and_following_it_checks():
    # 1 × 4 + 3 × 16 = 52 GPUs on 40: (40 − 4) // 16 = 2 decode instances, 36 GPUs; no fewer prefill instances help
    _, [e308] = _e308(40, "prefill 1 < tp 4 > decode 3 < tp 4 ; ep 16 >")
    assert e308.message == ("the pools need 52 GPUs (1 × 4 for prefill + 3 × 16 for decode), more than the "
                            "cluster's 40")
    assert e308.hint == f"on 40 GPUs: `prefill 1 < tp 4 > decode 2 < tp 4 ; ep 16 >` (36 GPUs); else {GENERIC}"
    r, e308s = _e308(40, "prefill 1 < tp 4 > decode 2 < tp 4 ; ep 16 >")
    assert e308s == [] and r.valid and r.gpus_used == 36


def test_the_hint_names_both_pools_when_either_can_shrink():
    # 4 × 8 + 2 × 16 = 64 GPUs on 56: decode (56 − 32) // 16 = 1 (48 GPUs); prefill (56 − 32) // 8 = 3 (56 GPUs)
    _, [e308] = _e308(56, "prefill 4 < tp 8 > decode 2 < tp 4 ; ep 16 >")
    assert e308.hint == ("on 56 GPUs: `prefill 4 < tp 8 > decode 1 < tp 4 ; ep 16 >` (48 GPUs), or "
                         f"`prefill 3 < tp 8 > decode 2 < tp 4 ; ep 16 >` (56 GPUs); else {GENERIC}")


def test_without_an_instance_that_fits_the_hint_stays_general():
    # one instance of each pool is already 4 + 16 = 20 GPUs, more than 16
    _, [e308] = _e308(16, "prefill 1 < tp 4 > decode 3 < tp 4 ; ep 16 >")
    assert e308.hint == GENERIC


def test_pools_written_decode_first_get_the_same_pools_in_order_as_their_hint():
    # until 2026-11-30 the hint was "write `prefill N < … > decode M < … >`", the pools left to rewrite by hand
    from dagc.lang.flatten import flatten
    from dagc.lang.load import parse_strategy
    for written, fixed in [
        ("decode 3 < tp 4 ; ep 16 > prefill 1 < tp 4 >", "prefill 1 < tp 4 > decode 3 < tp 4 ; ep 16 >"),
        ("decode 3 < pp 2 [8, 8] < tp 4 ; ep 8 > > prefill 1 < tp 4 > with microbatches 2 overlap none",
         "prefill 1 < tp 4 > decode 3 < pp 2 [8, 8] < tp 4 ; ep 8 > > with microbatches 2 overlap none")]:
        s, [e205] = flatten(parse_strategy(written))
        assert s is None and e205.code == "E205" and e205.message == "the prefill pool comes first"
        assert e205.hint == f"write `{fixed}`"
        ok, diags = flatten(parse_strategy(fixed))          # the hint, pasted, flattens without a diagnostic
        assert diags == [] and ok is not None and ok.disaggregated


def _w505(gpus: int, strategy: str):
    [r] = check(load_plan_text(PLAN.replace("GPUS", str(gpus)).replace("STRATEGY", strategy)))
    return r, [d for d in r.diagnostics if d.code == "W505"]


def test_w505_says_what_the_unused_gpus_hold_and_that_the_binding_pool_does_not_fit():
    # 64 − (4 + 3 × 16) = 12 unused: 12 // 4 = 3 more prefill instances; the decode pool binds (45.65 against
    # 77.84 requests/s) and an instance of it needs 16. Until 2026-11-30: "add instances to the binding pool, or use
    # a smaller cluster", which 12 GPUs cannot do
    r, [w505] = _w505(64, "prefill 1 < tp 4 > decode 3 < tp 4 ; ep 16 >")
    assert r.pooled is not None and r.pooled.figures is not None and r.pooled.figures.binding_pool == "decode"
    assert w505.message == "12 of 64 GPUs are unused (the pools use 52)"
    assert w505.hint == ("the 12 unused GPUs hold 3 more prefill instances (`prefill 4 < tp 4 > decode 3 < tp 4 ; "
                         "ep 16 >`), though the decode pool binds and its instance needs 16 GPUs; or use a cluster "
                         "of 52 GPUs")


def test_w505_names_the_binding_pools_instances_first_and_following_it_leaves_none_unused():
    # 64 − (4 + 2 × 16) = 28 unused: 1 more decode instance (28 // 16), or 7 more prefill instances (28 // 4)
    _, [w505] = _w505(64, "prefill 1 < tp 4 > decode 2 < tp 4 ; ep 16 >")
    assert w505.hint == ("the 28 unused GPUs hold 1 more decode instance (`prefill 1 < tp 4 > decode 3 < tp 4 ; "
                         "ep 16 >`) or 7 more prefill instances (`prefill 8 < tp 4 > decode 2 < tp 4 ; ep 16 >`); "
                         "or use a cluster of 36 GPUs")
    r, none = _w505(64, "prefill 8 < tp 4 > decode 2 < tp 4 ; ep 16 >")
    assert none == [] and r.valid and r.gpus_used == 64
