"""Cost model (SPEC 6.4, 6.5): collective and compute times checked against hand-computed figures.

The constants are those of the h100-sxm preset in a small plan's cluster: NVLink 450 GB/s per
direction, network 50 GB/s, network efficiency 0.8, latency 10 us intra / 20 us inter, 989 TFLOPS
bf16 / 1979 TFLOPS fp8, 3.35 TB/s HBM; compute ops come from the h100-sxm kernel profile at its
measured speed (efficiency scales 1.0). tests/test_cost_model.py checks the profile lookups, the
MoE glue and the EP traffic by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from dagc.cost.comm import collective_time_s
from dagc.cost.compute import compute_time_s, kernel_time_s
from dagc.cost.cost import template_time_s
from dagc.cost.cost_model import CostModel
from dagc.ir.dag import Kernel, KernelClass, OpKind, Phase
from dagc.lang.load import load_plan_text
from dagc.plan.model import DType
from dagc.verdict.check import check
from conftest import plan_text

SMALL = plan_text(model='model preset "mixtral-8x7b" { layers = 2 }',
                  cluster='cluster { gpus = 4  gpus_per_node = 8  gpu preset "h100-sxm"  engine = pytorch }',
                  workload="workload { batch = 4  prompt = 128  generate = 8  microbatches = 2  routing = uniform }",
                  strategy="strategy tp 2 ; ep 2")


@pytest.fixture(scope="module")
def plan():
    return load_plan_text(SMALL)


@pytest.fixture(scope="module")
def cm(plan):
    return CostModel.from_cluster(plan.cluster)


def test_constants_come_from_the_cluster(cm):
    assert cm.gpu_flops_16bit == 989e12
    assert cm.gpu_flops_8bit == 1979e12
    assert cm.hbm_bytes_per_s == 3.35e12
    assert cm.intra_node_bytes_per_s == 450e9
    assert cm.inter_node_bytes_per_s == 50e9
    assert cm.profile is not None and cm.profile.name == "h100-sxm"
    assert (cm.compute_efficiency, cm.hbm_efficiency, cm.network_efficiency) == (1.0, 1.0, 0.8)
    assert (cm.intra_latency_s, cm.inter_latency_s) == (1e-5, 2e-5)


def test_link_is_bandwidth_times_network_efficiency(cm):
    assert cm.link(False) == pytest.approx((360e9, 1e-5))    # 450 GB/s · 0.8
    assert cm.link(True) == pytest.approx((40e9, 2e-5))      # 50 GB/s · 0.8


def test_ring_all_reduce(cm):
    bw, alpha = cm.link(False)
    # 8 ranks, 64 MiB: 2·7/8 · 67,108,864 B / 360e9 B/s + 10 us = 326.2236 us + 10 us
    m = 64 * 2 ** 20
    expected = 1.75 * 67_108_864 / 360e9 + 1e-5
    assert expected == pytest.approx(3.362236e-4, rel=1e-6)
    assert collective_time_s(OpKind.ALL_REDUCE, 8, m, bw, alpha) == pytest.approx(expected, rel=1e-12)


def test_reduce_scatter_all_gather_all_to_all_over_the_network(cm):
    bw, alpha = cm.link(True)
    # 4 ranks across nodes, 1 GB: 3/4 · 1e9 / 40e9 + 20 us = 18.75 ms + 20 us
    for kind in (OpKind.REDUCE_SCATTER, OpKind.ALL_GATHER, OpKind.ALL_TO_ALL_DISPATCH, OpKind.ALL_TO_ALL_COMBINE):
        assert collective_time_s(kind, 4, 1e9, bw, alpha) == pytest.approx(0.01877, rel=1e-12), kind


def test_send_recv_ignore_the_group_size(cm):
    bw, alpha = cm.link(False)
    # 36 MB / 360 GB/s = 100 us, + 10 us
    for kind in (OpKind.SEND, OpKind.RECV):
        assert collective_time_s(kind, 2, 36e6, bw, alpha) == pytest.approx(1.1e-4, rel=1e-12)


def test_a_group_of_one_costs_nothing(cm):
    bw, alpha = cm.link(False)
    assert collective_time_s(OpKind.ALL_REDUCE, 1, 1e9, bw, alpha) == 0.0
    assert collective_time_s(OpKind.ALL_GATHER, 1, 1e9, bw, alpha) == 0.0


def test_sixteen_vs_eight_bit_peak(cm):
    assert cm.peak_flops(DType.BF16) == 989e12
    assert cm.peak_flops(DType.FP16) == 989e12
    assert cm.peak_flops(DType.FP8) == 1979e12


def test_no_fp8_peak_falls_back_to_16_bit():
    p = load_plan_text(plan_text(cluster='cluster { gpus = 8  gpu preset "a100-80g"  engine = pytorch }'))
    cm = CostModel.from_cluster(p.cluster)
    assert cm.gpu_flops_8bit is None
    assert cm.peak_flops(DType.FP8) == 312e12 == cm.peak_flops(DType.BF16)


def test_roofline_picks_the_larger_bound():
    # 1 TFLOP at 500 TFLOP/s = 2 ms; 1 GB at 2 TB/s = 0.5 ms -> compute bound
    assert compute_time_s(1e12, 1e9, 500e12, 2e12) == pytest.approx(2e-3)
    # 1 GFLOP = 2 us; 10 GB = 5 ms -> memory bound
    assert compute_time_s(1e9, 1e10, 500e12, 2e12) == pytest.approx(5e-3)


def _prefill_op(plan, kind: OpKind, layer: int = 0):
    """The template of the first prefill `kind` op of `layer` and its (lock-step) duration."""
    c = check(plan)[0].compiled
    dag = c.dag
    for i, k in enumerate(dag.kind):
        if k is kind and dag.layer[i] == layer and dag.phase[i] is Phase.PREFILL and dag.mb[i] == 0:
            return dag.template[i], float(c.costs.node_s[i])
    raise AssertionError(f"no {kind} in layer {layer}")


def test_qkv_proj_by_hand(plan, cm):
    """Mixtral qkv_proj, tp 2, prefill micro-batch of 2 requests × 128 tokens = 256 tokens per rank:
    one GEMM of M = 256 rows, N = (32·128 + 2·8·128) / 2 = 3,072 columns, K = 4,096."""
    tpl, duration = _prefill_op(plan, OpKind.QKV_PROJ)
    h, q_out, kv_out = 4096, 32 * 128, 2 * 8 * 128
    params_r = h * (q_out + kv_out) / 2                     # 12,582,912 per TP rank
    flops = 2 * params_r * 256                              # 6,442,450,944
    hbm = params_r * 2 + 256 * (h + (q_out + kv_out) / 2) * 2  # bf16 weights + input + this rank's output
    assert flops == 6_442_450_944
    assert hbm == 28_835_840
    assert list(tpl.flops) == [flops, flops]
    assert list(tpl.hbm_bytes) == [hbm, hbm]
    (gemm,) = tpl.kernels
    assert [list(x) for x in gemm.shape] == [[256, 256], [3072, 3072], [4096, 4096]]
    gemm_s = float(cm.profile.gemm_s(256, 3072, 4096, DType.BF16))
    assert gemm_s >= max(flops / 989e12, hbm / 3.35e12)     # never faster than the datasheet roofline
    # prefill runs eagerly: one launch costs at least the measured eager launch (16.6 us on the H100)
    expected = max(gemm_s, cm.profile.eager_floor_s)
    assert expected == pytest.approx(1.664e-5, rel=1e-3)
    assert template_time_s(tpl, cm) == pytest.approx([expected, expected], rel=1e-12)
    assert duration == pytest.approx(expected, rel=1e-12)


def test_expert_ffn_is_the_sum_of_its_kernels(plan, cm):
    tpl, duration = _prefill_op(plan, OpKind.EXPERT_FFN)
    assert tpl.peak_dtype is DType.BF16
    flops = float(tpl.flops[0])
    # 256 assignments per rank (tp 2 ; ep 2 inside the TP group: every rank holds all 256 tokens,
    # top-2, 2 of the 8 experts... uniform routing: 256·2/2), each expert 3·4096·14336 params
    per_expert = 3 * 4096 * 14336
    assert flops == 2 * per_expert * 256
    names = [k.name for k in tpl.kernels]
    assert names == ["routing_index", "zero_fill", "permute", "gate_up", "activation", "down", "combine_weights",
                     "unpermute", "residual_add"]
    expected = sum(float(kernel_time_s(k, cm.profile)[0]) for k in tpl.kernels)
    assert duration == pytest.approx(expected, rel=1e-12)


def test_tp_all_reduce_of_the_plan_by_hand(plan):
    tpl, duration = _prefill_op(plan, OpKind.ALL_REDUCE)
    m = 256 * 4096 * 2                                      # tokens · hidden · 2 bytes = 2 MiB per rank
    assert tpl.group_size == 2 and not tpl.crosses_nodes
    assert list(tpl.comm_bytes) == [m, m]
    expected = 2 * 1 / 2 * m / (450e9 * 0.8) + 1e-5         # 5.825 us + 10 us
    assert expected == pytest.approx(1.5825422e-5, rel=1e-7)
    assert duration == pytest.approx(expected, rel=1e-12)


def test_no_all_to_all_when_the_tp_group_holds_the_tokens(plan):
    """`tp 2 ; ep 2`: after the TP all-reduce both ranks hold all tokens; each runs its experts on
    them and the layer's TP reduce sums the outputs (SPEC 6.5)."""
    kinds = {k for k in check(plan)[0].dag.kind}
    assert OpKind.ALL_TO_ALL_DISPATCH not in kinds and OpKind.ALL_TO_ALL_COMBINE not in kinds


@pytest.mark.parametrize("cls, coordinates", [
    (KernelClass.GEMM, ((1, 8192), (128, 8192), (128, 8192))),
    (KernelClass.GROUPED_GEMM, ((1, 64), (0, 512), (128, 4096), (128, 4096))),
    (KernelClass.ATTN_PREFILL, ((1, 8), (16, 16384), (4, 32), (1, 8), (128, 128))),
    (KernelClass.ATTN_DECODE, ((1, 256), (16, 65536), (4, 32), (1, 8), (128, 128), (2, 2))),
    (KernelClass.MEMORY, ((1, 1 << 30),)),
])
def test_a_kernel_on_few_ranks_is_priced_as_on_many(cls, coordinates, cm, monkeypatch):
    """A kernel on up to 64 ranks finds its distinct shapes as tuples, not with numpy's unique: each rank's
    seconds are the very floats (==) numpy's way gives, whichever coordinates vary and with idle ranks."""
    from dagc.cost import compute
    rng = np.random.default_rng(7)
    cases = []
    for ranks in (1, 2, 3, 8, 16, 64):
        for varying in range(len(coordinates) + 1):
            shape = []
            for j, (lo, hi) in enumerate(coordinates):
                if j < varying:      # a few distinct values repeated over the ranks, idle ranks among them
                    values = rng.integers(lo, hi + 1, size=3).astype(np.float64)
                    x = values[rng.integers(0, 3, size=ranks)]
                    shape.append(np.where(rng.random(ranks) < 0.2, 0.0, x) if j == 0 else x)
                else:
                    shape.append(float(rng.integers(lo, hi + 1)))
            cases.append(Kernel("k", cls, tuple(shape)))
    few = [kernel_time_s(k, cm.profile) for k in cases]
    monkeypatch.setattr(compute, "_FEW_RANKS", 0)
    many = [kernel_time_s(k, cm.profile) for k in cases]
    assert all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(few, many, strict=True))
    assert any(np.count_nonzero(a) > 1 and len(set(a.tolist()) - {0.0}) > 1 for a in few)
