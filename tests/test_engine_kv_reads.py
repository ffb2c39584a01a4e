"""TensorRT-LLM before 0.8 read each KV head's cache once per query head of its group in a decode step
(`EngineTerms.kv_read_per_query_head`, docs/cost-model.md, "The engine"): its masked multi-head attention kernel runs
one thread block per query head, each reading its group's KV head; 0.8 made the XQA kernel, which reads it once, the
default. Computed here by hand on a small grouped-query plan (16 query heads, 2 KV heads), against its release 0.8 and
a multi-head model of the same shape."""

from __future__ import annotations

import pytest

from dagc.cost.compute import kernel_seconds, priced_kernels
from dagc.cost.cost import template_time_s
from dagc.cost.cost_model import CostModel, engine_text
from dagc.ir.dag import KernelClass, Phase, StagePass
from dagc.ir.ops import Op, OpShapes, rank_dims
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.layout.layout import resolve
from dagc.plan.engines import PRICE_TERMS, EngineTerms, engine_of, terms_of

PLAN = """model "tiny" {{
  layers = 2  hidden = 2048  heads = 16  kv_heads = {kv}  head_dim = 128  vocab = 32000  ffn = 4096
}}
cluster {{ gpus = {tp}  gpu preset "{gpu}"  engine = {engine} }}
workload {{ batch = 64  prompt = 4096  generate = 8 }}
strategy tp {tp}
"""

# Per rank at tp 1, one layer, one decode step: 64 requests at the mean context 4,096 + 8 / 2 = 4,100 tokens, each
# token's K and V of 2 KV heads of 128 bf16 values: 2 · 2 · 128 · 2 = 1,024 bytes; the queries read and the outputs
# written, 64 · (16 · 128 + 16 · 128) · 2 = 524,288 bytes.
KV_ONCE = 64 * 4100 * 1024                          # 268,697,600
ACT = 524_288


def _attention(engine: str, kv: int = 2, gpu: str = "h200", tp: int = 1, phase: Phase = Phase.DECODE):
    """The attention op of the plan's first stage in `phase`, and its cost model."""
    plan = load_plan_text(PLAN.format(engine=engine, kv=kv, gpu=gpu, tp=tp), "tiny.moe")
    lay = resolve(plan.model, plan.cluster, plan.workload, flatten(plan.strategies[0])[0])
    shapes = OpShapes(plan.model, plan.workload, lay, rank_dims(plan.model, lay),
                      StagePass(phase, lay.requests()[0], 0), engine=plan.cluster.engine.terms)
    return shapes.get(Op.ATTENTION), CostModel.from_cluster(plan.cluster)


@pytest.mark.parametrize("release, reads", [("0.5.0", True), ("0.6.1", True), ("0.7.1", True), ("0.7", True),
                                            ("0.8.0", False), ("0.17.0", False), ("1.2.0", False), (None, False)])
def test_the_releases_before_xqa_read_per_query_head(release, reads):
    assert terms_of("trtllm", release).kv_read_per_query_head is reads
    assert engine_of("trtllm", release).terms.kv_read_per_query_head is reads


@pytest.mark.parametrize("name", ["vllm", "sglang", "pytorch"])
def test_no_other_engine_does(name):
    assert not terms_of(name, None).kv_read_per_query_head


def test_a_decode_steps_kv_bytes_by_hand():
    """TensorRT-LLM 0.6.1 reads the 2 KV heads' cache 16 / 2 = 8 times: 8 × 268,697,600 + 524,288 bytes a layer's
    step; 0.8.0 once; the multi-head model (16 KV heads) reads 8 times the bytes at either release."""
    old, _ = _attention("trtllm@0.6.1")
    new, _ = _attention("trtllm@0.8.0")
    assert float(new.hbm_bytes[0]) == ACT + KV_ONCE == 269_221_888
    assert float(old.hbm_bytes[0]) == ACT + 8 * KV_ONCE == 2_150_105_088
    for release in ("0.6.1", "0.8.0"):
        mha, _ = _attention(f"trtllm@{release}", kv=16)
        assert float(mha.hbm_bytes[0]) == ACT + 8 * KV_ONCE
    assert old.flops_total == new.flops_total            # the same dot products, once per query head either way


def test_the_kernel_reads_as_many_kv_heads_as_query_heads():
    """The decode kernel's shape (batch, context, heads, KV heads, head dim, bytes) names 16 KV heads under 0.6.1, 2
    under 0.8.0: on the H200's profile the grouped-query op under 0.6.1 takes exactly the multi-head op's time."""
    def decode(tpl):
        (k,) = [k for k in tpl.kernels if k.cls is KernelClass.ATTN_DECODE]
        return tuple(float(x[0]) for x in k.shape)
    old, cm = _attention("trtllm@0.6.1")
    new, _ = _attention("trtllm@0.8.0")
    mha, _ = _attention("trtllm@0.6.1", kv=16)
    assert decode(old) == (64.0, 4100.0, 16.0, 16.0, 128.0, 2.0) == decode(mha)
    assert decode(new) == (64.0, 4100.0, 16.0, 2.0, 128.0, 2.0)
    assert [k.name for k in priced_kernels(old, cm.profile, cm.glue)] == ["decode_attention"]   # rope, KV write fused
    assert float(template_time_s(old, cm)[0]) == float(template_time_s(mha, cm)[0])
    (slow,), (fast,) = kernel_seconds(old, cm), kernel_seconds(new, cm)
    assert 7.0 < float(slow[0]) / float(fast[0]) < 8.0       # memory-bound, at the efficiencies of each shape


def test_the_time_ratio_where_memory_bound_by_hand():
    """On `generic-400t` (no profile: the roofline at 80 % of 1.8 TB/s and 60 % of 400 TFLOPS) the op is memory-bound
    — 2.15 GFLOPs take 8.96 µs at 240 TFLOPS — and takes its bytes at 1.44 TB/s: 1,493.13 µs under 0.6.1 against
    186.96 µs under 0.8.0, 2,150,105,088 / 269,221,888 = 7.986 times."""
    old, cm = _attention("trtllm@0.6.1", gpu="generic-400t")
    new, _ = _attention("trtllm@0.8.0", gpu="generic-400t")
    assert float(old.flops[0]) / 240e12 < 9e-6
    slow, fast = float(template_time_s(old, cm)[0]), float(template_time_s(new, cm)[0])
    assert slow == pytest.approx(2_150_105_088 / 1.44e12, rel=1e-12)
    assert fast == pytest.approx(269_221_888 / 1.44e12, rel=1e-12)
    assert slow / fast == pytest.approx(7.98637, rel=1e-5)


@pytest.mark.parametrize("tp, times", [(2, 8.0), (4, 4.0)])
def test_per_rank_the_query_heads_of_its_kv_heads(tp, times):
    """At tp 2 a rank holds 8 query heads and 1 KV head: 8 reads; at tp 4, 4 query heads and the KV head replicated
    (2 KV heads < tp 4): 4 reads. Each rank's requests are all 64 (TP splits heads, not requests)."""
    old, _ = _attention("trtllm@0.6.1", tp=tp)
    new, _ = _attention("trtllm@0.8.0", tp=tp)
    once = 64 * 4100 * (2 * 1 * 128 * 2)
    act = 64 * 2 * (16 // tp) * 128 * 2
    assert float(new.hbm_bytes.max()) == act + once
    assert float(old.hbm_bytes.max()) == act + times * once


def test_a_prefill_is_not_changed():
    """The context phase runs the fused multi-head attention kernel in every release: its op is the same."""
    old, cm = _attention("trtllm@0.6.1", phase=Phase.PREFILL)
    new, _ = _attention("trtllm@0.8.0", phase=Phase.PREFILL)
    assert float(old.hbm_bytes[0]) == float(new.hbm_bytes[0])
    assert [(k.name, [float(x[0]) for x in k.shape]) for k in old.kernels] == \
        [(k.name, [float(x[0]) for x in k.shape]) for k in new.kernels]
    assert float(template_time_s(old, cm)[0]) == float(template_time_s(new, cm)[0])


def test_the_term_changes_an_ops_template_so_it_is_no_price_term():
    """`kv_read_per_query_head` changes the attention op's template (its bytes, its kernel's shape): it is not in
    `PRICE_TERMS`, `unpriced` keeps it, and terms that differ in it hash apart."""
    assert "kv_read_per_query_head" not in PRICE_TERMS
    terms = EngineTerms(step_s=1e-3, kv_read_per_query_head=True)
    assert terms.unpriced().kv_read_per_query_head
    assert hash(terms) != hash(terms.model_copy(update={"kv_read_per_query_head": False}))


def test_the_report_says_so():
    said = "its decode attention reading each KV head's cache once per query head of its group"
    plan = load_plan_text(PLAN.format(engine="trtllm@0.6.1", kv=2, gpu="h200", tp=1), "tiny.moe")
    assert said in engine_text(plan.cluster)
    plan = load_plan_text(PLAN.format(engine="trtllm@0.8.0", kv=2, gpu="h200", tp=1), "tiny.moe")
    assert said not in engine_text(plan.cluster)
