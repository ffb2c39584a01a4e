"""The work split (SPEC 3.5): requests per (replica, micro-batch, attention-DP group), owned by the
layout and read by memory, the DAG, W503 and the search alike."""

from __future__ import annotations

import numpy as np
from hypothesis import given, seed, settings, strategies as st

from dagc.ir.build import build
from dagc.ir.dag import OpKind, Phase
from dagc.lang.lower import model_from_preset
from dagc.layout.layout import resolve
from dagc.layout.shards import kv_bytes_per_token_layer
from dagc.memory.memory import memory
from dagc.memory.resident import requests_per_rank
from dagc.plan.cluster import Cluster
from dagc.plan.presets import GPU_PRESETS
from dagc.plan.strategy import Strategy
from dagc.plan.workload import Workload

MODEL = model_from_preset("mixtral-8x7b")
CLUSTER = Cluster(gpus=16, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9)


def dag_requests(workload, layout):
    """The requests the built DAG sends through each attention-DP group, per micro-batch: read off
    its first decode step, where a rank's attention processes one token per request of its group
    (split over cp)."""
    dag = build(MODEL, workload, layout)
    reqs = np.zeros((dag.microbatches, layout.adp))
    for n in dag.nodes():
        if n.kind is OpKind.ATTENTION and n.phase is Phase.DECODE and n.step == 0 and n.stage == 0:
            per_rank = n.template.tokens * layout.cp
            reqs[n.microbatch] = per_rank[:: layout.tp * layout.cp]
    return reqs


def test_batch_10_kv_cache_and_dag_agree():
    """batch 10, 4 micro-batches, tp 4 ; ep 8 on 8 GPUs (attention DP 2): the KV cache is sized
    for the 5 requests of attention group 0, and the DAG sends those 5 through it (2+1+1+1)."""
    cluster = Cluster(gpus=8, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9)
    w = Workload(batch=10, prompt=512, generate=64, microbatches=4)
    lay = resolve(MODEL, cluster, w, Strategy(text="tp 4 ; ep 8", tp=4, ep=8))
    assert (lay.adp, lay.microbatches) == (2, 4)
    reqs = dag_requests(w, lay)
    assert reqs.tolist() == [[2, 2], [1, 1], [1, 1], [1, 1]]
    assert reqs[:, 0].sum() == 5 == requests_per_rank(w, lay) == lay.requests_per_rank
    # The KV cache: 5 requests × 576 tokens × 2·(2 KV heads)·128·2 bytes × 32 layers.
    kv = 5 * (w.prompt + w.generate) * kv_bytes_per_token_layer(MODEL, 4) * MODEL.layers
    assert kv == 5 * 576 * 2 * 2 * 128 * 2 * 32
    assert memory(MODEL, w, cluster, lay).stages[0].kv_cache_bytes == kv


@seed(9)
@settings(max_examples=40, deadline=None, derandomize=True)
@given(batch=st.integers(1, 40), dp=st.sampled_from([1, 2]), pp=st.sampled_from([1, 2]),
       tp=st.sampled_from([1, 2, 4]), ep=st.sampled_from([1, 2, 4, 8]), mb=st.integers(1, 12))
def test_dag_and_memory_agree_on_requests(batch, dp, pp, tp, ep, mb):
    text = " ".join(p for p in (f"dp {dp}" if dp > 1 else "", f"pp {pp}" if pp > 1 else "", f"tp {tp} ; ep {ep}") if p)
    strategy = Strategy(text=text, dp=dp, pp=pp, tp=tp, ep=ep, etp=1)
    workload = Workload(batch=batch, prompt=64, generate=8, microbatches=mb)
    lay = resolve(MODEL, CLUSTER, workload, strategy)
    reqs = dag_requests(workload, lay)
    per_group = reqs.sum(axis=0)
    assert per_group.tolist() == list(lay.group_requests(0))
    assert per_group.max() == requests_per_rank(workload, lay)
    assert reqs.sum(axis=1).min() >= 1                     # every micro-batch carries a request
    total = sum(lay.requests(r).sum() for r in range(lay.dp))
    assert total == batch
    assert lay.distinct_request_rows() == list(dict.fromkeys(tuple(row) for row in reqs.tolist()))
    assert lay.microbatch_requests() == tuple(int(n) for n in reqs.sum(axis=1))
    assert lay.work_is_even == all(lay.requests(r).min() == lay.requests(r).max() == batch / lay.work_parts
                                   for r in range(lay.dp))
