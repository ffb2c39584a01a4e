"""Which of the fitted terms a calibration takes, and how far: chosen by cross-validation on its own runs.

Input: the fit (`dagc.calibrate.solve.JointFit`: its terms, the linearisation at them) and the runs' residuals
ln(dagc / measured) at the engine's own terms (`r0`, one per row of the fit, simulated). Output: `CvChoice` — the
terms fitted (a subset of the fit's, or none), how far from the engine's own toward their fit (`share`), the terms
that gives, each run's residuals as a fit without that run predicts them, and every candidate tried with its
cross-validated loss and median ratio.

The choice (docs/calibrate.md, "Chosen by cross-validation"): each run is left out in turn (`folds`: one run a
fold up to `MAX_FOLDS` runs, else `MAX_FOLDS` folds of every `MAX_FOLDS`th run), the candidate's terms are fitted
on the other runs' rows of the fit's linearisation — the terms a candidate drops held at the engine's own — and the
left-out run's figures are predicted there. The candidates are every subset of the fitted terms, each the whole
way or ¾, ½, ¼ of the way from the engine's own toward its fit (a left-out run predicted at (1 − share) · r0 +
share · its prediction: shrinkage toward the shipped values), and the engine's own terms, fitted on nothing. Each
is scored on each run left out by the fit's loss (Σ w · Huber) of that run's predicted figures, over the engine's
own terms' loss on the same run: a candidate is taken only when that ratio's median over the runs is at most
`MARGIN` — the typical run it did not see predicted clearly better than without a calibration, one run the terms
cannot explain (another engine load, a burst of another shape) neither buying nor vetoing it. Of those, the least
median ratio, ties to fewer terms, then to the shorter way; none: the engine's own terms. A calibration whose folds
leave fewer than `CV_MIN_RUNS` runs to fit on takes the fit, not cross-validated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from .select import MIN_RUNS
from .solve import TERMS, JointFit, bounds_v, huber, loss, solve_within, to_terms, to_v

__all__ = ["CV_MIN_RUNS", "MARGIN", "MAX_FOLDS", "SHARES", "Candidate", "CvChoice", "choose_by_cv", "folds",
           "median_ratio"]

SHARES = (0.25, 0.5, 0.75, 1.0)    # how far a candidate moves its terms from the engine's own to their fit
MAX_FOLDS = 10          # up to this many runs, each its own fold; more runs are split into this many folds
MARGIN = 0.8            # a candidate is taken when its median ratio to the engine's own terms is at most this
CV_MIN_RUNS = MIN_RUNS  # a left-out fit refits its terms on this many runs at least, as a fit does (3)


@dataclass(frozen=True)
class Candidate:
    """A candidate of the choice: the terms it fits, how far it moves them, its cross-validated loss, and its
    median ratio to the engine's own terms (`median_ratio`)."""

    names: tuple[str, ...]
    share: float
    loss: float
    ratio: float        # the median over the runs left out of its loss over the engine's own terms' (`median_ratio`)


@dataclass(frozen=True)
class CvChoice:
    """The candidate chosen (`names`, `share`), its terms (all of `TERMS`), its cross-validated residuals (one per
    row of the fit), the engine's own terms' loss and every candidate tried, in order: the fit first, the engine's
    own terms last."""

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

    @property
    def ratio(self) -> float:
        """The chosen candidate's median ratio to the engine's own terms (1: nothing was cross-validated)."""
        return next((c.ratio for c in self.tried if (c.names, c.share) == (self.names, self.share)), 1.0)


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


def _subsets(fitted: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every non-empty subset of the fitted terms, the fit's own first, then the larger before the smaller (each in
    `TERMS` order).

    Example:
        >>> _subsets(("step_s", "memory_time_scale"))
        [('step_s', 'memory_time_scale'), ('step_s',), ('memory_time_scale',)]
    """
    return [c for n in range(len(fitted), 0, -1) for c in combinations(fitted, n)]


def _per_run(fit: JointFit, r: np.ndarray) -> np.ndarray:
    """The loss (`loss`) of each weighed run's rows, in run order."""
    runs = np.array([i for i, _, _ in fit.rows], dtype=int)
    w = np.array([x for _, _, x in fit.rows])
    weighed = sorted({i for i, _, x in fit.rows if x > 0})
    return np.bincount(runs, weights=w * huber(r), minlength=len(fit.at))[weighed]


def median_ratio(own: np.ndarray, other: np.ndarray) -> float:
    """The median over the runs of a candidate's loss on each run left out over the engine's own terms' on it (a
    run they predict exactly: 0 when the candidate does too, else infinite).

    Example:
        >>> median_ratio(np.array([1.0, 2.0, 4.0, 0.0]), np.array([0.5, 1.0, 8.0, 1.0]))
        1.25
    """
    ratios = np.where(own > 0, other / np.where(own > 0, own, 1.0), np.where(other > 0, np.inf, 0.0))
    return float(np.median(ratios))


def _candidates(fit: JointFit, r0: np.ndarray) -> tuple[list[Candidate], dict[tuple[str, ...], np.ndarray]]:
    """Every candidate, each scored by its cross-validated loss and median ratio to the engine's own terms: the fit
    first, then every subset of its terms at every share (`SHARES`, the whole way first), the engine's own terms
    last; and each subset's predictions."""
    w = np.array([x for _, _, x in fit.rows])
    own = _per_run(fit, r0)
    seen = {names: predicted(fit, names) for names in _subsets(fit.fitted)}
    tried = []
    for names, p in seen.items():
        for share in sorted(SHARES, reverse=True):
            r = (1 - share) * r0 + share * p
            tried.append(Candidate(names, share, loss(r, w), median_ratio(own, _per_run(fit, r))))
    return [*tried, Candidate((), 1.0, loss(r0, w), 1.0 if own.any() else 0.0)], seen


def _least(tried: Sequence[Candidate]) -> Candidate:
    """The candidate taken (module doc): of those whose median ratio is at most `MARGIN`, the least, ties to fewer
    terms and then to the shorter way; none: the engine's own terms (the last)."""
    better = [c for c in tried[:-1] if c.ratio <= MARGIN]
    return min(better, key=lambda c: (c.ratio, len(c.names), c.share)) if better else tried[-1]


def choose_by_cv(fit: JointFit, r0: np.ndarray) -> CvChoice:
    """The candidate chosen by cross-validation (module doc); `r0`: each row's residual at the engine's own terms."""
    w = np.array([x for _, _, x in fit.rows])
    weighed = {i for i, _, x in fit.rows if x > 0}
    if not fit.fitted or not any(len(weighed - set(f)) >= CV_MIN_RUNS for f in folds(len(fit.at))):
        # nothing fitted, or no fold leaves runs enough to fit again: the fit, its residuals the calibrated ones
        return CvChoice(fit.fitted, 1.0, dict(fit.terms), predicted(fit, fit.fitted), loss(r0, w), ())
    tried, seen = _candidates(fit, r0)
    pick = _least(tried)
    names, share = pick.names, pick.share
    residuals = (1 - share) * r0 + share * seen[names] if names else np.array(r0, dtype=float)
    if names == fit.fitted and share == 1.0:
        return CvChoice(names, share, dict(fit.terms), residuals, loss(r0, w), tuple(tried))
    v, v0 = to_v(fit.terms), to_v(fit.start)
    moved = v + _moves(fit, names, np.ones(len(fit.rows), dtype=bool)) if names else v0
    return CvChoice(names, share, to_terms(v0 + share * (moved - v0)), residuals, loss(r0, w), tuple(tried))
