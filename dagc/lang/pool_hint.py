"""E205's hint for a pool written inside `dp` or `pp`: where its copies and its pipeline go instead.

Input: the pool's axis node as written and the degrees of the `dp` and `pp` around it. Output: the hint, the pool
rewritten at the top level where it can be (its body as written).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..plan.strategy import AxisNode

__all__ = ["POOLS_HINT", "bare_pools_hint", "pool_inside_hint"]

POOLS_HINT = "write `prefill N < strategy > decode M < strategy >`, e.g. `prefill 2 < tp 8 > decode 1 < tp 2 ; ep 8 >`"


def _node(a: AxisNode) -> str:
    """An axis as a plan writes it, its scope included: `pp 2 < tp 4 ; ep 8 >`."""
    head = a.name if a.degree is None else f"{a.name} {a.degree:g}"
    if a.body is None:
        return head
    return f"{head} < {' ; '.join(' '.join(_node(x) for x in d) for d in a.body)} >"


def pool_inside_hint(a: AxisNode, dp: float | None, pp: float | None) -> str:
    """E205's hint for pool `a` inside `dp` (its copies: a pool's count is its instances, so `dp 2 < prefill 1 < A >
    decode 1 < B > >` is `prefill 2 < A > decode 2 < B >`) or `pp` (a pipeline runs inside each instance: `prefill 1
    < pp 2 < A > >`); `POOLS_HINT` when the pool has no whole count or no scope to rewrite.

    Example:
        >>> from dagc.lang.load import parse_strategy
        >>> pool = parse_strategy("dp 2 < prefill 1 < tp 8 > decode 1 < tp 2 ; ep 8 > >").scope[0][0].body[0][0]
        >>> pool_inside_hint(pool, 2, None)[:73]
        'a pool counts its own copies: write `prefill 2 < tp 8 >` at the top level'
        >>> pool_inside_hint(pool, None, 2)
        'a pipeline runs inside each instance of a pool: `prefill 1 < pp 2 < tp 8 > >`, and the other pool likewise'
    """
    count = a.degree
    if a.body is None or count is None or count != int(count) or count < 1 or dp is None and pp is None:
        return POOLS_HINT
    body = " ; ".join(" ".join(_node(x) for x in d) for d in a.body)
    if pp is not None:          # with a `dp` around too, its copies in the count
        pool = f"{a.name} {count * (dp or 1):g} < pp {pp:g} < {body} > >"
        return f"a pipeline runs inside each instance of a pool: `{pool}`, and the other pool likewise"
    assert dp is not None
    return (f"a pool counts its own copies: write `{a.name} {count * dp:g} < {body} >` at the top level, and the other "
            f"pool likewise (`dp {dp:g} < prefill A < … > decode B < … > >` is `prefill {dp:g}·A < … > decode "
            f"{dp:g}·B < … >`)")


def bare_pools_hint(scope: Sequence[Sequence[AxisNode]], text: str = "") -> str | None:
    """E205's hint for pools written without their `< … >` (`prefill 2 tp 4 decode 1 tp 4 ; ep 16`): the pools with
    the axes after each count inside its scope, the options of `text` (the strategy as written) kept; None when a
    pool has a scope, or the axes do not read so. Until 2026-11-29 that strategy was told "the pools … are written
    side by side, not split by `;`".

    Example:
        >>> from dagc.lang.load import parse_strategy
        >>> bare_pools_hint(parse_strategy("prefill 2 tp 4 decode 1 tp 4 ; ep 16").scope)
        'write `prefill 2 < tp 4 > decode 1 < tp 4 ; ep 16 >`'
    """
    words: list[tuple[str, AxisNode | None]] = []
    for i, domain in enumerate(scope):
        words += ([(";", None)] if i else []) + [(a.name, a) for a in domain]
    names = [w for w, _ in words]
    if names[:1] != ["prefill"] or names.count("prefill") != 1 or names.count("decode") != 1 or \
            any(a is not None and a.body is not None for _, a in words):
        return None
    at = names.index("decode")
    bodies = [words[1:at], words[at + 1:]]
    if any(not b or b[0][0] == ";" or b[-1][0] == ";" for b in bodies):
        return None
    pools = [f"{_node(a)} < {' '.join(w if x is None else _node(x) for w, x in b)} >"
             for a, b in zip((words[0][1], words[at][1]), bodies, strict=True) if a is not None]
    _, with_, options = text.partition(" with ")
    return f"write `{' '.join(pools)}{' with ' + options.strip() if with_ else ''}`"
