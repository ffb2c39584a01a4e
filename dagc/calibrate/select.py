"""Which engine terms a calibration fits: the sets of terms the runs can tell apart, and, of those, the one that
explains them.

Input: the slopes of every fitted figure in every term at the start (`dagc.calibrate.solve`: one row per figure,
one column per term of `TERMS`, in probe units), the rows (run, figure key, weight) and the number of runs.
Output: `Choice` — how many runs each term moves, why each term that cannot be fitted is kept, and the candidate
sets of terms, each of which the fit descends from the start (`dagc.calibrate.solve.fit_terms` picks one).

A term is a candidate when it moves the fitted figures of at least `MIN_RUNS` runs by `MOVES` or more at its probe
(one run's error is not a term's). A set of terms is told apart when none of its terms' slopes are reproduced by the
others' but for less than `COLLINEAR` of them (1 − R², weighted as the fit weighs). A calibration fits at most one
term fewer than it has runs (`room`). When the runs have room for every candidate term and tell them apart, the
one candidate set is all of them (5 runs or more, as a rule). When two of them move the figures alike, the
candidate sets are the largest sets told apart. When the runs have room for fewer terms than move them (3 runs
fit 2 of the 5 terms, 4 runs 3), every set told apart of at most `room` terms is a candidate. The sets are listed in
`PRIORITY` order (the multipliers first, which move every quantity, then the host time per request of a step, which
runs of different loads tell apart, then the front end and the step's host time):
one set is fitted on every figure at once; of several, each stage of the fit in stages takes its own terms of the
first set that holds any, from the sets `choose` gives on its quantity's figures (`dagc.calibrate.stages`,
docs/calibrate.md "Identifiability").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

__all__ = ["COLLINEAR", "MIN_RUNS", "MOVES", "PRIORITY", "TERMS", "Choice", "apart", "choose", "moved_runs"]

TERMS = ("step_s", "frontend_s", "compute_time_scale", "memory_time_scale", "step_request_s")
# the first set's order
PRIORITY = ("compute_time_scale", "memory_time_scale", "step_request_s", "frontend_s", "step_s")
MIN_RUNS = 3            # a term moved on fewer runs keeps its start: one run's error is not a term's
COLLINEAR = 0.02        # a term whose slopes the others' reproduce but for this share is not told apart
MOVES = 5e-3            # a figure a probe moves by less than this (ln: 0.5 %) is not moved by the term


@dataclass(frozen=True)
class Choice:
    """The terms' candidate sets (each a tuple of `TERMS` names, in `TERMS` order), how many runs each term
    moves, and why a term in none of the sets is kept: `few` (it moves fewer than `MIN_RUNS` runs), `alike` (its
    slopes are the others'), `room` (the runs fit fewer terms)."""

    candidates: tuple[tuple[str, ...], ...]
    moved: Mapping[str, int]
    room: int                               # the most terms these runs fit: one fewer than the runs

    def why_kept(self, fitted: Sequence[str]) -> dict[str, str]:
        """Why each term not in `fitted` keeps its start: `few` (it moves fewer than `MIN_RUNS` runs), `idle` (a
        larger set with it explained the runs no better than `fitted`), `room` (the runs fit `room` terms, and
        the set fitted was chosen over the sets with it) or `alike` (its slopes are those of the terms fitted)."""
        largest = max(len(c) for c in self.candidates)
        out: dict[str, str] = {}
        for t in TERMS:
            if t in fitted:
                continue
            if self.moved[t] < MIN_RUNS:
                out[t] = "few"
            elif any(t in c for c in self.candidates):
                out[t] = "idle" if len(fitted) < largest else "room"
            else:
                out[t] = "alike"
        return out


def moved_runs(jac: np.ndarray, rows: Sequence[tuple[int, str, float]]) -> dict[str, int]:
    """How many runs' fitted figures (weight > 0) each term's probe moves by `MOVES` or more."""
    w = np.array([x for _, _, x in rows])
    return {t: len({rows[int(n)][0] for n in np.flatnonzero((np.abs(jac[:, j]) > MOVES) & (w > 0))})
            for j, t in enumerate(TERMS)}


def apart(jac: np.ndarray, rows: Sequence[tuple[int, str, float]], names: Sequence[str]) -> bool:
    """Whether the runs tell the terms `names` apart: each term's weighted slopes leave at least `COLLINEAR` of
    themselves unexplained by the others'.

    Example:
        >>> rows = [(0, "a", 1.0), (1, "a", 1.0), (2, "a", 1.0)]
        >>> jac = np.array([[1.0, 1.0, 0, 2.0], [2.0, 0, 0, 4.0], [3.0, 1.0, 0, 6.0]])
        >>> apart(jac, rows, ["step_s", "frontend_s"]), apart(jac, rows, ["step_s", "memory_time_scale"])
        (True, False)
    """
    w = np.sqrt(np.array([x for _, _, x in rows]))
    cols = [TERMS.index(t) for t in names]
    for k, j in enumerate(cols):
        col = jac[:, j] * w
        others = [c for i, c in enumerate(cols) if i != k]
        if not others:
            continue
        a = jac[:, others] * w[:, None]
        coef, *_ = np.linalg.lstsq(a, col, rcond=None)
        left = col - a @ coef
        if float(left @ left) < COLLINEAR * float(col @ col):
            return False
    return True


def choose(jac: np.ndarray, rows: Sequence[tuple[int, str, float]], runs: int) -> Choice:
    """The candidate sets of terms (module doc) from the start's slopes `jac` of the rows of `runs` runs.

    Example:
        >>> rows = [(i, "tpot_ms", 1.0) for i in range(3)]
        >>> jac = np.array([[0.1, 0.0, 0.2, 0.3, 0.0], [0.1, 0.0, 0.1, 0.2, 0.0], [0.1, 0.0, 0.3, 0.1, 0.0]])
        >>> c = choose(jac, rows, 3)          # 3 runs: 2 terms of the 3 that move them, or 1
        >>> c.room, c.candidates[:3], len(c.candidates)
        (2, (('compute_time_scale', 'memory_time_scale'), ('step_s', 'compute_time_scale'), \
('step_s', 'memory_time_scale')), 6)
        >>> c.why_kept(c.candidates[0]), c.why_kept(("memory_time_scale",))["step_s"]
        ({'step_s': 'room', 'frontend_s': 'few', 'step_request_s': 'few'}, 'idle')
        >>> choose(jac, rows, 5).candidates    # 5 runs: room for all 3, told apart
        (('step_s', 'compute_time_scale', 'memory_time_scale'),)
    """
    moved = moved_runs(jac, rows)
    room = max(0, runs - 1)
    order = [t for t in PRIORITY if moved[t] >= MIN_RUNS]
    if len(order) <= room and apart(jac, rows, order):
        return Choice((tuple(t for t in TERMS if t in order),), moved, room)
    found: list[tuple[str, ...]] = []
    for size in range(min(room, len(order)), 0, -1):
        sets = [c for c in combinations(order, size) if apart(jac, rows, c)]
        found += [tuple(t for t in TERMS if t in c) for c in sets]
        if found and len(order) <= room:
            break           # enough runs for every term, two alike: the largest sets told apart only
    return Choice(tuple(found) or ((),), moved, room)
