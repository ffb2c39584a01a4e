"""Which candidate set of engine terms is the fit: each set fitted from the best fit of the sets it contains, so
that a fit of more terms never explains the runs worse than a fit of some of them.

Input: the candidate sets (`dagc.calibrate.select.Choice.candidates`, in its order), `descend` — a set of terms
and the fit to start it from (None: the engine's own terms) → its fit (`dagc.calibrate.solve`) — and the fit's
resolution (the loss of an error of `SETTLED` in every fitted figure). Output: the fit chosen and every set tried,
in the order first tried.

The choice (docs/calibrate.md, "Identifiability"): of the largest sets, the first unless another explains the runs
clearly better (`chosen`); then the sets of one term fewer within it, and one within the resolution of it instead,
and so on. A set is fitted from the least-loss fit of the sets it contains tried so far, or from the start when
none is: its loss is at most theirs. A set tried before a subset of it that then explains the runs better (the
descent from the start stopped in a valley the subset's fit is out of) is fitted again from that subset's fit, the
sets from the fewest terms up; and the choice made again with the losses so mended, until none is mended.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

__all__ = ["CLEARLY", "Fit", "chosen", "walk"]

CLEARLY = 0.5           # another set of terms is fitted instead of the first when its loss is at most this share


class Fit(Protocol):
    """A set of terms fitted: its names and its least loss."""

    @property
    def names(self) -> tuple[str, ...]: ...

    @property
    def loss(self) -> float: ...


F = TypeVar("F", bound=Fit)


def chosen(tried: Sequence[F], by_order: bool = True) -> F:
    """The fit among sets of terms of one size (`tried`, in `choose`'s order, the first the `PRIORITY` order's):
    with `by_order`, the first unless another explains the runs clearly better — its loss at most `CLEARLY` times
    the first's — (then the least such); without, the least loss; exact ties, the first."""
    pick = tried[0]
    better = [d for d in tried if d.loss <= CLEARLY * pick.loss] if by_order else list(tried)
    if better:
        low = min(d.loss for d in better)
        pick = next(d for d in better if d.loss <= low * (1 + 1e-9) + 1e-15)
    return pick


def _base(fits: dict[tuple[str, ...], F], names: tuple[str, ...]) -> F | None:
    """The least-loss fit of a set within `names` tried so far (the first of equals), None when none is."""
    inner = [d for n, d in fits.items() if set(n) < set(names)]
    return min(inner, key=lambda d: d.loss) if inner else None


def _mend(fits: dict[tuple[str, ...], F], descend: Callable[[tuple[str, ...], F | None], F]) -> bool:
    """Fit again, from the fewest terms up, every set a set within it explains the runs better than; whether any."""
    mended = False
    for names in sorted(fits, key=len):
        base = _base(fits, names)
        if base is not None and base.loss < fits[names].loss:
            fits[names] = descend(names, base)
            mended = True
    return mended


def walk(candidates: Sequence[tuple[str, ...]], descend: Callable[[tuple[str, ...], F | None], F],
         resolution: float) -> tuple[F, list[F]]:
    """The fit chosen among `candidates` and every set tried (module doc).

    Example (losses of a made-up engine: the pair from the start stops at 0.9, above its own 'a' alone):
        >>> from typing import NamedTuple
        >>> class D(NamedTuple):
        ...     names: tuple[str, ...]
        ...     loss: float
        >>> cold = {("a", "b"): 0.9, ("a", "c"): 0.95, ("a",): 0.8, ("b",): 1.0}
        >>> def descend(names, base):
        ...     return D(names, cold[names] if base is None else min(cold[names], base.loss / 2))
        >>> best, tried = walk([("a", "b"), ("a", "c"), ("a",), ("b",)], descend, 0.01)
        >>> best, [(d.names, round(d.loss, 3)) for d in tried]
        (D(names=('a', 'b'), loss=0.4), [(('a', 'b'), 0.4), (('a', 'c'), 0.4), (('a',), 0.8), (('b',), 1.0)])
    """
    fits: dict[tuple[str, ...], F] = {}

    def fit(names: tuple[str, ...]) -> F:
        if names not in fits:
            fits[names] = descend(names, _base(fits, names))
        return fits[names]

    largest = max(len(c) for c in candidates)
    while True:
        # ends: a round fits a set new to it, or mends none (after `_mend` every set is within its subsets' losses)
        best = chosen([fit(c) for c in candidates if len(c) == largest])
        within = best.loss + resolution
        while smaller := [c for c in candidates if len(c) == len(best.names) - 1 and set(c) < set(best.names)]:
            if not (close := [d for d in map(fit, smaller) if d.loss <= within]):
                break
            best = chosen(close, by_order=False)
        if not _mend(fits, descend):
            return best, list(fits.values())
