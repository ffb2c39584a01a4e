"""Import a Hugging Face `config.json` as a model (SPEC 3.1, `model from "config.json"`).

Input: the path of a config file (Mixtral, Qwen3-MoE, DeepSeek-V3 style). Output: the
model's fields in the plan language's own names, or diagnostics that name the field
and point at it inside the JSON file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .diagnostics import Diagnostic, PlanError, Severity
from .parse import read_source
from .source import Span

__all__ = ["load_hf_config", "HF_DTYPES"]

HF_DTYPES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "float8_e4m3fn": "fp8",
             "float8": "fp8", "int8": "int8", "int4": "int4"}
_EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts")


def load_hf_config(path: Path, at: Span) -> tuple[dict | None, list[Diagnostic]]:
    """Read `path` and map its fields; `at` locates the `model from` statement.

    Returns:
        (fields, diagnostics): fields is None when an error was found.
    """
    try:
        src = read_source(path)
    except PlanError as exc:
        return None, [Diagnostic("E002", Severity.ERROR, f"cannot import `{path.name}`: {d.message}", at, d.hint)
                      for d in exc.diagnostics]
    try:
        cfg = json.loads(src.text)
    except json.JSONDecodeError as exc:
        return None, [Diagnostic("E002", Severity.ERROR, f"`{path.name}` is not valid JSON: {exc.msg}",
                                 src.span(exc.pos), "a Hugging Face config.json is a JSON object")]
    except RecursionError:
        return None, [Diagnostic("E002", Severity.ERROR, f"`{path.name}` nests too deeply", src.whole())]
    if not isinstance(cfg, dict):
        return None, [Diagnostic("E002", Severity.ERROR, f"`{path.name}` is not a JSON object", src.whole(),
                                 "a Hugging Face config.json is a JSON object")]
    return _map(cfg, src, at)


def _key_span(src, key: str, fallback: Span) -> Span:
    m = re.search(r'"' + re.escape(key) + r'"\s*:', src.text)
    return src.span(m.start(), m.start() + len(key) + 2) if m else fallback


def _map(cfg: dict, src, at: Span) -> tuple[dict | None, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    name = src.path

    def need(key: str):
        if key not in cfg:
            diags.append(Diagnostic("E103", Severity.ERROR, f"`{Path(name).name}` has no `{key}`", at,
                                    f"add `{key}` to the config, or write the model out in full"))
            return None
        return integer(key)

    def integer(key: str, default=None):
        if key not in cfg or cfg[key] is None:
            return default
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            diags.append(Diagnostic("E104", Severity.ERROR,
                                    f"`{key}` must be a non-negative whole number, not {json.dumps(value)[:40]}",
                                    _key_span(src, key, at)))
            return None
        return value

    out: dict = {}
    out["layers"] = need("num_hidden_layers")
    out["hidden"] = need("hidden_size")
    out["heads"] = need("num_attention_heads")
    out["vocab"] = need("vocab_size")
    out["kv_heads"] = integer("num_key_value_heads", out["heads"])
    head_dim = integer("head_dim")
    if head_dim is None and out["hidden"] and out["heads"]:
        head_dim = out["hidden"] // out["heads"]
    out["head_dim"] = head_dim
    tied = cfg.get("tie_word_embeddings", False)
    if not isinstance(tied, bool):
        diags.append(Diagnostic("E104", Severity.ERROR, "`tie_word_embeddings` must be true or false",
                                _key_span(src, "tie_word_embeddings", at)))
    out["tied"] = bool(tied)

    dtype = cfg.get("torch_dtype", cfg.get("dtype", "bfloat16"))
    quant = cfg.get("quantization_config")
    if isinstance(quant, dict) and str(quant.get("quant_method", "")).lower() == "fp8":
        out["weights"] = "fp8"
    elif isinstance(dtype, str) and dtype in HF_DTYPES:
        out["weights"] = HF_DTYPES[dtype]
    else:
        key = "torch_dtype" if "torch_dtype" in cfg else "dtype"
        diags.append(Diagnostic("E101", Severity.ERROR, f"`{key}` = {json.dumps(dtype)[:40]} is not a dtype dagc knows",
                                _key_span(src, key, at), "one of: " + ", ".join(HF_DTYPES)))
    out["kv_cache"] = "bf16" if out.get("weights") in ("fp8", "int8", "int4", None) else out.get("weights")

    if cfg.get("kv_lora_rank") is not None:
        out["attention"] = "mla"
        out["head_dim"] = integer("v_head_dim", head_dim)  # MLA has no head_dim; v_head stands in
        out["mla"] = dict(q_lora=integer("q_lora_rank", 0) or 0, kv_lora=integer("kv_lora_rank"),
                          qk_nope=need("qk_nope_head_dim"), qk_rope=need("qk_rope_head_dim"),
                          v_head=need("v_head_dim"))
    else:
        out["attention"] = "gqa"

    expert_key = next((k for k in _EXPERT_KEYS if cfg.get(k)), None)
    if expert_key is None:
        out["moe"] = dict(experts=0, dense_layers=out["layers"] or 0, dense_ffn=need("intermediate_size"))
    else:
        experts = integer(expert_key)
        top_k = need("num_experts_per_tok")
        if "moe_intermediate_size" in cfg:
            ffn = integer("moe_intermediate_size")
        else:  # Mixtral: intermediate_size is the expert's
            ffn = need("intermediate_size")
        shared = integer("n_shared_experts", 0) or 0
        shared_ffn = integer("shared_expert_intermediate_size", 0) or 0
        if shared_ffn and not shared:
            shared = 1  # Qwen2-MoE style: one shared expert of that size
        if shared and not shared_ffn:
            shared_ffn = ffn  # DeepSeek: shared experts are the size of a routed one
        dense_layers = integer("first_k_dense_replace", 0) or 0
        dense_ffn = integer("intermediate_size", 0) if dense_layers else 0
        out["moe"] = dict(experts=experts, top_k=top_k, ffn=ffn, shared=shared, shared_ffn=shared_ffn,
                          dense_layers=dense_layers, dense_ffn=dense_ffn or 0, gated=True)
        act = cfg.get("hidden_act", "silu")
        if act not in ("silu", "swiglu", "gelu", "gelu_new", "relu", "gelu_pytorch_tanh"):
            diags.append(Diagnostic("E101", Severity.ERROR, f"`hidden_act` = {json.dumps(act)[:40]} cannot be mapped",
                                    _key_span(src, "hidden_act", at), "dagc models SwiGLU (silu) or a plain MLP"))
        out["moe"]["gated"] = act in ("silu", "swiglu")
    if any(d.is_error for d in diags):
        return None, diags
    return out, diags
