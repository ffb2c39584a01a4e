"""The GPUs served in 2026 (SPEC 12, issue 34): the b300, gb200 and gb300 presets and b200's fp4
peak at their datasheet figures, fp4 weights at the fp4 peak or weight-only, the NVL72 rack as one
NVLink domain, `dagc presets --format json`, and what the report's assumptions say.
"""

from __future__ import annotations

import json

import pytest

from dagc.cli import main as cli
from dagc.cost.cost_model import CostModel
from dagc.export.assumptions_md import assumptions_md
from dagc.export.report import report_json
from dagc.ir.dag import OpKind, Phase
from dagc.kernels.kernels import builtin_profile, for_gpu, nearest_profile
from dagc.lang.load import load_plan_text
from dagc.plan.cluster import DEFAULT_GPUS_PER_NODE, peak_flops
from dagc.plan.model import DType
from dagc.plan.presets import GPU_PRESETS, MODEL_PRESETS
from dagc.verdict.check import check

MiB = 2**20
T = 1e12

# (memory as nvidia-smi reports it in MiB, dense bf16 / fp8 / fp4 TFLOPS, HBM TB/s, NVLink GB/s a direction,
# GPUs per NVLink domain), typed from the sources docs/decisions.md names:
DATASHEET = {
    # HGX B200, https://www.nvidia.com/en-us/data-center/hgx/: 72 PFLOPS dense fp4 for 8 GPUs; the rest as before.
    "b200": (183_359, 2250, 4500, 9000, 8.0, 900, None),
    # HGX B300, https://www.nvidia.com/en-us/data-center/hgx/: 36 / 72 PFLOPS bf16 / fp8 sparse, fp4 144 sparse |
    # 108 dense, for 8 GPUs; NVLink 1.8 TB/s per GPU; nvidia-smi "NVIDIA B300 SXM6 AC, 275040 MiB".
    "b300": (275_040, 2250, 4500, 13_500, 8.0, 900, None),
    # GB200 NVL72, https://www.nvidia.com/en-us/data-center/gb200-nvl72/: 360 / 720 / 1,440 PFLOPS sparse,
    # 576 TB/s HBM, 130 TB/s NVLink, for 72 GPUs; nvidia-smi "NVIDIA GB200, 189471 MiB".
    "gb200": (189_471, 2500, 5000, 10_000, 8.0, 900, 72),
    # GB300 NVL72, https://www.nvidia.com/en-us/data-center/gb300-nvl72/: 360 / 720 PFLOPS sparse, fp4 1,080
    # dense, 576 TB/s, 130 TB/s, for 72 GPUs; nvidia-smi "NVIDIA GB300, 284208 MiB".
    "gb300": (284_208, 2500, 5000, 15_000, 8.0, 900, 72),
}


@pytest.mark.parametrize("name", sorted(DATASHEET))
def test_the_presets_are_the_datasheet_figures(name):
    mib, bf16, fp8, fp4, hbm, nvlink, domain = DATASHEET[name]
    g = GPU_PRESETS[name]
    assert (g.memory_bytes, g.flops_16bit, g.flops_8bit, g.flops_4bit, g.hbm_bytes_per_s,
            g.intra_node_bytes_per_s, g.nvlink_domain) == (mib * MiB, bf16 * T, fp8 * T, fp4 * T, hbm * T,
                                                           nvlink * 1e9, domain)


def test_only_blackwell_has_fp4_units():
    assert {n for n, g in GPU_PRESETS.items() if g.flops_4bit} == {"b200", "b300", "gb200", "gb300"}


def test_the_new_presets_use_the_h200_profile_at_their_peaks():
    for name in ("b300", "gb200", "gb300"):
        p = for_gpu(nearest_profile(GPU_PRESETS[name]), GPU_PRESETS[name])
        assert p.name == f"h200@{name}" and p.fp4_flops_per_s == GPU_PRESETS[name].flops_4bit


# ---------------------------------------------------------------- fp4 weights: the fp4 peak, or weight-only


@pytest.mark.parametrize("dtype", [DType.NVFP4, DType.MXFP4])
def test_fp4_runs_at_the_fp4_peak_on_blackwell_and_weight_only_on_hopper(dtype):
    for name in ("b200", "b300", "gb200", "gb300"):
        assert GPU_PRESETS[name].peak_flops(dtype) == GPU_PRESETS[name].flops_4bit
    for name in ("h100-sxm", "h200", "a100-80g"):
        assert GPU_PRESETS[name].peak_flops(dtype) == GPU_PRESETS[name].flops_16bit
    assert peak_flops(1.0, 2.0, dtype) == 1.0 and peak_flops(1.0, 2.0, dtype, 4.0) == 4.0


def test_other_dtypes_keep_their_peaks_on_blackwell():
    """int4 weight-only at the 16-bit peak (W4A16, the engines' int4 kernels; until 2026-12-03 the fp8 peak)."""
    b200 = GPU_PRESETS["b200"]
    assert [b200.peak_flops(d) for d in (DType.BF16, DType.FP8, DType.INT4, DType.FP32)] == \
        [2250 * T, 4500 * T, 2250 * T, 1125 * T]


def test_a_compute_bound_fp4_gemm_runs_at_the_fp4_peak_with_the_fp8_efficiencies():
    h200 = builtin_profile("h200")
    b200 = for_gpu(h200, GPU_PRESETS["b200"])
    m = n = k = 8192.0
    # compute-bound: the time scales with the peak, the efficiency being the fp8 table's
    assert float(b200.gemm_s(m, n, k, DType.NVFP4)) == pytest.approx(float(b200.gemm_s(m, n, k, DType.FP8)) / 2,
                                                                     rel=1e-9)
    h100 = for_gpu(h200, GPU_PRESETS["h100-sxm"])
    assert float(h100.gemm_s(m, n, k, DType.NVFP4)) == pytest.approx(float(h100.gemm_s(m, n, k, DType.BF16)),
                                                                     rel=1e-9)
    # memory-bound (one row): the 4-bit bytes, block scales included, still count
    assert float(h100.gemm_s(1, n, k, DType.MXFP4)) < float(h100.gemm_s(1, n, k, DType.FP8))


def _plan(model: str, gpu: str, strategy: str, gpus: int = 8, extra: str = "") -> str:
    return (f'{model}\ncluster {{ gpus = {gpus}  gpu preset "{gpu}" {extra} }}\n'
            f"workload {{ batch = 16  prompt = 512  generate = 64 }}\nstrategy {strategy}\n")


def _expert_op(plan):
    c = check(plan)[0].compiled
    for i, k in enumerate(c.dag.kind):
        if k is OpKind.EXPERT_FFN and c.dag.phase[i] is Phase.PREFILL:
            return c.dag.template[i]
    raise AssertionError("no expert op")


def test_expert_matmuls_take_the_fp4_peak_of_the_cost_model():
    model = 'model preset "qwen3-30b-a3b" { weights = nvfp4 }'
    for gpu, peak in (("b200", 9000 * T), ("h100-sxm", 989 * T)):
        plan = load_plan_text(_plan(model, gpu, "ep 8"))
        tpl = _expert_op(plan)
        assert tpl.peak_dtype is DType.NVFP4
        assert CostModel.from_cluster(plan.cluster).peak_flops(tpl.peak_dtype) == peak


def test_the_report_says_which_fp4_compute_applies():
    model = 'model preset "qwen3-30b-a3b" { weights = mxfp4 }'
    on_b200 = check(load_plan_text(_plan(model, "b200", "ep 8")))[0]
    on_h100 = check(load_plan_text(_plan(model, "h100-sxm", "ep 8")))[0]
    assert report_json(on_b200)["assumptions"]["fp4"] == {"dtypes": ["mxfp4"], "compute": "fp4",
                                                          "peak_flops": 9000 * T}
    assert report_json(on_h100)["assumptions"]["fp4"] == {"dtypes": ["mxfp4"], "compute": "weight-only",
                                                          "peak_flops": 989 * T}
    text = "\n".join(assumptions_md(on_b200))
    assert "the mxfp4 weights run on the GPU's fp4 tensor cores at 9 PFLOPS" in text
    assert "9 PFLOPS fp4" in text
    text = "\n".join(assumptions_md(on_h100))
    assert "weight-only: dequantised to bf16 (the h100-sxm has no fp4 units)" in text and "4-bit" in text
    bf16 = check(load_plan_text(_plan('model preset "qwen3-30b-a3b"', "b200", "ep 8")))[0]
    assert report_json(bf16)["assumptions"]["fp4"] is None
    assert "Precision" not in "\n".join(assumptions_md(bf16))


def test_the_report_names_the_borrowed_profile():
    r = check(load_plan_text(_plan('model preset "qwen3-30b-a3b"', "b300", "ep 8")))[0]
    basis = report_json(r)["cost_model"]
    assert basis["kernel_profile"] == "h200@b300"
    assert basis["note"] == "applied at the b300's peaks (the b300 has no profile of its own)"


# ---------------------------------------------------------------- the NVL72 rack is one NVLink domain


def test_nvl72_presets_default_to_72_gpus_per_node_and_the_plan_overrides_it():
    model = 'model preset "qwen3-30b-a3b"'
    for gpu, domain in (("gb200", 72), ("gb300", 72), ("b300", DEFAULT_GPUS_PER_NODE), ("b200", 8)):
        assert load_plan_text(_plan(model, gpu, "ep 8", gpus=72)).cluster.gpus_per_node == domain
    assert load_plan_text(_plan(model, "gb200", "ep 8", gpus=72, extra="gpus_per_node = 4")).cluster.gpus_per_node == 4
    custom = 'gpu "x" { memory = 80 GB  flops = 1 PFLOPS  hbm = 3 TB/s }'
    text = _plan(model, "h100-sxm", "ep 8").replace('gpu preset "h100-sxm"', custom)
    assert load_plan_text(text).cluster.gpus_per_node == DEFAULT_GPUS_PER_NODE


def _all_to_all(gpu: str):
    plan = load_plan_text(_plan('model preset "deepseek-v3"', gpu, "ep 64", gpus=72))
    r = check(plan)[0]
    c = r.compiled
    for i, k in enumerate(c.dag.kind):
        if k is OpKind.ALL_TO_ALL_DISPATCH and c.dag.phase[i] is Phase.PREFILL:
            return r, c.dag.template[i], float(c.costs.node_s[i])
    raise AssertionError("no all-to-all")


def test_an_ep64_all_to_all_inside_an_nvl72_rack_pays_nvlink_and_across_b200_nodes_the_network():
    rack, tpl_rack, s_rack = _all_to_all("gb200")
    nodes, tpl_nodes, s_nodes = _all_to_all("b200")
    assert tpl_rack.group_size == tpl_nodes.group_size == 64
    assert not tpl_rack.crosses_nodes and tpl_nodes.crosses_nodes
    cm = CostModel.from_cluster(rack.plan.cluster)
    assert cm.link(tpl_rack.crosses_nodes) == (900e9 * 0.8, 10e-6)
    assert CostModel.from_cluster(nodes.plan.cluster).link(tpl_nodes.crosses_nodes) == (50e9 * 0.8, 20e-6)
    assert s_nodes > 5 * s_rack
    assert "N603" not in {d.code for d in rack.diagnostics} and "N603" in {d.code for d in nodes.diagnostics}


# ---------------------------------------------------------------- dagc presets --format json


def test_presets_json_lists_every_preset_with_its_fields(capsys):
    assert cli.main(["presets", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"models", "gpus", "profiles", "engine_kernel_profiles"}
    assert list(out["models"]) == list(MODEL_PRESETS) and list(out["gpus"]) == list(GPU_PRESETS)
    for name, fields in MODEL_PRESETS.items():
        assert out["models"][name]["fields"] == json.loads(json.dumps(fields))
        assert out["models"][name]["params_total"] > out["models"][name]["params_active"] > 0
    gb200 = out["gpus"]["gb200"]
    assert (gb200["flops_4bit"], gb200["gpus_per_node"], gb200["kernel_profile"], gb200["kernel_profile_measured"]) \
        == (10_000 * T, 72, "h200", False)
    assert out["gpus"]["h100-sxm"]["kernel_profile_measured"] and out["gpus"]["h100-sxm"]["flops_4bit"] is None
    assert out["gpus"]["generic-400t"]["kernel_profile"] is None
    assert set(out["profiles"]) == {"h100-sxm", "h200"}


def test_presets_table_shows_fp4_the_domain_and_the_borrowed_profile(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")            # piped: the width COLUMNS says, wide enough for every column
    assert cli.main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "gb300" in out and "15 PFLOPS" in out and "h200's" in out
    monkeypatch.setenv("COLUMNS", "120")            # narrower: the borrowed profile's column goes, and is named
    assert cli.main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "15 PFLOPS" in out and "h200's" not in out and "not shown at 120 columns: `kernel profile`" in out


# ---------------------------------------------------------------- bad input: located diagnostics


@pytest.mark.parametrize("value", ["0 TFLOPS", "-1 PFLOPS", "1e30 FLOPS", "fast", "10 GB", "9 PFLOPS 2"])
def test_a_bad_fp4_flops_is_a_located_diagnostic(value):
    from dagc.diagnostics import PlanError
    custom = f'gpu "x" {{ memory = 80 GB  flops = 1 PFLOPS  fp4_flops = {value}  hbm = 3 TB/s }}'
    text = _plan('model preset "qwen3-30b-a3b"', "h100-sxm", "ep 8").replace('gpu preset "h100-sxm"', custom)
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    assert all(d.span is not None for d in exc.value.diagnostics)


def test_a_custom_gpu_with_fp4_flops_runs_fp4_at_it():
    custom = 'gpu "x" { memory = 80 GB  flops = 1 PFLOPS  fp8_flops = 2 PFLOPS  fp4_flops = 4 PFLOPS  hbm = 3 TB/s }'
    text = _plan('model preset "qwen3-30b-a3b"', "h100-sxm", "ep 8").replace('gpu preset "h100-sxm"', custom)
    g = load_plan_text(text).cluster.gpu
    assert g.flops_4bit == 4e15 and g.peak_flops(DType.NVFP4) == 4e15 and g.peak_flops(DType.FP8) == 2e15
