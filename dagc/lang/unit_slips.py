"""A quantity written in the unit of its neighbouring dimension, a size as a bandwidth or back (`reserve = 4 GB/s`,
`inter_node = 50 GB`): the hint that keeps the number and puts the unit right, `reserve = 4 GB`. A throughput with a
multiplier before `tokens` (`12.8Mtokens/s`, as a report's "12.8M tokens/s" reads): the number converted, the factor
said (until 2026-11-30 `Mtokens/s` was read as a slip of `tokens/s`, its hint a requirement a million times lower).

Input: the value as written, its unit, the field's dimension and its `name =`. Output: the hint, or None when taking
`/s` off the unit, or putting it on, makes no unit of the field's dimension.
"""

from __future__ import annotations

import re

from ..units import UNITS, Dimension, format_in_unit, lookup

__all__ = ["per_second_slip_hint", "tokens_multiplier_hint"]

_MANY = {"k": ("thousands", 1e3), "m": ("millions", 1e6), "g": ("billions", 1e9)}
_MULTIPLIED = re.compile(r"([kmg])[ \t]*(?:tok|token|tokens)(/.+)")       # `Mtokens/s`, `k tok/ms/gpu`, lowered


def per_second_slip_hint(text: str, unit_text: str, dim: Dimension, lhs: str) -> str | None:
    """The hint for a unit one `/s` away from the field's dimension, its number kept.

    Example:
        >>> from dagc.units import Dimension
        >>> per_second_slip_hint("4 GB/s", "GB/s", Dimension.SIZE, "reserve =")
        'write `reserve = 4 GB`: a size, without `/s`'
        >>> per_second_slip_hint("50GB", "GB", Dimension.BANDWIDTH, "inter_node =")
        'write `inter_node = 50 GB/s`: a bandwidth, per second'
        >>> per_second_slip_hint("3 ms", "ms", Dimension.SIZE, "memory <=") is None
        True
    """
    number = text[:len(text) - len(unit_text)].strip()
    for other, why in ((unit_text.removesuffix("/s"), "without `/s`"), (unit_text + "/s", "per second")):
        unit = lookup(other) if other != unit_text else None
        if unit is not None and unit.dimension is dim:
            return f"write `{lhs} {number} {other}`: {dim.value}, {why}"
    return None


def tokens_multiplier_hint(written: str, unit_text: str, dim: Dimension, lhs: str) -> str | None:
    """The hint for a throughput whose unit starts with a multiplier of its tokens (`k`, `M`, `G`): the unit of the same
    scale, or the number converted to the largest unit it is at least one of; None for any other unit.

    Example:
        >>> from dagc.units import Dimension
        >>> tokens_multiplier_hint("12.8", "Mtokens/s", Dimension.THROUGHPUT, "throughput >=")
        '`Mtokens/s` is millions of tokens/s: 12.8 Mtokens/s = 12800 tokens/ms; write `throughput >= 12800 tokens/ms`'
        >>> tokens_multiplier_hint("2", "ktok/s", Dimension.THROUGHPUT, "throughput >=")
        'did you mean `tokens/ms`? (`ktok/s` is thousands of tokens/s: `throughput >= 2 tokens/ms`)'
    """
    m = _MULTIPLIED.fullmatch(unit_text.lower())
    base = lookup("tokens" + m[2].replace("/sec", "/s")) if m is not None and dim is Dimension.THROUGHPUT else None
    if m is None or base is None or base.dimension is not Dimension.THROUGHPUT:
        return None
    words, factor = _MANY[m[1]]
    units = sorted((u for n, u in UNITS.items() if u.name == n and u.dimension is dim and u.per_gpu is base.per_gpu),
                   key=lambda u: u.factor)
    scale = base.factor * factor
    if (same := next((u for u in units if u.factor == scale), None)) is not None:
        return f"did you mean `{same.name}`? (`{unit_text}` is {words} of {base.name}: `{lhs} {written} {same.name}`)"
    value = float(written.replace("_", "")) * scale
    shown = format_in_unit(value, next((u for u in reversed(units) if value >= u.factor), units[0])).replace(",", "")
    return f"`{unit_text}` is {words} of {base.name}: {written} {unit_text} = {shown}; write `{lhs} {shown}`"
