"""What `dagc launch` tells an engine about the checkpoint: the weights' quantization and the KV
cache's dtype the plan costs, and a model path the shell and the engine's parser cannot misread.

Input: a `Plan` and an engine key. Output: a `Checkpoint` — the engine's flags (vLLM, SGLang), its
YAML settings (TensorRT-LLM), a model path when the plan's dtype needs another checkpoint, and notes.

A built-in preset ships one checkpoint, in the preset's own dtype (bf16 for most, fp8 for
DeepSeek-V3 and Kimi-K2, mxfp4 experts for gpt-oss). A plan that keeps the preset's dimensions but
costs fp8 weights loads the fp8 checkpoint its publisher released (`FP8_IDS`, read from the config in
it by every engine: no flag), where there is one; else it keeps the Hugging Face id: vLLM and SGLang
quantize it to fp8 as they load it (`--quantization fp8`); TensorRT-LLM loads pre-quantized checkpoints
only, so its command names a placeholder for the fp8 checkpoint made from that id. Other weight dtypes
need a checkpoint in that dtype on every engine. An fp8 KV cache is an engine setting on all three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..lang.model import model_from_preset
from ..plan.model import DType, Model
from ..plan.plan import Plan

__all__ = ["FP8_IDS", "Checkpoint", "checkpoint", "preset_with_dtypes", "published_fp8", "safe_path"]

# The fp8 checkpoints the publishers of bf16 presets released on Hugging Face (their model cards: fp8
# weights in blocks of 128 × 128, the quantization config in config.json, which vLLM, SGLang and
# TensorRT-LLM read), by preset.
FP8_IDS = {
    "qwen3-30b-a3b": "Qwen/Qwen3-30B-A3B-FP8",
    "qwen3-235b-a22b": "Qwen/Qwen3-235B-A22B-FP8",
    "glm-4.5": "zai-org/GLM-4.5-FP8",
    "llama-4-maverick": "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
}

# The KV-cache dtype value of an fp8 cache, as each engine spells it (vLLM 0.33.0 `CacheDType`,
# vllm/config/cache.py; SGLang 0.5.23 --kv-cache-dtype choices; TensorRT-LLM 1.2 `KvCacheConfig.dtype`).
KV_FP8 = {"vllm": "fp8", "sglang": "fp8_e4m3", "trtllm": "fp8"}
# Online fp8 quantization of a bf16 checkpoint: `--quantization fp8` (vLLM 0.33.0 and SGLang 0.5.23 choices).
ONLINE_FP8 = {"vllm": ("--quantization", "fp8"), "sglang": ("--quantization", "fp8")}


@dataclass(frozen=True)
class Checkpoint:
    """What the engine is told about the checkpoint besides its path."""

    flags: tuple[str, ...] = ()
    yaml: str = ""
    path: str | None = None           # a placeholder to load instead of the preset's id; None: the id
    notes: tuple[str, ...] = ()


def preset_with_dtypes(plan: Plan) -> bool:
    """Whether the plan's model is a built-in preset with only its weights' or KV cache's dtype changed."""
    name = plan.model.name
    try:
        own = model_from_preset(name)
    except KeyError:
        return False
    moe = plan.model.moe.model_copy(update={"weights": own.moe.weights})     # `moe { weights }` written: a dtype too
    return plan.model.model_copy(update={"weights": own.weights, "kv_cache": own.kv_cache, "moe": moe}) == own


def published_fp8(plan: Plan) -> str | None:
    """The published fp8 checkpoint (`FP8_IDS`) of a bf16 preset whose plan costs fp8 weights and keeps the
    preset's dimensions; None otherwise.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "qwen3-235b-a22b" { weights = fp8 } '
        ...                    'cluster { gpus = 8 gpu preset "h200" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> published_fp8(p)
        'Qwen/Qwen3-235B-A22B-FP8'
    """
    name = plan.model.name
    if name not in FP8_IDS or _dtypes(plan.model) != (DType.FP8, DType.FP8) or not preset_with_dtypes(plan):
        return None
    return FP8_IDS[name] if model_from_preset(name).weights in (DType.BF16, DType.FP16) else None


def checkpoint(plan: Plan, engine: str, model_id: str, known: bool) -> Checkpoint:
    """The checkpoint settings of `engine` for the plan's dtypes; `model_id` is the path the commands
    use and `known` whether it is a preset's published checkpoint (whose dtype dagc knows).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "qwen3-30b-a3b" { weights = fp8  kv_cache = fp8 } '
        ...                    'cluster { gpus = 4 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 4')
        >>> checkpoint(p, "vllm", "Qwen/Qwen3-30B-A3B", True).flags
        ('--quantization', 'fp8', '--kv-cache-dtype', 'fp8')
    """
    flags: list[str] = []
    yaml, path, notes = "", None, []
    model = plan.model
    if known:
        # the weights' dtypes, the experts' apart (gpt-oss's mxfp4): until 2026-12-03 the experts' were not compared,
        # and gpt-oss with fp8 weights got `--quantization fp8`, which its mxfp4 checkpoint's config refuses at start
        own, want = _dtypes(model_from_preset(model.name)), _dtypes(model)
        if want != own:
            sixteen = (DType.BF16, DType.FP16)
            if want == (DType.FP8, DType.FP8) and engine in ONLINE_FP8 and own[0] in sixteen and own[1] in sixteen:
                flags += ONLINE_FP8[engine]
                notes.append(f"--quantization fp8: the engine quantizes {model_id}'s {own[0].value} weights to fp8 as "
                             "it loads them, the weights dagc costs")
            else:
                path = _placeholder(model_id, model.weights if want[0] == want[1] or want[0] != own[0] else want[1])
                how = "NVIDIA ModelOpt" if engine == "trtllm" else "a quantizer the engine reads"
                notes.append(f"{path}: a checkpoint of {model_id} with {_dtype_text(want)} (its own: "
                             f"{_dtype_text(own)}), made with {how}; dagc costs these")
    if model.kv_cache is DType.FP8:
        if engine == "trtllm":
            yaml = f"  dtype: {KV_FP8[engine]}\n"
        else:
            flags += ["--kv-cache-dtype", KV_FP8[engine]]
    elif model.kv_cache not in (DType.BF16, DType.FP16):
        more = "more" if model.kv_cache.bytes < 2 else "less"        # an fp32 cache: the engine's 16 bits, less
        notes.append(f"KV cache {model.kv_cache.value}: dagc writes no KV-cache dtype for it; the engine's "
                     f"default (16 bits) applies, so the KV cache takes {more} memory than dagc counts")
    return Checkpoint(tuple(flags), yaml, path, tuple(notes))


def _dtypes(model: Model) -> tuple[DType, DType]:
    """A model's weights' dtype and its routed experts' (`Model.expert_weights`: the weights' unless `moe { weights }`
    says another)."""
    return model.weights, model.expert_weights


def _dtype_text(dtypes: tuple[DType, DType]) -> str:
    """`fp8 weights`, or `fp8 weights and mxfp4 experts` where they differ."""
    weights, experts = dtypes
    return f"{weights.value} weights" + ("" if experts == weights else f" and {experts.value} experts")


def _placeholder(model_id: str, dtype: DType) -> str:
    return "/path/to/" + re.sub(r"[^A-Za-z0-9._-]+", "-", model_id.rsplit("/", 1)[-1]).strip("-.") + \
        "-" + dtype.value.upper()


def safe_path(path: str) -> str:
    """A relative path no engine, parser or shell can misread: `./` before it unless it starts with `.` (`.`,
    `./m`, `../m`) — so that `hf/Qwen3-30B-A3B`, a directory, is not read as a Hugging Face repository id (vLLM
    and SGLang load `owner/name` from the Hub when no such directory is where they run), `-dir` not as a flag, and
    `$NODE0_ADDR/m` not as a node address (the commands quote it, so `$` stays literal).

    Example:
        >>> safe_path("-weights"), safe_path("models/m"), safe_path("/abs/-x"), safe_path("."), safe_path("../m")
        ('./-weights', './models/m', '/abs/-x', '.', '../m')
    """
    return path if path.startswith(("/", ".")) else "./" + path
