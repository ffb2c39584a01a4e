"""The fit of an engine term on measured figures: least absolute relative deviation, linearised, never negative.

Input: `evaluate` — engine terms → dagc's figures of every run (`dagc.calibrate.figures`) — the runs' measured
figures, the term, the figure keys it moves and where to start. Output: `TermFit` — the fitted value, dagc's
figures there and their slopes in the term — and, from it, the value a fit without one run gives
(`left_out`), which the cross-validation predicts that run with.

dagc's figure x_i(t) is linearised around the latest value t (x_i ≈ x_i(t) + b_i·(t' − t), b_i from the last two
evaluations, a secant step; the first after the start is where the figures would meet the measured ones if each
moved one ms per ms of the term — a step's host time adds to every TPOT, the front end's to every TTFT —, or the
start + δ when that is the start itself), and
Σ |x_i(t') − m_i| / m_i is minimised by the weighted median of t + (m_i − x_i(t)) / b_i with weights b_i / m_i (a
figure the term does not raise, b_i ≤ 0, has no say); the term is never below 0. It is re-evaluated at the new
value until it moves less than `TOLERANCE` (relative) or after `ROUNDS` re-evaluations. A term that moves the
figures of fewer than `MIN_RUNS` runs keeps its value: one run's error is not a term's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["DELTA", "LIMITS", "MIN_RUNS", "MOVES", "ROUNDS", "TOLERANCE", "Evaluate", "Limits", "Start", "TermFit",
           "crossings", "first_probe", "fit_term", "fitted_keys", "left_out", "weighted_median"]

# the figures each term is fitted on (a run's mean and median): step_s shifts every per-token time, so TPOT;
# frontend_s adds to every client's TTFT (not ITL, which a client measures between streamed chunks)
MOVES = {"step_s": ("tpot_ms", "tpot_ms_median"), "frontend_s": ("ttft_ms", "ttft_ms_median")}
DELTA = {"step_s": 1e-3, "frontend_s": 20e-3}       # the first probe of the linearisation, s
ROUNDS = 6                  # re-evaluations at most
TOLERANCE = 1e-3            # a move smaller than this share of the value (or 1 µs) ends the fit
MIN_RUNS = 3

Figures = Mapping[str, float]
Evaluate = Callable[[Mapping[str, float]], Sequence[Figures]]


def weighted_median(values: Sequence[float], weights: Sequence[float]) -> float:
    """The value minimising Σ w_i |v_i − v| (the lower weighted median).

    Example:
        >>> weighted_median([1.0, 2.0, 10.0], [1.0, 1.0, 1.0]), weighted_median([1.0, 2.0, 10.0], [1.0, 1.0, 5.0])
        (2.0, 10.0)
    """
    pairs = sorted(zip(values, weights, strict=True))
    half, acc = sum(weights) / 2, 0.0
    for v, w in pairs:
        acc += w
        if acc >= half:
            return v
    raise ValueError("no values")


@dataclass(frozen=True)
class TermFit:
    """A fitted term: its value, dagc's figures there (`at`, one dict per run) and their slopes (per s of the
    term), the runs whose fitted figures it moves, and each evaluated value in order (`history`)."""

    name: str
    value: float
    at: tuple[Figures, ...]
    slope: tuple[Figures, ...]
    moved: int
    kept: bool
    history: tuple[float, ...]
    itl: bool = False           # fitted on a run's ITL where it measured no TPOT


def fitted_keys(keys: Sequence[str], measured: Figures, itl: bool = False) -> tuple[str, ...]:
    """The figures of a run a term is fitted on: `keys` it measured; with `itl`, a run that measured no TPOT its
    ITL instead (`tpot_ms` → `itl_ms`).

    Example:
        >>> fitted_keys(MOVES["step_s"], {"itl_ms": 9.0}), fitted_keys(MOVES["step_s"], {"itl_ms": 9.0}, itl=True)
        ((), ('itl_ms',))
    """
    own = tuple(k for k in keys if k in measured)
    if own or not itl:
        return own
    return tuple(k.replace("tpot", "itl") for k in keys if k.replace("tpot", "itl") in measured)


def crossings(t: float, at: Sequence[Figures], slope: Sequence[Figures], measured: Sequence[Figures],
              keys: Sequence[str], use: Sequence[bool],
              itl: bool = False) -> tuple[list[float], list[float], list[int]]:
    """Where each used run's linearised figure meets its measured one, its weight, and its run's index."""
    xs, ws, runs = [], [], []
    for i, (x, b, m) in enumerate(zip(at, slope, measured, strict=True)):
        if not use[i]:
            continue
        for k in fitted_keys(keys, m, itl):
            if k in m and k in x and b.get(k, 0.0) > 0:
                xs.append(t + (m[k] - x[k]) / b[k])
                ws.append(b[k] / m[k])
                runs.append(i)
    return xs, ws, runs


def _slopes(x0: Sequence[Figures], x1: Sequence[Figures], t0: float, t1: float) -> tuple[dict[str, float], ...]:
    return tuple({k: (b[k] - a[k]) / (t1 - t0) for k in a if k in b} for a, b in zip(x0, x1, strict=True))


def first_probe(t: float, at: Sequence[Figures], measured: Sequence[Figures], keys: Sequence[str],
                use: Sequence[bool], itl: bool = False) -> float:
    """Where the used runs' figures would meet the measured ones if each moved one ms per ms of the term (a step's
    host time adds to every TPOT, the front end's to every TTFT): the first value the fit evaluates after `t`;
    `t + DELTA` when that is `t` itself (within `TOLERANCE`)."""
    unit = [{k: 1e3 for k in (*keys, *(k.replace("tpot", "itl") for k in keys))}] * len(at)
    xs, ws, _ = crossings(t, at, unit, measured, keys, use, itl)
    guess = max(0.0, weighted_median(xs, ws)) if xs else t
    return guess if abs(guess - t) > max(1e-6, TOLERANCE * t) else t + DELTA[_name(keys)]


def _name(keys: Sequence[str]) -> str:
    return next(n for n, k in MOVES.items() if tuple(k) == tuple(keys))


@dataclass(frozen=True, slots=True)
class Start:
    """Where a term's fit starts: every term's value there (the fitted one's among them), and dagc's figures
    there (`at`, one dict per run) when already evaluated."""

    terms: Mapping[str, float]
    at: Sequence[Figures] | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """How far a term's fit goes: at most `rounds` re-evaluations; a term that moves the figures of fewer than
    `min_runs` runs is kept."""

    rounds: int = ROUNDS
    min_runs: int = MIN_RUNS


LIMITS = Limits()


def fit_term(evaluate: Evaluate, measured: Sequence[Figures], start: Start, name: str,
             use: Sequence[bool] | None = None, *, limits: Limits = LIMITS, itl: bool = False) -> TermFit:
    """Fit term `name` (the others as at `start`) from its value at `start` on the figures `MOVES[name]` of the
    runs `use` marks (all when None) — with `itl`, a run's ITL where it measured no TPOT (`fitted_keys`)."""
    terms, t0 = start.terms, start.terms[name]
    keys, use = MOVES[name], list(use) if use is not None else [True] * len(measured)
    x_start = list(start.at) if start.at is not None else list(evaluate(terms))
    probe = first_probe(t0, x_start, measured, keys, use, itl)
    points = [(t0, x_start), (probe, list(evaluate({**terms, name: probe})))]
    for _ in range(limits.rounds):
        (ta, xa), (tb, xb) = points[-2], points[-1]
        slope = _slopes(xa, xb, ta, tb)
        xs, ws, runs = crossings(tb, xb, slope, measured, keys, use, itl)
        if len(set(runs)) < limits.min_runs:
            return TermFit(name, t0, tuple(x_start), slope, len(set(runs)), True, tuple(t for t, _ in points), itl)
        new = max(0.0, weighted_median(xs, ws))
        if abs(new - tb) <= max(1e-6, TOLERANCE * tb):
            break
        points.append((new, list(evaluate({**terms, name: new}))))
    (ta, xa), (t, x) = points[-2], points[-1]
    slope = _slopes(xa, x, ta, t)
    return TermFit(name, t, tuple(x), slope, len(set(crossings(t, x, slope, measured, keys, use, itl)[2])), False,
                   tuple(p for p, _ in points), itl)


def left_out(fit: TermFit, measured: Sequence[Figures], use: Sequence[bool], run: int,
             min_runs: int = MIN_RUNS) -> float:
    """The term as a fit without run `run` gives it, from the fit's linearisation (the fit's own value when
    the others' figures move it in fewer than `min_runs` runs, or when the term was kept).

    Example:
        >>> fit = TermFit("frontend_s", 0.04, ({"ttft_ms": 50.0},) * 4, ({"ttft_ms": 1000.0},) * 4, 4, False, ())
        >>> m = [{"ttft_ms": v} for v in (50.0, 51.0, 49.0, 80.0)]
        >>> round(left_out(fit, m, [True] * 4, 3), 4), round(left_out(fit, m, [True] * 4, 0), 4)
        (0.04, 0.041)
    """
    if fit.kept:
        return fit.value
    xs, ws, runs = crossings(fit.value, fit.at, fit.slope, measured, MOVES[fit.name],
                             [u and i != run for i, u in enumerate(use)], fit.itl)
    if len(set(runs)) < min_runs:
        return fit.value
    return max(0.0, weighted_median(xs, ws))
