"""Which tried change of a kind a strategy's next steps offer when none meets (`dagc.verdict.next_steps`), one rule
for every kind — batch, precision, chunk, prefill, GPUs: of the changes that bring the missed requirements nearer their
targets (`dagc.verdict.step_effect.closer`), the nearest (`shortfall`), the first tried of equals; when none does, none,
and that no change of the kind helps is said instead (`Tries.said`, the terminal's and report.md's "No … helps").

Input: the strategy's check, the kind's tried changes (each check and its `NextStep`), in the order tried. Output: the
step offered, or None and a sentence in `Tries.said`. Until 2026-12-01 only replica counts were judged so; every other
kind offered its last (or fewest-missing) tried change that moved any figure, in whichever direction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..units import said_list
from .check import NextStep, StrategyResult
from .step_effect import closer, further, gap, missed_texts, moves
from .step_tries import Tries

__all__ = ["nearest", "offered"]

Tried = Sequence[tuple[StrategyResult, NextStep, str]]


def nearest(base: StrategyResult, tried: Sequence[tuple[StrategyResult, NextStep]],
            first: Callable[[StrategyResult], bool] = lambda r: False) -> NextStep | None:
    """Of the changes `tried` that bring `base`'s missed requirements nearer their targets (`closer`) — and move a
    figure that holds its load back (`moves`: not under the same binding cap, serving hardly more) —, the nearest:
    those `first` says false before the others, then the smallest `gap`, then the first tried; None when none
    comes nearer."""
    missed = missed_texts(base)
    near = [(first(r), gap(r, missed), i, s) for i, (r, s) in enumerate(tried)
            if moves(r, base) and closer(r, base)]
    return min(near, key=lambda t: t[:3])[3] if near else None


def offered(base: StrategyResult, tries: Tries, tried: Tried, what: str, said: Callable[[list[str]], str],
            first: Callable[[StrategyResult], bool] = lambda r: False, after: str = "") -> NextStep | None:
    """`nearest` of the valid changes `tried` (each check, its step and its change in a word or two); when there is
    none and some were tried, `tries.said` says that no `what` helps: with the changes, as `said` names them together
    ("a chunk of 1,024 or 512 tokens"), the missed requirements are no nearer their targets — "without missing `…`"
    when a change missed a requirement the strategy meets (a trade, no step) — followed by `after`.

    Example:
        >>> from types import SimpleNamespace as N
        >>> from dagc.plan.workload import Requirement, RequirementKind
        >>> from dagc.verdict.verdict import RequirementResult
        >>> t = Requirement(kind=RequirementKind.ITL, op="<=", target=0.02, text="itl <= 20 ms")
        >>> base, worse = (N(requirements=(RequirementResult(t, v),), load=None, valid=True, metrics=None)
        ...                for v in (0.03, 0.04))
        >>> tries = N(said=[])
        >>> offered(base, tries, [(worse, "step", "512")], "smaller chunk", lambda ws: f"a chunk of {ws[0]} tokens")
        >>> tries.said
        ['no smaller chunk helps: with a chunk of 512 tokens, `itl <= 20 ms` is further from its target']
    """
    valid = [(r, s) for r, s, _ in tried if r.valid]
    step = nearest(base, valid, first)
    words = [w for r, _, w in tried if r.valid]
    if step is None and words:
        missed = missed_texts(base)
        # each tried change took these further from their targets: said so, not "no nearer" of a line it brought in
        further_of = [set(further(r, base)) for r, _ in valid]          # each change's, once
        in_order = [q.requirement.text for q in base.requirements if q.requirement.text in missed]   # the plan's order
        worse = [t for t in in_order if all(t in f for f in further_of)]
        named = worse or in_order
        lines, many = said_list([f"`{t}`" for t in named]), len(named) > 1
        are = f"{'are' if many else 'is'} {'further from' if worse else 'no nearer'} " \
              f"{'their targets' if many else 'its target'}"
        lines, are = (lines, are) if missed else ("the requests served", "are no nearer the arrival rate")
        traded = [f"`{q.requirement.text}`" for q in base.requirements if q.requirement.text not in missed
                  and any(t.requirement.text == q.requirement.text and t.met is False
                          for r, _ in valid for t in r.requirements)]
        instead = "" if not traded else f", and it misses {said_list(traded)}" if worse else \
            f" without missing {said_list(traded, 'or')}"
        tries.said.append(f"no {what} helps: with {said(words)}, {lines} {are}{instead}{after}")
    return step
