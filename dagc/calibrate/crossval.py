"""Which of the fitted terms a calibration takes, and how far: chosen by cross-validation on its own runs.

Input: the fit (`dagc.calibrate.solve.JointFit`: its terms, the linearisation at them) and the runs' residuals
ln(dagc / measured) at the engine's own terms (`r0`, one per row of the fit, simulated). Output: `CvChoice` — the
terms fitted (a subset of the fit's), how far from the engine's own toward their fit (`share`), the terms that
gives, each run's residuals as a fit without that run predicts them, and every candidate tried with its
cross-validated loss.

The choice (docs/calibrate.md, "Chosen by cross-validation"): each run is left out in turn (`folds`: one run a
fold up to `MAX_FOLDS` runs, else `MAX_FOLDS` folds of every `MAX_FOLDS`th run), the candidate's terms are fitted
on the other runs' rows of the fit's linearisation — the terms a candidate drops held at the engine's own — and the
left-out run's figures are predicted there. A candidate's loss is the fit's loss (Σ w · Huber) of those
predictions. The engine's own terms are a candidate too, their residuals exact (simulated, fitted on nothing). A
candidate that moves the terms a `share` of the way predicts the run at (1 − share) · r0 + share · its own
prediction (exact at either end). The terms are dropped greedily, the one whose dropping lowers the loss the most
first, while one does; then the share of least loss among `SHARES`; then the engine's own terms when lower still.
That candidate replaces the fit only when its loss is at most `MARGIN` times the fit's; else the fit stands (ties
too). A calibration whose folds leave fewer than `CV_MIN_RUNS` runs to fit on takes the fit, not cross-validated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .select import MIN_RUNS
from .sets import CLEARLY
from .solve import TERMS, JointFit, bounds_v, loss, solve_within, to_terms, to_v

__all__ = ["CV_MIN_RUNS", "MARGIN", "MAX_FOLDS", "SHARES", "Candidate", "CvChoice", "choose_by_cv", "folds"]

SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)    # how far a candidate moves its terms from the engine's own to their fit
MAX_FOLDS = 10          # up to this many runs, each its own fold; more runs are split into this many folds
MARGIN = CLEARLY        # another candidate replaces the fit when its loss is at most this share of the fit's
CV_MIN_RUNS = MIN_RUNS  # a left-out fit refits its terms on this many runs at least, as a fit does (3)


@dataclass(frozen=True)
class Candidate:
    """A candidate of the choice: the terms it fits, how far it moves them, and its cross-validated loss."""

    names: tuple[str, ...]
    share: float
    loss: float


@dataclass(frozen=True)
class CvChoice:
    """The candidate chosen (`names`, `share`), its terms (all of `TERMS`), its cross-validated residuals (one per
    row of the fit), the engine's own terms' loss and every candidate tried, in order."""

    names: tuple[str, ...]
    share: float
    terms: dict[str, float]
    residuals: np.ndarray
    uncalibrated: float
    tried: tuple[Candidate, ...]

    @property
    def loss(self) -> float | None:
        """The chosen candidate's cross-validated loss (None: nothing was cross-validated)."""
        return next((c.loss for c in self.tried if (c.names, c.share) == (self.names, self.share)), None)


def folds(runs: int) -> list[list[int]]:
    """The runs left out together: each its own up to `MAX_FOLDS` runs, else every `MAX_FOLDS`th run a fold.

    Example:
        >>> folds(3), folds(12)[:2]
        ([[0], [1], [2]], [[0, 10], [1, 11]])
    """
    k = min(runs, MAX_FOLDS)
    return [list(range(j, runs, k)) for j in range(k)]


def _moves(fit: JointFit, names: Sequence[str], keep: np.ndarray) -> np.ndarray:
    """The move from the fit's terms (probe units) of a fit of `names` on the rows `keep`, the fit's other terms
    back at the engine's own (the linearisation at the fit)."""
    v, v0 = to_v(fit.terms), to_v(fit.start)
    dv = np.zeros(len(TERMS))
    for t in fit.fitted:
        if t not in names:
            dv[TERMS.index(t)] = v0[TERMS.index(t)] - v[TERMS.index(t)]
    cols = [TERMS.index(t) for t in names]
    if cols and keep.any():
        lo, hi = bounds_v()
        w = np.array([x for _, _, x in fit.rows])[keep]
        fixed = fit.r[keep] + fit.jac[keep] @ dv
        dv[cols] = solve_within(fixed, fit.jac[keep][:, cols], w, v[cols], lo[cols], hi[cols])
    return dv


def predicted(fit: JointFit, names: Sequence[str]) -> np.ndarray:
    """Each row's residual as the fit of `names` without its run's fold predicts it (linearised at the fit)."""
    runs = np.array([i for i, _, _ in fit.rows], dtype=int)
    out = np.array(fit.r, dtype=float)
    weighed = {i for i, _, x in fit.rows if x > 0}
    for fold in folds(len(fit.at)):
        left = np.isin(runs, fold)
        keep = ~left
        if len(weighed - set(fold)) < CV_MIN_RUNS:      # too few runs left to fit again: as fitted on all
            keep = np.ones(len(runs), dtype=bool)
        dv = np.zeros(len(TERMS)) if keep.all() and tuple(names) == fit.fitted else _moves(fit, names, keep)
        out[left] = fit.r[left] + fit.jac[left] @ dv
    return out


def _scorer(fit: JointFit, r0: np.ndarray, tried: list[Candidate]) -> Callable[[tuple[str, ...], float], float]:
    """A candidate's cross-validated loss, each candidate's residuals predicted once, every one scored in `tried`."""
    w = np.array([x for _, _, x in fit.rows])
    seen: dict[tuple[str, ...], np.ndarray] = {}

    def score(names: tuple[str, ...], share: float = 1.0) -> float:
        if names not in seen:
            seen[names] = predicted(fit, names) if names else np.array(r0, dtype=float)
        got = loss((1 - share) * r0 + share * seen[names], w)
        tried.append(Candidate(names, share, got))
        return got
    return score


def _least(fit: JointFit, score: Callable[[tuple[str, ...], float], float]) -> tuple[tuple[str, ...], float, float]:
    """The candidate of least loss and its loss: the fit's terms dropped one at a time while that lowers the loss,
    then the share of least loss, then the engine's own terms when lower still."""
    names, best = fit.fitted, score(fit.fitted, 1.0)
    while names:
        low, fewer = min(((score(c, 1.0), c) for c in (tuple(t for t in names if t != d) for d in names)),
                         key=lambda x: x[0])
        if low >= best:
            break
        names, best = fewer, low
    share = 1.0
    for s in sorted(SHARES, reverse=True)[1:-1] if names else ():
        if (got := score(names, s)) < best:
            share, best = s, got
    if names and (own := score((), 1.0)) < best:
        return (), 1.0, own
    return names, share, best


def choose_by_cv(fit: JointFit, r0: np.ndarray) -> CvChoice:
    """The candidate chosen by cross-validation (module doc); `r0`: each row's residual at the engine's own terms."""
    w = np.array([x for _, _, x in fit.rows])
    weighed = {i for i, _, x in fit.rows if x > 0}
    if not fit.fitted or not any(len(weighed - set(f)) >= CV_MIN_RUNS for f in folds(len(fit.at))):
        # nothing fitted, or no fold leaves runs enough to fit again: the fit, its residuals the calibrated ones
        return CvChoice(fit.fitted, 1.0, dict(fit.terms), predicted(fit, fit.fitted), loss(r0, w), ())
    tried: list[Candidate] = []
    score = _scorer(fit, r0, tried)
    names, share, best = _least(fit, score)
    if best > MARGIN * tried[0].loss:        # not clearly better than the fit out of sample: the fit
        names, share = fit.fitted, 1.0
    residuals = (1 - share) * r0 + share * (predicted(fit, names) if names else r0)
    if names == fit.fitted and share == 1.0:
        return CvChoice(names, share, dict(fit.terms), residuals, loss(r0, w), tuple(tried))
    v, v0 = to_v(fit.terms), to_v(fit.start)
    moved = v + _moves(fit, names, np.ones(len(fit.rows), dtype=bool)) if names else v0
    return CvChoice(names, share, to_terms(v0 + share * (moved - v0)), residuals, loss(r0, w), tuple(tried))
