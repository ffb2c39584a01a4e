"""`dagc launch` and speculative decoding (`workload { speculative { … } }`): the engine-neutral part.

Input: a `Plan` whose workload speculates. Output: whether the model's checkpoint ships the
multi-token-prediction (MTP) weights that `method = mtp` drafts with (`mtp_weights`), the
refusal when it does not (E706, `mtp_refusal`), the placeholder of an EAGLE draft checkpoint
(`draft_placeholder`) and the notes every engine's commands carry (`notes`). Each engine table
(`dagc.launch.vllm`, `.sglang`, `.trtllm`) writes its own flags or YAML from `Degrees.speculative`.

dagc's `acceptance` / `accept_length` is its own modelling input: no engine takes it. The engines
measure it (their metrics report the accepted draft tokens), which is where the figure should come from.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path, PurePath

from ..plan.plan import Plan
from ..plan.presets import MODEL_PRESETS
from ..plan.workload import Speculative

__all__ = ["MTP_EVERY_ENGINE", "MTP_PRESETS", "MTP_RULES", "config_written", "draft_placeholder", "lacks_mtp",
           "mtp_refusal", "mtp_weights", "notes"]

# Presets whose published checkpoint ships an MTP module (`num_nextn_predict_layers: 1` in its
# config.json): DeepSeek-V3 and GLM-4.5. The other presets' checkpoints have none (Kimi-K2's
# config.json sets num_nextn_predict_layers to 0; Mixtral, Qwen3, gpt-oss and Llama 4 have no such layer).
MTP_PRESETS = frozenset({"deepseek-v3", "glm-4.5"})

# Where each engine takes the MTP draft from: the target checkpoint itself.
MTP_RULES = {
    "vllm": "vLLM 0.33's `mtp` draft is the target checkpoint's MTP layers: vllm/config/speculative.py",
    "sglang": "SGLang 0.5.23's NEXTN drafts with the target checkpoint's MTP layer: arg_groups/speculative_hook.py",
    "trtllm": "TensorRT-LLM 1.2's MTP runs the checkpoint's MTP modules: llmapi/llm_args.py MTPDecodingConfig",
}

# E706 on a plan that names no engine: every engine's rule at once
MTP_EVERY_ENGINE = ("every engine dagc launches drafts from the target checkpoint's MTP layers: vLLM 0.33's `mtp`, "
                    "SGLang 0.5.23's NEXTN, TensorRT-LLM 1.2's MTP")


def config_written(plan: Plan) -> str | None:
    """The path a `model from "…"` statement names, as written; None for the other model forms."""
    span = plan.span_of("model")
    words = span.text.split(None, 2) if span is not None else []
    if len(words) == 3 and words[1] == "from":
        m = re.match(r'"([^"]*)"', words[2])
        return m.group(1) if m else None
    return None


@functools.lru_cache(maxsize=64)
def _nextn_layers(path: str) -> int | None:
    try:
        cfg = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    n = cfg.get("num_nextn_predict_layers", 0) if isinstance(cfg, dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def mtp_weights(plan: Plan) -> bool | None:
    """Whether the model's checkpoint ships MTP weights: a `model from` config.json says so by its
    `num_nextn_predict_layers`; a preset by `MTP_PRESETS`; None for any other model (dagc does not know
    its checkpoint).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> mtp_weights(p)
        False
    """
    written, span = config_written(plan), plan.span_of("model")
    if written is not None and span is not None:
        n = _nextn_layers(str(PurePath(span.source.path).parent / written))
        return None if n is None else n > 0
    name = plan.model.name
    if name in MTP_PRESETS:
        return True
    return False if name in MODEL_PRESETS else None


def lacks_mtp(spec: Speculative | None, mtp: bool | None) -> bool:
    """Whether the workload drafts with `method = mtp` from a checkpoint known to ship no MTP weights (`mtp`, as
    `mtp_weights` gives it): E706's one predicate, a fact of the checkpoint whatever the engine."""
    return spec is not None and spec.method == "mtp" and mtp is False


def mtp_refusal(spec: Speculative | None, mtp: bool | None, engine: str | None, name: str) -> str | None:
    """E706's message when `method = mtp` and the checkpoint has no MTP weights (`lacks_mtp`), else None: on the
    engine `engine` (its key, `name` its name), or with `engine` None on a plan that names no engine, every one's.

    Example:
        >>> from dagc.plan.workload import Speculative
        >>> mtp_refusal(Speculative(method="mtp", tokens=1, acceptance=0.7), False, None, "gpt-oss-120b")[:44]
        'gpt-oss-120b: `method = mtp` drafts with the'
    """
    if not lacks_mtp(spec, mtp):
        return None
    rules = MTP_RULES[engine] if engine is not None else MTP_EVERY_ENGINE
    return (f"{name}: `method = mtp` drafts with the model's own MTP module, which its checkpoint does not ship "
            f"({rules}); write `method = eagle` (a draft trained for the model) or `method = ngram`")


def draft_placeholder(model_text: str) -> str:
    """The placeholder path of an EAGLE-3 draft for the model of `model_text`, to replace.

    Example:
        >>> draft_placeholder("Qwen/Qwen3-30B-A3B")
        '/path/to/Qwen3-30B-A3B-eagle3-draft'
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", PurePath(model_text).name).strip("-.") or "model"
    return f"/path/to/{stem}-eagle3-draft"


def notes(spec: Speculative | None, mtp: bool | None, engine: str, draft: str) -> list[str]:
    """The notes under a speculating command: what it drafts with, what to replace, and that the
    acceptance is dagc's input, which the engines measure."""
    if spec is None:
        return []
    given = f"accept_length {spec.accept_length:g}" if spec.accept_length is not None else \
        f"acceptance {spec.acceptance:g}"
    out = [f"speculative decoding: {spec.method}, {spec.tokens} drafted token{'s' if spec.tokens > 1 else ''} "
           f"per step; dagc's {given} ({spec.tokens_per_step:.2f} tokens per step) is its own input, not an engine "
           "flag: the engine measures the accepted length (its speculative-decoding metrics), which is the "
           "figure to give dagc"]
    if spec.method == "eagle":
        out.append(f"{draft}: a placeholder: replace it with an EAGLE-3 draft checkpoint trained for this model "
                   "(dagc knows none); an EAGLE-1/2 draft needs the engine's EAGLE method instead")
    if spec.method == "mtp" and mtp is None:
        out.append("method = mtp: dagc does not know whether this model's checkpoint ships MTP weights; "
                   f"{MTP_RULES[engine]}, and refuses to start without them")
    return out
