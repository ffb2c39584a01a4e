"""The DAG builder (SPEC 5): op sequence, node counts and token invariants of a small plan.

Plan: Mixtral-8x7B cut to 2 layers, `tp 2 ; ep 2` on 2 GPUs, batch 4 in 2 micro-batches of
2 requests, prompt 128: each prefill micro-batch carries 2 · 128 = 256 distinct tokens.
"""

from __future__ import annotations

import networkx as nx
import pytest

from dagc.ir.build import build
from dagc.ir.dag import OpKind, Phase
from dagc.ir.ops import decode_context
from dagc.lang.load import load_plan_text
from dagc.plan.strategy import Axis
from dagc.verdict.check import check
from conftest import plan_text

CLUSTER = 'cluster { gpus = 4  gpus_per_node = 8  gpu preset "h100-sxm" }'
WORKLOAD = "workload { batch = 4  prompt = 128  generate = 8  microbatches = 2  routing = uniform }"


def _result(model: str = 'model preset "mixtral-8x7b" { layers = 2 }', strategy: str = "strategy tp 2 ; ep 2"):
    r = check(load_plan_text(plan_text(model=model, cluster=CLUSTER, workload=WORKLOAD, strategy=strategy)))[0]
    assert r.valid and r.dag is not None
    return r


@pytest.fixture(scope="module")
def result():
    return _result()


def _layer_kinds(dag, layer: int, phase: Phase = Phase.PREFILL, step: int = 0, mb: int = 0) -> list[str]:
    return [dag.kind[i].value for i in range(len(dag))
            if dag.layer[i] == layer and dag.phase[i] is phase and dag.step[i] == step and dag.mb[i] == mb]


# tp 2 ; ep 2: the EP group is the TP group, which holds every token after its all-reduce: no
# all-to-all, the layer's closing all-reduce sums the experts' outputs (SPEC 6.5)
MOE_LAYER = ["norm", "qkv_proj", "attention", "o_proj", "all_reduce", "norm", "router", "expert_ffn", "all_reduce"]


def test_layout_of_the_plan(result):
    lay = result.layout
    assert (lay.tp, lay.ep, lay.pp, lay.dp, lay.microbatches, lay.gpus_used) == (2, 2, 1, 1, 2, 2)


def test_moe_layer_op_sequence(result):
    dag = result.dag
    for layer in (0, 1):
        assert _layer_kinds(dag, layer) == MOE_LAYER
        assert _layer_kinds(dag, layer, Phase.DECODE, 1, 1) == MOE_LAYER


def test_moe_layer_edges_follow_the_sequence(result):
    dag = result.dag
    ids = [i for i in range(len(dag)) if dag.layer[i] == 0 and dag.phase[i] is Phase.PREFILL and dag.mb[i] == 0]
    for a, b in zip(ids, ids[1:], strict=False):
        assert dag.preds[b] == [a], (dag.kind[a], dag.kind[b])


def test_node_counts_per_phase(result):
    dag = result.dag
    # per micro-batch pass: embed + 2 layers × 9 + final norm + lm_head = 21 nodes
    per_pass = 1 + 2 * 9 + 1 + 1
    assert len(dag.indices(Phase.PREFILL)) == 2 * per_pass == 42
    assert len(dag.indices(Phase.DECODE)) == 2 * 2 * per_pass == 84       # two decode steps
    assert len(dag) == 126
    kinds = [k for k in dag.kind]
    assert kinds.count(OpKind.EXPERT_FFN) == 3 * 2 * 2                     # passes × micro-batches × layers
    assert kinds.count(OpKind.ALL_REDUCE) == 3 * 2 * 2 * 2                 # two per layer with tp 2
    assert kinds.count(OpKind.LM_HEAD) == 6 and kinds.count(OpKind.EMBED) == 6
    assert OpKind.SEND not in kinds and OpKind.RECV not in kinds          # pp 1: no stage boundary


def test_expert_ffn_tokens_sum_to_tokens_times_top_k(result):
    dag = result.dag
    top_k = result.plan.model.moe.top_k
    assert top_k == 2
    seen = 0
    for i in range(len(dag)):
        if dag.kind[i] is not OpKind.EXPERT_FFN:
            continue
        tpl = dag.template[i]
        tokens = 2 * 128 if dag.phase[i] is Phase.PREFILL else 2     # a decode step: one token per request
        assert tpl.tokens_total == tokens * top_k
        assert float(tpl.tokens.sum()) == pytest.approx(tokens * top_k)   # uniform routing: 256 + 256 in prefill
        seen += 1
    assert seen == 12


def test_tp_all_reduce_carries_each_ranks_activations(result):
    dag = result.dag
    i = next(i for i in dag.indices(Phase.PREFILL) if dag.kind[i] is OpKind.ALL_REDUCE)
    tpl = dag.template[i]
    assert tpl.group is Axis.TP and tpl.group_size == 2
    assert list(tpl.tokens) == [256, 256]
    assert list(tpl.comm_bytes) == [256 * 4096 * 2] * 2


def test_decode_context_is_prompt_plus_half_the_generation(result):
    assert decode_context(result.plan.workload) == 128 + 8 // 2


def test_dag_is_acyclic(result):
    g = result.dag.to_networkx()
    assert g.number_of_nodes() == 126
    assert nx.is_directed_acyclic_graph(g)
    # nodes are appended in topological order: every data edge goes forward
    assert all(src < dst for src, dst in result.dag.edges)


def test_second_decode_step_waits_for_the_first_ones_token(result):
    dag = result.dag
    for mb in (0, 1):
        embed = next(i for i in range(len(dag)) if dag.kind[i] is OpKind.EMBED and dag.phase[i] is Phase.DECODE
                     and dag.step[i] == 1 and dag.mb[i] == mb)
        (pred,) = dag.preds[embed]
        assert dag.kind[pred] is OpKind.LM_HEAD and dag.step[pred] == 0 and dag.mb[pred] == mb


def test_dense_layers_use_dense_ffn():
    r = _result(model='model preset "mixtral-8x7b" { layers = 2  moe { dense_layers = 1  dense_ffn = 14336 } }')
    dag = r.dag
    assert _layer_kinds(dag, 0) == ["norm", "qkv_proj", "attention", "o_proj", "all_reduce", "norm", "dense_ffn",
                                    "all_reduce"]
    assert _layer_kinds(dag, 1) == MOE_LAYER
    assert sum(k is OpKind.DENSE_FFN for k in dag.kind) == 3 * 2
    assert sum(k is OpKind.ROUTER for k in dag.kind) == 3 * 2
    i = next(i for i in range(len(dag)) if dag.kind[i] is OpKind.DENSE_FFN and dag.phase[i] is Phase.PREFILL)
    # 3 matrices of 4096 × 14336, split over tp 2, 256 tokens per rank
    assert float(r.dag.template[i].flops[0]) == 2 * (3 * 4096 * 14336 / 2) * 256


def test_pipeline_adds_a_send_recv_pair_per_boundary():
    r = _result(strategy="strategy pp 2 < tp 2 >")
    dag = r.dag
    sends = [i for i in range(len(dag)) if dag.kind[i] is OpKind.SEND]
    assert len(sends) == 3 * 2                                             # passes × micro-batches × 1 boundary
    for s in sends:
        recv = dag.pair[s]
        assert dag.kind[recv] is OpKind.RECV and dag.pair[recv] == s
        assert (dag.stage[s], dag.stage[recv]) == (0, 1)
    assert nx.is_directed_acyclic_graph(dag.to_networkx())


def test_build_directly_matches_check(result):
    p, lay = result.plan, result.layout
    dag = build(p.model, p.workload, lay)
    assert [k.value for k in dag.kind] == [k.value for k in result.dag.kind]
