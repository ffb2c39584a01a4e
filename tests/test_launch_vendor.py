"""An engine on a GPU its builds do not run on (E728): TensorRT-LLM on AMD's MI300X, which `check` (a plan that
chose the engine) and `launch` refuse with the same code, located at the GPU, with a hint naming the engines that
do run there (vLLM and SGLang, both with ROCm builds)."""

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
HINT = "on mi300x (AMD) run vLLM and SGLang: `cluster { engine = vllm }`, or `dagc launch --engine vllm`"


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
