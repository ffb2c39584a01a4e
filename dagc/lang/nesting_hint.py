"""The E201 hints for a scope that writes dp or pp beside other axes (`dp 2 tp 2 pp 2 ep 4`), and for an in-stage
axis that opens a scope (`tp 8 ; ep 8 < dp 2 >`, `scope_hint`): the same axes nested as the hierarchy wants them,
dp ⊃ pp ⊃ the stage's attention domain ; expert domain, in one step.

Input: the axes of one scope as written (`AxisNode`s). Output: the hint's text. A hint that would not itself
pass the structural rules (an axis repeated, unknown, with a scope of its own or a degree that is not a whole
number) is the generic example instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..plan.strategy import POOL_ROLES, Axis, AxisNode

__all__ = ["EXPERTS_IN_STAGE", "NESTING_EXAMPLE", "nesting_hint", "product_note", "scope_hint"]

NESTING_EXAMPLE = "write `dp N < pp M < tp T ; ep E > >`: dp outside pp outside the stage's domains"
MAX_HINT_DEGREE = 2**20
# an expert axis written outside a dp or pp scope (`pp 2 < tp 2 > ; ep 4`, seed 004's "GPUs 4-7 dedicated to expert
# processing"): the rewrite puts it in the stage, which changes what it means; until 2026-11-30 the hint said only that
EXPERTS_IN_STAGE = (": the experts of a stage run on its GPUs, beside its attention — dagc lays out no GPUs for "
                    "experts alone (attention and experts on separate GPUs, attention–FFN disaggregation)")


def _said(a: AxisNode) -> str:
    if a.degree is None:
        return a.name
    split = f" [{', '.join(f'{x:g}' for x in a.split)}]" if a.split else ""
    return f"{a.name} {a.degree:g}{split}"


def _fits(a: AxisNode, axis: Axis | None) -> bool:
    if axis is None or a.body is not None:
        return False
    if axis is Axis.SP:
        return a.degree is None
    d = a.degree
    return d is not None and 1 <= d <= MAX_HINT_DEGREE and d == int(d) and (a.split is None or axis is Axis.PP)


def _opened(axes: Sequence[AxisNode]) -> list[AxisNode]:
    """`axes` with a dp or pp that holds a scope of plain axes (`pp 2 < tp 4 > ; ep 2`) written beside them: the
    axes of its scope among the others, so that the hint nests them all (an axis deeper still is left as it is,
    and `_fits` refuses it)."""
    out: list[AxisNode] = []
    for a in axes:
        inner = [b for domain in a.body for b in domain] if a.body is not None and a.name in ("dp", "pp") else None
        if inner is None or any(b.body is not None for b in inner):
            out.append(a)
        else:
            out += [a.model_copy(update={"body": None}), *inner]
    return out


def nesting_hint(axes: Sequence[AxisNode], outer: Mapping[str, tuple[float, object]] | None = None,
                 split: tuple[int, ...] | None = None) -> str:
    """`axes` (one scope's) written as the hierarchy nests them, with the scopes around them (`outer`: the degrees
    of dp and pp read so far, `split` pp's layer split), dp outermost: the whole strategy, to paste.

    Example:
        >>> from dagc.lang.load import parse_strategy
        >>> nesting_hint([a for d in parse_strategy("dp 2 tp 2 pp 2 ep 4").scope for a in d])
        'write `dp 2 < pp 2 < tp 2 ; ep 4 > >`'
        >>> nesting_hint([a for d in parse_strategy("pp 2 tp 4 sp ; ep 8").scope for a in d])
        'write `pp 2 < tp 4 sp ; ep 8 >`'
        >>> nesting_hint([a for d in parse_strategy("pp 2 tp 4 ep 4").scope for a in d], {"dp": (2, None)})
        'write `dp 2 < pp 2 < tp 4 ; ep 4 > >`'
        >>> nesting_hint([a for d in parse_strategy("dp 2 tp 4 ep 4").scope for a in d], {"pp": (2, None)}, (3, 2))
        'write `dp 2 < pp 2 [3, 2] < tp 4 ; ep 4 > >`'
        >>> nesting_hint([a for d in parse_strategy("dp 2 tp 2 tp 4").scope for a in d]) == NESTING_EXAMPLE
        True
        >>> nesting_hint([a for d in parse_strategy("pp 2 < tp 4 > ; ep 2").scope for a in d]) == (
        ...     "write `pp 2 < tp 4 ; ep 2 >`" + EXPERTS_IN_STAGE)
        True
    """
    text = _nested(_opened(axes), outer, split)
    if text is None:
        return NESTING_EXAMPLE
    alone = any(a.body is not None for a in axes) and any(a.name in ("ep", "etp") for a in axes)
    return f"write `{text}`" + (EXPERTS_IN_STAGE * alone)


def _nested(axes: Sequence[AxisNode], outer: Mapping[str, tuple[float, object]] | None,
            split: tuple[int, ...] | None) -> str | None:
    """`axes` (each without a scope of its own) nested dp ⊃ pp ⊃ attention ; expert inside the scopes `outer` and
    `split` say; None when that would not pass the structural rules (an axis twice, unknown, not whole)."""
    by: dict[Axis, AxisNode] = {}
    for a in axes:
        axis = next((x for x in Axis if x.value == a.name), None)
        if not _fits(a, axis) or axis in by:
            return None
        assert axis is not None
        by[axis] = a
    around = {x: f"{x.value} {outer[x.value][0]:g}" for x in (Axis.DP, Axis.PP) if outer and x.value in outer}
    if split is not None and Axis.PP in around:
        around[Axis.PP] += f" [{', '.join(map(str, split))}]"
    if any(x in by for x in around):            # dp or pp written twice: which one was meant is not said
        return None
    outers = [around[x] if x in around else _said(by[x]) for x in (Axis.DP, Axis.PP) if x in around or x in by]
    attention = " ".join(_said(by[x]) for x in Axis if x in by and x.is_attention)
    expert = " ".join(_said(by[x]) for x in Axis if x in by and x.is_expert)
    stage = " ; ".join(d for d in (attention, expert) if d)
    return f"{''.join(f'{o} < ' for o in outers)}{stage}{' >' * len(outers)}" if stage else None


def scope_hint(a: AxisNode, stage: Sequence[Sequence[AxisNode]] = (),
               outer: Mapping[str, tuple[float, object]] | None = None, split: tuple[int, ...] | None = None) -> str:
    """E201's hint for an in-stage axis that opens a scope (`tp 4 < … >`), written whole: the stage's other axes
    (`stage`, its domains as written, `a` among them) and the dp and pp around it (`outer`, `split`) kept. With dp
    or pp inside, those open the scope around the stage — `tp 4 < pp 2 >` is `pp 2 < tp 4 >`, not `tp 4 ; pp 2`,
    an error of its own —; the axis inside itself is one axis of the degrees' product (`tp 4 < tp 2 >`: `tp 8`);
    else the axes sit side by side, each in its domain (`ep 8 < etp 2 >`: `ep 8 etp 2`). With a pool inside, the
    pools are the outermost level and the axis goes inside their scopes. Until 2026-12-02 the stage's other
    domains and the scopes around it were left out: `tp 8 ; ep 8 < dp 2 >` was told `dp 2 < ep 8 >`, without
    its `tp 8`, and `ep 8 < etp 2 >` was told `ep 8 ; etp 2`, two expert domains (E201 again).

    Example:
        >>> from dagc.lang.load import parse_strategy
        >>> scope_hint(parse_strategy("tp 4 < pp 2 >").scope[0][0])
        'dp and pp open the scope around the in-stage axes: `pp 2 < tp 4 >`'
        >>> stage = parse_strategy("tp 8 ; ep 8 < dp 2 >").scope
        >>> scope_hint(stage[1][0], stage)
        'dp and pp open the scope around the in-stage axes: `dp 2 < tp 8 ; ep 8 >`'
    """
    if any(x.name in POOL_ROLES for d in a.body or () for x in d):
        return (f"prefill and decode are the outermost level: write `{_said(a)}` inside each pool's `< … >`, "
                f"`prefill N < … > decode M < … >`")
    inside = [x for d in a.body or () for x in d]
    same = [x for x in inside if x.name == a.name]
    whole = a.degree * math.prod(x.degree or 1 for x in same) if a.degree is not None else None
    axes: list[AxisNode] = []
    for x in (x for d in stage or ((a,),) for x in d):
        if x is a:
            axes += [a.model_copy(update={"body": None, "degree": whole}), *(y for y in inside if y not in same)]
        else:                                   # a sibling's own scope, E201 too, read as this one's
            axes += [x.model_copy(update={"body": None}), *(y for d in x.body or () for y in d)]
    text = _nested(_opened(axes), outer, split)
    if text is None:
        return NESTING_EXAMPLE
    said = "dp and pp open the scope around the in-stage axes" if any(x.name in ("dp", "pp") for x in inside) \
        else "an axis is written once, with its whole degree" if same \
        else "in-stage axes sit side by side, the attention and expert domains apart by `;`"
    return f"{said}: `{text}`"


def product_note(domains: Sequence[Sequence[AxisNode]], gpus: int | None = None,
                 outer: Mapping[str, tuple[float, object]] | None = None, split: tuple[int, ...] | None = None) -> str:
    """E201's hint (`nesting_hint` of the scope's axes, with `outer` and `split`) for a scope that also writes `tp T`
    and `ep E` in one domain (`ep 16 tp 4 pp 1`,
    seed 001's EP-16 × TP-4 on 64 GPUs): the rewrite separates them, max(T, E) GPUs a stage, so the other reading is
    named beside it, as E202's hint names it — their product as Megatron-Core counts TP × EP, each expert split over
    T GPUs too (`ep E etp T`) — when a stage of the cluster's `gpus` (over the dp and pp written, and `outer`'s)
    holds it. Until 2026-12-02 the hint gave the separated domains alone: 16 GPUs where the writer counted 64.

    Example:
        >>> from dagc.lang.load import parse_strategy
        >>> domains = parse_strategy("ep 16 tp 4 pp 1").scope
        >>> product_note(domains, 64)
        "write `pp 1 < tp 4 ; ep 16 >`: `tp 4 ; ep 16` share a stage's max(4, 16) = 16 GPUs; or, for their product \
as Megatron-Core counts TP × EP, 64 GPUs a stage, each expert split over 4 GPUs too: `pp 1 < tp 4 ; ep 16 etp 4 >`"
        >>> product_note(domains, 32)
        'write `pp 1 < tp 4 ; ep 16 >`'
    """
    axes = [a for d in domains for a in d]
    hint, written = nesting_hint(axes, outer, split), _nested(_opened(axes), outer, split)
    if written is None:
        return hint
    for domain in domains:
        names = {a.name: a.degree for a in domain}
        t, e = names.get("tp"), names.get("ep")
        if t is None or e is None or min(t, e) < 2 or t != int(t) or e != int(e) or "etp" in written:
            continue
        around = [a.degree for d in domains for a in d if a.name in ("dp", "pp") and a.degree is not None]
        around += [d for k, (d, _) in (outer or {}).items() if k in ("dp", "pp")]
        if gpus is not None and t * e * math.prod(around) > gpus:
            return hint
        product = written.replace(f"ep {e:g}", f"ep {e:g} etp {t:g}", 1)
        return (f"{hint}: `tp {t:g} ; ep {e:g}` share a stage's max({t:g}, {e:g}) = {max(t, e):g} GPUs; or, for their "
                f"product as Megatron-Core counts TP × EP, {t * e:,g} GPUs a stage, each expert split over {t:g} GPUs "
                f"too: `{product}`")
    return hint
