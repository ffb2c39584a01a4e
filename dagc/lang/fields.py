"""Field schemas of the plan language and name suggestions (used by `dagc.lang.lower`).

Input: nothing (tables). Output: `Field` specs per block — kind, dimension, range —, `FieldValue`, the
types a field's value is read as, and `nearest`, the "did you mean" helper behind every E101 (`elsewhere`: the
block a field written in the wrong one belongs to).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias, TypedDict

from ..plan.model import DType
from ..plan.workload import PERCENTILE_KINDS, PERCENTILES, Overlap, RequirementKind
from ..units import Dimension
from .lookalikes import fold, lookalike_note

__all__ = ["Field", "FieldValue", "PLAIN", "Inner", "Named", "degree_after", "nearest", "spelling",
           "did_you_mean", "elsewhere", "axis_field", "MODEL_FIELDS", "MOE_FIELDS", "MLA_FIELDS", "WINDOW_FIELDS",
           "SPECULATIVE_FIELDS",
           "CLUSTER_FIELDS", "CLUSTER_BLOCK_FIELDS",
           "GPU_FIELDS", "EFFICIENCY_FIELDS", "LATENCY_FIELDS", "WORKLOAD_FIELDS", "TRAFFIC_FIELDS", "MIX_FIELDS",
           "REQUIREMENT_DIMENSIONS", "LOAD_ONLY", "LENGTHS", "LENGTH_CV_LIMIT", "REQUIREMENT_NAMES", "requirement_name",
           "SUBBLOCKS", "MAX_COUNT", "set_path", "STRATEGY_OPTIONS", "StrategyOptions", "AXIS_WORDS", "AXES_SAID"]

MAX_COUNT = 2**40


def nearest(word: str, choices: Iterable[str], aliases: Mapping[str, str] | None = None) -> str | None:
    """The known name `word` stands for, for "did you mean" hints — only one that means the same.

    A name qualifies when it is `word` written another way: another case, `-`/`_`/`.` or a space
    between its parts, a letter doubled (`presset`), a plural `s` (`microbatch`), one slip of a
    letter (missing, extra, swapped or replaced) in a word of four letters or more, outside its
    parts with digits (`h200`, `8x7b`, `fp8` name things), a number's letter left off, the rest whole
    (`gpt-oss-120` of `gpt-oss-120b`: a size without its `b`; never a digit left off: `h20` is not `h200`),
    or a spelling in `aliases` (word → name). Never one that is merely near: `h200-sxm` is not `h100-sxm`,
    `h200` not `b200`, `ex` not `ep`; or the one name whose leading parts `word` is (`qwen3-235b` of
    `qwen3-235b-a22b`). None when no name, or more than one, qualifies.

    Example:
        >>> nearest("mixtral-8x7B", ["mixtral-8x7b", "mixtral-8x22b"]), nearest("h200-sxm", ["h100-sxm"])
        ('mixtral-8x7b', None)
        >>> nearest("Top-K", ["top_k", "experts"]), nearest("ex", ["ep", "tp"]), nearest("tpp", ["tp", "pp"])
        ('top_k', None, 'tp')
        >>> nearest("rat", ["rate", "requests"]), nearest("gqa", ["mla", "mha"]), nearest("h20", ["h200", "h100"])
        ('rate', None, None)
        >>> qwen3 = ["qwen3-30b-a3b", "qwen3-235b-a22b"]
        >>> nearest("qwen3-235b", qwen3), nearest("qwen3", qwen3), nearest("gpt-oss-120", ["gpt-oss-120b"])
        ('qwen3-235b-a22b', None, 'gpt-oss-120b')
    """
    choices = list(choices)
    alias = (aliases or {}).get(word.lower())
    if alias is not None and alias in choices:
        return alias
    for same in (str.lower, spelling, _plain):
        found = {c for c in choices if same(c) == same(word)}
        if found:
            return found.pop() if len(found) == 1 else None
    key = _plain(word)
    if len(key) < 4:                 # short codes (tp, ep, gqa, mla) are one letter apart by design: a name of three
        # letters is read as the one longer name it is with a letter left out (`rat`: `rate`, `ttf`: `ttft`, as spelt)
        dropped = [c for c in choices if len(spelling(word)) == 3 == len(spelling(c)) - 1
                   and _numbered(c) == _numbered(word) and _one_slip(spelling(c), spelling(word))]
        return dropped[0] if len(dropped) == 1 else None
    slips = [c for c in choices if _numbered(c) == _numbered(word) and _one_slip(_plain(c), key)]
    if slips:
        return slips[0] if len(slips) == 1 else None
    bare = [c for c in choices if "-".join(_parts(word)) in _bare(c)]      # `gpt-oss-120`: `gpt-oss-120b`
    if bare:
        return bare[0] if len(bare) == 1 else None
    # the leading parts of one name alone (`qwen3-235b` of `qwen3-235b-a22b`): the same thing, shortened
    parts = _parts(word)
    longer = [c for c in choices if len(_parts(c)) > len(parts) and _parts(c)[:len(parts)] == parts]
    return longer[0] if len(longer) == 1 else None


@functools.lru_cache(maxsize=4096)
def _parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in re.split(r"[-_.\s]+", name.lower()) if p)


@functools.lru_cache(maxsize=4096)
def _bare(name: str) -> frozenset[str]:
    """`name`'s parts joined by `-`, one number's letter left off (`gpt-oss-120b`: `gpt-oss-120`; `qwen3-30b-a3b`:
    `qwen3-30-a3b` and `qwen3-30b-a3`): the name with its size's `b` (or a count's `e`, a memory's `g`) unwritten."""
    parts = _parts(name)
    return frozenset("-".join((*parts[:i], p[:-1], *parts[i + 1:])) for i, p in enumerate(parts)
                     if re.fullmatch(r".*[0-9][a-z]", p))


def did_you_mean(word: str, choices: Collection[str], aliases: Mapping[str, str] | None = None) -> str:
    """`did you mean `x`?` for the name `word` stands for (`nearest`), else the names to choose from.

    Example:
        >>> did_you_mean("bacth", ["batch", "prompt"]), did_you_mean("fp4", ["fp8", "bf16"])
        ('did you mean `batch`?', 'expected one of: `fp8`, `bf16`')
    """
    best = nearest(word, choices, aliases)
    if best:
        note = lookalike_note(word) if fold(word) != word else None     # the two look the same on the screen
        return f"did you mean `{best}`?" + (f" ({note})" if note else "")
    return "expected one of: " + ", ".join(f"`{c}`" for c in choices)


@functools.lru_cache(maxsize=4096)      # a hint compares a word with every known name: each is respelt once
def spelling(name: str) -> str:
    """`name` without case and separators: `Top-K`, `top_k` and `topk` are one spelling (and `qwen3‐30b`, whose
    dash is a typographic one, U+2010–U+2015 or U+2212, as a word processor writes it, and `mixtral-8х7b`, whose `х`
    is a Cyrillic one: `dagc.lang.lookalikes.fold`)."""
    return re.sub(r"[-_.\s\u2010-\u2015\u2212]+", "", fold(name).lower())


@functools.lru_cache(maxsize=4096)
def _plain(name: str) -> str:
    """`spelling` with doubled letters single and a plural `s`/`es` dropped."""
    single = re.sub(r"([a-z])\1+", r"\1", spelling(name))
    return re.sub(r"(?<=[a-z]{2})(?:(?<=ch|sh)e|(?<=x)e)?s$", "", single)


@functools.lru_cache(maxsize=4096)
def _numbered(name: str) -> tuple[str, ...]:
    """The parts of `name` with a digit in them (`h200`, `8x7b`, `fp8`): a slip never touches these."""
    return tuple(part for part in re.findall(r"[a-z0-9]+", name.lower()) if any(ch.isdigit() for ch in part))


def _one_slip(a: str, b: str) -> bool:
    """Whether `a` and `b` differ by one letter missing, added, replaced, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


# ---------------------------------------------------------------- field schemas

@dataclass(frozen=True, slots=True)
class Inner:
    """What a block holds beside its fields (`dagc.lang.blocks.read_block`): its sub-blocks, the fields it may
    read from a file (`kernels from "…"`; those in `file_and_value` may be written both ways at once), and
    whether it names a GPU (the cluster)."""

    subblocks: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    file_and_value: tuple[str, ...] = ()
    gpu: bool = False


PLAIN = Inner()      # a block of fields alone


@dataclass(frozen=True, slots=True)
class Named:
    """How a message names a field: `short`, its name, and `lhs`, what its examples write before a value
    (`tpot <=`), with the field's dimension."""

    short: str
    lhs: str
    dim: Dimension


@dataclass(frozen=True)
class Field:
    """How to read one `name = value` field."""

    kind: str                      # int | bool | choice | quantity | ratio | routing | batch | tokens
    dimension: Dimension | None = None
    lo: float = 1
    hi: float = MAX_COUNT
    choices: tuple[str, ...] = ()
    above_zero: bool = False       # `lo` only stands for "above 0" (a share, a price): 0 or less is told so


# What a field's value is read as (`dagc.lang.blocks.read_value`), by its `Field`'s kind: a flag (`bool`), a
# name (`choice`, `name`; `batch = max`), a count (`int`, `tokens`, `batch`, a quantity of `Dimension.COUNT`),
# any other quantity in SI units (`quantity`, `ratio`), a throughput with whether it is per GPU, and `routing`'s
# imbalance (None: `random`). `dagc.lang.block_fields` says which by field, a `TypedDict` a block.
FieldValue: TypeAlias = bool | int | float | str | tuple[float, bool] | None


CHUNK_LIMIT = 2**20                # the largest token budget of one engine step a plan may write (docs/limits.md)
BATCH_LIMIT = 2**40                # the largest batch a plan may write, and where `batch = max` stops looking
REQUESTS_LIMIT = 10_000_000        # the most requests a load simulation runs (docs/limits.md)
CONCURRENCY_LIMIT = 1_000_000      # the most clients of a closed loop
RATE_LIMIT = 1e6                   # the highest arrival rate, requests/s
RATE_MIN = 1e-6                    # the lowest arrival rate, requests/s (one request in 11.6 days); `search --rate` too
ACCEPTANCE_MIN = 1e-9              # the lowest chance a drafted token is accepted (`speculative { acceptance }`)
LENGTHS = ("fixed", "uniform", "exponential", "lognormal")   # how prompt and output lengths spread (`lengths`)
LENGTH_CV_LIMIT = 4.0              # the widest spread of drawn lengths, as a coefficient of variation
RAMP_LIMIT = 86_400.0              # the longest ramp, seconds (a day)


def _int(lo: float = 1, hi: float = MAX_COUNT, kind: str = "int") -> Field:
    return Field(kind, Dimension.COUNT, lo, hi)     # kind "tokens": a count of tokens, `2048` or `2048 tokens`


_DTYPES = tuple(d.value for d in DType)
MODEL_FIELDS = {
    "layers": _int(1, 100_000), "hidden": _int(), "heads": _int(), "kv_heads": _int(),
    "head_dim": _int(), "vocab": _int(), "tied": Field("bool"),
    "weights": Field("choice", choices=_DTYPES), "kv_cache": Field("choice", choices=_DTYPES),
    "attention": Field("choice", choices=("gqa", "mla")),
    "ffn": _int(), "gated": Field("bool"),   # dense-model sugar: no moe block
    "context_length": _int(1, 2**40, "tokens"),
}
MOE_FIELDS = {
    "experts": _int(0), "top_k": _int(0), "ffn": _int(0), "shared": _int(0), "shared_ffn": _int(0),
    "dense_layers": _int(0, 100_000), "dense_ffn": _int(0), "gated": Field("bool"),
    "every": _int(1, 100_000), "weights": Field("choice", choices=_DTYPES), "groups": _int(1, 100_000),
}
MLA_FIELDS = {"q_lora": _int(0), "kv_lora": _int(), "qk_nope": _int(), "qk_rope": _int(0), "v_head": _int()}
WINDOW_FIELDS = {"size": _int(1, 2**32), "kind": Field("choice", choices=("sliding", "chunked")),
                 "full_every": _int(0, 100_000)}
CLUSTER_FIELDS = {
    "gpus": _int(1, 2**20), "gpus_per_node": _int(1, 2**20),
    "intra_node": Field("quantity", Dimension.BANDWIDTH, 1e3, 1e18),
    "inter_node": Field("quantity", Dimension.BANDWIDTH, 1e3, 1e18),
}
# The cluster block's fields: the shared schema plus the measured cost model's (SPEC 3.2).
CLUSTER_BLOCK_FIELDS = {**CLUSTER_FIELDS, "kernels": Field("name"), "engine": Field("name"),
                        "reserve": Field("quantity", Dimension.SIZE, 0.0, 1e18),
                        "price": Field("quantity", Dimension.PRICE, 1e-9, 1e6, above_zero=True)}
GPU_FIELDS = {
    "memory": Field("quantity", Dimension.SIZE, 1e6, 1e18),
    "flops": Field("quantity", Dimension.COMPUTE, 1e9, 1e21),
    "fp8_flops": Field("quantity", Dimension.COMPUTE, 1e9, 1e21),
    "fp4_flops": Field("quantity", Dimension.COMPUTE, 1e9, 1e21),
    "hbm": Field("quantity", Dimension.BANDWIDTH, 1e6, 1e18),
    "intra_node": Field("quantity", Dimension.BANDWIDTH, 1e3, 1e18),
}
EFFICIENCY_FIELDS = {k: Field("ratio", Dimension.RATIO, 1e-6, 1.0) for k in ("compute", "hbm", "network")}
LATENCY_FIELDS = {k: Field("quantity", Dimension.TIME, 0.0, 10.0) for k in ("intra", "inter")}
WORKLOAD_FIELDS = {
    "batch": Field("batch", Dimension.COUNT, 1, BATCH_LIMIT), "prompt": _int(1, 2**32, "tokens"),
    "generate": _int(1, 2**32, "tokens"), "microbatches": _int(1, 100_000), "routing": Field("routing"),
    "overlap": Field("choice", choices=("none", "microbatch")),
    "dispatch": Field("choice", choices=("bf16", "fp8")),
    "serving": Field("choice", choices=("static", "inflight")),
    "chunk": _int(1, CHUNK_LIMIT, "tokens"), "chunked_prefill": Field("choice", choices=("on", "off")),
    "prefill_batch": _int(1, BATCH_LIMIT), "kv_transfer": Field("choice", choices=("after", "layerwise")),
    # traffic, simulated by `dagc.serve.load` (`dagc.lang.traffic.read_traffic` checks how they combine)
    "rate": Field("quantity", Dimension.RATE, RATE_MIN, RATE_LIMIT), "requests": _int(1, REQUESTS_LIMIT),
    "arrival": Field("choice", choices=("poisson", "uniform")), "seed": _int(0, 2**63 - 1),
    "concurrency": _int(1, CONCURRENCY_LIMIT), "ramp": Field("quantity", Dimension.TIME, 0.0, RAMP_LIMIT),
    "lengths": Field("choice", choices=LENGTHS), "length_cv": Field("ratio", Dimension.RATIO, 0.0, LENGTH_CV_LIMIT),
    "prefix": _int(0, 2**32, "tokens"), "warm": _int(0, REQUESTS_LIMIT),
}
# The fields of each block by the block's name, to say where a field written in another block goes.
_BLOCK_FIELDS = {"model": tuple(MODEL_FIELDS), "cluster": (*CLUSTER_FIELDS, "engine", "kernels", "reserve"),
                 "workload": tuple(WORKLOAD_FIELDS)}


# A parallel degree written as a field or an engine's option (`dagc.cli.axis_options`): a strategy's axis (`tp`, vLLM's
# `tensor_parallel_size`, SGLang's `ep-size`, Megatron-Core's and TensorRT-LLM's long names; `-` read as `_`)
_AXIS_FIELDS = {**{a: a for a in ("dp", "pp", "tp", "cp", "ep", "etp")},
                **{f"{a}_size": a for a in ("dp", "pp", "tp", "cp", "ep", "etp")},
                **{f"{w}_{m}parallel_size": a
                   for w, a in (("data", "dp"), ("pipeline", "pp"), ("tensor", "tp"), ("expert", "ep"),
                                ("context", "cp"), ("expert_tensor", "etp"), ("moe_expert", "ep"),
                                ("moe_tensor", "etp"))
                   for m in ("", "model_")}}


def axis_field(name: str) -> str | None:
    """The strategy's axis a parallel degree written as a field names (`tp`, vLLM's `tensor_parallel_size`, SGLang's
    `ep-size`), else None.

    Example:
        >>> axis_field("tensor_parallel_size"), axis_field("ep-size"), axis_field("gpus")
        ('tp', 'ep', None)
    """
    return _AXIS_FIELDS.get(name.lower().replace("-", "_"))


# `= 4` after a degree written as a field, or the value alone: a whole number, not the start of `2.5` or `4x`
_DEGREE_AFTER = re.compile(r"[ \t]*[=:]?[ \t]*([1-9][0-9]{0,6})(?![\w.])")


def degree_after(after: str) -> str:
    """The degree written after a parallel degree's name (`tensor_parallel_size = 4`: the text after the name at the
    top level, or a field's value), for `elsewhere`'s hint — until 2026-12-03 `strategy tp 8` whatever it was —; 8
    when none is.

    Example:
        >>> degree_after(" = 4 "), degree_after(": 16"), degree_after("2"), degree_after(" = x"), degree_after("2.5")
        ('4', '16', '2', '8', '8')
    """
    m = _DEGREE_AFTER.match(after)
    return m.group(1) if m else "8"


def elsewhere(name: str, where: str, degree: str = "8") -> str | None:
    """`engine = vllm` in `workload { }`: the block it is a field of, when that is another one; `experts = 64` in
    `model { }` (or `--set model.experts=64`): the block inside it that it is a field of (`moe`); `tp = 8`
    anywhere: the strategy, whose axis it is (at the `degree` written, when known: `tensor_parallel_size = 4`).

    Example:
        >>> elsewhere("experts", "model").split(": ")[0]
        "`experts` is a field of the model's `moe { … }` block"
    """
    if (axis := axis_field(name)) is not None:
        return (f"`{name}` is a parallel degree, which the strategy gives, not a field: e.g. "
                f"`strategy {axis} {degree}`, or `--strategy \"{axis} {degree}\"` (an axis and its degree; "
                "docs/language.md, \"strategy\")")
    home = next((b for b, names in _BLOCK_FIELDS.items() if name in names and b != where.split(".")[0]), None)
    if home:
        return f"`{name}` is a field of `{home} {{ … }}`: move the line there"
    inner = next((b for b, names in _INNER_FIELDS.get(where, {}).items() if name in names), None)
    outer, _, block = where.partition(".")
    if inner is None and block and name in _BLOCK_FIELDS.get(outer, ()):     # `moe { layers = 16 }`
        return (f"`{name}` is a field of `{outer} {{ … }}` itself, not of its `{block} {{ … }}` block: write it beside "
                f"the block, `{outer} … {{ {name} = …  {block} {{ … }} }}` (with --set: `{outer}.{name}=…`)")
    return (f"`{name}` is a field of the {where}'s `{inner} {{ … }}` block: write it there, `{inner} {{ {name} = … }}` "
            f"(with --set: `{where}.{inner}.{name}=…`)") if inner else None


def set_path(name: str) -> str | None:
    """The dotted path `--set` takes to the field `name` written alone (`gpus` → `cluster.gpus`, `experts` →
    `model.moe.experts`): in the first block (model, cluster, workload) or inner block that has it; None for none.

    Example:
        >>> set_path("gpus"), set_path("experts"), set_path("clustre")
        ('cluster.gpus', 'model.moe.experts', None)
    """
    home = next((b for b, names in _BLOCK_FIELDS.items() if name in names), None)
    if home is not None:
        return f"{home}.{name}"
    return next((f"{b}.{inner}.{name}" for b, inners in _INNER_FIELDS.items() for inner, names in inners.items()
                 if name in names), None)


# A fleet's traffic mix (`mix "chat" { weight = 0.7  rate = 10 requests/s }`): the workload's fields, its weight.
MIX_FIELDS = {**WORKLOAD_FIELDS, "weight": Field("ratio", Dimension.RATIO, 1e-9, 1.0, above_zero=True)}
TRAFFIC_FIELDS = ("rate", "requests", "arrival", "seed", "concurrency", "ramp", "lengths", "length_cv", "prefix",
                  "warm")
SPECULATIVE_FIELDS = {
    "method": Field("choice", choices=("mtp", "eagle", "ngram")), "tokens": _int(1, 16),
    "acceptance": Field("ratio", Dimension.RATIO, ACCEPTANCE_MIN, 1.0),
    "accept_length": Field("ratio", Dimension.RATIO, 1.0, 17.0),
}
# The blocks inside a block and their fields, for the hint at a field written one level too high (`elsewhere`)
_INNER_FIELDS: dict[str, dict[str, Mapping[str, Field]]] = {
    "model": {"moe": MOE_FIELDS, "mla": MLA_FIELDS, "window": WINDOW_FIELDS},
    "cluster": {"efficiency": EFFICIENCY_FIELDS, "latency": LATENCY_FIELDS},
    "workload": {"speculative": SPECULATIVE_FIELDS}}
REQUIREMENT_DIMENSIONS = {
    RequirementKind.TTFT: Dimension.TIME, RequirementKind.TPOT: Dimension.TIME,
    RequirementKind.DECODE_THROUGHPUT: Dimension.THROUGHPUT,
    RequirementKind.PREFILL_THROUGHPUT: Dimension.THROUGHPUT,
    RequirementKind.THROUGHPUT: Dimension.THROUGHPUT,
    RequirementKind.MEMORY: Dimension.RATIO, RequirementKind.GPUS: Dimension.COUNT,
    RequirementKind.E2E: Dimension.TIME, RequirementKind.ITL: Dimension.TIME, RequirementKind.GOODPUT: Dimension.RATE,
}
# judged on the simulated load only: percentiles of a latency (`e2e_p99`) and goodput
LOAD_ONLY = (RequirementKind.E2E, RequirementKind.ITL, RequirementKind.GOODPUT)
# every name a `require` line may use, for hints
REQUIREMENT_NAMES = tuple([k.value for k in RequirementKind if k not in LOAD_ONLY[:2]]
                          + [f"{k}_p{p}" for k in PERCENTILE_KINDS for p in PERCENTILES])


def requirement_name(name: str) -> tuple[RequirementKind, int | None] | None:
    """What a `require` line's name bounds: its kind and percentile (`ttft_p99` → TTFT, 99), None when unknown.

    Example:
        >>> requirement_name("ttft_p99"), requirement_name("goodput"), requirement_name("tpot_p42")
        ((<RequirementKind.TTFT: 'ttft'>, 99), (<RequirementKind.GOODPUT: 'goodput'>, None), None)
    """
    base, _, pct = name.rpartition("_p")
    if base in PERCENTILE_KINDS and pct.isdigit() and int(pct) in PERCENTILES and pct == str(int(pct)):
        return RequirementKind(base), int(pct)
    try:
        return RequirementKind(name), None
    except ValueError:
        return None
# A strategy's execution options (`with microbatches 2 overlap microbatch`): `dagc.lang.flatten` reads
# them, the parser's diagnostics name a word after one's value.
STRATEGY_OPTIONS = ("microbatches", "overlap", "redundant")


class StrategyOptions(TypedDict, total=False):
    """A strategy's `with …` options as read, by `Strategy`'s field names."""

    microbatches: int
    overlap: Overlap
    redundant: int


# What each axis is called in words, which a hint accepts for it (`expert 8` → `ep`), and says.
AXIS_WORDS = {"data": "dp", "ddp": "dp", "pipeline": "pp", "tensor": "tp", "context": "cp", "sequence": "sp",
              "expert": "ep", "experts": "ep"}
AXES_SAID = "dp (data), pp (pipeline), tp (tensor), cp (context), sp (sequence), ep (expert), etp (expert tensor)"
SUBBLOCKS = {"model": ("moe", "mla", "window"), "cluster": ("efficiency", "latency"), "workload": ("speculative",),
             "gpu": ()}
