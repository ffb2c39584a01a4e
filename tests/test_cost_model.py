"""The measured cost model (SPEC 6.4, 6.5), by hand: kernel floors, the MoE layer's glue, EP traffic
per destination rank and node, the dispatch dtype, per-level collectives, random routing, the
efficiency scales and the memory reserve."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dagc.cost.compute import kernel_time_s
from dagc.cost.cost import template_time_s
from dagc.cost.cost_model import CostModel
from dagc.ir.dag import Kernel, KernelClass, OpKind, Phase
from dagc.ir.ops import REFERENCE
from dagc.kernels.kernels import builtin_profile
from dagc.lang.load import load_plan_text
from dagc.layout.routing import expected_distinct_nodes, expected_distinct_ranks, max_load_factor
from dagc.verdict.check import check
from conftest import plan_text

H100 = builtin_profile("h100-sxm")
MIXTRAL = 'model preset "mixtral-8x7b" { layers = 2 }'


def result(**parts):
    return check(load_plan_text(plan_text(**parts)))[0]


def first(r, kind, phase=Phase.PREFILL):
    """Template and lock-step duration of the first `kind` op of `phase`, micro-batch 0."""
    dag = r.dag
    i = next(i for i in range(len(dag)) if dag.kind[i] is kind and dag.phase[i] is phase and dag.mb[i] == 0)
    return dag.template[i], float(r.compiled.costs.node_s[i])


def test_every_launch_costs_at_least_the_floor():
    one = Kernel("x", KernelClass.MEMORY, (np.array([16.0, 0.0]),))
    many = Kernel("x", KernelClass.MEMORY, (np.array([16.0]),), launches=26)
    t = kernel_time_s(one, H100)
    assert t[0] == pytest.approx(H100.floor_s) and t[1] == 0.0          # a rank with nothing launches nothing
    assert kernel_time_s(many, H100)[0] == pytest.approx(26 * H100.floor_s)
    big = Kernel("x", KernelClass.MEMORY, (np.array([1e9]),), launches=2)
    assert kernel_time_s(big, H100)[0] == pytest.approx(float(H100.memory_s(1e9, "copy")))


def test_the_moe_glue_moves_these_bytes():
    """tp 1 ; ep 1 on one GPU, 2 requests × 128 tokens, Mixtral top-2 of 8, uniform routing:
    T = 256 tokens, e = 512 token-expert rows, all 8 experts hit (64 rows each)."""
    r = result(model=MIXTRAL, cluster='cluster { gpus = 1  gpu preset "h100-sxm"  engine = pytorch }',
               workload="workload { batch = 2  prompt = 128  generate = 2  microbatches = 1  routing = uniform }",
               strategy="strategy tp 1")
    tpl, duration = first(r, OpKind.EXPERT_FFN)
    k = {x.name: x for x in tpl.kernels}
    h, ffn, e, t = 4096, 14336, 512.0, 256.0
    assert float(k["permute"].shape[0][0]) == 2 * h * (t + 2 * e)                 # read T rows, write and copy T·k
    assert float(k["unpermute"].shape[0][0]) == 2 * h * (2 * e + 2 * t)           # read T·k rows, add into T
    assert float(k["activation"].shape[0][0]) == 6 * e * ffn                      # gate·up in, product out
    assert float(k["combine_weights"].shape[0][0]) == 4 * 2 * h * e
    assert float(k["residual_add"].shape[0][0]) == 3 * 2 * h * t
    assert float(k["zero_fill"].shape[0][0]) == 2 * h * (e + 8 * 15 + t)         # rows padded to 16 per expert
    experts, tpe, kk, n = (float(x[0]) for x in k["gate_up"].shape)
    assert (experts, tpe, kk, n) == pytest.approx((8.0, 64.0, h, 2 * ffn), rel=1e-9)
    experts, tpe, kk, n = (float(x[0]) for x in k["down"].shape)
    assert (kk, n) == (ffn, h)
    assert k["routing_index"].launches == REFERENCE["routing_index"]
    router, _ = first(r, OpKind.ROUTER)
    assert [x.name for x in router.kernels] == ["router_gemm", "softmax_topk"]
    assert float(router.kernels[1].shape[0][0]) == 4 * t * 8                      # fp32 logits over 8 experts
    assert duration == pytest.approx(sum(float(kernel_time_s(x, H100)[0]) for x in tpl.kernels))


def _dispatch(**workload):
    extra = " ".join(f"{k} = {v}" for k, v in workload.items())
    return result(model=MIXTRAL,
                  cluster='cluster { gpus = 4  gpus_per_node = 2  gpu preset "h100-sxm"  engine = pytorch }',
                  workload=f"workload {{ batch = 8  prompt = 128  generate = 2  microbatches = 1 {extra} }}",
                  strategy="strategy tp 1 ; ep 4")


def test_dispatch_sends_each_token_once_per_destination_rank_and_node():
    """tp 1 ; ep 4 over 2 nodes of 2 GPUs: each rank dispatches its 2 requests × 128 = 256 tokens;
    a token's top-2 of 8 experts (2 per rank) land on 4·(1 − C(6,2)/C(8,2)) = 13/7 ranks and on
    2·(1 − C(4,2)/C(8,2)) = 11/7 nodes (4 experts per node)."""
    r = _dispatch(routing="uniform")
    tpl, duration = first(r, OpKind.ALL_TO_ALL_DISPATCH)
    ranks_hit = 4 * (1 - math.comb(6, 2) / math.comb(8, 2))
    nodes_hit = 2 * (1 - math.comb(4, 2) / math.comb(8, 2))
    assert ranks_hit == pytest.approx(13 / 7) == pytest.approx(expected_distinct_ranks(2, 8, 4))
    assert nodes_hit == pytest.approx(expected_distinct_nodes(2, 8, 4, 2))
    per_token = 4096 * 2                                                    # bf16: Mixtral's weights are bf16
    assert list(tpl.comm_bytes) == pytest.approx([256 * ranks_hit * per_token] * 4)
    assert list(tpl.network_bytes) == pytest.approx([256 * nodes_hit * per_token] * 4)
    assert tpl.nodes == 2 and tpl.crosses_nodes
    # per level: the network part (1 of 2 nodes remote) and the NVLink forwarding (1 of 2 ranks), pipelined
    net = 0.5 * 256 * nodes_hit * per_token / (50e9 * 0.8)
    nvl = 0.5 * 256 * ranks_hit * per_token / (450e9 * 0.8)
    assert duration == pytest.approx(max(net, nvl) + 20e-6)


def test_dispatch_in_fp8_and_combine_in_bf16():
    bf16, fp8 = _dispatch(routing="uniform"), _dispatch(routing="uniform", dispatch="fp8")
    d16, _ = first(bf16, OpKind.ALL_TO_ALL_DISPATCH)
    d8, _ = first(fp8, OpKind.ALL_TO_ALL_DISPATCH)
    c8, _ = first(fp8, OpKind.ALL_TO_ALL_COMBINE)
    assert d8.comm_bytes_total == pytest.approx(d16.comm_bytes_total / 2)
    assert c8.comm_bytes_total == pytest.approx(d16.comm_bytes_total)
    # an fp8 model dispatches in fp8 unless the plan says otherwise
    ds = result(model='model preset "deepseek-v3" { layers = 4 }',
                cluster='cluster { gpus = 16  gpu preset "h200"  engine = pytorch }',
                workload="workload { batch = 16  prompt = 128  generate = 2  microbatches = 1 }",
                strategy="strategy tp 1 ; ep 16")
    d, _ = first(ds, OpKind.ALL_TO_ALL_DISPATCH)
    c, _ = first(ds, OpKind.ALL_TO_ALL_COMBINE)
    assert d.comm_bytes_total == pytest.approx(c.comm_bytes_total / 2)


def test_a_tp_all_reduce_across_nodes_is_priced_per_level():
    """tp 16 over 2 nodes of 8: reduce-scatter and all-gather over NVLink, the 1/8 share across the
    network: 2·(7/8·M/(450·0.8 GB/s) + 1/2·M/(8·50·0.8 GB/s)) + 20 us."""
    r = result(model=MIXTRAL, cluster='cluster { gpus = 16  gpu preset "h100-sxm"  engine = pytorch }',
               workload="workload { batch = 4  prompt = 128  generate = 2  microbatches = 1 }",
               strategy="strategy tp 16 ; ep 8 etp 2")
    tpl, duration = first(r, OpKind.ALL_REDUCE)
    assert tpl.group_size == 16 and tpl.nodes == 2
    m = 4 * 128 * 4096 * 2
    expected = 2 * (7 / 8 * m / 360e9 + 1 / 2 * m / (8 * 40e9)) + 20e-6
    assert duration == pytest.approx(expected)
    flat = 2 * 15 / 16 * m / 40e9 + 20e-6                       # the whole ring at the network's bandwidth
    assert duration < flat


def test_random_routing_loads_the_busiest_rank_by_the_expected_maximum():
    r = _dispatch()                                             # routing = random, the default
    tpl, _ = first(r, OpKind.EXPERT_FFN, Phase.DECODE)
    # decode: 2 requests per attention group, 4 groups: 8 tokens enter the EP group, top-2 of 8
    mean = 8 * 2 / 4
    factor = max_load_factor(8, 2, 8, 4)
    assert factor > 1.2
    assert float(tpl.tokens[0]) == pytest.approx(mean * factor)                  # ep index 0 is the busiest
    assert float(tpl.tokens.sum()) == pytest.approx(8 * 2)                         # the assignments are all there
    uniform, _ = first(_dispatch(routing="uniform"), OpKind.EXPERT_FFN, Phase.DECODE)
    assert float(uniform.tokens[0]) == pytest.approx(mean)


def test_efficiency_scales_the_measured_speed():
    def plan(eff):
        cluster = f'cluster {{ gpus = 4  gpu preset "h100-sxm"  engine = pytorch  efficiency {{ {eff} }} }}'
        return load_plan_text(plan_text(cluster=cluster))

    base = CostModel.from_cluster(plan("network = 0.8").cluster)
    half = CostModel.from_cluster(plan("compute = 0.5  hbm = 0.25").cluster)
    gemm = Kernel("g", KernelClass.GEMM, (np.array([512.0]), np.array([4096.0]), np.array([4096.0])))
    norm = Kernel("n", KernelClass.MEMORY, (np.array([1e8]),), memory_op="rms_norm")
    r = check(load_plan_text(plan_text()))[0]
    tpl = r.dag.template[0]
    for k, scale in ((gemm, 2.0), (norm, 4.0)):
        one = template_time_s(type(tpl)(**{**tpl.__dict__, "kernels": (k,)}), base)
        two = template_time_s(type(tpl)(**{**tpl.__dict__, "kernels": (k,)}), half)
        assert two == pytest.approx(one * scale)


def test_a_gpu_defined_by_constant_efficiencies_keeps_the_roofline():
    seed = 'cluster { gpus = 4  gpu preset "generic-400t"  engine = pytorch }'
    cm = CostModel.from_cluster(load_plan_text(plan_text(cluster=seed))
                                .cluster)
    assert cm.profile is None and (cm.compute_efficiency, cm.hbm_efficiency) == (0.6, 0.8)


def test_the_reserve_counts_against_the_gpu():
    """Mixtral tp 1 on one H100: 93 GB of weights do not fit; with 8 GPUs (tp 8) each rank holds
    ~11.7 GB. A reserve that leaves less than that is E402."""
    fits = result(cluster='cluster { gpus = 8  gpu preset "h100-sxm"  engine = pytorch }', strategy="strategy tp 8")
    worst = fits.memory.worst
    assert worst.reserve_bytes == fits.plan.cluster.reserve_bytes > 0
    assert worst.total_bytes == pytest.approx(worst.weights_bytes + worst.kv_cache_bytes + worst.activation_bytes
                                              + worst.reserve_bytes)
    assert not [d for d in fits.diagnostics if d.code == "E402"]
    spare = worst.capacity_bytes - (worst.total_bytes - worst.reserve_bytes)
    over = result(cluster=f'cluster {{ gpus = 8  gpu preset "h100-sxm"  engine = pytorch  '
                          f'reserve = {spare / 2**30 + 1:.3f} GiB }}',
                  strategy="strategy tp 8")
    (e402,) = [d for d in over.diagnostics if d.code == "E402"]
    assert "reserve" in e402.message


def test_every_estimate_says_which_profile_it_used(tmp_path):
    from dagc.export.dag_json import DagJson, dag_json
    from dagc.export.report import report_json
    from dagc.export.trace import write_trace

    r = _dispatch()
    basis = report_json(r)["cost_model"]
    assert basis["kernel_profile"] == "h100-sxm" and basis["measured_on"]["gpu"] == "NVIDIA H100 80GB HBM3"
    a100 = result(cluster='cluster { gpus = 4  gpu preset "a100-80g"  engine = pytorch }')
    assert report_json(a100)["cost_model"]["kernel_profile"] == "h100-sxm@a100-80g"
    h800 = result(cluster='cluster { gpus = 4  gpu preset "h800"  engine = pytorch }')  # the H100's peaks: the profile
    assert "the h800 has no profile of its own" in report_json(h800)["cost_model"]["note"]
    seed = result(cluster='cluster { gpus = 4  gpu preset "generic-400t"  engine = pytorch }')
    assert report_json(seed)["cost_model"]["kernel_profile"] is None
    # the MoE glue is visible op by op: dag.json lists each op's kernels, the trace their time per rank
    data = DagJson.model_validate(dag_json(r.compiled))
    expert = next(n for n in data.nodes if n.kind == "expert_ffn" and n.phase == "decode")
    assert [k.name for k in expert.kernels][:3] == ["routing_index", "zero_fill", "permute"]
    assert expert.duration == pytest.approx(sum(k.seconds for k in expert.kernels))     # CUDA graph: the sum
    eager = next(n for n in data.nodes if n.kind == "expert_ffn" and n.phase == "prefill")
    launches = sum(k.launches for k in eager.kernels)
    assert eager.duration == pytest.approx(max(sum(k.seconds for k in eager.kernels), launches * H100.eager_floor_s))
    info = write_trace(r.compiled, tmp_path / "trace.json")
    events = json.loads(info.path.read_text())["traceEvents"]
    slices = [e for e in events if e["ph"] == "X" and e["args"]["kind"] == "expert_ffn"]
    assert slices and "unpermute" in slices[0]["args"]["kernels_us"]
