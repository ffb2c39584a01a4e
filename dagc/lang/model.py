"""The `model` statement → `Model`: presets, Hugging Face import, field checks.

Input: the fields a `model` statement starts from (a preset, an imported config.json, or
nothing) and the block written after it. Output: a frozen `Model`, or None with the
problems recorded in a `Collector`: a missing dimension (E103), dimensions that cannot go
together (E104), an unknown preset (E101), an import outside the allowed directories (E002).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Unpack

from ..diagnostics import code, printable, quote
from ..plan.model import AttentionKind, DType, Mla, Model, Moe, Window
from ..plan.presets import MODEL_ALIASES, MODEL_PRESETS
from ..source import Span
from .block_fields import (
    ModelFields,
    mla_fields,
    model_fields,
    moe_fields,
    preset_model_fields,
    window_fields,
)
from .blocks import BAD, Bad, Collector, Item, read_block
from .fields import (
    MLA_FIELDS,
    MODEL_FIELDS,
    MOE_FIELDS,
    SUBBLOCKS,
    WINDOW_FIELDS,
    Inner,
    did_you_mean,
    nearest,
    spelling,
)
from .hf import read_hf_config
from .preset_family import family_hint

__all__ = ["ImportRoots", "alias_of", "build_model", "imported_fields", "lower_model", "model_from_preset",
           "preset_fields", "preset_named"]

_MLA_EXAMPLE = "mla { q_lora = 1536  kv_lora = 512  qk_nope = 128  qk_rope = 64  v_head = 128 }"


@dataclass(frozen=True)
class ImportRoots:
    """Where `model from` may read: the plan's directory (None for a plan given as text) and
    the directories allowed with `--allow-path`; `read` records each file resolved for reading (`model from`,
    `calibration from`, `requests from`, a routing file, imported kernels), as the plan's `Plan.files`."""

    base_dir: Path | None = None
    allow_paths: tuple[Path, ...] = ()
    read: list[Path] = field(default_factory=list, compare=False, hash=False, repr=False)

    @classmethod
    def of(cls, base_dir: Path | None, allow_paths: Sequence[Path]) -> ImportRoots:
        return cls(base_dir, tuple(Path(p) for p in allow_paths))

    def resolve(self, out: Collector, written: str, span: Span, what: str | None = None) -> Path | None:
        """The file `model from` names, if it lies inside the plan's directory or an allowed one; E002 says
        "cannot import" it, or, for a file that is no model (`what`: `the request log`), "cannot read the request
        log" (until 2026-11-30 every file was one to import).

        Symlinks and `..` are resolved first, so neither can lead outside. A plan given as
        text has no directory: it imports only from the directories allowed explicitly.
        """
        shown = f"import `{quote(written)}`" if what is None else f"read {what} `{quote(written)}`"
        try:
            path = Path(written)
            if not path.is_absolute() and self.base_dir is not None:
                path = self.base_dir / path
            resolved = path.resolve()
            roots = [r.resolve() for r in ((self.base_dir,) if self.base_dir is not None else ()) + self.allow_paths]
        except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte
            out.error("E002", f"cannot {shown}: the path cannot be resolved", span,
                      "write the path of an existing file, relative to the plan or absolute")
            return None
        if any(resolved == root or resolved.is_relative_to(root) for root in roots):
            if resolved not in self.read:
                self.read.append(resolved)
            return resolved
        if self.base_dir is None:
            out.error("E002", f"cannot {shown}: a plan given as text reads no files unless a directory "
                      "is allowed", span, "allow the file's directory with `--allow-path DIR`")
        elif _written_inside(path, self.base_dir, self.allow_paths):
            # `ln -s /data/logs/x.csv .`: the file is beside the plan as the user sees it (until 2026-11-30 told to
            # "move the file beside the plan", where it already was)
            out.error("E002", f"cannot {shown}: it leads outside the plan's directory through a "
                      "symbolic link", span, "allow the directory the link leads to with `--allow-path DIR`, or copy "
                      "the file beside the plan")
        else:
            out.error("E002", f"cannot {shown}: it is outside the plan's directory", span,
                      "move the file beside the plan, or allow its directory with `--allow-path DIR`")
        return None


def _written_inside(path: Path, base_dir: Path, allow_paths: tuple[Path, ...]) -> bool:
    """Whether `path`, its symbolic links not followed, lies in the plan's directory or an allowed one."""
    lexical = Path(os.path.abspath(path))
    return any(lexical.is_relative_to(os.path.abspath(root)) for root in (base_dir, *allow_paths))


def preset_fields(out: Collector, name: str, name_span: Span) -> ModelFields | None:
    """The fields of a built-in model (a copy: the block written after it overrides them)."""
    if name not in MODEL_PRESETS:
        out.error("E101", f"unknown model preset {code(name)}", name_span, preset_hint(name))
        return None
    return preset_model_fields(MODEL_PRESETS[name])


def preset_hint(name: str) -> str:
    """E101's hint for a model preset dagc does not know: the preset that is the same model under another of its
    Hugging Face names (`MODEL_ALIASES`, its organisation left off or not), with why, else the family's presets or
    another model of it (`dagc.lang.preset_family`), else `did_you_mean`'s.

    Example:
        >>> preset_hint("deepseek-ai/DeepSeek-R1")[:56], preset_hint("gpt-oss-120")
        ("DeepSeek-R1 has DeepSeek-V3's architecture: use `deepsee", 'did you mean `gpt-oss-120b`?')
    """
    said = alias_of(name)
    if said is None and (family := family_hint(name)) is not None:     # before a slip: `deepseek-ai/DeepSeek-V3.2`
        return family
    if said is None and "/" in name and (meant := preset_named(name)) is not None:
        return f"did you mean `{meant}`? (a preset is named without the Hugging Face organisation, " \
               f"`{name.rsplit('/', 1)[0]}/`)"
    if said is None:
        return did_you_mean(name, MODEL_PRESETS)
    preset, why = said
    head, paren, rest = why.partition(" (")
    return f"{head}: use `{preset}`" + (f" ({rest}" if paren else "")


def preset_named(name: str) -> str | None:
    """The preset `name` stands for, its Hugging Face organisation left off (`deepseek-ai/DeepSeek-V3`, the
    repository `dagc launch` names for `deepseek-v3`; until 2026-12-02 told the twelve presets), else None.

    Example:
        >>> preset_named("deepseek-ai/DeepSeek-V3"), preset_named("Qwen/Qwen3-30B-A3B"), preset_named("llama-2-7b")
        ('deepseek-v3', 'qwen3-30b-a3b', None)
    """
    return nearest(name.rsplit("/", 1)[-1], MODEL_PRESETS)


def alias_of(name: str) -> tuple[str, str] | None:
    """The preset whose model `name` is under another of its Hugging Face names (`MODEL_ALIASES`, its organisation
    left off or not, spelt as `spelling` compares), and why; None when it is none's.

    Example:
        >>> alias_of("DeepSeek-R1")[0], alias_of("llama-2-7b")
        ('deepseek-v3', None)
    """
    return {spelling(other): meant for other, meant in MODEL_ALIASES.items()}.get(spelling(name.rsplit("/", 1)[-1]))


def imported_fields(out: Collector, roots: ImportRoots, written: str,
                    name_span: Span) -> tuple[str, ModelFields] | None:
    """The model's name and fields from a Hugging Face config.json (`model from "…"`)."""
    path = roots.resolve(out, written, name_span)
    if path is None:
        return None
    read = read_hf_config(path, name_span)
    out.diags.extend(read.diags)
    if read.fields is None:
        return None
    for key, span in read.spans.items():       # a cross-field check points into the file (a block's own spans win)
        out.spans.setdefault(key, span)
    fields = read.fields
    # A config.json is named after its directory, as on the Hugging Face hub: its control characters (a newline in
    # a directory's name printed a line of its own in the terminal's header until 2026-12-03) shown as U+FFFD, as
    # every other name from a plan is shown
    return printable(path.stem if path.name != "config.json" else path.parent.name or "hf-model"), fields


def lower_model(out: Collector, name: str, base: ModelFields, block: tuple[Item, ...] | None,
                span: Span) -> Model | None:
    """The model from `base` with the fields of the written block (if any) on top."""
    values, subs = read_block(out, block, "model", MODEL_FIELDS, Inner(SUBBLOCKS["model"])) if block else ({}, {})
    if any(v is BAD for v in values.values()):
        return None
    merged: ModelFields = {**base, **model_fields(values)}
    if merged.get("attention", "gqa") != "mla" and "mla" not in subs:
        merged.pop("mla", None)         # a preset's or config's MLA block, replaced by the attention written
    for sub, fields in (("moe", MOE_FIELDS), ("mla", MLA_FIELDS), ("window", WINDOW_FIELDS)):
        if sub in subs:
            sv, _ = read_block(out, subs[sub].block, f"model.{sub}", fields)
            if any(v is BAD for v in sv.values()):
                return None
            if sub == "moe":
                merged["moe"] = {**(base.get("moe") or {}), **moe_fields(sv)}
            elif sub == "mla":
                merged["mla"] = {**(base.get("mla") or {}), **mla_fields(sv)}
            else:
                merged["window"] = {**(base.get("window") or {}), **window_fields(sv)}
    return build_model(out, name, merged, span)


def build_model(out: Collector, name: str, f: ModelFields, span: Span | None) -> Model | None:
    """A `Model` from merged fields; `span` is None for a built-in preset, which has no source."""
    missing = [key for key in ("layers", "hidden", "heads", "vocab") if f.get(key) is None]
    for key in missing:
        if f"model.{key}" not in out.guessed:           # a typo of it (E101 "did you mean") says so already
            out.error("E103", f"the model has no `{key}`", span, f"add `{key} = …` to the model block")
    if missing:
        return None
    attention = AttentionKind(f.get("attention", "gqa"))
    heads, hidden = f["heads"], f["hidden"]
    kv = f.get("kv_heads") or heads
    head_dim = f.get("head_dim") or (hidden // heads if hidden % heads == 0 else None)
    if head_dim is None:
        out.error("E103", "the model has no `head_dim` and hidden is not a multiple of heads", span,
                  "add `head_dim = …`")
        return None
    _check_kv_heads(out, attention, heads, kv, out.spans.get("model.kv_heads", span))
    mla = _mla(out, attention, f, span)
    if isinstance(mla, Bad):
        return None
    if DType(f.get("kv_cache", "bf16")).is_fp4 or f.get("kv_cache") == "int4":     # int4: accepted until 2026-12-03
        out.error("E104", f"a KV cache in `{f['kv_cache']}` is not modelled: no engine dagc launches keeps one",
                  out.spans.get("model.kv_cache", span), "write `kv_cache = fp8` (or bf16)")
    moe = _moe(out, f, span)
    window = _window(out, f, span)
    if moe is None or out.has_errors:
        return None
    return Model(name=name, layers=f["layers"], hidden=hidden, heads=heads, kv_heads=kv, head_dim=head_dim,
                 vocab=f["vocab"], tied=f.get("tied", False), weights=DType(f.get("weights", "bf16")),
                 kv_cache=DType(f.get("kv_cache", "bf16")), attention=attention, mla=mla, moe=moe, window=window,
                 context_length=f.get("context_length"))


def _window(out: Collector, f: ModelFields, span: Span | None) -> Window | None:
    """The windowed attention (`window { size = …  kind = …  full_every = … }`), or None."""
    w = f.get("window")
    if not w:
        return None
    where = out.spans.get("model.window", span)
    if w.get("size") is None:
        out.error("E103", "the window block has no `size`", where,
                  "add `size = …`: the tokens a windowed layer attends to (gpt-oss: 128, Llama 4: 8192)")
        return None
    full_every = w.get("full_every") or 0
    if full_every == 1:
        out.error("E104", "`full_every = 1` keeps full attention on every layer: no layer is windowed",
                  out.spans.get("model.window.full_every", where),
                  "write `full_every = 2` (every other layer full, as gpt-oss), 4 (Llama 4), or 0 (every layer "
                  "windowed), or remove the window block")
    return Window(size=w["size"], kind=w.get("kind") or "sliding", full_every=full_every)


def _check_kv_heads(out: Collector, attention: AttentionKind, heads: int, kv: int, at: Span | None) -> None:
    if kv > heads:
        out.error("E104", f"kv_heads ({kv}) exceeds heads ({heads})", at,
                  f"write `kv_heads = {heads}` (multi-head attention) or fewer")
    elif attention is AttentionKind.GQA and heads % kv:
        out.error("E104", f"heads ({heads}) is not a multiple of kv_heads ({kv})", at,
                  "each KV head serves a whole group of query heads")


def _mla(out: Collector, attention: AttentionKind, f: ModelFields, span: Span | None) -> Mla | Bad | None:
    """The MLA dimensions (None for GQA), or BAD when the model cannot be built."""
    where = out.spans.get("model.mla", span)
    if attention is not AttentionKind.MLA:
        if f.get("mla"):
            out.error("E104", "an `mla` block needs `attention = mla`", where,
                      "add `attention = mla` to the model, or remove the `mla` block")
        return None
    if not f.get("mla"):
        return out.error("E103", "attention = mla needs an `mla { … }` block", out.spans.get("model.attention", span),
                         f"add `{_MLA_EXAMPLE}`")
    missing = [k for k in ("kv_lora", "qk_nope", "v_head") if not f["mla"].get(k)]
    missing += ["qk_rope"] if f["mla"].get("qk_rope") is None else []       # 0: no rotary part
    if missing:
        return out.error("E103", f"the mla block has no `{missing[0]}`", where, f"a full block: `{_MLA_EXAMPLE}`")
    return Mla.model_validate({k: v for k, v in f["mla"].items() if v is not None})


def _moe(out: Collector, f: ModelFields, span: Span | None) -> Moe | None:
    """The feed-forward part: a `moe { … }` block, or the dense sugar `ffn = …`."""
    moe_f = f.get("moe")
    if moe_f is None:
        if f.get("ffn") is None:
            out.error("E103", "the model has neither a `moe { … }` block nor a dense `ffn`", span,
                      "add `moe { experts = 8  top_k = 2  ffn = 14336 }`, or `ffn = …` for a dense model")
            return None
        return Moe(experts=0, dense_layers=f["layers"], dense_ffn=f["ffn"], gated=f.get("gated", True))
    written = {k: v for k, v in moe_f.items() if v is not None}     # a config.json's null: unstated
    moe = Moe.model_validate(written)
    where = out.spans.get("model.moe", span)
    for key in ("ffn", "gated"):        # the dense sugar beside a moe block would be read by nothing
        if f.get(key) is not None:
            out.error("E104", f"`{key}` belongs to a dense model (written instead of a `moe {{ … }}` block); this "
                      "model has one, so it would change nothing", out.spans.get(f"model.{key}", span),
                      f"the experts' is `moe {{ {key} = … }}` (--set model.moe.{key}=…)" + (
                          "; a shared expert's `shared_ffn`, the dense layers' `dense_ffn`" if key == "ffn" else ""))
    if moe.experts > 0:
        _check_experts(out, moe, written, f["layers"], where)
    elif not moe.dense_ffn and "model.moe.experts" not in out.guessed:     # `num_experts`: its E101 says it
        out.error("E103", "a model with experts = 0 needs `dense_ffn`", where,
                  "add `dense_ffn = …` (the FFN's intermediate size) to the moe block")
    if moe.experts == 0:
        moe = moe.model_copy(update={"dense_layers": f["layers"]})
    return moe


def _check_experts(out: Collector, moe: Moe, written: Mapping[str, object], layers: int, where: Span | None) -> None:
    def at(key: str) -> Span | None:
        return out.spans.get(f"model.moe.{key}", where)

    for key in ("top_k", "ffn"):
        if key not in written:
            if f"model.moe.{key}" not in out.guessed:    # a typo of it (E101 "did you mean") says so already
                out.error("E103", f"the moe block has no `{key}`", where, f"add `{key} = …`")
        elif not getattr(moe, key):
            out.error("E104", f"`{key}` = 0: a model with experts needs at least 1", at(key),
                      "for a dense model write `experts = 0` and `dense_ffn = …`")
    if moe.top_k > moe.experts:
        out.error("E104", f"top_k ({moe.top_k}) exceeds experts ({moe.experts})", at("top_k"),
                  f"write `top_k = {moe.experts}` or fewer")
    if moe.experts % moe.groups:
        out.error("E104", f"{moe.groups} expert groups do not split the {moe.experts} experts", at("groups"),
                  "`groups` is the model's expert groups of group-limited routing (config.json `n_group`)")
    if moe.dense_layers > layers:
        out.error("E104", f"dense_layers ({moe.dense_layers}) exceeds layers ({layers})", at("dense_layers"),
                  f"write `dense_layers = {layers}` or fewer (the first layers are dense)")
    if moe.dense_layers and not moe.dense_ffn:
        out.error("E103", "dense_layers needs `dense_ffn`", at("dense_layers"),
                  "add `dense_ffn = …` (the dense layers' FFN intermediate size)")
    after = layers - min(moe.dense_layers, layers)
    if moe.every > 1 and after % moe.every:
        out.error("E104", f"`every = {moe.every}` does not divide the {after} layers after the dense ones",
                  at("every"), f"one MoE layer in every {moe.every} needs a multiple of {moe.every} layers after "
                  f"`dense_layers`: e.g. `every = {_divisor_near(after, moe.every)}`")
    if moe.every > 1 and not moe.dense_ffn:
        out.error("E103", f"`every = {moe.every}` makes the other layers dense: they need `dense_ffn`", at("every"),
                  "add `dense_ffn = …` (the dense layers' FFN intermediate size)")


def _divisor_near(n: int, k: int) -> int:
    """The divisor of `n` nearest to `k` (the smaller on a tie), for a hint."""
    return min((d for d in range(1, n + 1) if n % d == 0), key=lambda d: (abs(d - k), d), default=1)


def model_from_preset(name: str, **overrides: Unpack[ModelFields]) -> Model:
    """A built-in model as a `Model` (overrides replace top-level fields, a sub-block's all of it).

    Example:
        >>> model_from_preset("qwen3-30b-a3b").moe.experts
        128
    """
    fields: ModelFields = {**preset_model_fields(MODEL_PRESETS[name]), **overrides}
    out = Collector()
    model = build_model(out, name, fields, None)
    if model is None:  # pragma: no cover - presets are valid by construction
        raise ValueError(f"preset {name} does not build: {[d.message for d in out.diags]}")
    return model

