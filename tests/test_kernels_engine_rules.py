"""How engine kernel tables are read as the engines run them (docs/kernels.md), each rule computed by hand
on a small table written here: no extrapolation past the measured range but the roofline at the last
measured efficiency (MoE), MLA decode past its largest batch by its last per-request slope, the MoE
kernel a deployment runs (fused, or DeepEP's low-latency / normal over a wide EP group), and decode
attention over an 8-bit KV cache at the rate its kernel runs. None of it needs the `dagc[engines]` extra."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dagc.kernels.engine_import import convert
from dagc.kernels.kernels import parse_profile
from dagc.kernels.series import A2A_DEEPEP, A2A_FUSED, moe_a2a, moe_roofline_s
from dagc.kernels.tables import PeakSet
from dagc.plan.cluster import FusedMoe
from dagc.plan.model import DType

ROOT = Path(__file__).resolve().parent.parent
PEAKS = PeakSet(bf16=1e12, fp8=2e12, hbm=1e10)


def profile(peaks: dict, **tables: list[dict]) -> object:
    """A profile of the given peaks and tables over one-row defaults of the required ones."""
    one = dict(flops=0, bytes=0)
    doc = {"format": "dagc-kernel-profile", "version": 1, "name": "hand",
           "provenance": dict(gpu="paper", software="none", date="2026-11-25", method="by hand", source="test"),
           "peaks": peaks, "floor": dict(kernel_s=1e-9),
           "tables": {"gemm": [dict(dtype="bf16", M=16, N=1024, K=1024, seconds=1e-5, **one)],
                      "grouped_gemm": [dict(dtype="bf16", E=8, tokens_per_expert=4, K=1024, N=1024, seconds=1e-4,
                                            **one)],
                      "attn_prefill": [dict(B=1, S=1024, H=8, Hkv=8, D=128, seconds=1e-4, **one)],
                      "attn_decode": [dict(B=1, ctx=1024, H=8, Hkv=8, D=128, seconds=1e-5, **one)],
                      "memory": [dict(op="copy", bytes=1e6, seconds=1e-5)], **tables}}
    return parse_profile(json.dumps(doc), "hand.json")


def moe_row(tokens: int, seconds: float, kernel: str = "fused", ep: int = 2) -> dict:
    return dict(kernel=kernel, dtype="fp8", tokens=tokens, hidden=1000, inter=500, topk=2, experts=8, tp=1, ep=ep,
                seconds=seconds)


def test_moe_past_the_largest_count_follows_the_roofline_at_the_last_efficiency():
    p = profile(dict(bf16_flops_per_s=1e12, fp8_flops_per_s=2e12, hbm_bytes_per_s=1e10),
                fused_moe=[moe_row(8, 1e-3), moe_row(32, 1.2e-3)])
    # one rank of ep 2: r = T·2/2 = T rows, each expert 3·1000·500 = 1.5e6 fp8 weights; flops 2·r·1.5e6 at 2e12,
    # bytes min(8/2, r)·1.5e6 + 2·r·1000·2 at 1e10:
    #   T = 32:   compute 4.8e-5 s, HBM (6e6 + 1.28e5) / 1e10 = 6.128e-4 s → roofline 6.128e-4 s
    #   T = 128:  compute 1.92e-4 s, HBM (6e6 + 5.12e5) / 1e10 = 6.512e-4 s → 6.512e-4 s
    #   T = 4096: compute 6.144e-3 s, HBM (6e6 + 1.6384e7) / 1e10 = 2.2384e-3 s → 6.144e-3 s
    # the last measured efficiency is 6.128e-4 / 1.2e-3; past 32 tokens the time is the roofline at it
    key = FusedMoe(DType.FP8, 1000, 500, 2, 8, 1, 2)
    assert float(p.fused_moe_s(128, key)) == pytest.approx(1.2e-3 * 6.512e-4 / 6.128e-4, rel=1e-12)
    assert float(p.fused_moe_s(4096, key)) == pytest.approx(1.2e-3 * 6.144e-3 / 6.128e-4, rel=1e-12)
    # not the line through the last point (1.2e-3 · 128 / 32 = 4.8e-3 s), nor the last time
    assert float(p.fused_moe_s(128, key)) < 1.2e-3 * 128 / 32
    # inside the range: log-log between the points; below it, the least count's time
    assert float(p.fused_moe_s(16, key)) == pytest.approx((1e-3 * 1.2e-3) ** 0.5, rel=1e-12)
    assert float(p.fused_moe_s(2, key)) == pytest.approx(1e-3, rel=1e-12)


def test_mla_decode_past_the_largest_batch_grows_by_the_last_measured_slope():
    mla = [dict(B=b, ctx=1000, heads=16, seconds=s, flops=0, bytes=0)
           for b, s in ((64, 1e-4), (128, 1.5e-4), (256, 2.5e-4))]
    p = profile(dict(bf16_flops_per_s=1e15, hbm_bytes_per_s=1e13), mla_decode=mla)
    # slope of the last two points: (2.5e-4 − 1.5e-4) / 128 per request; B = 512 adds 256 requests
    assert float(p.mla_decode_s(512, 1000, 16)) == pytest.approx(2.5e-4 + 256 * 1e-4 / 128, rel=1e-12)
    # the clamped efficiency would have made it 2 · 2.5e-4 (the roofline is linear in the batch)
    assert float(p.mla_decode_s(512, 1000, 16)) < 5e-4
    # its lower bound stays below it: the roofline at the best efficiency (B = 256's) taken at B = 256
    assert float(p.mla_decode_s(512, 1000, 16, lower=True)) == pytest.approx(2.5e-4, rel=1e-12)
    # measured batches are answered exactly
    assert float(p.mla_decode_s(128, 1000, 16)) == pytest.approx(1.5e-4, rel=1e-12)


def test_the_moe_kernel_a_deployment_runs():
    rows = [moe_row(64, 5e-4, ep=8), moe_row(4096, 2e-3, ep=8),
            moe_row(64, 3e-4, "deepep_ll", 8), moe_row(1024, 4e-4, "deepep_ll", 8),
            moe_row(2048, 1e-3, "deepep_normal", 8), moe_row(8192, 2e-3, "deepep_normal", 8),
            moe_row(64, 7e-4, "deepep_ll", 16)]
    p = profile(dict(bf16_flops_per_s=1e12, fp8_flops_per_s=2e12, hbm_bytes_per_s=1e10), fused_moe=rows)
    key = FusedMoe(DType.FP8, 1000, 500, 2, 8, 1, 8)
    # a wide EP group: DeepEP's low-latency kernels up to 128 tokens a rank (64 / 8, 1024 / 8), its normal ones above
    assert float(p.fused_moe_s(64, key, A2A_DEEPEP)) == pytest.approx(3e-4, rel=1e-12)
    assert float(p.fused_moe_s(1024, key, A2A_DEEPEP)) == pytest.approx(4e-4, rel=1e-12)
    assert float(p.fused_moe_s(2048, key, A2A_DEEPEP)) == pytest.approx(1e-3, rel=1e-12)
    # the search's lower bound is the faster of the two kernels: at 2048 tokens the low-latency series is past its
    # last count (1024 tokens, 4e-4 s), where the roofline (r = 2048·2/8 = 512 rows: 2·512·1.5e6 flops at 2e12,
    # compute-bound) is twice 1024 tokens' (3.84e-4 s): 8e-4 s, below the normal kernel's 1e-3 s
    assert float(moe_roofline_s(2048, ("fp8", 1000, 500, 2, 8, 1, 8), PEAKS)) == pytest.approx(7.68e-4, rel=1e-12)
    assert float(moe_roofline_s(1024, ("fp8", 1000, 500, 2, 8, 1, 8), PEAKS)) == pytest.approx(3.84e-4, rel=1e-12)
    assert float(p.fused_moe_s(2048, key, A2A_DEEPEP, lower=True)) == pytest.approx(8e-4, rel=1e-12)
    # any other deployment: the engine's fused kernel
    assert float(p.fused_moe_s(64, key, A2A_FUSED)) == pytest.approx(5e-4, rel=1e-12)
    assert float(p.fused_moe_s(64, key)) == pytest.approx(5e-4, rel=1e-12)
    # a shape measured only behind DeepEP prices only a wide deployment
    wide16 = FusedMoe(DType.FP8, 1000, 500, 2, 8, 1, 16)
    assert p.fused_moe_covers(wide16, A2A_DEEPEP) and not p.fused_moe_covers(wide16, A2A_FUSED)
    assert float(p.fused_moe_s(4096, wide16, A2A_DEEPEP)) > 0
    # which deployments are wide: EP ≥ 8, whole experts, across attention-DP ranks
    assert (moe_a2a(8, 1, 8), moe_a2a(8, 1, 1), moe_a2a(8, 2, 4), moe_a2a(4, 1, 4)) == (2, 1, 1, 1)


def test_decode_attention_over_an_8_bit_cache_runs_at_the_kernels_rate():
    peaks = dict(bf16_flops_per_s=1e14, hbm_bytes_per_s=1e12)
    # (H, Hkv, D) = (8, 8, 128), B 1, ctx 1000: flops 4·1000·8·128 = 4.096e6 → 4.096e-8 s, bf16 KV
    # 2·2·1000·8·128 = 4.096e6 B → 4.096e-6 s; measured 8.192e-6 s: efficiency 0.5.
    # (128, 1, 128): flops 6.5536e7 → 6.5536e-4 s (compute-bound), bytes 5.12e5 → 5.12e-7 s; 1.31072e-3 s: 0.5.
    rows = [dict(B=1, ctx=1000, H=8, Hkv=8, D=128, seconds=8.192e-6, flops=0, bytes=0),
            dict(B=1, ctx=1000, H=128, Hkv=1, D=128, seconds=1.31072e-3, flops=0, bytes=0)]
    bf16_only = profile(peaks, attn_decode=rows)
    # an 8-bit cache reads half the bytes: memory-bound, half the time; compute-bound, the same time (the kernel
    # computes in bf16 over the whole context — not at the fp8 peak, which would have halved it)
    assert float(bf16_only.attn_decode_s(1, 1000, 8, 8, 128, 1.0)) == pytest.approx(4.096e-6, rel=1e-12)
    assert float(bf16_only.attn_decode_s(1, 1000, 128, 1, 128, 1.0)) == pytest.approx(1.31072e-3, rel=1e-12)
    # a profile with rows measured over an 8-bit cache prices such a cache by them (the rate its kernel ran)
    both = profile(peaks, attn_decode=[*rows, dict(B=1, ctx=1000, H=8, Hkv=8, D=128, kv="fp8", seconds=3e-6)])
    assert float(both.attn_decode_s(1, 1000, 8, 8, 128, 1.0)) == pytest.approx(3e-6, rel=1e-12)
    assert float(both.attn_decode_s(1, 1000, 8, 8, 128)) == pytest.approx(8.192e-6, rel=1e-12)
    # MLA likewise: an 8-bit latent cache by its own rows
    mla = [dict(B=b, ctx=1000, heads=16, seconds=s, kv=kv) for kv, s0 in (("bf16", 1e-4), ("fp8", 4e-4))
           for b, s in ((64, s0), (128, 2 * s0))]
    p = profile(dict(bf16_flops_per_s=1e15, hbm_bytes_per_s=1e13), mla_decode=mla)
    assert float(p.mla_decode_s(64, 1000, 16, kv_bytes=1.0)) == pytest.approx(4e-4, rel=1e-12)
    assert float(p.mla_decode_s(64, 1000, 16)) == pytest.approx(1e-4, rel=1e-12)


def test_import_keeps_each_moe_kernel_and_each_kv_cache():
    base = json.loads((ROOT / "dagc" / "data" / "kernels" / "h200.json").read_text())
    moe = dict(moe_dtype="fp8_block", hidden_size=7168, inter_size=2048, topk=8, num_experts=256, moe_tp_size=1,
               moe_ep_size=8)
    tables = {
        "moe": [dict(moe, kernel_source="sglang_fused_moe_triton", num_tokens=64, distribution="balanced", latency=0.5),
                dict(moe, kernel_source="sglang_fused_moe_triton", num_tokens=64, distribution="power_law_1.2",
                     latency=0.9)],
        "wideep_generation_moe": [dict(moe, kernel_source="deepepmoe", num_tokens=64, distribution="uniform",
                                       latency=0.3)],
        "wideep_context_moe": [dict(moe, kernel_source="deepepmoe", num_tokens=4096, distribution="uniform",
                                    latency=0.4)],
        "generation_attention": [dict(batch_size=4, isl=1000, step=24, num_heads=32, num_key_value_heads=8,
                                      head_dim=128, kv_cache_dtype=kv, latency=t) for kv, t in
                                 (("bfloat16", 0.02), ("fp8", 0.015), ("int8", 0.01))],
        "generation_mla": [dict(batch_size=4, isl=1, step=1023, num_heads=16, kv_cache_dtype=kv, latency=t)
                           for kv, t in (("bfloat16", 0.03), ("fp8", 0.2))],
    }
    doc = convert(tables, base, name="x", gpu="h200_sxm", source="test", peaks=base["peaks"])
    # (a row of the default kernel or cache leaves the key out)
    got = {(r.get("kernel", "fused"), r["tokens"], round(r["seconds"], 12)) for r in doc["tables"]["fused_moe"]}
    assert got == {("fused", 64, 0.5e-3), ("deepep_ll", 64, 0.3e-3), ("deepep_normal", 4096, 0.4e-3)}
    def kept(table: str) -> set:
        return {(r.get("kv", "bf16"), round(r["seconds"], 12)) for r in doc["tables"][table]}
    assert kept("attn_decode") == {("bf16", 2e-5), ("fp8", 1.5e-5)}          # an int8 cache's rows are not kept
    assert kept("mla_decode") == {("bf16", 3e-5), ("fp8", 2e-4)}
    assert [r.get("kernel") for r in doc["tables"]["fused_moe"] if r["seconds"] == 0.5e-3] == [None]
    assert sorted(str(r.get("kv")) for r in doc["tables"]["attn_decode"]) == ["None", "fp8"]
    assert ("MoE kernels: fused ← sglang_fused_moe_triton; deepep_ll ← deepepmoe; deepep_normal ← deepepmoe"
            in doc["provenance"]["method"])
    p = parse_profile(json.dumps(doc), "x.json")
    key = FusedMoe(DType.FP8, 7168, 2048, 8, 256, 1, 8)
    assert float(p.fused_moe_s(64, key, A2A_DEEPEP)) == pytest.approx(0.3e-3, rel=1e-12)
    assert float(p.fused_moe_s(64, key)) == pytest.approx(0.5e-3, rel=1e-12)
    assert float(p.attn_decode_s(4, 1024, 32, 8, 128, 1.0)) == pytest.approx(1.5e-5, rel=1e-12)


def test_a_plans_8_bit_cache_reaches_the_kernel_at_its_whole_context():
    from dagc.cost.compute import kernel_time_s, priced_kernels
    from dagc.ir.dag import KernelClass, OpKind
    from dagc.lang.load import load_plan_text
    from dagc.verdict.check import check

    def decode_kernel(kv: str):
        text = (f'model preset "mixtral-8x7b" {{ kv_cache = {kv} }}\ncluster {{ gpus = 1  gpu preset "h100-sxm" }}\n'
                "workload { batch = 8  prompt = 512  generate = 32 }\nstrategy tp 1\n")
        (r,) = check(load_plan_text(text, "p.moe", None))
        dag, prof = r.compiled.dag, r.plan.cluster.kernels
        (tpl,) = {dag.template[i] for i in range(len(dag)) if dag.template[i].kind is OpKind.ATTENTION
                  and dag.phase[i].value == "decode"}
        (k,) = [k for k in priced_kernels(tpl, prof) if k.cls is KernelClass.ATTN_DECODE]
        return k, prof

    bf16, prof = decode_kernel("bf16")
    fp8, _ = decode_kernel("fp8")
    one = [float(np.asarray(x).flat[0]) for x in fp8.shape]
    # the same context (512 + 32 / 2 = 528 tokens: the mean a decode step attends to), one byte an element
    assert one[1] == float(np.asarray(bf16.shape[1]).flat[0]) == 528.0
    assert one[5] == 1.0 and float(np.asarray(bf16.shape[5]).flat[0]) == 2.0
    # priced by the profile at the 8-bit cache's bytes: Mixtral's 32 heads over 8 KV heads of 128, 8 requests
    assert float(np.asarray(kernel_time_s(fp8, prof)).flat[0]) == pytest.approx(
        max(float(prof.attn_decode_s(8, 528, 32, 8, 128, 1.0)), prof.floor_s), rel=1e-12)
