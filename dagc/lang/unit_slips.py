"""A quantity written in the unit of its neighbouring dimension, a size as a bandwidth or back (`reserve = 4 GB/s`,
`inter_node = 50 GB`): the hint that keeps the number and puts the unit right, `reserve = 4 GB`.

Input: the value as written, its unit, the field's dimension and its `name =`. Output: the hint, or None when taking
`/s` off the unit, or putting it on, makes no unit of the field's dimension.
"""

from __future__ import annotations

from ..units import Dimension, lookup

__all__ = ["per_second_slip_hint"]


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
