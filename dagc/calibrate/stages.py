"""The fit of runs too few for every engine term at once, in stages: each term first fitted on the figures of the
quantity that identifies it, the terms of earlier stages held, then every term so fitted refined on all of them.

Input: the fit's rows (run, figure key, weight: `dagc.calibrate.solve.fitted_figures`), the number of runs, the fit
at the start (its slopes `jac`, one row per figure and one column per term of `TERMS`), `descend` — the quantity
whose figures alone weigh (None: every fitted figure), the terms to fit and the fit to start from → the fit
(`dagc.calibrate.solve`) — and `stage_loss`, a fit's loss on a quantity's figures. Output: the fit and each stage's
outcome (`Stage`).

The stages (`STAGES`, docs/calibrate.md "The fit"), in order:

1. TPOT (TPOT, or ITL where a run measured no TPOT): a decode step's time — `memory_time_scale` (its weight and
   KV-cache reads), `step_request_s`, `step_s`;
2. throughput (output tokens/s): `compute_time_scale`, the prefills' share of a run's time;
3. TTFT (of the runs not sent all at once): `frontend_s`.

The terms that move a stage's figures (each at least `MIN_RUNS` runs') give candidate sets as the joint fit's do
(`dagc.calibrate.select.choose`: in `PRIORITY` order, the sets of the most terms the runs have room for and tell
apart first); the stage fits its own terms of the first set that holds any: with 3 runs the TPOT stage fits
`memory_time_scale` (the first set is it and `compute_time_scale`, which the throughput stage fits), with 4 runs
`step_request_s` too. So a term is fitted where it weighs the most — a front end is not taken for a slower
prefill, nor a slower decode step for a prefill the run's throughput pays. Then every term fitted is refined on
every fitted figure together (the joint fit, from the stages' terms): a stage's term moves the other quantities
too (a slower prefill slows the decode steps it shares), which the refinement weighs.
A multiplier a stage takes to one of its bounds (0.2× or 5×: `TERM_BOUNDS`) is not that quantity's explanation — no
engine's kernels are five times the profile's; its figures are off for what dagc does not model (W541 says the same of
a fit's term at its bound) — so the stage drops it and fits its other terms again (`stage_fit`): the term keeps the
engine's own value (`why_kept` `bound`), not the bound the refinement would start from and trade the other quantities
against. A host time at 0 s is a value engines have, and is kept as fitted.
A term no stage fitted keeps the engine's own value (`why_kept`: `few`, `room`, `alike` as in
`dagc.calibrate.select.Choice`, or `bound`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from ..lang.calibration import TERM_BOUNDS
from ..plan.calibration import quantity_of
from .select import MIN_RUNS, TERMS, choose, moved_runs

__all__ = ["PINNED", "STAGES", "Stage", "in_stages", "pinned", "stage_fit", "stage_rows", "stage_terms"]

STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tpot", ("memory_time_scale", "step_request_s", "step_s")),
    ("throughput", ("compute_time_scale",)),
    ("ttft", ("frontend_s",)),
)

# the terms a stage drops when it takes them to a bound (`pinned`): the kernel-time multipliers
PINNED = frozenset({"compute_time_scale", "memory_time_scale"})

Rows = Sequence[tuple[int, str, float]]


class Fit(Protocol):
    """A fit of some terms: their names and the slopes of every row there."""

    @property
    def names(self) -> tuple[str, ...]: ...

    @property
    def jac(self) -> np.ndarray: ...


F = TypeVar("F", bound=Fit)


@dataclass(frozen=True)
class Stage:
    """A stage's outcome: its quantity, the terms it fitted, and its loss on its quantity's figures before and
    after."""

    quantity: str
    fitted: tuple[str, ...]
    before: float
    after: float


def stage_rows(rows: Rows, quantity: str | None) -> tuple[tuple[int, str, float], ...]:
    """The rows with the figures of other quantities than `quantity` weighing nothing (all rows: None).

    Example:
        >>> stage_rows([(0, "tpot_ms", 0.5), (0, "ttft_ms", 1.0)], "ttft")
        ((0, 'tpot_ms', 0.0), (0, 'ttft_ms', 1.0))
    """
    return tuple((i, k, w if quantity is None or quantity_of(k) == quantity else 0.0) for i, k, w in rows)


def stage_terms(jac: np.ndarray, rows: Rows, runs: int, block: Sequence[str]) -> tuple[str, ...]:
    """The terms of `block` a stage fits: those of the first candidate set that holds any (`choose`, on the terms
    that move the figures weighing in `rows`), in `TERMS` order.

    Example (3 runs whose TPOT the two multipliers and the step's time move: the first set is the multipliers):
        >>> rows = [(i, "tpot_ms", 1.0) for i in range(3)]
        >>> jac = np.array([[0.1, 0.0, 0.2, 0.3, 0.0], [0.1, 0.0, 0.1, 0.2, 0.0], [0.1, 0.0, 0.3, 0.1, 0.0]])
        >>> stage_terms(jac, rows, 3, STAGES[0][1]), stage_terms(jac, rows, 3, STAGES[1][1])
        (('memory_time_scale',), ('compute_time_scale',))
    """
    if not any(w > 0 for _, _, w in rows):
        return ()
    for c in choose(jac, rows, runs).candidates:
        if names := tuple(t for t in TERMS if t in c and t in block):
            return names
    return ()


def pinned(terms: Mapping[str, float], names: Sequence[str]) -> tuple[str, ...]:
    """The multipliers of `names` (`PINNED`) at one of their bounds in `terms`.

    Example:
        >>> pinned({"compute_time_scale": 5.0, "memory_time_scale": 1.3, "step_s": 0.0},
        ...        ("compute_time_scale", "memory_time_scale", "step_s"))
        ('compute_time_scale',)
    """
    return tuple(t for t in names if t in PINNED and any(math.isclose(terms[t], b, rel_tol=1e-6, abs_tol=1e-12)
                                                         for b in TERM_BOUNDS[t]))


Descend = Callable[[str | None, tuple[str, ...], F], F]


def stage_fit(quantity: str, names: tuple[str, ...], fit: F, descend: Descend[F],
              terms_of: Callable[[F], Mapping[str, float]]) -> tuple[F | None, tuple[str, ...], tuple[str, ...]]:
    """A stage's fit of `names` from `fit` on its quantity's figures, a multiplier it takes to a bound dropped and
    the others fitted again (module doc): the fit (None: every term dropped), its terms and the dropped ones."""
    dropped: tuple[str, ...] = ()
    while names:
        trial = descend(quantity, names, fit)
        if not (hit := pinned(terms_of(trial), names)):
            return trial, names, dropped
        dropped += hit
        names = tuple(t for t in names if t not in hit)
    return None, (), dropped


def in_stages(rows: Rows, runs: int, start: F, descend: Descend[F], stage_loss: Callable[[F, str], float],
              terms_of: Callable[[F], Mapping[str, float]]) -> tuple[F, tuple[Stage, ...], dict[str, str]]:
    """The fit in stages from `start` (module doc; `terms_of`: a fit's terms), each stage's outcome, and why each
    term not fitted is kept."""
    fit = start
    stages: list[Stage] = []
    fitted: list[str] = []
    bound: list[str] = []
    for quantity, block in STAGES:
        own = stage_rows(rows, quantity)
        names = stage_terms(fit.jac, own, runs, [t for t in block if t not in fitted])
        if not names:
            continue
        before = stage_loss(fit, quantity)
        found, names, dropped = stage_fit(quantity, names, fit, descend, terms_of)
        bound += dropped
        if found is None:
            continue
        fit = found
        stages.append(Stage(quantity, names, before, stage_loss(fit, quantity)))
        fitted += names
    if fitted:
        fit = descend(None, tuple(t for t in TERMS if t in fitted), fit)
    moved = moved_runs(start.jac, rows)
    why = {t: "bound" if t in bound else "few" if moved[t] < MIN_RUNS else "room" for t in TERMS if t not in fitted}
    return fit, tuple(stages), why
