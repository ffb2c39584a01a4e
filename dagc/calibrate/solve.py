"""The joint fit of the engine's terms on measured runs: robust (Huber on log-ratios), bounded, linearised.

Input: `evaluate` — engine terms → dagc's figures of every run (`dagc.calibrate.figures`) —, the runs' measured
figures, which runs' TTFT may be fitted on (not an offline burst's: its TTFT is the queue's), and the engine's own
terms to start from. Output: `JointFit` — the fitted terms, which were identified by the runs and which kept their
start, dagc's figures at the fit and the linearisation there; and, from it, each run's figures as a fit without
that run predicts them (`JointFit.left_out`).

The terms (`TERMS`, docs/calibrate.md): `step_s` (host time per engine step), `frontend_s` (per request, before
its first token reaches the client), `compute_time_scale` and `memory_time_scale` (multipliers of a compute-bound
and a memory-bound op's time, blended by how bound an op is: `dagc.cost.cost_model.CostModel.time_scale`),
`step_request_s` (the host time a step adds per request it runs: told from `step_s` by runs of different loads).
Each run's figures the fit reads (`fitted_figures`): its TPOT (its ITL where it measured no TPOT), its TTFT unless an
offline burst, its output tokens/s; every run and quantity weighs one (a mean and a median half each).

The residual of a figure is r = ln(dagc / measured); the fit minimises Σ w·Huber(r) (`loss`: squared up to
`HUBER`, linear beyond, so that a run far off pulls a term no harder than any other) in coordinates
v = (seconds, seconds, ln scale, ln scale, seconds) / `PROBE`. r(v) is linearised: its slopes from one probe per
simulated term at the start (`frontend_s` adds to every client TTFT and E2E, its slopes are known: d r / d frontend_s =
1 / dagc's figure). The linearised problem is solved by iteratively reweighted least squares, each term within
`BOUNDS`, and the terms simulated there; the slopes are carried to the new point (`_carried`: as if each term added
a time proportional to itself, a slope divided by its figure's growth and, in a scale's logarithm, multiplied by
the scale's) and updated from the step (Broyden's secant update, from a step of at least `SECANT`: a shorter one's
secant is dagc's roughness more than its slope). The slopes are probed again at the first step only when it left
more than `FORESIGHT` times the loss they foresaw. The steps stop after `ROUNDS`, when no term would move more
than `TOLERANCE` (in probe units), or when the linearisation foresees a step gaining less than an error of
`SETTLED` in every fitted figure weighs and less than `SETTLED_SHARE` of the loss (the fit has settled: a
simulation would buy nothing). The fit is the evaluated point of least loss.

Which terms are fitted (`dagc.calibrate.select`): a term is a candidate when its probe moves the fitted figures of
at least `MIN_RUNS` runs by 0.5 % or more; a set of terms when the runs tell its terms apart (each term's slopes not
reproduced by the others' but for less than `COLLINEAR`) and has at most one term fewer than the runs. When the runs
have room for every candidate, the one set is all of them (`dagc.calibrate.sets.walk` fits it). When they have
room for fewer (3 runs fit 2 of the 5 terms at once), the fit is in stages (`dagc.calibrate.stages`): each term
first on the figures of the quantity that identifies it (TPOT: the decode step's; throughput: the compute
multiplier; TTFT: the front end), the stage's terms those of the first candidate set on its figures, the earlier
stages' held (`_descend` from `base`, its rows but the quantity's weighing nothing); then every term so fitted on
all the figures, from there. The others keep their start (the engine's
own). A fitted term that stopped at its bound says which run it leaves furthest off and, when a term the runs had
no room for would take the rest, that term (`JointFit.at_bound`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from ..lang.calibration import TERM_BOUNDS
from .select import COLLINEAR, MIN_RUNS, MOVES, PRIORITY, TERMS, choose
from .sets import CLEARLY, walk
from .stages import Stage, in_stages, stage_rows

__all__ = ["BOUNDS", "CLEARLY", "COLLINEAR", "FORESIGHT", "MIN_RUNS", "PRIORITY", "PROBE", "ROUNDS", "SECANT",
           "SETTLED", "SETTLED_SHARE", "TAKES", "TERMS", "TOLERANCE", "AtBound", "Evaluate", "JointFit", "bounds_v",
           "fit_terms", "fitted_figures", "huber", "loss", "solve_within", "to_terms", "to_v"]

BOUNDS = TERM_BOUNDS    # a calibration file's terms are read within them (`dagc.lang.calibration`)
PROBE = {"step_s": 1e-3, "frontend_s": 20e-3, "compute_time_scale": 0.1, "memory_time_scale": 0.1,  # s, s, ln, ln,
         "step_request_s": 20e-6}                                                                  # s
LOG = frozenset({"compute_time_scale", "memory_time_scale"})  # fitted as their logarithm
ROUNDS = 4              # evaluations after the probes, at most
TOLERANCE = 5e-3        # in probe units: 5 µs of step_s, 0.1 ms of frontend_s, 0.05 % of a scale
HUBER = 0.05            # |ln(dagc / measured)| up to which a residual is squared, linear beyond (Huber's loss)
FORESIGHT = 4.0         # a first step leaving more than this many times the loss foreseen: slopes probed again
SECANT = 1.0            # a step shorter than this (probe units) updates no slope (its secant is dagc's roughness)
SETTLED = 3e-3          # a step foreseen to gain less than an error this large (ln) in every fitted figure weighs…
SETTLED_SHARE = 0.25    # …and less than this share of the loss is not simulated: the fit has settled
_STEP = 10.0            # the largest move of one round, in probe units (10 ms, 200 ms, e^1)
TAKES = 0.5             # a term left out takes the rest of a term at its bound when it halves the loss (linearised)

Figures = Mapping[str, float]
Evaluate = Callable[[Mapping[str, float]], Sequence[Figures]]

_TPOT, _ITL, _TTFT, _TPUT = ("tpot_ms", "tpot_ms_median"), ("itl_ms", "itl_ms_median"), \
    ("ttft_ms", "ttft_ms_median"), ("output_tokens_per_s",)


def fitted_figures(measured: Figures, ttft: bool) -> list[tuple[str, float]]:
    """The figures of a run the fit reads and their weights: each quantity one, split over its keys.

    Example:
        >>> fitted_figures({"tpot_ms": 9.0, "tpot_ms_median": 8.0, "ttft_ms": 50.0, "e2e_ms": 900.0}, ttft=False)
        [('tpot_ms', 0.5), ('tpot_ms_median', 0.5)]
        >>> fitted_figures({"itl_ms": 9.0, "output_tokens_per_s": 900.0}, ttft=True)
        [('itl_ms', 1.0), ('output_tokens_per_s', 1.0)]
    """
    out: list[tuple[str, float]] = []
    tpot = [k for k in _TPOT if k in measured] or [k for k in _ITL if k in measured]
    for keys in (tpot, [k for k in _TTFT if k in measured] if ttft else [], [k for k in _TPUT if k in measured]):
        out += [(k, 1.0 / len(keys)) for k in keys]
    return out


def to_v(terms: Mapping[str, float]) -> np.ndarray:
    return np.array([(math.log(terms[t]) if t in LOG else terms[t]) / PROBE[t] for t in TERMS])


def to_terms(v: np.ndarray) -> dict[str, float]:
    """The terms at coordinates `v`, each within its `BOUNDS` (exp(ln 5) is not always 5)."""
    out = {t: (math.exp(x * PROBE[t]) if t in LOG else x * PROBE[t]) for t, x in zip(TERMS, v, strict=True)}
    return {t: float(min(BOUNDS[t][1], max(BOUNDS[t][0], x))) for t, x in out.items()}


def bounds_v() -> tuple[np.ndarray, np.ndarray]:
    lo = [(math.log(BOUNDS[t][0]) if t in LOG else BOUNDS[t][0]) / PROBE[t] for t in TERMS]
    hi = [(math.log(BOUNDS[t][1]) if t in LOG else BOUNDS[t][1]) / PROBE[t] for t in TERMS]
    return np.array(lo), np.array(hi)


@dataclass(frozen=True)
class AtBound:
    """A fitted term at one of its bounds: which (`lower`, `upper`), its value, the index of the run it leaves
    furthest off and that run's figure (its key), and the term the runs had no room for that would take the rest
    (None: none would)."""

    side: str
    value: float
    run: int
    key: str
    likelier: str | None


@dataclass(frozen=True)
class JointFit:
    """The fitted terms, the terms identified (the others kept their start), the runs each moves, dagc's
    figures at the fit (`at`) and the linearisation there: `rows` (run, figure key, weight), their residuals
    `r` and slopes `jac` (one row per figure, one column per term of `TERMS`, in probe units)."""

    terms: Mapping[str, float]
    start: Mapping[str, float]
    fitted: tuple[str, ...]
    moved: Mapping[str, int]
    at: tuple[Figures, ...]
    rows: tuple[tuple[int, str, float], ...]
    r: np.ndarray
    jac: np.ndarray
    history: tuple[Mapping[str, float], ...]
    why_kept: Mapping[str, str] = field(default_factory=dict)   # `select.Choice.why_kept`; `bound`: `stages`
    tried: tuple[tuple[tuple[str, ...], float], ...] = ()        # each candidate set and its least loss
    stages: tuple[Stage, ...] = ()      # the fit in stages of runs too few for every term (`dagc.calibrate.stages`)

    @property
    def kept(self) -> tuple[str, ...]:
        return tuple(t for t in TERMS if t not in self.fitted)

    @property
    def by_order(self) -> bool:
        """Whether the terms fitted are the first set of the largest size in `PRIORITY` order (True also when there
        was one set), not another that explained the runs clearly better."""
        if not self.tried:
            return True
        size = max(len(n) for n, _ in self.tried)
        return next(n for n, _ in self.tried if len(n) == size) == self.fitted

    def at_bound(self) -> dict[str, AtBound]:
        """The fitted terms at one of their `BOUNDS`, each with the run furthest off among the figures that would take
        it further (largest weighted |r| of r · slope > 0 at the lower bound, < 0 at the upper; docs/calibrate.md, W541)
        and the likelier cause: a term without room (`why_kept` `room`) whose slopes halve the loss (`TAKES`)."""
        out: dict[str, AtBound] = {}
        w = np.array([x for _, _, x in self.rows])
        v = to_v(self.terms)
        lo, hi = bounds_v()
        for t in self.fitted:
            side = next((s for s, b in zip(("lower", "upper"), BOUNDS[t], strict=True)
                         if math.isclose(self.terms[t], b, rel_tol=1e-6, abs_tol=1e-12)), None)
            if side is None:
                continue
            j = TERMS.index(t)
            moves = (np.abs(self.jac[:, j]) > MOVES) & (w > 0)
            further = moves & (self.r * self.jac[:, j] * (1.0 if side == "lower" else -1.0) > 0)
            pull = np.where(further if further.any() else moves, w * np.abs(self.r), -1.0)
            run, key, _ = self.rows[int(np.argmax(pull))] if len(pull) else (0, "requests", 0.0)
            likelier = None
            now = loss(self.r, w)
            for u in (u for u in TERMS if self.why_kept.get(u) == "room"):
                cols = [TERMS.index(x) for x in (*self.fitted, u)]
                dv = solve_within(self.r, self.jac[:, cols], w, v[cols], lo[cols], hi[cols])
                if loss(self.r + self.jac[:, cols] @ dv, w) <= TAKES * now:
                    likelier = u
                    break
            out[t] = AtBound(side, BOUNDS[t][side == "upper"], run, key, likelier)
        return out

    def refits(self, run: int) -> bool:
        """Whether a fit without run `run` has the `MIN_RUNS` runs a term needs (else `left_out` predicts the run at
        the fitted terms: with 3 runs, the cross-validation is the calibration)."""
        return len({i for i, _, x in self.rows if i != run and x > 0}) >= MIN_RUNS

    def left_out(self, run: int) -> dict[str, float]:
        """Run `run`'s figures as the fit without it predicts them: the terms fitted on the other runs' rows of
        the linearisation (first order), the run's figures moved by their slopes (each figure that has slopes;
        the others as at the fit)."""
        keep = np.array([i != run for i, _, _ in self.rows], dtype=bool)
        cols = [TERMS.index(t) for t in self.fitted]
        v0 = to_v(self.terms)
        dv = np.zeros(len(TERMS))
        if cols and keep.any():
            if self.refits(run):
                w = np.array([x for _, _, x in self.rows])[keep]
                lo, hi = bounds_v()
                dv[cols] = solve_within(self.r[keep], self.jac[keep][:, cols], w, v0[cols], lo[cols], hi[cols])
        out = dict(self.at[run])
        slopes = self._slopes_of(run)
        for k, g in slopes.items():
            out[k] = out[k] * math.exp(float(g @ dv))
        return out

    def _slopes_of(self, run: int) -> dict[str, np.ndarray]:
        return {k: self.jac[n] for n, (i, k, _) in enumerate(self.rows) if i == run}


def _residuals(at: Sequence[Figures], measured: Sequence[Figures],
               rows: Sequence[tuple[int, str, float]]) -> np.ndarray:
    return np.array([math.log(max(at[i][k], 1e-12) / measured[i][k]) for i, k, _ in rows])


def fit_terms(evaluate: Evaluate, measured: Sequence[Figures], ttft_use: Sequence[bool],
              start: Mapping[str, float], at_start: Sequence[Figures] | None = None) -> JointFit:
    """Fit `TERMS` from `start` on the runs' figures (`fitted_figures`; TTFT where `ttft_use`): module doc."""
    start = {t: float(start[t]) for t in TERMS}
    x0 = list(at_start) if at_start is not None else list(evaluate(start))
    # every figure a run measured and dagc gives: the fitted ones weigh, the others (weight 0) are only moved
    # with the terms (their slopes predict them in `JointFit.left_out`)
    weights = [dict(fitted_figures(m, ttft_use[i])) for i, m in enumerate(measured)]
    rows = tuple((i, k, weights[i].get(k, 0.0)) for i, m in enumerate(measured) for k in m
                 if k in x0[i] and m[k] > 0 and x0[i][k] > 0)
    r0 = _residuals(x0, measured, rows)
    jac0 = _slopes(evaluate, measured, rows, to_v(start), x0, range(len(TERMS)))
    choice = choose(jac0, rows, len(measured))
    origin = _Start(evaluate, measured, rows, start, x0, r0, jac0)
    if len(choice.candidates) > 1:      # too few runs for every term at once: each on its quantity first
        def descend(quantity: str | None, names: tuple[str, ...], base: _Descent) -> _Descent:
            return _descend(replace(origin, rows=stage_rows(rows, quantity)), names, base)

        def weighs(d: _Descent, quantity: str) -> float:
            return loss(d.r, np.array([x for _, _, x in stage_rows(rows, quantity)]))
        at = _Descent((), loss(r0, np.array([x for _, _, x in rows])), to_v(start), x0, r0, jac0, (dict(start),))
        fit, stages, why = in_stages(rows, len(measured), at, descend, weighs, lambda d: to_terms(d.v))
        return JointFit(to_terms(fit.v), start, fit.names, choice.moved, tuple(fit.x), rows, fit.r, fit.jac,
                        fit.history, why, (), stages)
    # a smaller set within the fit's resolution of it: an error of SETTLED in every fitted figure
    best, tried = walk(choice.candidates, lambda names, base: _descend(origin, names, base),
                       loss(np.full(len(rows), SETTLED), np.array([x for _, _, x in rows])))
    return JointFit(to_terms(best.v), start, best.names, choice.moved, tuple(best.x), rows, best.r, best.jac,
                    best.history, choice.why_kept(best.names),
                    tuple((d.names, d.loss) for d in tried) if len(tried) > 1 else ())


@dataclass(frozen=True)
class _Descent:
    """One set of terms fitted from the start: its least loss, where (`v`), dagc's figures, residuals and slopes
    there, and the terms evaluated on the way."""

    names: tuple[str, ...]
    loss: float
    v: np.ndarray
    x: list[Figures]
    r: np.ndarray
    jac: np.ndarray
    history: tuple[Mapping[str, float], ...]


@dataclass(frozen=True)
class _Start:
    """What every set of terms is fitted from: dagc's figures of the runs, the runs' measured ones, the rows
    (run, figure key, weight), the start's terms, dagc's figures, residuals and slopes there."""

    evaluate: Evaluate
    measured: Sequence[Figures]
    rows: Sequence[tuple[int, str, float]]
    terms: Mapping[str, float]
    x: list[Figures]
    r: np.ndarray
    jac: np.ndarray


def _descend(at: _Start, names: tuple[str, ...], base: _Descent | None = None) -> _Descent:
    """The terms `names` fitted from the start's (the others held there), from the start's slopes (module doc); from
    `base`'s terms, figures and slopes instead when given (the fit of a set within `names`: `dagc.calibrate.sets`)."""
    evaluate, measured, rows = at.evaluate, at.measured, at.rows
    cols = [TERMS.index(t) for t in names]
    if base is None:
        history: list[Mapping[str, float]] = [dict(at.terms)]
        v, x, r, jac = to_v(at.terms), at.x, at.r, at.jac
    else:
        history, v, x, r, jac = list(base.history), base.v, base.x, base.r, base.jac
    w = np.array([x_ for _, _, x_ in rows])
    lo, hi = bounds_v()
    best = (loss(r, w), v, x, r, jac)
    floor = loss(np.full(len(w), SETTLED), w)     # what an error of SETTLED in every fitted figure weighs
    for n in range(ROUNDS if cols else 0):
        dv = np.zeros(len(TERMS))
        dv[cols] = solve_within(r, jac[:, cols], w, v[cols], lo[cols], hi[cols])
        now, foreseen = loss(r, w), loss(r + jac @ dv, w)
        if np.max(np.abs(dv)) <= TOLERANCE or now - foreseen <= min(SETTLED_SHARE * now, floor):
            break           # no term moves, or the linearisation foresees too little gain to simulate the step
        v_new = v + dv
        x_new = list(evaluate(to_terms(v_new)))
        r_new = _residuals(x_new, measured, rows)
        jac = _carried(jac, rows, x, x_new, dv)
        if float(dv @ dv) >= SECANT ** 2:         # Broyden's update, from a step no shorter than a probe
            jac = jac + np.outer((r_new - r) - jac @ dv, dv) / float(dv @ dv)
        v, x, r = v_new, x_new, r_new
        history.append(to_terms(v))
        if n == 0 and loss(r, w) > FORESIGHT * foreseen + floor:
            # the first step left more than FORESIGHT times the loss the start's slopes foresaw: they are far
            # from the fit's, probed again there
            jac = _slopes(evaluate, measured, rows, v, x, cols, jac)
        if loss(r, w) < best[0]:
            best = (loss(r, w), v, x, r, jac)
    least, v, x, r, jac = best      # the evaluated terms of least loss (dagc's figures are not smooth in them)
    return _Descent(names, least, v, x, r, jac, tuple(history))


def loss(r: np.ndarray, w: np.ndarray) -> float:
    """Σ w · Huber(r): r² / 2 up to `HUBER`, linear beyond (the fit's objective).

    Example:
        >>> round(loss(np.array([0.01, -1.0]), np.ones(2)), 6)      # 0.01² / 2 + 0.05 · (1 − 0.05 / 2)
        0.0488
    """
    return float(np.sum(w * huber(r)))


def huber(r: np.ndarray) -> np.ndarray:
    """Huber(r) of each residual, unweighted: the terms of `loss`."""
    a = np.abs(r)
    out: np.ndarray = np.where(a <= HUBER, a * a / 2, HUBER * (a - HUBER / 2))
    return out


def _slopes(evaluate: Evaluate, measured: Sequence[Figures], rows: Sequence[tuple[int, str, float]],
            v0: np.ndarray, x0: Sequence[Figures], cols: Iterable[int], jac: np.ndarray | None = None) -> np.ndarray:
    """The slopes d r / d v of every row at `v0`, where dagc's figures are `x0`, in the terms `cols` (the others'
    from `jac`): one probe a simulated term (a unit of `PROBE` up, or down at its bound), `frontend_s`'s known."""
    r0 = _residuals(x0, measured, rows)
    out = np.zeros((len(rows), len(TERMS))) if jac is None else jac.copy()
    for j in cols:
        t = TERMS[j]
        if t == "frontend_s":           # adds to every client TTFT and E2E: d ln x / d v = probe / x
            out[:, j] = [PROBE[t] * 1e3 / x0[i][k] if k.startswith(("ttft", "e2e")) else 0.0 for i, k, _ in rows]
            continue
        v = v0.copy()
        v[j] += 1.0
        if v[j] > bounds_v()[1][j]:
            v[j] -= 2.0
        out[:, j] = (_residuals(list(evaluate(to_terms(v))), measured, rows) - r0) / (v[j] - v0[j])
    return out


def _carried(jac: np.ndarray, rows: Sequence[tuple[int, str, float]], x: Sequence[Figures],
             x_new: Sequence[Figures], dv: np.ndarray) -> npt.NDArray[np.float64]:
    """The slopes `jac` (of ln figures) carried from figures `x` to `x_new`, a step `dv` away, as if each term
    added a time proportional to itself to a figure: a time's slope in a term in seconds divided by the time's
    growth (a rate's, `…_per_s`, by its inverse's), in a scale's logarithm also multiplied by the scale's growth.
    Exact where a figure is such a sum of times (or a count over it)."""
    grow = np.array([(x_new[i][k] / x[i][k] if k.endswith("_per_s") else x[i][k] / x_new[i][k])
                     if x[i][k] > 0 and x_new[i][k] > 0 else 1.0 for i, k, _ in rows])
    scale = np.array([math.exp(d * PROBE[t]) if t in LOG else 1.0 for t, d in zip(TERMS, dv, strict=True)])
    carried: npt.NDArray[np.float64] = jac * grow[:, None] * scale[None, :]
    return carried


def solve_within(r: np.ndarray, jac: np.ndarray, w: np.ndarray, v: np.ndarray, lo: np.ndarray,
                hi: np.ndarray) -> np.ndarray:
    """The move of the fitted terms from `v`, each within its bounds [lo, hi] (`_huber_bounded`)."""
    return _huber_bounded(r, jac, w, lo - v, hi - v)


def _huber_bounded(r: np.ndarray, jac: np.ndarray, w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The move dv within [lo, hi] (and `_STEP` a term) minimising Σ w·|r + jac·dv|, by iteratively reweighted
    least squares; a term that reaches its bound is held there and the others solved again."""
    n = jac.shape[1]
    free = np.ones(n, dtype=bool)
    dv = np.zeros(n)
    for _ in range(n + 1):
        f = np.flatnonzero(free)
        for _ in range(100):
            if not len(f):
                break
            res = r + jac @ dv
            a = np.sqrt(w * np.minimum(1.0, HUBER / np.maximum(np.abs(res), 1e-300)))
            fixed = r + jac[:, ~free] @ dv[~free]
            sol, *_ = np.linalg.lstsq(jac[:, f] * a[:, None], -fixed * a, rcond=None)
            new = dv.copy()
            new[f] = np.clip(sol, -_STEP, _STEP)
            done = np.max(np.abs(new - dv)) < 1e-9
            dv = new
            if done:
                break
        out = free & ((dv < lo) | (dv > hi))
        dv = np.clip(dv, lo, hi)
        if not out.any():
            break
        free &= ~out
    return dv
