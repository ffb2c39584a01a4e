"""The order `--set` mistakes are told in: the command line's, left to right.

Whether a `--set` path names a field its block has is read before the plan is: an option whose value is not one
value and whose field is none (`--set workload.log=traces/x.csv`) is told of its field first — until 2026-11-30 only
the value's E001 was said, and a corrected value then met the E101. The diagnostics of several options are put in
the order the options were given (`in_option_order`).

The blocks and their fields are the lowering's own (`dagc.lang.fields`), and the hint the one `dagc.lang.blocks`
gives an unknown field in a plan (`unknown_field_hint`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..diagnostics import Diagnostic, Severity
from ..source import SourceFile
from .field_words import unknown_field_hint
from .fields import (
    CLUSTER_BLOCK_FIELDS,
    EFFICIENCY_FIELDS,
    LATENCY_FIELDS,
    MLA_FIELDS,
    MODEL_FIELDS,
    MOE_FIELDS,
    SPECULATIVE_FIELDS,
    SUBBLOCKS,
    WINDOW_FIELDS,
    WORKLOAD_FIELDS,
    Field,
    degree_after,
)

__all__ = ["in_option_order", "unknown_set_field"]

# each block --set reaches by its path: its fields and the blocks inside it (a custom GPU's are left to the lowering)
_BLOCKS: dict[tuple[str, ...], tuple[Mapping[str, Field], tuple[str, ...]]] = {
    ("workload",): (WORKLOAD_FIELDS, SUBBLOCKS["workload"]),
    ("cluster",): (CLUSTER_BLOCK_FIELDS, (*SUBBLOCKS["cluster"], "gpu")),
    ("model",): (MODEL_FIELDS, SUBBLOCKS["model"]),
    ("workload", "speculative"): (SPECULATIVE_FIELDS, ()),
    ("cluster", "efficiency"): (EFFICIENCY_FIELDS, ()),
    ("cluster", "latency"): (LATENCY_FIELDS, ()),
    ("model", "moe"): (MOE_FIELDS, ()),
    ("model", "mla"): (MLA_FIELDS, ()),
    ("model", "window"): (WINDOW_FIELDS, ()),
}


def unknown_set_field(path: tuple[str, ...], src: SourceFile, name_at: int) -> Diagnostic | None:
    """E101 for the last part of `path`, at `name_at` in the option's text, when its block has no such field; None
    when it has one, or when the block is none `_BLOCKS` knows (the lowering then says what it is).

    Example:
        >>> d = unknown_set_field(("workload", "log"), SourceFile("--set", "workload.log=x/y"), 9)
        >>> d.message, d.span.text
        ('unknown field `log` in workload', 'log')
        >>> unknown_set_field(("workload", "batch"), SourceFile("--set", "workload.batch=x/y"), 9) is None
        True
    """
    spec = _BLOCKS.get(path[:-1])
    name = path[-1]
    if spec is None or name in spec[0] or name in spec[1]:
        return None
    where = ".".join(path[:-1])
    # a degree written as a field: the strategy at that degree
    _, hint = unknown_field_hint(name, where, [*spec[0], *spec[1]], spec[0], degree_after(src.text.partition("=")[2]))
    return Diagnostic("E101", Severity.ERROR, f"unknown field `{name}` in {where}",
                      src.span(name_at, name_at + len(name)), hint)


def in_option_order(diagnostics: list[Diagnostic], options: Sequence[SourceFile]) -> list[Diagnostic]:
    """The diagnostics located in `options` (each option's own text) put in the order the options were given, each
    option's in its own order; the plan's own keep their places. The plan reads an option where its field is written,
    so until 2026-11-30 `--set workload.lgo=1 --set workload.batch=abc` told of `batch` first, written earlier in the
    plan's block than `lgo`, added at its end."""
    rank = {id(src): i for i, src in enumerate(options)}
    at = [i for i, d in enumerate(diagnostics) if d.span is not None and id(d.span.source) in rank]
    ordered = sorted((diagnostics[i] for i in at), key=lambda d: rank[id(d.span.source)] if d.span else 0)
    out = list(diagnostics)
    for i, d in zip(at, ordered, strict=True):
        out[i] = d
    return out
