"""Import a Hugging Face `config.json` as a model (SPEC 3.1, `model from "config.json"`).

Input: the path of a config file (Mixtral, Qwen3-MoE, DeepSeek-V3 style). Output: the
model's fields in the plan language's own names, or diagnostics that name the field
and point at it inside the JSON file.

The config is not a plan: it is read with `echo=False`, so no diagnostic ever prints its
lines, and messages name keys and types, never the values found. Every imported figure
passes the same range check as the plan field it becomes (`dagc.lang.fields`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..diagnostics import Diagnostic, PlanError, Severity, quote
from ..source import SourceFile, Span
from .block_fields import MlaFields, ModelFields, WindowFields
from .fields import MLA_FIELDS, MODEL_FIELDS, WINDOW_FIELDS
from .hf_flat import flat_config
from .hf_layers import single_block_layers, unmodelled_attention
from .hf_moe import EXPERT_KEYS, TOP_K_KEYS, map_experts
from .hf_reader import MAX_JSON_INT_DIGITS, HfReader, at_least_one, key_span, parse_int
from .parse import read_source

__all__ = ["HF_DTYPES", "MAX_JSON_INT_DIGITS", "HfConfig", "context_length", "load_hf_config", "read_hf_config"]

HF_DTYPES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "float8_e4m3fn": "fp8",
             "float8": "fp8", "int8": "int8", "int4": "int4"}
_QUANT_METHODS = ("fp8", "mxfp4")         # quant_method values the importer maps (fp8: every weight; mxfp4: experts)


@dataclass(frozen=True)
class HfConfig:
    """A config.json read: the model's fields (None when an error was found), the diagnostics, and where in the
    file each field was read (`model.kv_heads`, `model.moe.top_k`: a plan's span keys), so that a check across
    fields (heads against kv_heads) points into the file as a range check does."""

    fields: ModelFields | None
    diags: list[Diagnostic]
    spans: dict[str, Span] = field(default_factory=dict)


def load_hf_config(path: Path, at: Span) -> tuple[ModelFields | None, list[Diagnostic]]:
    """Read `path` and map its fields; `at` locates the `model from` statement.

    Returns:
        (fields, diagnostics): fields is None when an error was found.
    """
    read = read_hf_config(path, at)
    return read.fields, read.diags


def read_hf_config(path: Path, at: Span) -> HfConfig:
    """`load_hf_config` with where each field was read (`HfConfig.spans`)."""
    try:
        src = read_source(path, echo=False, what="a config.json", hint="give the path of the model's config.json")
    except PlanError as exc:
        shown = quote(str(path))
        return HfConfig(None, [Diagnostic("E002", Severity.ERROR, f"cannot import `{shown}`: {d.message}", at, d.hint)
                               for d in exc.diagnostics])
    shown = quote(path.name)

    def refused(what: str, where: Span) -> HfConfig:
        return HfConfig(None, [Diagnostic("E002", Severity.ERROR, f"`{shown}` {what}", where,
                                          "a Hugging Face config.json is a JSON object")])

    try:
        cfg = json.loads(src.text, parse_int=parse_int)
    except json.JSONDecodeError as exc:
        return refused(f"is not valid JSON: {exc.msg}", src.span(exc.pos))
    except RecursionError:
        return refused("nests too deeply", src.whole())
    except ValueError:  # pragma: no cover - json raises JSONDecodeError for everything we know of
        return refused("cannot be read as JSON", src.whole())
    if not isinstance(cfg, dict):
        return refused("is not a JSON object", src.whole())
    return _map(cfg, src, at)


# Where a cross-field check of each model field points when the field came from the config: the plan's span key,
# and the config keys it may have been read from (the first present).
_FIELD_KEYS = {"model.layers": ("num_hidden_layers",), "model.hidden": ("hidden_size",),
               "model.heads": ("num_attention_heads",), "model.kv_heads": ("num_key_value_heads",),
               "model.head_dim": ("head_dim",), "model.vocab": ("vocab_size",), "model.mla": ("kv_lora_rank",),
               "model.moe": EXPERT_KEYS, "model.moe.experts": EXPERT_KEYS, "model.moe.top_k": TOP_K_KEYS,
               "model.moe.ffn": ("moe_intermediate_size", "intermediate_size"), "model.moe.groups": ("n_group",),
               "model.moe.dense_layers": ("first_k_dense_replace", "moe_layer_start_index", "mlp_only_layers"),
               "model.moe.every": ("interleave_moe_layer_step", "decoder_sparse_step", "moe_layer_interval"),
               "model.window": ("layer_types", "attention_chunk_size", "sliding_window"),
               "model.window.full_every": ("no_rope_layer_interval", "layer_types")}


def _field_spans(cfg: dict[str, object], src: SourceFile) -> dict[str, Span]:
    """Where in the config each field of `_FIELD_KEYS` was read, for the fields the config states."""
    spans = {}
    for path, keys in _FIELD_KEYS.items():
        key = next((k for k in keys if cfg.get(k) is not None), None)
        if key is not None:
            spans[path] = key_span(src, key, src.whole())
    return spans


def _map(cfg: dict[str, object], src: SourceFile, at: Span) -> HfConfig:
    text = cfg.get("text_config")
    if isinstance(text, dict) and "num_hidden_layers" not in cfg:
        # a multimodal checkpoint (Llama 4): the language model's fields, its vision encoder not costed
        cfg = {**{k: v for k, v in cfg.items() if k in ("quantization_config", "torch_dtype")}, **text}
    r = HfReader(flat_config(cfg), src, at)
    out: ModelFields = {}
    head_dim = _map_shape(r, out)
    mxfp4_experts = _map_dtype(r, out)
    _map_attention(r, out, head_dim)
    map_experts(r, out, mxfp4_experts)
    r.diags.extend([*single_block_layers(r), *unmodelled_attention(r)])
    _map_window(r, out)
    _map_context(r, out)
    if any(d.is_error for d in r.diags):
        return HfConfig(None, r.diags)
    return HfConfig(out, r.diags, _field_spans(r.cfg, src))


def _map_shape(r: HfReader, out: ModelFields) -> int | None:
    """Layers, widths, heads, vocabulary and tied embeddings; returns the config's head_dim."""
    out["layers"] = r.need("num_hidden_layers", MODEL_FIELDS["layers"])
    out["hidden"] = r.need("hidden_size", MODEL_FIELDS["hidden"])
    out["heads"] = r.need("num_attention_heads", MODEL_FIELDS["heads"])
    out["vocab"] = r.need("vocab_size", MODEL_FIELDS["vocab"])
    out["kv_heads"] = r.count("num_key_value_heads", MODEL_FIELDS["kv_heads"], out["heads"])
    head_dim = r.integer("head_dim", MODEL_FIELDS["head_dim"])
    if head_dim is None and out["hidden"] and out["heads"]:
        head_dim = out["hidden"] // out["heads"] or None
    out["head_dim"] = head_dim
    tied = r.cfg.get("tie_word_embeddings", False)
    if not isinstance(tied, bool):
        r.error("E104", "`tie_word_embeddings` must be true or false", "tie_word_embeddings",
                "write `\"tie_word_embeddings\": true` or `false` in the config")
    out["tied"] = tied is True
    return head_dim


def _map_dtype(r: HfReader, out: ModelFields) -> bool:
    """The weights' dtype (fp8 when the config is quantised so) and the KV cache's; whether the experts' weights
    are mxfp4 (gpt-oss: the experts only)."""
    cfg = r.cfg
    dtype = cfg.get("torch_dtype", cfg.get("dtype", "bfloat16"))
    quant = cfg.get("quantization_config")
    method = quant.get("quant_method") if isinstance(quant, dict) else None
    if quant is not None and (not isinstance(method, str) or method.lower() not in _QUANT_METHODS):
        r.error("E101", "`quantization_config` names a quantization dagc cannot map", "quantization_config",
                f"dagc maps quant_method {', '.join(_QUANT_METHODS)}; write the model's dtypes out "
                "(`weights = …`, `moe { weights = … }`) or import the unquantised config")
    mxfp4_experts = isinstance(method, str) and method.lower() == "mxfp4"
    if isinstance(method, str) and method.lower() == "fp8":
        out["weights"] = "fp8"
    elif mxfp4_experts:
        out["weights"] = HF_DTYPES.get(dtype, "bf16") if isinstance(dtype, str) else "bf16"
    elif isinstance(dtype, str) and dtype in HF_DTYPES:
        out["weights"] = HF_DTYPES[dtype]
    else:
        key = "torch_dtype" if "torch_dtype" in cfg else "dtype"
        r.error("E101", f"`{key}` is not a dtype dagc knows", key, "one of: " + ", ".join(HF_DTYPES))
    weights = out.get("weights")
    out["kv_cache"] = "bf16" if weights is None or weights in ("fp8", "int8", "int4") else weights
    return mxfp4_experts


def _map_attention(r: HfReader, out: ModelFields, head_dim: int | None) -> None:
    if r.cfg.get("kv_lora_rank") is not None:
        out["attention"] = "mla"
        # MLA has no head_dim; v_head stands in
        out["head_dim"] = r.integer("v_head_dim", MLA_FIELDS["v_head"], head_dim)
        out["mla"] = MlaFields(q_lora=r.count("q_lora_rank", MLA_FIELDS["q_lora"], 0),
                               kv_lora=r.need("kv_lora_rank", MLA_FIELDS["kv_lora"]),
                               qk_nope=r.need("qk_nope_head_dim", MLA_FIELDS["qk_nope"]),
                               qk_rope=r.need("qk_rope_head_dim", MLA_FIELDS["qk_rope"]),
                               v_head=r.need("v_head_dim", MLA_FIELDS["v_head"]))
    else:
        out["attention"] = "gqa"


def _map_window(r: HfReader, out: ModelFields) -> None:
    """Windowed attention: gpt-oss's `layer_types` with `sliding_window`, Llama 4's `attention_chunk_size`
    with its global layers every `no_rope_layer_interval`, or a `sliding_window` on every layer (unless
    `use_sliding_window` is false, as Qwen's configs say). A pattern `window { full_every }` cannot
    state is named."""
    cfg = r.cfg
    types = cfg.get("layer_types")
    layers = cfg.get("num_hidden_layers")
    if isinstance(types, list) and isinstance(layers, int) and len(types) != layers:    # accepted until 2026-12-03
        r.error("E104", f"`layer_types` lists {len(types):,} layers; `num_hidden_layers` says {layers:,}",
                "layer_types", "is this the model's config.json? one type a layer, as many as its layers")
        return
    if isinstance(types, list) and "sliding_attention" in types:
        full = [i for i, t in enumerate(types) if t != "sliding_attention"]
        every = full[0] + 1 if full else 0
        if every and full != list(range(every - 1, len(types), every)):
            r.error("E101", "`layer_types` mixes full and sliding layers in a pattern dagc cannot state",
                    "layer_types", "dagc states one full-attention layer in every k (`window { full_every = k }`); "
                    "write the model's window out")
            return
        out["window"] = WindowFields(size=r.need("sliding_window", at_least_one(WINDOW_FIELDS["size"])),
                                     kind="sliding", full_every=every)
    elif cfg.get("attention_chunk_size") is not None:      # stated, as `sliding_window` below: `need` reads it
        out["window"] = WindowFields(size=r.need("attention_chunk_size", at_least_one(WINDOW_FIELDS["size"])),
                                     kind="chunked", full_every=r.integer("no_rope_layer_interval",
                                                                          WINDOW_FIELDS["full_every"], 4) or 0)
    elif cfg.get("sliding_window") is not None and cfg.get("use_sliding_window", True) is not False:
        out["window"] = WindowFields(size=r.need("sliding_window", at_least_one(WINDOW_FIELDS["size"])),
                                     kind="sliding", full_every=0)


def _map_context(r: HfReader, out: ModelFields) -> None:
    """The context length (`max_position_embeddings`, scaled by `rope_scaling` as `context_length` says);
    none when the config does not state it."""
    positions = r.integer("max_position_embeddings", MODEL_FIELDS["context_length"])
    if positions is not None:
        out["context_length"] = context_length(positions, r.cfg.get("rope_scaling"), r.cfg.get("model_type"))


def context_length(positions: int, rope_scaling: object, model_type: object = None) -> int:
    """The longest sequence an engine serves a model with: vLLM's derivation from config.json
    (`_get_and_verify_max_len` in vllm/config.py) — `max_position_embeddings`, unless `rope_scaling` scales
    it: a scaling other than `su`, `longrope` and `llama3` multiplies it by its `factor`, and a `yarn` one
    multiplies its `original_max_position_embeddings` instead. Gemma 3's positions are scaled already. A
    `rope_scaling` dagc cannot read (no type, a factor that is not a number) leaves the positions.

    Example:
        >>> yarn = {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096}
        >>> context_length(163840, yarn), context_length(10485760, {"rope_type": "llama3", "factor": 16.0})
        (163840, 10485760)
        >>> context_length(32768, {"type": "linear", "factor": 2.0}), context_length(32768, None)
        (65536, 32768)
    """
    if not isinstance(rope_scaling, dict) or (isinstance(model_type, str) and "gemma3" in model_type):
        return positions
    kind = rope_scaling.get("rope_type", rope_scaling.get("type"))
    factor = rope_scaling.get("factor", 1.0)
    if not isinstance(kind, str) or kind in ("su", "longrope", "llama3") or not _number(factor):
        return positions
    base = rope_scaling.get("original_max_position_embeddings") if kind == "yarn" else positions
    if not isinstance(base, int | float) or not _number(base):
        return positions
    scaled = float(base) * float(factor)
    return int(scaled) if 1 <= scaled <= MODEL_FIELDS["context_length"].hi else positions


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
