"""`weights = fp8` on a bf16 preset whose publisher released an fp8 checkpoint: every engine loads that
checkpoint (`FP8_IDS`), which says its quantization itself — no `--quantization fp8`, no placeholder; a
preset without one keeps its id and the engine's load-time quantization (vLLM, SGLang) or TensorRT-LLM's
placeholder."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.launch.checkpoint import FP8_IDS
from dagc.launch.engines import launch_result
from dagc.launch.launch import HF_IDS, model_path
from dagc.verdict.check import check

PLAN = ('model preset "{model}" {{ weights = fp8 {kv} }} cluster {{ gpus = 8 gpu preset "h200" }} '
        'workload {{ batch = 8 prompt = 512 generate = 64 }} strategy tp 8')


def _launch(model: str, engine: str, kv: str = ""):
    plan = load_plan_text(PLAN.format(model=model, kv=kv))
    (x,) = launch_result(check(plan)[0], (engine,))
    assert x.ok
    return plan, x


@pytest.mark.parametrize("engine", ["vllm", "sglang", "trtllm"])
def test_published_fp8_checkpoint_is_loaded_without_quantizing_at_load(engine):
    plan, x = _launch("qwen3-235b-a22b", engine)
    assert model_path(plan).text == "Qwen/Qwen3-235B-A22B-FP8"
    server = x.commands[0].argv
    assert "Qwen/Qwen3-235B-A22B-FP8" in server
    assert "Qwen/Qwen3-235B-A22B" not in server and "--quantization" not in server
    assert not any("/path/to/" in a for a in server)
    assert not any("quantizes" in n or "ModelOpt" in n for n in x.notes)


def test_fp8_kv_cache_flag_stays_with_the_published_checkpoint():
    _, x = _launch("qwen3-30b-a3b", "vllm", kv="kv_cache = fp8")
    argv = x.commands[0].argv
    assert argv[2] == "Qwen/Qwen3-30B-A3B-FP8"
    assert "--quantization" not in argv
    assert argv[argv.index("--kv-cache-dtype") + 1] == "fp8"


@pytest.mark.parametrize("engine, flags, path", [
    ("vllm", ("--quantization", "fp8"), "mistralai/Mixtral-8x7B-Instruct-v0.1"),
    ("sglang", ("--quantization", "fp8"), "mistralai/Mixtral-8x7B-Instruct-v0.1"),
    ("trtllm", (), "/path/to/Mixtral-8x7B-Instruct-v0.1-FP8"),
])
def test_a_preset_without_one_keeps_quantizing_at_load(engine, flags, path):
    plan, x = _launch("mixtral-8x7b", engine)
    assert "mixtral-8x7b" not in FP8_IDS
    argv = x.commands[0].argv
    assert path in argv
    if flags:
        i = argv.index(flags[0])
        assert argv[i:i + 2] == flags


def test_bf16_weights_and_natively_fp8_presets_keep_their_ids():
    bf16 = load_plan_text(PLAN.format(model="qwen3-235b-a22b", kv="").replace("weights = fp8", ""))
    assert model_path(bf16).text == HF_IDS["qwen3-235b-a22b"]
    ds = load_plan_text(PLAN.format(model="deepseek-v3", kv="").replace("weights = fp8", "")
                        .replace("gpus = 8", "gpus = 16").replace("tp 8", "tp 16"))
    assert model_path(ds).text == "deepseek-ai/DeepSeek-V3"
    assert set(FP8_IDS) <= set(HF_IDS)
    assert all(v.endswith("-FP8") and v.startswith(HF_IDS[k].split("/")[0] + "/") for k, v in FP8_IDS.items())


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_fp8_weights_beside_mxfp4_experts_are_no_online_quantization(engine):
    """gpt-oss with `weights = fp8`: its checkpoint says mxfp4 (the experts'), which `--quantization fp8` contradicts
    and both engines refuse at start (their `_verify_quantization`); a checkpoint of those dtypes is named instead
    (a quantization trial, 2026-12-03)."""
    _, x = _launch("gpt-oss-120b", engine)
    server = x.commands[0].argv
    assert "--quantization" not in server and "/path/to/gpt-oss-120b-FP8" in server
    assert any("with fp8 weights and mxfp4 experts (its own: bf16 weights and mxfp4 experts)" in n for n in x.notes)


def test_the_experts_dtype_written_out_is_the_same_checkpoint():
    """`moe { weights = fp8 }` beside `weights = fp8` costs as `weights = fp8` alone, and launches as it: the
    published fp8 checkpoint (was the bf16 id's placeholder, with no fp8 at all)."""
    plan = load_plan_text(PLAN.format(model="qwen3-235b-a22b", kv="moe { weights = fp8 }"))
    (x,) = launch_result(check(plan)[0], ("vllm",))
    assert model_path(plan).text == "Qwen/Qwen3-235B-A22B-FP8" and "Qwen/Qwen3-235B-A22B-FP8" in x.commands[0].argv
