"""Field schemas of the plan language and name suggestions (used by `dagc.lang.lower`).

Input: nothing (tables). Output: `Field` specs per block — kind, dimension, range —
and `nearest`, the "did you mean" helper behind every E101.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..plan.model import DType
from ..plan.workload import RequirementKind
from ..units import Dimension

__all__ = ["Field", "nearest", "did_you_mean", "MODEL_FIELDS", "MOE_FIELDS", "MLA_FIELDS", "WINDOW_FIELDS",
           "SPECULATIVE_FIELDS",
           "CLUSTER_FIELDS",
           "GPU_FIELDS", "EFFICIENCY_FIELDS", "LATENCY_FIELDS", "WORKLOAD_FIELDS", "REQUIREMENT_DIMENSIONS",
           "SUBBLOCKS", "MAX_COUNT", "STRATEGY_OPTIONS"]

MAX_COUNT = 2**40


def nearest(word: str, choices) -> str | None:
    """The closest known name to `word`, for "did you mean" hints.

    Example:
        >>> nearest("mixtral-8x7", ["mixtral-8x7b", "deepseek-v3"])
        'mixtral-8x7b'
    """
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    prefixed = [c for c in choices if c.lower().startswith(word.lower())]
    if len(prefixed) == 1:
        return prefixed[0]
    found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.5)
    return lowered[found[0]] if found else None


def did_you_mean(word: str, choices) -> str:
    best = nearest(word, choices)
    if best:
        return f"did you mean `{best}`?"
    return "expected one of: " + ", ".join(f"`{c}`" for c in choices)


# ---------------------------------------------------------------- field schemas

@dataclass(frozen=True)
class Field:
    """How to read one `name = value` field."""

    kind: str                      # int | bool | choice | quantity | ratio | routing | batch
    dimension: Dimension | None = None
    lo: float = 1
    hi: float = MAX_COUNT
    choices: tuple[str, ...] = ()


CHUNK_LIMIT = 2**20                # the largest token budget of one engine step a plan may write (docs/limits.md)
BATCH_LIMIT = 2**40                # the largest batch a plan may write, and where `batch = max` stops looking


def _int(lo=1, hi=MAX_COUNT) -> Field:
    return Field("int", Dimension.COUNT, lo, hi)


_DTYPES = tuple(d.value for d in DType)
MODEL_FIELDS = {
    "layers": _int(1, 100_000), "hidden": _int(), "heads": _int(), "kv_heads": _int(),
    "head_dim": _int(), "vocab": _int(), "tied": Field("bool"),
    "weights": Field("choice", choices=_DTYPES), "kv_cache": Field("choice", choices=_DTYPES),
    "attention": Field("choice", choices=("gqa", "mla")),
    "ffn": _int(), "gated": Field("bool"),   # dense-model sugar: no moe block
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
    "batch": Field("batch", Dimension.COUNT, 1, BATCH_LIMIT), "prompt": _int(1, 2**32), "generate": _int(1, 2**32),
    "microbatches": _int(1, 100_000), "routing": Field("routing"),
    "overlap": Field("choice", choices=("none", "microbatch")),
    "dispatch": Field("choice", choices=("bf16", "fp8")),
    "serving": Field("choice", choices=("static", "inflight")),
    "chunk": _int(1, CHUNK_LIMIT),
    "prefill_batch": _int(1, BATCH_LIMIT), "kv_transfer": Field("choice", choices=("after", "layerwise")),
}
SPECULATIVE_FIELDS = {
    "method": Field("choice", choices=("mtp", "eagle", "ngram")), "tokens": _int(1, 16),
    "acceptance": Field("ratio", Dimension.RATIO, 1e-9, 1.0),
    "accept_length": Field("ratio", Dimension.RATIO, 1.0, 17.0),
}
REQUIREMENT_DIMENSIONS = {
    RequirementKind.TTFT: Dimension.TIME, RequirementKind.TPOT: Dimension.TIME,
    RequirementKind.DECODE_THROUGHPUT: Dimension.THROUGHPUT,
    RequirementKind.PREFILL_THROUGHPUT: Dimension.THROUGHPUT,
    RequirementKind.THROUGHPUT: Dimension.THROUGHPUT,
    RequirementKind.MEMORY: Dimension.RATIO, RequirementKind.GPUS: Dimension.COUNT,
}
# A strategy's execution options (`with microbatches 2 overlap microbatch`): `dagc.lang.flatten` reads
# them, the parser's diagnostics name a word after one's value.
STRATEGY_OPTIONS = ("microbatches", "overlap", "redundant")
SUBBLOCKS = {"model": ("moe", "mla", "window"), "cluster": ("efficiency", "latency"), "workload": ("speculative",),
             "gpu": ()}
