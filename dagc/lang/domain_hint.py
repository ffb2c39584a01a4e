"""The hint of E202 (attention and expert axes written in one domain): the domains separated by `;`, fitted to
the GPUs a stage of the plan's cluster holds.

Input: the axes as written, the GPUs they would use per stage, the cluster's GPUs and the `dp` and `pp` written
outside the stage. Output: the hint's text. A hint names only a strategy the cluster holds: when the separated
domains need more GPUs than a stage has, their degrees are lowered to what it holds (each to a divisor of its
own, so an expert degree that divides the experts still does), or — when the lowered degrees would not divide
one another (E203), or an axis is written twice (E204) — the hint says plainly that they need more.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ..plan.strategy import AxisNode
from .hints import stage_domains_hint

__all__ = ["separate_hint", "stage_gpus"]


def separate_hint(att: Sequence[AxisNode], exp: Sequence[AxisNode], uses: str, per_stage: int,
                  stage: tuple[int, str] | None, domains: Sequence[Sequence[AxisNode]] = ()) -> str:
    """E202: the attention axes `att` and the expert axes `exp` separated by `;` — `uses` (`max(8, 16) = 16`, of
    `per_stage` GPUs) GPUs per stage — and, when `stage` (the GPUs a stage of the plan's cluster holds, and how
    said: "the cluster's 8 GPUs") is fewer, each domain's degrees lowered, the last written first, to what a
    stage holds (when the two products then divide, E203), or plainly that it needs more GPUs than it has. Beside
    the stage's other domain (`domains`, the stage's), each axis joins its own (`tp 4 etp 2 ; ep 4`: `tp 4 ; etp 2
    ep 4`; until 2026-12-03 hinted `tp 4 ; etp 2`, a third domain, E201).

    Example:
        >>> from dagc.lang.load import parse_strategy
        >>> att, exp = ([a] for a in parse_strategy("tp 8 ep 16").scope[0])
        >>> separate_hint(att, exp, "max(8, 16) = 16", 16, (16, "the cluster's 16 GPUs"))
        'separate the domains with `;`: `tp 8 ; ep 16` uses max(8, 16) = 16 GPUs per stage'
        >>> separate_hint(att, exp, "max(8, 16) = 16", 16, (8, "the cluster's 8 GPUs"))
        "separate the domains with `;` within the cluster's 8 GPUs: `tp 8 ; ep 8` uses 8 GPUs per stage \
(`tp 8 ; ep 16` would use max(8, 16) = 16, more than a stage has)"
    """
    def text(axes: Iterable[tuple[str, int | None]]) -> str:
        return " ".join(n if d is None else f"{n} {d}" for n, d in axes)

    def degrees(axes: Sequence[AxisNode]) -> list[tuple[str, int | None]]:
        return [(a.name, None if a.degree is None else int(a.degree)) for a in axes]

    if len(domains) > 1:
        return stage_domains_hint(domains)
    written = f"{text(degrees(att))} ; {text(degrees(exp))}"
    if stage is None or per_stage <= stage[0]:
        return f"separate the domains with `;`: `{written}` uses {uses} GPUs per stage" + _product_reading(
            degrees(att), degrees(exp), written, stage)
    gpus, said = stage
    # an axis written twice is E204's: its degrees are not lowered (and a domain is then at most 3 axes)
    repeated = any(len({a.name for a in axes}) < len(axes) for axes in (att, exp))
    fitted = [_within(degrees(axes), gpus) for axes in (att, exp)] if gpus >= 1 and not repeated else []
    products = [math.prod(d or 1 for _, d in axes) for axes in fitted]
    if not products or max(products) % min(products):
        return (f"separate the domains with `;` — `{written}` uses {uses} GPUs per stage, more than {said} — and "
                f"lower the degrees to what the cluster holds, or give it more GPUs")
    return (f"separate the domains with `;` within {said}: `{text(fitted[0])} ; {text(fitted[1])}` uses "
            f"{max(products)} GPUs per stage (`{written}` would use {uses}, more than a stage has)")


def _product_reading(att: list[tuple[str, int | None]], exp: list[tuple[str, int | None]], written: str,
                     stage: tuple[int, str] | None) -> str:
    """The other reading of `tp T ep E` (E202), as Megatron-Core counts `TP T × EP E` GPUs: their product, each expert
    split over the T GPUs of its attention's TP too (`tp T ; ep E etp T`, attention data-parallel over the rest), when a
    stage of the cluster holds it; "" for other axes. Until 2026-11-30 the hint gave the separated domains alone, max(T,
    E) GPUs, where seed 003 counted EP-16 × TP-4 as 64.

    Example:
        >>> _product_reading([("tp", 4)], [("ep", 16)], "tp 4 ; ep 16", (64, "the cluster's 64 GPUs"))
        '; or, for their product as Megatron-Core counts TP × EP, 64 GPUs a stage, each expert split over 4 GPUs too: \
`tp 4 ; ep 16 etp 4`'
    """
    if [n for n, _ in att] != ["tp"] or [n for n, _ in exp] != ["ep"] or att[0][1] is None or exp[0][1] is None:
        return ""
    t, e = att[0][1], exp[0][1]
    if t < 2 or (stage is not None and t * e > stage[0]):
        return ""
    return (f"; or, for their product as Megatron-Core counts TP × EP, {t * e:,} GPUs a stage, each expert split over "
            f"{t} GPUs too: `{written} etp {t}`")


def stage_gpus(gpus: int | None, outer: Sequence[tuple[str, float]]) -> tuple[int, str] | None:
    """The GPUs a stage of a cluster of `gpus` holds, over the `dp` and `pp` degrees written outside it (`outer`),
    and how said (`separate_hint`); None when the cluster is not known.

    Example:
        >>> stage_gpus(8, []), stage_gpus(8, [("dp", 2)])
        ((8, "the cluster's 8 GPUs"), (4, "the 4 GPUs of a stage (the cluster's 8 over dp 2)"))
    """
    if gpus is None:
        return None
    n = math.prod(int(d) for _, d in outer)
    if n == 1:
        return gpus, f"the cluster's {gpus:,} GPUs"
    return gpus // n, f"the {gpus // n:,} GPUs of a stage (the cluster's {gpus:,} over " \
                      f"{' × '.join(f'{k} {d:g}' for k, d in outer)})"


def _within(axes: list[tuple[str, int | None]], gpus: int) -> list[tuple[str, int | None]]:
    """The degrees `axes`, the last written lowered first, each to its largest divisor that keeps their product
    within `gpus`; an axis lowered to 1 left out (the first kept when all are)."""
    out = list(axes)
    for i in reversed(range(len(out))):
        name, d = out[i]
        others = math.prod(x or 1 for j, (_, x) in enumerate(out) if j != i)
        if d is not None and others * d > gpus:
            out[i] = (name, next(k for k in range(min(d, max(1, gpus // others)), 0, -1) if d % k == 0))
    kept = [(n, d) for n, d in out if d != 1]
    return kept or out[:1]
