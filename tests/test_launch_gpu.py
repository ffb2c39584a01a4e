"""What an engine cannot run on the plan's GPU (dagc.rules.launch_gpu, dagc.launch.trtllm_gpu), and the weights a
GPU has no compute units for (W509, dagc.rules.precision).

E728: TensorRT-LLM on AMD's MI300X, which `check` (a plan that chose the engine) and `launch` refuse with the same
code, located at the GPU, with a hint naming the engines that do run there (vLLM and SGLang, both with ROCm builds).
E729: TensorRT-LLM's NVFP4 weights before Blackwell. W509: fp4 weights on a GPU without fp4 units, priced at the
16-bit peak (weight-only), as fp8 weights on an A100."""

from __future__ import annotations

from dagc.diagnostics import render
from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check
from dagc.launch.engines import launch_result
from dagc.plan.cluster import Vendor
from dagc.plan.presets import GPU_PRESETS

AMD_TRT = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "mi300x"  engine = trtllm }
workload { batch = 64  prompt = 2048  generate = 256  serving = inflight }
strategy tp 8
"""
HINT = "on `mi300x` (AMD) run vLLM and SGLang: `cluster { engine = vllm }`, or `dagc launch --engine vllm`"


def test_every_gpu_preset_names_its_maker():
    assert GPU_PRESETS["mi300x"].vendor is Vendor.AMD
    assert {g.vendor for n, g in GPU_PRESETS.items() if n not in ("mi300x", "generic-400t")} == {Vendor.NVIDIA}
    assert GPU_PRESETS["generic-400t"].vendor is None       # the seed reports' GPU: no maker


def test_trtllm_on_mi300x_is_refused_by_check_at_the_gpu_with_the_engines_that_run_there():
    (r,) = check(load_plan_text(AMD_TRT, "amd-trt.moe"))
    assert not r.verdict.correct
    (e728,) = [d for d in r.diagnostics if d.code == "E728"]
    assert [d.code for d in r.diagnostics if d.code.startswith("E")] == ["E728"]
    assert e728.message == "TensorRT-LLM runs on NVIDIA GPUs only; mi300x is an AMD GPU"
    assert e728.hint == HINT
    text = render(e728)
    assert text.startswith("amd-trt.moe:2:21: error[E728]: ")
    assert '^^^^^^^^^^^^^^^^^^^' in text and "help: " + HINT in text


def test_launch_refuses_trtllm_on_mi300x_and_writes_vllm_and_sglang():
    plan = load_plan_text(AMD_TRT.replace("engine = trtllm", ""))
    (r,) = check(plan)
    assert r.verdict.correct
    by = {x.engine: x for x in launch_result(r)}
    assert [d.code for d in by["trtllm"].refusals] == ["E728"] and not by["trtllm"].commands
    assert by["vllm"].ok and by["sglang"].ok


def test_trtllm_on_nvidia_and_custom_gpus_is_not_refused():
    for cluster in ('gpu preset "h200"', 'gpu "my-gpu" { memory = 192 GB  flops = 1300 TFLOPS  hbm = 5.3 TB/s }'):
        (r,) = check(load_plan_text(AMD_TRT.replace('gpu preset "mi300x"', cluster)))
        assert not [d for d in r.diagnostics if d.code == "E728"], cluster
        assert r.verdict.correct, cluster


def test_the_search_of_trtllm_on_mi300x_finds_nothing_and_says_so_without_failing():
    from dagc.search.search import search
    r = search(load_plan_text(AMD_TRT), top=3)
    assert r.ranked == () and r.legal == 0 and r.total > 0


def test_plan_refusals_are_check_s_own_and_only_those_no_strategy_changes():
    from dagc.launch.engine_check import plan_refusals
    plan = load_plan_text(AMD_TRT, "amd-trt.moe")
    (e,) = plan_refusals(plan)
    (r,) = check(plan)
    (checked,) = [d for d in r.diagnostics if d.code == "E728"]
    assert (e.code, e.message, e.hint, e.span) == (checked.code, checked.message, checked.hint, checked.span)
    (nv,) = plan_refusals(load_plan_text(NVFP4, "h100-nvfp4.moe"))
    assert nv.code == "E729" and render(nv).startswith("h100-nvfp4.moe:1:31: error[E729]: ")
    # a strategy TensorRT-LLM refuses for its degrees (E721) is not the plan's: other strategies start
    assert plan_refusals(load_plan_text(NVFP4.replace('"h100-sxm"', '"b200"').replace("tp 8", "tp 2 ; ep 8"))) == ()
    assert plan_refusals(load_plan_text(AMD_TRT.replace("engine = trtllm", ""))) == ()     # no engine chosen
    assert plan_refusals(load_plan_text(AMD_TRT.replace("engine = trtllm", "engine = vllm"))) == ()


def test_dagc_search_says_the_plans_refusal_and_searches_nothing(tmp_path):
    from conftest import run_dagc

    (tmp_path / "amd-trt.moe").write_text(AMD_TRT)
    proc = run_dagc("search", "amd-trt.moe", "--svg", str(tmp_path / "p.svg"), cwd=tmp_path)     # in this process
    assert proc.returncode == 3 and proc.stdout == ""
    assert proc.stderr.startswith("amd-trt.moe:2:21: error[E728]: TensorRT-LLM runs on NVIDIA GPUs only")
    assert "help: " + HINT in proc.stderr
    assert proc.stderr.rstrip().endswith("error: amd-trt.moe: 1 error; the plan's engine starts none of its "
                                         "strategies: nothing was searched")
    assert not (tmp_path / "p.svg").exists()


NVFP4 = """model preset "mixtral-8x7b" { weights = nvfp4 }
cluster { gpus = 8  gpu preset "h100-sxm"  engine = trtllm }
workload { batch = 64  prompt = 2048  generate = 256  serving = inflight }
strategy tp 8
"""
W509_NVFP4 = ("nvfp4 weights on `h100-sxm`, which has no fp4 compute: dagc prices them weight-only, dequantised to 16 "
              "bits, with the matmuls at the 16-bit peak (989 TFLOPS)")


def _codes(r, prefix: str) -> list[str]:
    return [d.code for d in r.diagnostics if d.code.startswith(prefix)]


def test_nvfp4_on_h100_warns_w509_and_is_priced_at_the_16_bit_peak():
    from dagc.plan.model import DType
    (r,) = check(load_plan_text(NVFP4.replace("engine = trtllm", "engine = vllm"), "h100-nvfp4-vllm.moe"))
    (w,) = [d for d in r.diagnostics if d.code == "W509"]
    assert w.message == W509_NVFP4
    assert w.hint == "expect 16-bit speed, or use a GPU with fp4 units (b200, b300, gb200, gb300)"
    assert render(w).startswith("h100-nvfp4-vllm.moe:1:31: warning[W509]: ")
    assert r.verdict.correct and not _codes(r, "E")        # vLLM runs NVFP4 weight-only on Hopper
    gpu = r.plan.cluster.gpu
    assert gpu.peak_flops(DType.NVFP4) == gpu.flops_16bit == 989e12 < gpu.peak_flops(DType.FP8)
    by = {x.engine: x for x in launch_result(r)}
    assert by["vllm"].ok and [d.code for d in by["trtllm"].refusals] == ["E729"]


def test_mxfp4_experts_on_h100_warn_w509_and_fp4_on_blackwell_does_not():
    gptoss = NVFP4.replace('"mixtral-8x7b" { weights = nvfp4 }', '"gpt-oss-120b"').replace("tp 8", "tp 1 ; ep 8")
    (r,) = check(load_plan_text(gptoss))
    (w,) = [d for d in r.diagnostics if d.code == "W509"]
    assert w.message.startswith("mxfp4 expert weights on `h100-sxm`, which has no fp4 compute")
    assert not _codes(r, "E") and r.verdict.correct         # TensorRT-LLM runs MXFP4 experts on Hopper (TRITON)
    (b,) = check(load_plan_text(NVFP4.replace('"h100-sxm"', '"b200"')))
    assert not [d for d in b.diagnostics if d.code in ("W509", "E729")] and b.verdict.correct


def test_nvfp4_on_hopper_with_trtllm_is_refused_by_check_and_launch_alike():
    (r,) = check(load_plan_text(NVFP4, "h100-nvfp4.moe"))
    assert not r.verdict.correct and _codes(r, "E") == ["E729"]
    (e,) = [d for d in r.diagnostics if d.code == "E729"]
    assert e.message == ("TensorRT-LLM: NVFP4 weights run on Blackwell GPUs only (its hardware support matrix, "
                         "docs/source/features/quantization.md); h100-sxm is an SM90 GPU")
    assert render(e).startswith("h100-nvfp4.moe:1:31: error[E729]: ")
    assert e.hint.startswith("no strategy changes the weights' format: use weights TensorRT-LLM runs on this GPU")
    assert "W509" in _codes(r, "W")
    (plain,) = check(load_plan_text(NVFP4.replace("engine = trtllm", "")))
    (x,) = launch_result(plain, ("trtllm",))
    assert [d.message for d in x.refusals] == [e.message] and not x.commands


def test_an_amd_gpu_s_all_to_all_is_mori_not_deepep():
    """DeepEP's kernels are CUDA's: where dagc writes an all-to-all backend (a stage's EP group over two nodes) an
    MI300X gets AMD's MoRI, `mori_low_latency` in vLLM and `mori` in SGLang (both among the engines' choices), an
    H100 DeepEP's."""
    text = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 16  gpus_per_node = 8  gpu preset "GPU" }\n'
            "workload { batch = 64  prompt = 2000  generate = 200  serving = inflight }\nstrategy tp 1 ; ep 16\n")
    for gpu, vllm_backend, sglang_backend in (("mi300x", "mori_low_latency", "mori"),
                                              ("h100-sxm", "deepep_low_latency", "deepep")):
        (r,) = check(load_plan_text(text.replace("GPU", gpu)))
        by = {x.engine: x for x in launch_result(r, ("vllm", "sglang"))}
        vllm_argv, sglang_argv = by["vllm"].commands[-1].argv, by["sglang"].commands[0].argv
        assert vllm_argv[vllm_argv.index("--all2all-backend") + 1] == vllm_backend, gpu
        assert sglang_argv[sglang_argv.index("--moe-a2a-backend") + 1] == sglang_backend, gpu
        assert ("MoRI" in " ".join(by["vllm"].notes)) is (gpu == "mi300x")


def test_launch_prints_no_figures_of_an_engine_the_gpu_refuses(tmp_path, capsys):
    """`--engine trtllm` on MI300X: E728, and no "dagc's figures for it, served by trtllm" above it (they priced an
    engine that cannot run there); `--engine vllm` on the same plan prints its figures."""
    from dagc.cli.main import main
    plan = tmp_path / "amd.moe"
    plan.write_text(AMD_TRT)
    assert main(["launch", str(plan), "--engine", "trtllm"]) == 3
    out = capsys.readouterr().out
    assert "error[E728]" in out and "dagc's figures for it" not in out
    assert main(["launch", str(plan), "--engine", "vllm"]) == 0
    assert "dagc's figures for it, served by vllm" in capsys.readouterr().out


def test_vllm_refuses_dual_batch_overlap_on_an_amd_gpu():
    """vLLM's --enable-dbo takes only a DeepEP or NIXL-EP all-to-all (its flag snapshot's check, from
    vllm/config/vllm.py); on an MI300X dagc's all-to-all is AMD's MoRI, so `tp 1 ; ep 8` with the overlap is E710 at
    `overlap`, nearest the same `with overlap none`, in `check` of a plan naming vLLM as in `launch`. Until 2026-11-30
    dagc wrote `--all2all-backend mori_low_latency --enable-dbo`, which vLLM refuses at config validation. On an H100
    it launches with DeepEP's backend, and SGLang is not refused on the MI300X for it."""
    text = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 8  gpu preset "GPU"  engine = vllm }\n'
            "workload { batch = 64  prompt = 2000  generate = 200 }\n"
            "strategy tp 1 ; ep 8 with microbatches 2 overlap microbatch\n")
    (r,) = check(load_plan_text(text.replace("GPU", "mi300x")))
    (e,) = [d for d in r.diagnostics if d.code.startswith("E7")]
    assert e.code == "E710" and e.span.text == "overlap microbatch"
    assert e.message.startswith("vLLM: dual-batch overlap (--enable-dbo) takes only a DeepEP or NIXL-EP all-to-all "
                                "(--all2all-backend deepep_low_latency, deepep_high_throughput or nixl_ep")
    assert e.hint is not None and "`tp 1 ; ep 8 with microbatches 2 overlap none`" in e.hint
    (named_none,) = check(load_plan_text(text.replace("GPU", "mi300x").replace("engine = vllm", "")))
    x, s = launch_result(named_none, ("vllm", "sglang"))
    assert [f.code for f in x.refusals] == ["E710"] and not x.commands
    assert "E710" not in [f.code for f in s.refusals]
    (h,) = check(load_plan_text(text.replace("GPU", "h100-sxm")))
    (x,) = launch_result(h, ("vllm",))
    argv = x.commands[0].argv
    assert "--enable-dbo" in argv and argv[argv.index("--all2all-backend") + 1] == "deepep_low_latency"


def test_fp8_weights_on_an_a100_with_trtllm_are_refused():
    """The support matrix E729 cites marks no FP8 for Ampere: DeepSeek-V3's fp8 checkpoint was launched on A100s
    with trtllm-serve until 2026-12-03 (a quantization trial); vLLM runs it weight-only (Marlin) and is not refused."""
    text = NVFP4.replace("nvfp4", "fp8").replace('"h100-sxm"', '"a100-80g"')
    (r,) = check(load_plan_text(text))
    (e,) = [d for d in r.diagnostics if d.code == "E729"]
    assert e.message.startswith("TensorRT-LLM: FP8 weights run on Ada, Hopper and Blackwell GPUs (SM89 and up")
    assert e.message.endswith("a100-80g is an SM80 GPU") and not r.verdict.correct
    (h100,) = check(load_plan_text(NVFP4.replace("nvfp4", "fp8")))
    assert "E729" not in _codes(h100, "E")
