"""The serving engine's terms in the cost model (docs/cost-model.md, "The engine"), each on a small plan
computed by hand: the glue an engine fuses away, CUDA-graph padding of a decode step, an eager step above
the largest graph, and the host time of a step, once per step in the steady state and the load simulation.

The h100-sxm profile's per-kernel floor (2.6495 µs) and eager launch time (16.64 µs) are the profile's own.
"""

from __future__ import annotations

import numpy as np
import pytest

from dagc.cost.compute import kernel_seconds, priced_kernels
from dagc.cost.cost import template_time_s
from dagc.cost.cost_model import CostModel
from dagc.ir.dag import Phase, StagePass
from dagc.ir.ops import Op, OpShapes, rank_dims
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.layout.layout import resolve
from dagc.plan.engines import ENGINE_TERMS, EngineTerms, engine_of
from dagc.serve.step_prices import StepPrices
from dagc.verdict.check import check
from conftest import plan_text


def _plan(engine: str, batch: int = 5, serving: str = "", tp: int = 1, prompt: int = 128):
    return load_plan_text(plan_text(
        model='model preset "mixtral-8x7b" { layers = 2 }',
        cluster=f'cluster {{ gpus = {tp}  gpu preset "h100-sxm"  engine = {engine} }}',
        workload=f"workload {{ batch = {batch}  prompt = {prompt}  generate = 8  routing = uniform {serving} }}",
        strategy=f"strategy tp {tp}"))


def _with_terms(plan, terms: EngineTerms):
    """The plan with its engine's terms replaced (as a fit of the calibration corpus replaces them)."""
    engine = plan.cluster.engine.model_copy(update={"terms": terms})
    return plan.model_copy(update={"cluster": plan.cluster.model_copy(update={"engine": engine})})


def _added(plan, terms: EngineTerms) -> tuple[float, float]:
    """What the terms add to the plan's TTFT and TPOT (its engine's own terms against `terms`)."""
    (a,), (b,) = check(plan), check(_with_terms(plan, terms))
    return b.metrics.ttft_s - a.metrics.ttft_s, b.metrics.tpot_s - a.metrics.tpot_s


def _shapes(plan, phase: Phase = Phase.DECODE) -> OpShapes:
    lay = resolve(plan.model, plan.cluster, plan.workload, flatten(plan.strategies[0])[0])
    return OpShapes(plan.model, plan.workload, lay, rank_dims(plan.model, lay), StagePass(phase, lay.requests()[0], 0),
                    engine=plan.cluster.engine.terms)


def _launches(plan, op: Op) -> int:
    cm = CostModel.from_cluster(plan.cluster)
    return sum(k.launches for k in priced_kernels(_shapes(plan).get(op), cm.profile, cm.glue))


# ---------------------------------------------------------------- the glue

def test_a_layers_glue_launches_under_vllm_and_the_plain_reference():
    # pytorch: routing index 24 + zeroed buffers 2 + permute 1 + gate·up 1 + activation 1 + down 1 + weights 3
    # + un-permute 1 + residual add 1; vLLM's fused MoE: one align kernel, gate·up, activation, down, moe_sum
    assert _launches(_plan("pytorch"), Op.EXPERT_FFN) == 24 + 2 + 1 + 1 + 1 + 1 + 3 + 1 + 1 == 35
    assert _launches(_plan("vllm"), Op.EXPERT_FFN) == 1 + 1 + 1 + 1 + 1 == 5
    # attention in decode: rope 26 + decode attention 1 + layout copy 1 + KV write 2; vLLM: rope 1, attention 1,
    # KV write 1 (the output is token-major already)
    assert _launches(_plan("pytorch"), Op.ATTENTION) == 26 + 1 + 1 + 2 == 30
    assert _launches(_plan("vllm"), Op.ATTENTION) == 1 + 1 + 1 == 3
    # TensorRT-LLM: rope and the KV write inside its attention op; its MoE permutes in a kernel of its own
    assert _launches(_plan("trtllm"), Op.ATTENTION) == 1
    assert _launches(_plan("trtllm"), Op.EXPERT_FFN) == 1 + 1 + 1 + 1 + 1 + 1 == 6


def test_a_fused_un_permutation_moves_each_row_once():
    plan = _plan("vllm")
    cm = CostModel.from_cluster(plan.cluster)
    tpl = _shapes(plan).get(Op.EXPERT_FFN)
    (unpermute,) = (k for k in priced_kernels(tpl, cm.profile, cm.glue) if k.name == "unpermute")
    e = float(tpl.tokens[0])              # token-expert rows: 5 tokens padded to vLLM's graph of 8, top-2 → 16
    assert e == 16.0
    # moe_sum reads the 16 rows and writes the 8 tokens, 4096 bf16 values each: (16 + 8) · 4096 · 2 B
    assert float(unpermute.shape[0][0]) == pytest.approx((16 + 8) * 4096 * 2)
    assert unpermute.launches == 1 and unpermute.memory_op == "copy"


def test_a_profiles_own_glue_wins_over_the_engines():
    plan = _plan("vllm")
    profile = plan.cluster.kernels or CostModel.from_cluster(plan.cluster).profile
    assert profile is not None and not profile.glue          # the built-in profile: the engine's map alone
    assert CostModel.from_cluster(plan.cluster).glue == ENGINE_TERMS["vllm"].glue


# ---------------------------------------------------------------- CUDA graphs

def test_a_decode_batch_of_5_runs_in_the_graph_of_8():
    vllm, plain = _shapes(_plan("vllm")), _shapes(_plan("pytorch"))
    assert vllm.t.tolist() == [8.0] and not vllm.eager        # vLLM captures 1, 2, 4, 8, 16, …
    assert plain.t.tolist() == [5.0] and not plain.eager
    qkv = vllm.get(Op.QKV).kernels[0]
    assert float(qkv.shape[0][0]) == 8.0                      # the projection's GEMM over 8 rows
    # attention reads the 5 real requests' KV cache, not the padded rows'
    (attn,) = (k for k in vllm.get(Op.ATTENTION).kernels if k.name == "decode_attention")
    assert float(attn.shape[0][0]) == 5.0
    # the padded rows cost as real ones: the plain reference's projection at 8 rows takes as long
    eight = _shapes(_plan("pytorch", batch=8))
    cm = CostModel.from_cluster(_plan("pytorch").cluster)
    assert float(template_time_s(vllm.get(Op.QKV), cm)[0]) == float(template_time_s(eight.get(Op.QKV), cm)[0])


def test_a_batch_above_the_largest_graph_runs_eagerly():
    small = EngineTerms(graph_sizes=(1, 2, 4))                # the plain reference's glue, graphs up to 4
    plan = _with_terms(_plan("pytorch"), small)
    s = _shapes(plan)
    assert s.eager and s.t.tolist() == [5.0]
    cm = CostModel.from_cluster(plan.cluster)
    norm = s.get(Op.NORM)
    assert float(kernel_seconds(norm, cm)[0][0]) < 16.64e-6   # an RMSNorm of 5 rows takes less than a launch…
    # …so eagerly it takes the host's launch time: 16.64 µs, the h100-sxm profile's
    assert float(template_time_s(norm, cm)[0]) == pytest.approx(16.64e-6, rel=1e-12)
    graphed = _shapes(_with_terms(_plan("pytorch", batch=4), small))
    assert not graphed.eager and float(template_time_s(graphed.get(Op.NORM), cm)[0]) < 16.64e-6


def test_tensorrt_llm_runs_a_batch_between_its_sizes_eagerly():
    # TensorRT-LLM captures 1–31, 32, 64, 128 and does not pad: 33 requests run without a graph, 64 with one
    assert _shapes(_plan("trtllm", batch=33)).eager
    at_64 = _shapes(_plan("trtllm", batch=64))
    assert not at_64.eager and at_64.t.tolist() == [64.0]


def test_a_mixed_step_is_graphed_in_vllm_up_to_its_largest_size_and_eager_in_sglang():
    # 5 decode tokens and a 123-token chunk (chunk 128): 128 tokens, a vLLM graph size; SGLang runs it eagerly
    vllm = _shapes(_plan("vllm", serving="serving = inflight chunk = 128"), Phase.MIXED)
    assert not vllm.eager and vllm.t.tolist() == [128.0]
    assert _shapes(_plan("sglang", serving="serving = inflight chunk = 128"), Phase.MIXED).eager
    # above 512 tokens vLLM too: 5 decode tokens and a 1019-token chunk of a 1024-token prompt
    big = _shapes(_plan("vllm", serving="serving = inflight chunk = 1024", prompt=1024), Phase.MIXED)
    assert big.eager and big.t.tolist() == [1024.0]


# ---------------------------------------------------------------- the host time of a step

STEP_S = 1e-3
HOST = EngineTerms(step_s=STEP_S)                # the plain reference plus 1 ms a step, nothing else


def test_the_step_time_is_paid_once_per_static_step():
    # one replica, one micro-batch: the prefill is one step, each decode step one more
    assert _added(_plan("pytorch"), HOST) == pytest.approx((STEP_S, STEP_S), rel=1e-9)


def test_the_step_time_is_paid_once_per_step_in_flight_and_in_the_load_simulations_prices():
    plain = _plan("pytorch", serving="serving = inflight chunk = 64")
    (a,) = check(plain)
    (b,) = check(_with_terms(plain, HOST))
    # TPOT mixes decode and mixed steps, each 1 ms longer; TTFT is ceil(128 / (64 − 5)) = 3 mixed steps
    assert b.metrics.tpot_s - a.metrics.tpot_s == pytest.approx(STEP_S, rel=1e-9)
    assert b.metrics.ttft_s - a.metrics.ttft_s == pytest.approx(3 * STEP_S, rel=1e-9)
    with_host = _with_terms(plain, HOST)
    pa, pb = StepPrices(plain, a.strategy, a.layout), StepPrices(with_host, b.strategy, b.layout)
    for n in (1, 5, 9):
        assert pb.decode(n) - pa.decode(n) == pytest.approx(STEP_S, rel=1e-9)
        assert pb.mixed(n, 32) - pa.mixed(n, 32) == pytest.approx(STEP_S, rel=1e-9)


STEP_REQUEST_S = 50e-6
PER_REQUEST = EngineTerms(step_request_s=STEP_REQUEST_S)   # the plain reference plus 50 µs per request of a step


def test_the_host_time_per_request_is_paid_once_per_step_for_each_request_it_runs():
    # static: the prefill step runs the batch's 5 requests, so does each decode step: 5 × 50 µs = 0.25 ms more
    assert _added(_plan("pytorch"), PER_REQUEST) == pytest.approx((5 * STEP_REQUEST_S, 5 * STEP_REQUEST_S), rel=1e-9)
    # with tp 2 the two ranks are one engine process's: still its 5 requests, not 10
    (c,), (d,) = check(_plan("pytorch", tp=2)), check(_with_terms(_plan("pytorch", tp=2), PER_REQUEST))
    assert d.metrics.tpot_s - c.metrics.tpot_s == pytest.approx(5 * STEP_REQUEST_S, rel=1e-9)


def test_the_load_simulation_prices_the_host_time_per_request_at_each_steps_own_requests():
    plain = _plan("pytorch", serving="serving = inflight chunk = 64")
    (a,) = check(plain)
    (b,) = check(_with_terms(plain, PER_REQUEST))
    pa = StepPrices(plain, a.strategy, a.layout)
    pb = StepPrices(_with_terms(plain, PER_REQUEST), b.strategy, b.layout)
    for n in (1, 3, 5):
        assert pb.decode(n) - pa.decode(n) == pytest.approx(n * STEP_REQUEST_S, rel=1e-9)
    # a mixed step runs the prompt's request beside its n decode requests
    assert pb.mixed(3, 32) - pa.mixed(3, 32) == pytest.approx(4 * STEP_REQUEST_S, rel=1e-9)


LAYER_S = 100e-6
PER_LAYER = EngineTerms(layer_s=LAYER_S)        # the plain reference plus 100 µs per layer of a step


def test_the_time_per_layer_is_paid_once_per_layer_of_each_step():
    # the plan's 2 layers: a static prefill step and each decode step pay 2 × 100 µs
    assert _added(_plan("pytorch"), PER_LAYER) == pytest.approx((2 * LAYER_S, 2 * LAYER_S), rel=1e-9)
    # in flight: TTFT is ceil(128 / (64 − 5)) = 3 mixed steps, each 2 layers; the load simulation's step prices too
    inflight = _plan("pytorch", serving="serving = inflight chunk = 64")
    (c,) = check(inflight)
    (d,) = check(_with_terms(inflight, PER_LAYER))
    assert d.metrics.ttft_s - c.metrics.ttft_s == pytest.approx(3 * 2 * LAYER_S, rel=1e-9)
    pc = StepPrices(inflight, c.strategy, c.layout)
    pd = StepPrices(_with_terms(inflight, PER_LAYER), d.strategy, d.layout)
    for n in (1, 5, 9):
        assert pd.decode(n) - pc.decode(n) == pytest.approx(2 * LAYER_S, rel=1e-9)
        assert pd.mixed(n, 32) - pc.mixed(n, 32) == pytest.approx(2 * LAYER_S, rel=1e-9)


def test_each_pipeline_stage_pays_the_time_per_layer_of_its_own_layers():
    # 4 layers over 2 stages, one request: a decode step passes stage 0's 2 layers, then stage 1's: 4 × 100 µs
    # in all, as a model of 4 layers on one GPU; the step's host time (the embedding's) once, on stage 0
    text = plan_text(model='model preset "mixtral-8x7b" { layers = 4 }',
                     cluster='cluster { gpus = 2  gpu preset "h100-sxm"  engine = pytorch }',
                     workload="workload { batch = 1  prompt = 128  generate = 8  routing = uniform }",
                     strategy="strategy pp 2")
    plain = load_plan_text(text)
    assert _added(plain, PER_LAYER)[1] == pytest.approx(4 * LAYER_S, rel=1e-9)
    both = EngineTerms(layer_s=LAYER_S, step_s=STEP_S)
    assert _added(plain, both)[1] == pytest.approx(4 * LAYER_S + STEP_S, rel=1e-9)


def test_tensorrt_llm_prices_its_step_per_layer_and_the_others_per_step():
    trt, vllm = ENGINE_TERMS["trtllm"], ENGINE_TERMS["vllm"]
    assert trt.layer_s > 0 and trt.step_s < trt.layer_s * 32       # a 32-layer model's step is mostly its layers'
    assert vllm.layer_s == ENGINE_TERMS["sglang"].layer_s == engine_of("pytorch").terms.layer_s == 0.0
    # the engine's terms as a TensorRT-LLM decode step pays them: 2 layers, 1 step
    added = _added(_plan("pytorch"), EngineTerms(step_s=trt.step_s, layer_s=trt.layer_s))
    assert added[1] == pytest.approx(trt.step_s + 2 * trt.layer_s, rel=1e-9)


def test_the_plain_reference_has_no_engine_terms():
    plain = engine_of("pytorch").terms
    assert (plain.step_s, plain.layer_s, plain.frontend_s, plain.graph_sizes, dict(plain.glue)) == (0.0, 0.0, 0.0,
                                                                                                     (), {})
    assert np.all(np.diff(ENGINE_TERMS["vllm"].graph_sizes) > 0) and ENGINE_TERMS["vllm"].graph_sizes[-1] == 512


def test_a_trtllm_decode_step_between_its_default_graphs_is_said_to_be_priced_without_one():
    """W532: TensorRT-LLM's default graphs hold 1–32, 64 and 128 requests, not padded; `dagc launch` pads. A step of
    33 requests is priced eagerly, and said so, naming the launched graph (40); 64 is priced as launched; a plan that
    names no engine is priced as vLLM and not warned."""
    from dagc.verdict.check import check
    (r,) = check(_plan("trtllm", batch=33))
    (w,) = [d for d in r.diagnostics if d.code == "W532"]
    assert "no decode step of 33 requests a rank" in w.message and "its graph of 40 requests" in w.message
    for plan in (_plan("trtllm", batch=64), _plan("vllm", batch=33)):
        (r,) = check(plan)
        assert not [d for d in r.diagnostics if d.code == "W532"]
