"""A calibration: the engine's terms fitted on measured runs, cross-validated.

Input: `Job`s — each a measured run (`dagc.calibrate.runs`) with the plan it measured (lowered, its `--set`
overrides applied). Output: `Calibrated` — the fitted terms, dagc's figures before and after, the figures each run
gets from a fit that left it out, and the calibration file's document (`Calibrated.document`, the format of
`dagc.lang.calibration.CalibrationFile`, docs/calibrate.md) — or a `PlanError` (E110: a run that is not of its
plan, runs of different deployments, a plan dagc refuses).

The terms — `step_s`, `frontend_s` and the kernel-time multipliers `compute_time_scale` and
`memory_time_scale` — are fitted together, robustly and within bounds, on every run's TPOT and output tokens/s and
the TTFT of the runs whose client does not send every request at once (`match.queued_by_design`: there TTFT is the
queue's); a term the runs cannot tell apart keeps the engine's own value (`dagc.calibrate.solve`). The
cross-validation leaves one run out at a time (more than 10 runs: 10 folds): its figures are predicted with the
terms the other runs give (`dagc.calibrate.crossval.predicted`), from the fit's linearisation, and their log-ratios
ln(dagc / measured), by the error ledger's quantity, are the calibration's residuals, which a plan's bands take
(`dagc.verdict.bands`).
Before them, the KV cache's share (`dagc.calibrate.kv_share`): where the runs' offline bursts decoded clearly fewer
requests at once than dagc's, the engine's KV cache held that share of dagc's, and the terms are fitted (and chosen
against the engine's own) on the plans with it; the file's `terms` carry it as `kv_cache_share`.
The terms taken are the cross-validation's choice among every subset of the fitted terms, a share of the way, and
the engine's own (`dagc.calibrate.crossval`): a calibrated term only where it predicts the typical run left out
clearly better than the engine's own terms do.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from ..diagnostics import PlanError, code, quote
from ..interrupts import ignore_interrupts
from ..jsontypes import JSON, JSONObject
from ..lang.calibration import KV_SHARE_TERM, MAX_RESIDUAL, per_step_terms, uncalibrated_cluster
from ..plan.calibration import CALIBRATION_FORMAT, CALIBRATION_QUANTITIES
from ..plan.plan import Plan
from ..rules.syntax import run_refusal
from ..schedule.timer import deployment_key
from ..units import count_text
from .crossval import CV_MIN_RUNS, MARGIN, MAX_FOLDS, CvChoice, choose_by_cv, folds
from .deployed import instance_gpus, run_serving
from .figures import dagc_figures, quantity_of
from .kv_share import KvShare, binding, kv_share
from .match import PLAN_SHOWN_CHARS, disagreements, queued_by_design
from .measured import MeasuredRun
from .solve import TERMS, Evaluate, JointFit, fit_terms

if TYPE_CHECKING:    # processes are started only for a calibration that asks for more than one
    from concurrent.futures import ProcessPoolExecutor

__all__ = ["Calibrated", "Job", "calibrate", "fit_jobs", "instance_gpus", "own_terms"]   # instance_gpus: `.deployed`'s

ABOUT = "dagc calibration: engine terms fitted on measured runs, with cross-validated residuals (docs/calibrate.md)"
# a calibration whose runs are too few to cross-validate says so where the cross-validated figures would be (until
# 2026-12-02 `runs[].cross_validated` copied the calibrated figures, which read as a cross-validation that agreed)
ABOUT_UNVALIDATED = ("dagc calibration: engine terms fitted on measured runs, not cross-validated: its residuals are "
                     "the calibrated ones (docs/calibrate.md)")


@dataclass(frozen=True)
class Job:
    """A measured run and the plan it measured (`plan_shown`: its file and `--set`s, for messages)."""

    run: MeasuredRun
    plan: Plan
    plan_shown: str
    # the file of the plan's `calibration from "FILE"`, left out of the fit (`own_terms`); None: the plan names none
    ignored_calibration: str | None = None


@dataclass(frozen=True)
class Calibrated:
    """The fit's outcome: the terms, the figures at the start and at the fit, the left-out predictions."""

    jobs: tuple[Job, ...]
    fit: JointFit
    start: Mapping[str, float]
    before: tuple[Mapping[str, float], ...]         # dagc's figures at the engine's own terms
    after: tuple[Mapping[str, float], ...]          # at the fitted terms
    cross_validated: tuple[Mapping[str, float], ...]
    evaluations: int = 0
    residuals: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    cv: CvChoice | None = None          # the cross-validation's choice of terms (`dagc.calibrate.crossval`)
    kv: KvShare = KvShare(1.0, 0, False)    # the KV cache the engine held, fitted first (`dagc.calibrate.kv_share`)

    @property
    def terms(self) -> dict[str, float]:
        """The fitted terms and the KV cache's share (`kv_cache_share`, 1 when not taken)."""
        return dict(self.fit.terms) | {KV_SHARE_TERM: self.kv.share}

    @property
    def kept(self) -> tuple[str, ...]:
        """The terms the runs could not tell apart: the engine's own values."""
        return self.fit.kept

    @property
    def cross_validates(self) -> bool:
        """Whether the fit had terms to validate and a fold left out leaves the `CV_MIN_RUNS` runs a refit needs: a
        calibration of 3 runs predicts each left-out run at the fitted terms, and its cross-validated errors are its
        calibrated ones (`dagc.calibrate.crossval`)."""
        if self.cv is None or not self.cv.tried or not self.cv.tried[0].names:
            return False
        weighed = {i for i, _, x in self.fit.rows if x > 0}
        return any(len(weighed - set(f)) >= CV_MIN_RUNS for f in folds(len(self.jobs)))

    def chosen(self) -> JSONObject:
        """The file's `fit.chosen`: the terms the cross-validation took, how far, and each candidate's loss."""
        cv = self.cv
        if cv is None:
            return {}
        def ratio(x: float) -> float | None:        # a run the engine's own terms predict exactly: JSON's null
            return x if math.isfinite(x) else None
        return {"terms": list(cv.names), "share": cv.share, "loss": cv.loss, "loss_uncalibrated": cv.uncalibrated,
                "median_ratio": ratio(cv.ratio), "margin": MARGIN, "folds": len(folds(len(self.jobs))),
                "candidates": [{"terms": list(c.names), "share": c.share, "loss": c.loss,
                                "median_ratio": ratio(c.ratio)} for c in cv.tried]}

    def errors(self, which: str) -> dict[str, list[float]]:
        """quantity → the relative errors (dagc − measured) / measured of `before`, `after` or `cross_validated`."""
        out: dict[str, list[float]] = {}
        for j, figs in zip(self.jobs, getattr(self, which), strict=True):
            for k, m in j.run.measured.items():
                if k in figs:
                    out.setdefault(quantity_of(k), []).append((figs[k] - m) / m)
        return out

    def document(self) -> JSONObject:
        """The calibration file (format 1, docs/calibrate.md)."""
        first = self.jobs[0].plan
        runs = [j.run for j in self.jobs]

        def span(values: list[float]) -> list[JSON] | None:
            return [min(values), max(values)] if values else None

        engines = [g for j in self.jobs for g in instance_gpus(j.plan)]

        def median_abs(which: str) -> JSON:
            return {q: statistics.median(abs(e) for e in es) for q, es in self.errors(which).items()}

        return {
            "format": CALIBRATION_FORMAT, "about": ABOUT if self.cross_validates else ABOUT_UNVALIDATED,
            "engine": first.cluster.engine.name, "release": first.cluster.engine.release,
            "gpu": first.cluster.gpu.name, "gpus": first.cluster.gpus,
            "instance_gpus": [min(engines), max(engines)] if engines else None,
            "model": first.model.name,
            "terms": dict[str, JSON](self.terms),
            "fit": {"method": "Huber loss (squared within 0.05, linear beyond) of ln(dagc / measured), linearised (a "
                              "probe a term, slopes carried to each step and secant-updated), bounded: step_s 0-1 s, "
                              "frontend_s 0-60 s, the time scales 0.2-5, step_request_s 0-5 ms; on every run's TPOT "
                              "and output tokens/s and the TTFT of the runs not sent all at once; runs too few for "
                              "every term at once fit each first on its quantity (TPOT: memory_time_scale, "
                              "step_request_s, step_s; throughput: compute_time_scale; TTFT: frontend_s), then all "
                              "together, a multiplier a stage takes to its bound left out; a term the runs cannot "
                              "tell apart keeps the engine's own value; before them, the KV cache's share "
                              "(kv_cache_share)",
                    "cross_validation": ("leave one run out" if len(self.jobs) <= MAX_FOLDS else
                                         f"{MAX_FOLDS} folds") if self.cross_validates else
                    f"none: a fit without one of {count_text(len(self.jobs), 'run')} has too few to fit a term",
                    "chosen": self.chosen(),
                    KV_SHARE_TERM: self.kv.document(),
                    "start": dict[str, JSON](self.start),
                    "runs_moved": dict(self.fit.moved),
                    "kept": list(self.kept), "kept_because": dict(self.fit.why_kept),
                    "sets_tried": [{"terms": list(n), "loss": x} for n, x in self.fit.tried],
                    "stages": [{"quantity": g.quantity, "terms": list(g.fitted), "loss_before": g.before,
                                "loss_after": g.after} for g in self.fit.stages],
                    "at_bound": {t: {"side": b.side, "run": self.jobs[b.run].run.id, "figure": b.key,
                                     "likelier": b.likelier} for t, b in self.fit.at_bound().items()},
                    "evaluations": self.evaluations,
                    "median_abs_error": {"uncalibrated": median_abs("before"), "calibrated": median_abs("after"),
                                         "cross_validated": median_abs("cross_validated") if self.cross_validates
                                         else None}},
            "runs": [{"id": r.id, "file": r.path, "tool": r.tool, "requests": r.requests, "prompt": r.prompt,
                      "generate": r.generate, "rate": r.rate, "concurrency": r.concurrency,
                      "measured": dict(r.measured), "dagc": {k: a[k] for k in r.measured if k in a},
                      "cross_validated": {k: c[k] for k in r.measured if k in c} if self.cross_validates else None,
                      "serving": run_serving(j.plan)}
                     for j, r, a, c in zip(self.jobs, runs, self.after, self.cross_validated, strict=True)],
            "range": {"prompt": span([r.prompt for r in runs]), "generate": span([r.generate for r in runs]),
                      "concurrency": span([float(r.concurrency) for r in runs
                                           if r.concurrency is not None and r.concurrency < r.requests]),
                      "rate": span([r.rate for r in runs if r.rate is not None]),
                      "in_flight": span([x for r in runs if (x := r.in_flight) is not None])},
            "residuals": {q: list(v) for q, v in self.residuals.items()},
        }


def _fail(job: Job, message: str, hint: str | None = None) -> PlanError:
    return PlanError([run_refusal(message, job.run.span("requests"), hint)])


def _same_deployment(jobs: Sequence[Job]) -> None:
    def key(p: Plan) -> tuple[str, str | None, str, str]:
        return (p.cluster.engine.name, p.cluster.engine.release, p.cluster.gpu.name, p.model.name)
    first = key(jobs[0].plan)
    for j in jobs[1:]:
        if key(j.plan) != first:
            raise _fail(j, f"run {quote(j.run.id)}'s plan {code(j.plan_shown, PLAN_SHOWN_CHARS)} is of another "
                        f"deployment than run {quote(jobs[0].run.id)}'s: engine, release, GPU, model "
                        f"{' / '.join(str(x) for x in key(j.plan))} against {' / '.join(str(x) for x in first)}",
                        "a calibration is of one engine release, GPU and model: calibrate each apart")


_PLANS: tuple[Plan, ...] = ()          # a worker's plans of the jobs (`_Evaluator`), sent once


def _worker_start(plans: tuple[Plan, ...]) -> None:
    """A worker keeps the jobs' plans (each evaluation sends it only a job's index and the terms) and leaves
    Ctrl-C to the command, which stops the pool (no worker prints a traceback)."""
    global _PLANS
    _PLANS = plans
    ignore_interrupts()


# What a process hands back (`_figures_in_worker`): each job's figures and why there are none, and the CPU seconds
_Found = tuple[list[tuple[dict[str, float], str | None]], float]


def _figures_in_worker(args: tuple[tuple[int, ...], dict[str, float]]) -> _Found:
    """Jobs' figures at the terms, and the CPU seconds they took together."""
    import time
    started = time.process_time()
    out = [dagc_figures(_PLANS[i], args[1]) for i in args[0]]
    return out, time.process_time() - started


class _Evaluator:
    """dagc's figures of every job at given terms, each set of terms evaluated once; the jobs in `workers`
    processes when more than one (each run's simulation is independent of the others'): the runs of one
    deployment (the plan but its traffic, batch, micro-batches and overlap: they share their op prices, DAGs and
    step prices, `dagc.schedule.timer.shared_timer`) a task — with several processes, in pieces of at most a
    (2 × processes)th of the runs, so that three deployments on two processes do not leave one process a third of
    the work; each piece prices its
    deployment's ops again, a few tens of milliseconds. The first set of terms gives each task to the first process
    free, which keeps it for every later set: it holds the task's op templates, priced with the engine's terms open,
    and DAGs."""

    def __init__(self, jobs: Sequence[Job], workers: int = 1) -> None:
        self.jobs = jobs
        self.seen: dict[tuple[float, ...], list[Mapping[str, float]]] = {}
        self.pools: list[ProcessPoolExecutor] = []
        groups: dict[Hashable, list[int]] = {}
        for i, j in enumerate(jobs):
            groups.setdefault(deployment_key(j.plan), []).append(i)
        self.tasks = [tuple(g) for g in groups.values()]
        if workers > 1:
            size = max(1, math.ceil(len(jobs) / (2 * workers)))
            self.tasks = [t[i:i + size] for t in self.tasks for i in range(0, len(t), size)]
        self.home: dict[tuple[int, ...], int] = {}      # task → the process that keeps it
        if workers > 1 and len(self.tasks) > 1:
            from concurrent.futures import ProcessPoolExecutor
            plans = tuple(j.plan for j in jobs)
            self.pools = [ProcessPoolExecutor(max_workers=1, initializer=_worker_start, initargs=(plans,))
                          for _ in range(min(workers, len(self.tasks)))]

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown(wait=True, cancel_futures=True)

    def _found(self, terms: Mapping[str, float]) -> list[tuple[dict[str, float], str | None]]:
        if not self.pools:
            return [dagc_figures(j.plan, terms) for j in self.jobs]
        from concurrent.futures import FIRST_COMPLETED, Future, wait
        args = dict(terms)
        found: dict[int, tuple[dict[str, float], str | None]] = {}
        if self.home:       # each process its own tasks, in one batch
            mine = [tuple(i for t in self.tasks if self.home[t] == k for i in t) for k in range(len(self.pools))]
            for task, future in [(m, pool.submit(_figures_in_worker, (m, args)))
                                 for m, pool in zip(mine, self.pools, strict=True) if m]:
                found.update(zip(task, future.result()[0], strict=True))
            return [found[i] for i in range(len(self.jobs))]
        # the first set of terms: each task to the first process free
        pending = list(self.tasks)
        running: dict[Future[_Found], tuple[int, tuple[int, ...]]] = {}     # → its process and task
        while pending or running:
            busy = {k for k, _ in running.values()}
            for k in [k for k in range(len(self.pools)) if k not in busy][:len(pending)]:
                task = pending.pop(0)
                running[self.pools[k].submit(_figures_in_worker, (task, args))] = (k, task)
                self.home[task] = k
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                _, task = running.pop(future)
                found.update(zip(task, future.result()[0], strict=True))
        return [found[i] for i in range(len(self.jobs))]

    def __call__(self, terms: Mapping[str, float]) -> list[Mapping[str, float]]:
        key = tuple(round(terms[t], 12) for t in TERMS) + (round(terms.get(KV_SHARE_TERM, 1.0), 12),)
        if key not in self.seen:
            out: list[Mapping[str, float]] = []
            for j, (figs, why) in zip(self.jobs, self._found(terms), strict=True):
                if why is not None:
                    raise _fail(j, f"dagc gives no figures for run {quote(j.run.id)}'s plan "
                                f"{code(j.plan_shown, PLAN_SHOWN_CHARS)}: {quote(why, 200)}",
                                "check the plan with `dagc check` first")
                out.append(figs)
            self.seen[key] = out
        return self.seen[key]


def calibrate(jobs: Sequence[Job], workers: int = 1) -> Calibrated:
    """Fit the engine's terms on the jobs' runs and cross-validate them.

    Raises:
        PlanError: E110 for every run that is not of its plan; runs of several deployments; a plan dagc gives no
            figures for.
    """
    if not jobs:
        raise ValueError("no runs to calibrate on")
    diags = [d for j in jobs for d in disagreements(j.run, j.plan, j.plan_shown)]
    if diags:
        raise PlanError(diags)
    _same_deployment(jobs)
    return fit_jobs(jobs, workers)


def own_terms(job: Job) -> Job:
    """The job with its plan's `calibration from "FILE"` left out: a calibration fits the engine's own terms and
    compares with them (its `start`, `was` and uncalibrated errors), not a fit it would take for them."""
    cal = job.plan.calibration
    if cal is None:
        return job
    plan = job.plan.model_copy(update={"cluster": uncalibrated_cluster(job.plan.cluster), "calibration": None})
    return replace(job, plan=plan, ignored_calibration=cal.file)


def per_step(job: Job) -> Job:
    """The job with its engine's time per layer folded into its time per step (`per_step_terms`): the fit's
    `step_s` is all the time beyond the kernels a step, which it may lower below the layers' share."""
    return replace(job, plan=per_step_terms(job.plan))


def fit_jobs(jobs: Sequence[Job], workers: int = 1) -> Calibrated:
    """`calibrate` on jobs already matched to their plans (bench/bench_calibrate.py's corpus runs, whose plans
    are their sources' own), their figures simulated in `workers` processes."""
    jobs = [per_step(own_terms(j)) for j in jobs]
    evaluate = _Evaluator(jobs, workers)
    try:
        return _fit(jobs, evaluate)
    finally:
        evaluate.close()


def _fit(jobs: Sequence[Job], evaluate: _Evaluator) -> Calibrated:
    own = jobs[0].plan.cluster.engine.terms
    start = {t: float(getattr(own, t)) for t in TERMS}
    measured = [j.run.measured for j in jobs]
    before = evaluate(start)
    # the KV cache's share first, on its own (`dagc.calibrate.kv_share`); the terms are fitted, and chosen against
    # the engine's own, on the plans with it
    kv = kv_share([j.run for j in jobs], before)
    base = evaluate({**start, KV_SHARE_TERM: kv.share}) if kv.taken else before
    kv = binding(kv, [j.run for j in jobs], before, base)      # a share that binds no burst is not taken
    base = base if kv.taken else before
    at: Evaluate = evaluate if not kv.taken else lambda terms: evaluate({**terms, KV_SHARE_TERM: kv.share})
    fit = fit_terms(at, measured, [not queued_by_design(j.run) for j in jobs], start, at_start=base)
    cv = choose_by_cv(fit, np.array([math.log(base[i][k] / measured[i][k]) for i, k, _ in fit.rows]))
    fit = _taken(fit, cv, at, measured)
    cross = []
    for i, figs in enumerate(fit.at):      # each run's figures as the choice's fit without its fold predicts them
        out = dict(figs)
        out.update({k: measured[i][k] * math.exp(float(r)) for (n, k, _), r in zip(fit.rows, cv.residuals,
                                                                               strict=True) if n == i})
        cross.append(out)
    residuals: dict[str, list[float]] = {q: [] for q in CALIBRATION_QUANTITIES}
    for j, c in zip(jobs, cross, strict=True):
        for k, m in j.run.measured.items():
            if k in c:
                r = math.log(max(c[k], 1e-9 * m) / m)
                residuals[quantity_of(k)].append(round(max(-MAX_RESIDUAL, min(MAX_RESIDUAL, r)), 6))
    return Calibrated(tuple(jobs), fit, start, tuple(before), fit.at, tuple(cross),
                      len(evaluate.seen), {q: tuple(v) for q, v in residuals.items() if v}, cv, kv)


def _taken(fit: JointFit, cv: CvChoice, evaluate: Evaluate, measured: Sequence[Mapping[str, float]]) -> JointFit:
    """The fit as the cross-validation takes it (`dagc.calibrate.crossval`): the same when it takes every fitted
    term all the way, else its terms simulated, the terms it dropped kept (`why_kept` `cv`)."""
    if (cv.names, cv.share) == (fit.fitted, 1.0):
        return fit
    at = tuple(evaluate(cv.terms))
    r = np.array([math.log(max(at[i][k], 1e-12) / measured[i][k]) for i, k, _ in fit.rows])
    why = {**fit.why_kept, **{t: "cv" for t in fit.fitted if t not in cv.names}}
    return replace(fit, terms=cv.terms, fitted=cv.names, at=at, r=r, why_kept=why)
