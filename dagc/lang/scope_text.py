"""A strategy's axes and scopes as dagc prints them (`pp 2 [31, 30] < tp 4 ; ep 8 >`), for flattening's diagnostics
and the scopes it flattens again (`dagc.lang.flatten`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..plan.strategy import AxisNode

__all__ = ["axes_text", "axis_text", "scope_text"]


def axis_text(node: AxisNode) -> str:
    """One axis with its degree, as written: `tp 4`, `sp`."""
    if node.degree is None:
        return node.name
    return f"{node.name} {node.degree:g}"


def axes_text(axes: Iterable[AxisNode]) -> str:
    return " ".join(axis_text(a) for a in axes)


def scope_text(domains: Sequence[Sequence[AxisNode]]) -> str:
    """A scope as dagc prints a strategy: `pp 2 [31, 30] < tp 4 ; ep 8 >`."""
    def axis(a: AxisNode) -> str:
        out = axis_text(a)
        if a.split is not None:
            out += " [" + ", ".join(f"{x:g}" for x in a.split) + "]"
        if a.body is not None:
            out += " < " + scope_text(a.body) + " >"
        return out

    return " ; ".join(" ".join(axis(a) for a in d) for d in domains)
