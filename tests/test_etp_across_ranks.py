"""Experts split by tensor parallelism (etp) over ranks outside the attention TP group, with ep 1 (`tp 1 ; ep 1 etp 4`
on 4 attention-DP ranks — vLLM's data parallelism without expert parallelism, its experts split over every rank): each
rank's tokens are dispatched to every shard of the experts, the shards' partial outputs all-reduced over etp and
combined back, the exchange ep > 1 gets (`dagc.ir.ops.layer_ops`). Until 2026-11-29 such a layer had none — its
critical path was compute alone, and the search named it best on communication it never priced. Inside the TP group
(`tp 4 ; ep 1 etp 4`) the TP all-reduce combines the experts' outputs, as before: no exchange."""

from __future__ import annotations

import numpy as np
import pytest

from dagc.ir.dag import OpKind, Phase
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

# Qwen3-30B-A3B: hidden 2048, 128 experts, top-8, bf16 weights (a bf16 dispatch); 64 requests on 4 attention-DP
# ranks: 16 decode tokens a rank
PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h200"  engine = vllm }
workload { batch = 64 prompt = 1000 generate = 1000 serving = inflight }
strategy STRATEGY
"""


def _decode_layer(strategy: str) -> list[tuple[str, float]]:
    r = check(load_plan_text(PLAN.replace("STRATEGY", strategy)))[0]
    assert r.valid
    return [(n.kind.value, float(np.max(n.template.comm_bytes)) if n.kind.is_comm else 0.0) for n in r.dag.nodes()
            if n.phase is Phase.DECODE and n.step == 0 and n.layer == 0 and n.microbatch == 0]


def test_experts_split_over_attention_dp_ranks_exchange_their_tokens():
    layer = _decode_layer("tp 1 ; ep 1 etp 4")
    assert [k for k, _ in layer] == ["norm", "qkv_proj", "attention", "o_proj", "norm", "router",
                                     "all_to_all_dispatch", "expert_ffn", "all_reduce", "all_to_all_combine"]
    sent = dict(layer)
    # by hand: a rank's 16 tokens go to the one EP rank (ep 1: every expert on it), to each of its 4 etp shards,
    # 2,048 values of 2 bytes: 16 × 1 × 2,048 × 2 × 4; the combine brings them back in bf16 alike
    assert sent[OpKind.ALL_TO_ALL_DISPATCH.value] == 16 * 1 * 2048 * 2 * 4 == 262_144
    assert sent[OpKind.ALL_TO_ALL_COMBINE.value] == 262_144
    # the shards' partial outputs, each token's top-8 picks summed on the shard first: the group's 64 tokens (ep 1:
    # every token on the one EP rank), 2,048 bf16 values each — not one row per pick (8 times the bytes)
    assert sent[OpKind.ALL_REDUCE.value] == 64 * 2048 * 2 == 262_144


def test_experts_inside_the_tp_group_have_no_exchange():
    kinds = [k for k, _ in _decode_layer("tp 4 ; ep 1 etp 4")]
    assert "all_to_all_dispatch" not in kinds and "all_to_all_combine" not in kinds
    assert kinds[-3:] == ["router", "expert_ffn", "all_reduce"]       # the TP reduce sums the experts' outputs


def test_each_exchange_takes_time():
    """Every exchange of the decode step is priced (more than nothing), so the step and the search's ranking pay it."""
    r = check(load_plan_text(PLAN.replace("STRATEGY", "tp 1 ; ep 1 etp 4")))[0]
    assert r.compiled is not None
    comm = [n for n in r.dag.nodes() if n.phase is Phase.DECODE and n.kind.is_comm]
    assert len(comm) >= 3 * 48 and all(float(r.compiled.costs.node_s[n.id]) > 0 for n in comm)   # 48 layers


def test_the_etp_reduce_of_an_expert_parallel_group_sums_the_tokens_a_rank_holds():
    """ep 2 etp 2 on 4 attention-DP ranks (vLLM, an all-to-all): a rank of e rows holds e · ranks hit / top-k tokens,
    ranks hit the expected EP ranks a token's 8 picks of 128 experts land on (64 a rank):
    2 · (1 − C(64, 8) / C(128, 8))."""
    from math import comb

    sent = dict(_decode_layer("tp 1 ; ep 2 etp 2"))
    hit = 2 * (1 - comb(64, 8) / comb(128, 8))
    # the busiest EP rank's rows: the group's 64 tokens × 8 picks / 2 EP ranks, times the routing's busiest factor;
    # its tokens are those rows × hit / 8, each 2,048 bf16 values
    r = check(load_plan_text(PLAN.replace("STRATEGY", "tp 1 ; ep 2 etp 2")))[0]
    expert = next(n for n in r.dag.nodes() if n.phase is Phase.DECODE and n.step == 0 and n.layer == 0
                  and n.microbatch == 0 and n.kind is OpKind.EXPERT_FFN)
    rows = float(np.max(expert.template.tokens))
    assert 64 * 8 / 2 <= rows < 64 * 8                                   # the busiest rank: at least the mean
    assert sent[OpKind.ALL_REDUCE.value] == pytest.approx(rows * hit / 8 * 2048 * 2, rel=1e-12)


def test_the_etp_reduce_is_the_experts_communication_on_the_critical_path():
    """`tp 1 ; ep 1 etp 4` has no TP group to speak of: its etp all-reduce is the routed experts' communication,
    counted with their all-to-alls as EP comm on the critical path (until 2026-11-30 it was "TP comm"); inside the TP
    group (`tp 4 ; ep 1 etp 4`) the TP all-reduce that sums the experts' outputs stays TP comm."""
    r = check(load_plan_text(PLAN.replace("STRATEGY", "tp 1 ; ep 1 etp 4")))[0]
    path = r.metrics.critical_path[Phase.DECODE]
    reduces = [n for n in r.dag.nodes() if n.kind is OpKind.ALL_REDUCE]
    assert reduces and {n.category.value for n in reduces} == {"ep_comm"}
    assert path.tp_comm_s == 0.0 and path.ep_comm_s > 0.0
    on_path = [i for i in path.nodes if r.dag.kind[i].is_comm]
    assert on_path, "the decode path crosses the experts' exchange"
    assert path.ep_comm_s == pytest.approx(sum(float(r.compiled.costs.node_s[i]) for i in on_path))
    inside = check(load_plan_text(PLAN.replace("STRATEGY", "tp 4 ; ep 1 etp 4")))[0]
    assert {n.category.value for n in inside.dag.nodes() if n.kind is OpKind.ALL_REDUCE} == {"tp_comm"}
    assert inside.metrics.critical_path[Phase.DECODE].tp_comm_s > 0.0


def test_the_trace_draws_the_etp_reduce_with_the_experts_exchange(tmp_path):
    """The trace's slices follow the critical path's categories: the etp all-reduce of `tp 1 ; ep 1 etp 4` is an
    EP slice (`cat` comm.ep, on the EP thread), as its all-to-alls are; none is TP."""
    import json

    from dagc.export.trace import write_trace
    r = check(load_plan_text(PLAN.replace("STRATEGY", "tp 1 ; ep 1 etp 4")))[0]
    info = write_trace(r.compiled, tmp_path / "t.json")
    events = json.loads(info.path.read_text())["traceEvents"]
    cats = {e["name"]: e["cat"] for e in events if e.get("ph") == "X" and e["name"] in (
        "all_reduce", "all_to_all_dispatch", "all_to_all_combine")}
    assert cats == {"all_reduce": "comm.ep", "all_to_all_dispatch": "comm.ep", "all_to_all_combine": "comm.ep"}
