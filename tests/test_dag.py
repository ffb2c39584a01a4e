"""SPEC 5 invariants of the DAG, on many generated plans and on the examples."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from dagc.ir.dag import OpKind, Phase
from dagc.lang.load import load_plan_text
from dagc.layout.shards import kv_heads_per_rank
from dagc.layout.speculative import draft_layer
from dagc.plan.params import active_params, attention_params, embedding_params, ffn_params
from dagc.rules.bounds import attention_core_flops_per_layer
from dagc.verdict.check import check
from conftest import EXAMPLES, checked_example, plan_text
from plans import checked, plan_texts

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.filter_too_much])


def _nodes(dag, phase=None, kind=None):
    return [n for n in dag.nodes() if (phase is None or n.phase is phase) and (kind is None or n.kind is kind)]


def check_acyclic(r):
    g = r.dag.to_networkx()
    assert nx.is_directed_acyclic_graph(g)
    assert g.number_of_nodes() == len(r.dag)


def check_experts_placed(r):
    lay, m = r.layout, r.plan.model
    if not m.has_experts:
        return
    c = lay.coords
    for stage in range(lay.pp):
        ranks = (c["stage"] == stage) & (c["replica"] == 0)
        holders = np.zeros(m.moe.experts, dtype=int)
        replicas = [set() for _ in range(m.moe.experts)]
        for ep_index, edp_index in zip(c["ep"][ranks], c["edp"][ranks], strict=True):
            for e in lay.experts_of(int(ep_index)):
                holders[e] += 1
                replicas[e].add(int(edp_index))
        # every expert: edp whole copies, each split over etp ranks
        assert set(holders) == {lay.edp * lay.etp}
        assert {len(s) for s in replicas} == {lay.edp}


def check_expert_tokens(r):
    m, lay = r.plan.model, r.layout
    if not m.has_experts:
        return
    dag = r.dag
    embeds = {(n.phase, n.step, n.microbatch): n.template.tokens_total for n in _nodes(dag, kind=OpKind.EMBED)}
    for n in _nodes(dag, kind=OpKind.EXPERT_FFN):
        tokens = embeds[(n.phase, n.step, n.microbatch)]
        if n.layer >= m.layers:           # a speculative draft pass: one position per request (no chunk, not k + 1)
            tokens = embeds[(Phase.DECODE, n.step, n.microbatch)] / r.plan.workload.step_positions
        assert n.template.tokens_total == pytest.approx(tokens * m.moe.top_k)
        # per-rank assignments: each etp shard processes its expert's tokens; a step the engine replays in a
        # CUDA graph runs its padded rows through the experts too (docs/cost-model.md, "The engine")
        rows = n.template.tokens.sum() / lay.etp
        if n.phase is not Phase.PREFILL and r.plan.cluster.engine.terms.graph_sizes:
            assert rows >= tokens * m.moe.top_k * (1 - 1e-9)
        else:
            assert rows == pytest.approx(tokens * m.moe.top_k)


def check_flops(r):
    m, w, dag = r.plan.model, r.plan.workload, r.dag
    prefill = _nodes(dag, phase=Phase.PREFILL)
    tokens = sum(n.template.tokens_total for n in prefill if n.kind is OpKind.EMBED)
    requests = tokens / w.prompt
    vh = embedding_params(m)
    body = active_params(m) - vh - m.hidden      # layers only: active params are the layers, final norm and LM head
    attention = m.layers * requests * attention_core_flops_per_layer(m, w.prompt)
    if m.window is not None:          # windowed layers compute their share of the causal pairs, by hand
        windowed = m.windowed_layers_below(m.layers)
        pairs = sum(min(i, m.window.size) if m.window.kind == "sliding" else (i - 1) % m.window.size + 1
                    for i in range(1, w.prompt + 1))
        attention *= (m.layers - windowed + windowed * pairs / (w.prompt * (w.prompt + 1) / 2)) / m.layers
    got = sum(n.template.flops_total for n in prefill)
    # Exactly: 2 × params × tokens for every layer, the embedding lookup moves bytes only, and the
    # final norm and LM head run for the last token of each request.
    assert got == pytest.approx(2 * body * tokens + attention + 2 * (vh + m.hidden) * requests, rel=1e-9)
    # SPEC 5's form, 2 × active (non-embedding) params × tokens + attention, within 1 %:
    # the last-token LM head is the only difference.
    if w.prompt >= 64:
        assert got == pytest.approx(2 * body * tokens + attention, rel=0.01)
    # In decode every token runs the LM head: the matmuls are 2 × active params × tokens exactly (the
    # embedding lookup, not counted active, computes nothing); a speculative draft pass adds a layer.
    if w.speculative is None:
        decode = _nodes(dag, phase=Phase.DECODE)
        decoded = sum(n.template.tokens_total for n in decode if n.kind is OpKind.EMBED)
        matmuls = sum(n.template.flops_total for n in decode if n.kind is not OpKind.ATTENTION)
        assert matmuls == pytest.approx(2 * active_params(m) * decoded, rel=1e-9)


def weights_by_replication(r) -> float:
    """Σ over ranks of the weights, from the parameters and how often each is replicated."""
    m, lay = r.plan.model, r.layout
    g, tp = lay.group_size, lay.tp
    h, wb, eb = m.hidden, m.weights.bytes, m.expert_weights.bytes
    copies_tp = g // tp                                    # a tp-split matrix has G/tp full copies per stage
    if m.attention.value == "mla":
        a = m.mla
        replicated = h * (a.kv_lora + a.qk_rope) + a.kv_lora + h * a.q_lora + a.q_lora
        attn = (attention_params(m) - replicated) * copies_tp + replicated * g
    else:
        q_o = 2 * h * m.heads * m.head_dim
        kv_copies = kv_heads_per_rank(m, tp) * tp / m.kv_heads
        attn = q_o * copies_tp + 2 * h * m.kv_heads * m.head_dim * kv_copies * copies_tp
    per_layer = attn + 2 * h * g
    # the routed experts as the engine holds them (`Layout.held`: vLLM pads mxfp4 experts to its kernel's tiles and
    # may keep their block scales twice; tests/test_expert_padding.py works those figures out by hand), in bytes of
    # the experts' own dtype: an expert's share on each of its etp ranks, times the ranks
    routed = m.moe.experts * lay.held.params * lay.etp * lay.edp * lay.held.resident_bytes_per_param / eb
    experts = routed + m.moe.shared * ffn_params(m, m.moe.shared_ffn_size) * copies_tp
    router = h * m.moe.experts * g
    dense = ffn_params(m, m.moe.dense_ffn) * copies_tp
    moe_layers, dense_layers = m.moe_layer_count, m.dense_layer_count
    draft = draft_layer(m, r.plan.workload)          # speculative decoding's draft layer, on the last stage
    draft_dense = 0.0                                # a dense draft layer: its own FFN (an EAGLE draft's)
    if draft is not None and not draft.dense:
        moe_layers += 1
    elif draft is not None:
        draft_dense = per_layer + ffn_params(m, draft.ffn) * copies_tp
    total = (moe_layers + dense_layers) * per_layer + moe_layers * router + dense_layers * dense + draft_dense
    total += embedding_params(m) * copies_tp * (1 if (m.tied and lay.pp == 1) else 2) + h * g
    return (total * wb + moe_layers * experts * eb) * lay.dp


def check_weights(r):
    lay = r.layout
    summed = sum(s.weights_bytes for s in r.memory.stages) * lay.group_size * lay.dp
    assert summed == pytest.approx(weights_by_replication(r), rel=1e-9)


@SETTINGS
@given(plan_texts())
def test_invariants_on_generated_plans(text):
    r = checked(text)
    check_acyclic(r)
    check_experts_placed(r)
    check_expert_tokens(r)
    check_flops(r)
    check_weights(r)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.moe")), ids=lambda p: p.name)
def test_invariants_on_examples(path):
    for r in checked_example(path.name):
        assert r.dag is not None
        check_acyclic(r)
        check_experts_placed(r)
        check_expert_tokens(r)
        check_flops(r)
        check_weights(r)


def test_dag_size_independent_of_gpu_count():
    # 256 requests: the 128 replicas hold 2 each, enough for the 2 micro-batches of pp 2.
    workload = "workload { batch = 256  prompt = 2048  generate = 256 }"
    small = check(load_plan_text(plan_text(cluster='cluster { gpus = 16 gpu preset "h100-sxm" }',
                                           strategy="strategy pp 2 < tp 8 >", workload=workload)))[0]
    big = check(load_plan_text(plan_text(cluster='cluster { gpus = 2048 gpu preset "h100-sxm" }',
                                         strategy="strategy dp 128 < pp 2 < tp 8 > >", workload=workload)))[0]
    assert len(small.dag) == len(big.dag)
    assert big.dag.dp == 128


def test_layer_op_sequence_moe_tp_ep():
    r = check(load_plan_text(plan_text(strategy="strategy tp 2 ; ep 4")))[0]
    layer0 = [n.kind.value for n in r.dag.nodes() if n.phase is Phase.PREFILL and n.layer == 0 and n.microbatch == 0]
    assert layer0 == ["norm", "qkv_proj", "attention", "o_proj", "all_reduce", "norm", "router",
                      "all_to_all_dispatch", "expert_ffn", "all_to_all_combine", "all_reduce"]


def test_layer_op_sequence_sp_shared_and_dense():
    r = check(load_plan_text(plan_text(model='model preset "deepseek-v3"', strategy="strategy tp 4 sp ; ep 32",
                                       cluster='cluster { gpus = 32 gpu preset "h200" }')))[0]
    dag = r.dag
    dense = [n.kind.value for n in dag.nodes() if n.phase is Phase.PREFILL and n.layer == 0 and n.microbatch == 0]
    assert dense == ["norm", "all_gather", "qkv_proj", "attention", "o_proj", "reduce_scatter", "norm", "all_gather",
                     "dense_ffn", "reduce_scatter"]
    moe = [n for n in dag.nodes() if n.phase is Phase.PREFILL and n.layer == 3 and n.microbatch == 0]
    kinds = [n.kind.value for n in moe]
    assert "shared_expert" in kinds
    shared = moe[kinds.index("shared_expert")]
    dispatch = moe[kinds.index("all_to_all_dispatch")]
    preds = set(dag.preds[shared.id])
    assert dispatch.id not in preds and dag.preds[dispatch.id] != preds  # beside the dispatch, not after it


def test_pipeline_send_recv_pairs():
    r = check(load_plan_text(plan_text(cluster='cluster { gpus = 24 gpu preset "h100-sxm" }',
                                       strategy="strategy pp 3 < tp 8 >")))[0]
    c = r.compiled
    sends = [n for n in c.nodes() if n.node.kind is OpKind.SEND]
    assert len(sends) == 3 * r.layout.microbatches * 2  # (prefill + 2 decode steps) × mb × boundaries
    for s in sends:
        recv = c.node(c.dag.pair[s.node.id])
        assert recv.node.kind is OpKind.RECV and recv.node.stage == s.node.stage + 1
        assert (recv.start_s, recv.finish_s) == (s.start_s, s.finish_s)


def test_decode_reads_kv_cache_and_distinct_experts():
    r = check(load_plan_text(plan_text(strategy="strategy tp 2 ; ep 8",
                                       workload="workload { batch = 4 prompt = 4096 generate = 64 }")))[0]
    dag, m = r.dag, r.plan.model
    attn = next(n for n in dag.nodes() if n.phase is Phase.DECODE and n.kind is OpKind.ATTENTION)
    # attention DP 4: 1 request per rank; context prompt + generate/2; 2 KV heads × 128 × 2 bytes × 2 (k, v)
    kv_read = (4096 + 32) * 2 * 4 * 128 * 2
    assert attn.template.hbm_bytes[0] >= kv_read
    expert = next(n for n in dag.nodes() if n.phase is Phase.DECODE and n.kind is OpKind.EXPERT_FFN)
    # 4 tokens in the EP group each picking 2 of 8 experts: expected distinct 8·(1−(3/4)^4) of 8 → 1 local expert
    hit = 1 * (1 - (1 - 2 / 8) ** 4)
    weights = hit * ffn_params(m, m.moe.ffn) * 2
    assert expert.template.hbm_bytes.max() == pytest.approx(weights + expert.template.act_bytes.max())


def test_imbalance_busiest_rank():
    base = check(load_plan_text(plan_text(strategy="strategy tp 2 ; ep 8")))[0]
    skew = check(load_plan_text(plan_text(strategy="strategy tp 2 ; ep 8", workload=(
        "workload { batch = 64 prompt = 2048 generate = 256 routing = imbalance 1.3 }"))))[0]
    e0 = next(n for n in base.dag.nodes() if n.kind is OpKind.EXPERT_FFN).template.tokens
    e1 = next(n for n in skew.dag.nodes() if n.kind is OpKind.EXPERT_FFN).template.tokens
    assert e1.max() == pytest.approx(1.3 * e0.mean()) and e1.sum() == pytest.approx(e0.sum())
    assert skew.metrics.ttft_s > base.metrics.ttft_s


def test_expand_ranks_and_budget():
    r = check(load_plan_text(plan_text(strategy="strategy tp 2 ; ep 8")))[0]
    rows = list(r.compiled.expand_ranks())
    assert len(rows) == len(r.dag) * 8
    assert all(f >= s for _, _, s, f in rows)
    with pytest.raises(ValueError):
        list(r.compiled.expand_ranks(max_ops=10))
