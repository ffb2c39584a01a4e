"""A Grace host's eager launches (`GRACE_HOST_TIME_SCALE`, docs/cost-model.md, "A Grace host's eager launches"): a
GB200's or GB300's kernel launched outside a CUDA graph takes at least the built-in profile's eager launch time, which
an x86 HGX host measured, times 37.08 / 13.48 — the CPU time of a PyTorch `Linear` forward on a GB200 against a DGX
H100 (NVIDIA/TransformerEngine issue #2053). Graph-captured steps and every other GPU are as before."""

from __future__ import annotations

import pytest

from dagc.calibrate.figures import dagc_figures
from dagc.cost.cost_model import CostModel
from dagc.lang.load import load_plan_text
from dagc.plan.presets import GPU_PRESETS, GRACE_HOST_TIME_SCALE

PLAN = """model "tiny" {{
  layers = 2  hidden = 1024  heads = 8  kv_heads = 8  head_dim = 128  vocab = 32000
  ffn = 4096  weights = bf16  kv_cache = bf16
}}
cluster {{ gpus = 1  gpu preset "{gpu}"  engine = pytorch }}
workload {{ batch = 1  prompt = 16  generate = 8 }}
strategy tp 1
"""

H200_EAGER_S = 23.135999217629433e-6     # the h200 profile's eager launch time (docs/cost-model.md)


def test_the_grace_presets_carry_the_sourced_scale_and_no_other_does():
    assert GRACE_HOST_TIME_SCALE == pytest.approx(2.75074, abs=1e-5)
    assert GPU_PRESETS["gb200"].host_time_scale == GPU_PRESETS["gb300"].host_time_scale == GRACE_HOST_TIME_SCALE
    assert all(g.host_time_scale == 1.0 for n, g in GPU_PRESETS.items() if n not in ("gb200", "gb300"))


@pytest.mark.parametrize("gpu, eager_s", [("gb200", 63.641e-6), ("gb300", 63.641e-6), ("b200", 23.136e-6),
                                          ("h200", 23.136e-6)])
def test_the_eager_launch_time_is_the_profiles_times_its_hosts(gpu, eager_s):
    """23.136 µs × 2.75074 = 63.641 µs on a Grace host; the per-kernel floor of a graph (2.5965 µs) everywhere."""
    profile = CostModel.from_cluster(load_plan_text(PLAN.format(gpu=gpu), "tiny.moe").cluster).profile
    assert profile is not None
    assert profile.eager_floor_s == pytest.approx(eager_s, rel=1e-4)
    assert profile.floor_s == pytest.approx(2.5965e-6, rel=1e-4)


def test_a_launch_bound_prefill_on_a_gb200_takes_its_launches_at_the_grace_rate():
    """The tiny model's 16-token static prefill is 77 eager launches, each at the floor: 77 × 23.136 µs = 1.7815 ms on
    a B200 (x86 host), 77 × 63.641 µs = 4.9004 ms on a GB200; its decode step, graph-captured, is the same on both."""
    figs = {g: dagc_figures(load_plan_text(PLAN.format(gpu=g), "tiny.moe"))[0] for g in ("b200", "gb200")}
    assert figs["b200"]["ttft_ms"] == pytest.approx(77 * H200_EAGER_S * 1e3, rel=1e-9)
    assert figs["gb200"]["ttft_ms"] == pytest.approx(77 * H200_EAGER_S * GRACE_HOST_TIME_SCALE * 1e3, rel=1e-9)
    assert figs["gb200"]["ttft_ms"] == pytest.approx(4.9004, abs=1e-4)
    assert figs["gb200"]["tpot_ms"] == pytest.approx(figs["b200"]["tpot_ms"], rel=1e-12)
