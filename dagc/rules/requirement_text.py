"""A requirement's figures in words: in the unit the requirement is written in, a figure beside its target with the
digits that tell them apart (`requirement_value_text`). The rules' notes on judged figures (N606) and every output
of the verdict say a requirement's figure so, the same figure with the same digits (until 2026-12-02 N606 said
`45,471.2 tokens/s` beside the requirements table's `45,471 tokens/s`).

Input: a `Requirement` and a figure of its metric (SI). Output: text.
"""

from __future__ import annotations

from ..plan.workload import Requirement, RequirementKind
from ..units import (
    Dimension,
    Unit,
    format_bytes,
    format_figure,
    format_in_unit,
    format_percent,
    format_si,
    lookup,
    quantity_unit,
)

__all__ = ["requirement_unit", "requirement_value_text"]


def requirement_unit(req: Requirement, per_gpu: bool | None = None) -> Unit | None:
    """The unit `req` is written in; for a throughput, switched to per GPU or total as asked."""
    unit = quantity_unit(req.text)
    if unit is None or per_gpu is None or unit.dimension is not Dimension.THROUGHPUT or unit.per_gpu == per_gpu:
        return unit
    return lookup(unit.name + "/gpu") if per_gpu else lookup(unit.name.removesuffix("/gpu"))


def requirement_value_text(req: Requirement, value: float | None) -> str:
    """A figure of `req`'s metric (SI, as `RequirementResult.value` and `Requirement.target`) in the
    unit the requirement is written in: `decode_throughput >= 100 tokens/ms/gpu` shows 96.7
    tokens/s/gpu as '0.0967 tokens/ms/gpu'.

    Example:
        >>> from dagc.plan.workload import Requirement, RequirementKind
        >>> q = Requirement(kind=RequirementKind.DECODE_THROUGHPUT, op=">=", target=1e5, per_gpu=True,
        ...                 text="decode_throughput >= 100 tokens/ms/gpu")
        >>> requirement_value_text(q, 96.7), requirement_value_text(q, q.target)
        ('0.0967 tokens/ms/gpu', '100 tokens/ms/gpu')

        A figure just beside the target keeps the digits that tell it apart:

        >>> t = Requirement(kind=RequirementKind.TTFT, op="<=", target=2.0, text="ttft <= 2 s")
        >>> requirement_value_text(t, 1.99983), requirement_value_text(t, 2.0)
        ('1.99983 s', '2 s')
    """
    if value is None:
        return "not computed"
    unit = requirement_unit(req)
    if unit is not None:
        def shown(x: float) -> str:
            # a time or a share of memory reads as every output shows it (252.5 ms, 44.6 %: `format_si`), not in
            # the unit the target is written in (0.2525 s beside `ttft_p99 <= 1 s`)
            dim = unit.dimension
            return format_si(x, dim) if dim in (Dimension.TIME, Dimension.RATIO) else format_in_unit(x, unit)
        text = shown(value) if value != req.target else format_in_unit(value, unit)     # the target: as written
        if value != req.target and text == shown(req.target):        # beside the target: the digits that tell
            text = format_in_unit(value, unit)                        # them apart, in the requirement's unit
        if value != req.target and text == format_in_unit(req.target, unit):
            text = f"{value / unit.factor:.6g} {unit.name}"
        return text
    match req.kind:
        case RequirementKind.GPUS:
            return f"{value:,.0f} GPU{'' if value == 1 else 's'}"
        case RequirementKind.TTFT | RequirementKind.TPOT | RequirementKind.E2E | RequirementKind.ITL:
            return format_si(value, Dimension.TIME)
        case RequirementKind.MEMORY:
            return format_percent(value) if req.memory_is_fraction else format_bytes(value)
        case RequirementKind.GOODPUT:
            return format_si(value, Dimension.RATE)
    return f"{format_figure(value)} tokens/s" + ("/gpu" if req.per_gpu else "")
