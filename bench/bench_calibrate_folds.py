"""How much a calibration helps on the public corpus, every run of a deployment tested once.

Usage:
    python bench/bench_calibrate_folds.py [--jobs N] [--only SOURCE_ID ...]

`bench/bench_calibrate.py --corpus` splits each deployment's runs once (1st, 3rd, 5th … calibrated on, the others
tested; `--other-half` the other way round): half of the runs are never tested, and each calibration sees half of
them. Here each deployment's runs (the groups of `bench_calibrate._groups`: a source, an engine and release, the plan
but its workload, 5 runs at least) are split into the folds `dagc calibrate` cross-validates with
(`dagc.calibrate.crossval.folds`: each run its own fold up to 10 runs), and each fold is tested with dagc's terms
calibrated on the deployment's other runs (`dagc.calibrate.calibrate.fit_jobs`, the command's fit and its choice by
cross-validation). Every run is tested once, by a calibration that never saw it. Prints, per deployment and pooled,
the median |error| per quantity uncalibrated (the shipped terms) and calibrated, and their ratio; pooled, the same of
the offline bursts' figures (`throughput@burst`, …: every request sent at once) and the other runs' (`…@other`), and
how the tested bursts' calibrated errors of throughput, TTFT and TPOT go together (docs/calibrate.md, "Where the
folds stand"). Target: the
calibrated error at most half the uncalibrated. `--jobs N` fits N folds at once, each in a process of its own (the
figures do not depend on N).

`--bounds` prints instead, per deployment and pooled, two bounds on what a calibration of its runs can reach
(docs/calibrate.md, "What the folds can reach"): the error left when each figure is corrected by the median of the
deployment's other runs' log-ratios dagc / measured on that figure (`shift_bound`: a free multiplier of every
figure, fitted leave one out — what a calibration reaches if the deployment's error is one constant factor a
figure), and the error of the fit of the five terms on every run of the deployment, tested on those same runs
(`in_sample`: the fit before the cross-validated choice, the test runs seen — what the terms can express at all).

`--ttft-scale` prints, beside each fold's figures, what a sixth term would buy that `dagc calibrate` does not fit
(docs/calibrate.md, "A scale of TTFT: measured, not shipped"): each test run's TTFT divided by the median of the
calibration runs' TTFT ratios dagc / measured at their calibrated terms (`ttft_scale`: a free multiplier of the TTFT
a client sees, fitted on the calibration runs alone, bursts too), taken always or only where it predicts the
calibration runs' own TTFT, each left out in turn, no worse than without it.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import bench_calibrate as bc  # noqa: E402
import fidelity_corpus as fc  # noqa: E402

from dagc.calibrate import calibrate as cc  # noqa: E402
from dagc.calibrate.calibrate import fit_jobs  # noqa: E402
from dagc.calibrate.crossval import folds  # noqa: E402
from dagc.calibrate.figures import dagc_figures, quantity_of  # noqa: E402
from dagc.calibrate.match import queued_by_design  # noqa: E402
from dagc.calibrate.select import MIN_RUNS  # noqa: E402
from dagc.calibrate.solve import TERMS, fit_terms  # noqa: E402
from dagc.lang.calibration import per_step_terms  # noqa: E402

QUANTITIES = ("tpot", "ttft", "e2e", "throughput")
TTFT_KEYS = ("ttft_ms", "ttft_ms_median")     # the TTFT figures a scale is fitted on (not the p99s)
Errors = dict[str, list[float]]


MIRROR = ("output_tokens_per_s", "ttft_ms", "tpot_ms")     # a burst's figures whose calibrated errors are correlated


def _errors(run: fc.Run, terms: dict[str, float] | None) -> Errors:
    """Each measured figure's relative error, by quantity, with the shipped terms (None) or `terms`; and by quantity
    and the run's kind (`q@burst`: every request sent at once, `q@other`), and by figure and kind (`figure k@burst`);
    with `terms`, a burst that measured every
    figure of `MIRROR` also gives their ln(dagc / measured) (`ln output_tokens_per_s`, …)."""
    plan = fc.lowered(run)
    figs, why = dagc_figures(plan if terms is None else per_step_terms(plan), terms)
    out: Errors = defaultdict(list)
    if why is None:
        burst = queued_by_design(bc._job(run).run)
        for k, m in run.measured.items():
            if k in figs:
                out[quantity_of(k)].append((figs[k] - m) / m)
                out[f"{quantity_of(k)}@{'burst' if burst else 'other'}"].append((figs[k] - m) / m)
                out[f"figure {k}@{'burst' if burst else 'other'}"].append((figs[k] - m) / m)
        if terms is not None and burst and all(k in run.measured and k in figs for k in MIRROR):
            for k in MIRROR:
                out[f"ln {k}"].append(math.log(figs[k] / run.measured[k]))
    return out


def ttft_scale(logs: list[list[float]], gated: bool) -> float:
    """The logarithm of a TTFT scale fitted on calibration runs (`logs`: each run's TTFT log-ratios ln(dagc /
    measured) at its calibrated terms, `TTFT_KEYS`): the median of all of them, from 3 runs (`MIN_RUNS`) with a TTFT;
    `gated`, only where each run's median |log-ratio| with the scale of the other runs, over the runs, is at most
    their median without one (0: no scale).

    Example:
        >>> round(ttft_scale([[-0.4, -0.3], [-0.2], [-0.5, -0.5]], gated=True), 4)      # every run left out helped
        -0.4
        >>> ttft_scale([[-0.6], [0.1], [0.2]], gated=True), ttft_scale([[-0.6], [0.1], [0.2]], gated=False)  # split
        (0.0, 0.1)
        >>> ttft_scale([[-0.4], [-0.4]], gated=False)       # 2 runs: none
        0.0
    """
    runs = [x for x in logs if x]
    if len(runs) < MIN_RUNS:
        return 0.0
    s = statistics.median(v for x in runs for v in x)
    if not gated:
        return s
    without = [statistics.median(abs(v) for v in x) for x in runs]
    left_out = []
    for i, x in enumerate(runs):
        other = statistics.median(v for j, y in enumerate(runs) if j != i for v in y)
        left_out.append(statistics.median(abs(v - other) for v in x))
    return s if statistics.median(left_out) <= statistics.median(without) else 0.0


def _ttft_logs(measured: dict[str, float], figures: dict[str, float]) -> list[float]:
    return [math.log(figures[k] / measured[k]) for k in TTFT_KEYS if k in measured and k in figures]


def _scaled(run: fc.Run, terms: dict[str, float], scale: float) -> list[float]:
    """The test run's TTFT errors (`TTFT_KEYS` and p99) with its calibrated terms, divided by e^`scale`."""
    plan = per_step_terms(fc.lowered(run))
    figs, why = dagc_figures(plan, terms)
    return [] if why is not None else [figs[k] * math.exp(-scale) / m - 1 for k, m in run.measured.items()
                                        if k in figs and quantity_of(k) == "ttft"]


def fold(key: tuple, test: list[int], scales: bool = False) -> tuple[tuple, list[int], Errors, Errors, str]:
    """One fold of one deployment: its runs `test` tested with the terms calibrated on the deployment's others;
    `scales`, the test runs' TTFT errors with a TTFT scale too (`ttft_scale`, always and gated: the `after`'s keys
    `ttft+scale` and `ttft+gated scale`)."""
    runs = bc._groups()[key]
    cal = fit_jobs([bc._job(r) for i, r in enumerate(runs) if i not in test])
    before: Errors = defaultdict(list)
    after: Errors = defaultdict(list)
    for i in test:
        for into, terms in ((before, None), (after, cal.terms)):
            for q, errs in _errors(runs[i], terms).items():
                into[q].extend(errs)
    said = f"{bc._terms_text(cal.terms)}; {bc._kv_text(cal.kv)}"
    if scales:
        logs = [_ttft_logs(j.run.measured, dict(a)) for j, a in zip(cal.jobs, cal.after, strict=True)]
        for name, gated in (("ttft+scale", False), ("ttft+gated scale", True)):
            s = ttft_scale(logs, gated)
            said += f"; {name.split('+')[1]} ×{math.exp(-s):.3f}"
            for i in test:
                after[name].extend(_scaled(runs[i], cal.terms, s))
    return key, test, dict(before), dict(after), said


def shift_bound(ratios: list[dict[str, float]]) -> Errors:
    """The relative errors left, by quantity, when each run's figure (its ratio dagc / measured in `ratios`, one dict
    a run of one deployment) is divided by the geometric median of the other runs' ratios on that figure — the
    median of their logarithms (a figure no other run measured is left as it is).

    Example:
        >>> e = shift_bound([{"tpot_ms": 1.2}, {"tpot_ms": 1.2}, {"tpot_ms": 0.8}])
        >>> [round(x, 4) for x in e["tpot"]]        # 1.2 / √(1.2 · 0.8) − 1, twice; 0.8 / 1.2 − 1
        [0.2247, 0.2247, -0.3333]
    """
    out: Errors = defaultdict(list)
    for i, run in enumerate(ratios):
        for k, x in run.items():
            others = [math.log(r[k]) for j, r in enumerate(ratios) if j != i and k in r]
            out[quantity_of(k)].append(x * math.exp(-statistics.median(others) if others else 0.0) - 1)
    return dict(out)


def in_sample(runs: list[fc.Run]) -> Errors:
    """The deployment's runs' errors by quantity at the fit of the five terms on all of them (the fit `dagc
    calibrate` makes before its cross-validated choice: `dagc.calibrate.solve.fit_terms`)."""
    jobs = [cc.per_step(cc.own_terms(bc._job(r))) for r in runs]
    evaluate = cc._Evaluator(jobs, 1)
    try:
        own = jobs[0].plan.cluster.engine.terms
        start = {t: float(getattr(own, t)) for t in TERMS}
        measured = [j.run.measured for j in jobs]
        before = evaluate(start)
        fit = fit_terms(evaluate, measured, [not queued_by_design(j.run) for j in jobs], start, at_start=before)
    finally:
        evaluate.close()
    out: Errors = defaultdict(list)
    for m, x in zip(measured, fit.at, strict=True):
        for k, v in m.items():
            if k in x:
                out[quantity_of(k)].append(x[k] / v - 1)
    return dict(out)


def bounds(groups: dict[tuple, list[fc.Run]]) -> None:
    """`--bounds`: per deployment and pooled, the uncalibrated error against `shift_bound`'s and `in_sample`'s."""
    pooled: tuple[Errors, Errors, Errors] = (defaultdict(list), defaultdict(list), defaultdict(list))
    for key, runs in groups.items():
        ratios = []
        for r in runs:
            figs, why = dagc_figures(fc.lowered(r))
            ratios.append({k: figs[k] / m for k, m in r.measured.items() if why is None and k in figs})
        before: Errors = defaultdict(list)
        for r in ratios:
            for k, x in r.items():
                before[quantity_of(k)].append(x - 1)
        fitted, shifted = in_sample(runs), shift_bound(ratios)
        first = fc.lowered(runs[0])
        print(f"  {key[0]} ({key[1]} {key[2] or ''} {first.cluster.gpus}×{first.cluster.gpu.name} "
              f"{first.strategies[0].text}; {len(runs)} runs): median |error| uncalibrated → each figure "
              f"shifted by the others' median → the fit on every run: " + "; ".join(
                  f"{q} {bc._median_abs(before[q]) * 100:.1f} % → {bc._median_abs(shifted[q]) * 100:.1f} % → "
                  f"{bc._median_abs(fitted[q]) * 100:.1f} %" for q in QUANTITIES if before.get(q)), flush=True)
        for into, errs in zip(pooled, (before, shifted, fitted), strict=True):
            for q, e in errs.items():
                into[q].extend(e)
    for q in QUANTITIES:
        b, s, f = (bc._median_abs(p[q]) for p in pooled)
        if pooled[0][q]:
            print(f"corpus: {q:10} figures {len(pooled[0][q]):3}: median |error| uncalibrated {b * 100:5.1f} %, "
                  f"shifted {s * 100:5.1f} % ({s / b:.2f}×), the fit on every run {f * 100:5.1f} % ({f / b:.2f}×)")


SHOWN = (*QUANTITIES, "ttft+scale", "ttft+gated scale")    # `after`'s keys: the quantities, `--ttft-scale`'s


def _shown(before: Errors, after: Errors) -> str:
    return "; ".join(f"{q} {bc._median_abs(before[q.split('+')[0]]) * 100:.1f} % → "
                     f"{bc._median_abs(after[q]) * 100:.1f} %" for q in SHOWN if before.get(q.split("+")[0])
                     and after.get(q))


def _pooled_lines(pooled: tuple[Errors, Errors]) -> None:
    """The pooled ratios: per quantity (and with `--ttft-scale`'s scales), per quantity and kind of run (the offline
    bursts', the others'), per figure the runs measured and kind of run (`figure itl_ms_median@burst`: which figures
    keep the error), and the correlation of the bursts' calibrated errors (`MIRROR`)."""
    for q in (*SHOWN, *(f"{q}@{kind}" for kind in ("burst", "other") for q in QUANTITIES)):
        b, a = bc._median_abs(pooled[0][q.split("+")[0]]), bc._median_abs(pooled[1][q])
        if pooled[0][q.split("+")[0]] and pooled[1][q]:
            print(f"corpus: {q:10} test figures {len(pooled[1][q]):3}: median |error| uncalibrated {b * 100:5.1f} %, "
                  f"calibrated {a * 100:5.1f} % ({a / b:.2f}× the uncalibrated)")
    for q in sorted(q for q in pooled[1] if q.startswith("figure ")):
        b, a = bc._median_abs(pooled[0][q]), bc._median_abs(pooled[1][q])
        print(f"corpus: {q:34} test figures {len(pooled[1][q]):3}: median |error| uncalibrated {b * 100:5.1f} %, "
              f"calibrated {a * 100:5.1f} %")
    thr, ttft, tpot = (pooled[1][f"ln {k}"] for k in MIRROR)
    if len(thr) > 2:
        print(f"corpus: the {len(thr)} tested bursts' calibrated ln(dagc / measured): correlation of throughput and "
              f"TTFT {statistics.correlation(thr, ttft):+.2f}, of throughput and TPOT "
              f"{statistics.correlation(thr, tpot):+.2f}; throughput above the measured in "
              f"{sum(x > 0 for x in pooled[1]['throughput@burst'])} of {len(pooled[1]['throughput@burst'])} figures")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=1, help="folds fitted at once, each in a process (default 1)")
    ap.add_argument("--only", nargs="+", metavar="SOURCE_ID", help="the deployments of these sources only")
    ap.add_argument("--bounds", action="store_true", help="what a calibration can reach at best (module doc)")
    ap.add_argument("--ttft-scale", action="store_true", help="the TTFT with a TTFT scale too (module doc)")
    args = ap.parse_args(argv)
    groups = {k: v for k, v in sorted(bc._groups().items()) if not args.only or k[0] in args.only}
    if args.bounds:
        bounds(groups)
        return 0
    tasks = [(key, test) for key, runs in groups.items() for test in folds(len(runs))]
    print(f"{len(groups)} deployments, {len(tasks)} folds; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs", flush=True)
    t0 = time.perf_counter()
    per: dict[tuple, tuple[Errors, Errors]] = {k: (defaultdict(list), defaultdict(list)) for k in groups}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for key, test, before, after, terms in pool.map(fold, *zip(*tasks, strict=True),
                                                         [args.ttft_scale] * len(tasks)):
            ids = ", ".join(groups[key][i].id for i in test)
            print(f"    {key[0]} ({key[1]} {key[2] or ''}) test {ids}: {terms}; {_shown(before, after)}", flush=True)
            for q in before:
                per[key][0][q].extend(before[q])
            for q in after:
                per[key][1][q].extend(after[q])
    pooled: tuple[Errors, Errors] = (defaultdict(list), defaultdict(list))
    for key, (before, after) in per.items():
        first = fc.lowered(groups[key][0])
        print(f"  {key[0]} ({key[1]} {key[2] or ''} {first.cluster.gpus}×{first.cluster.gpu.name} "
              f"{first.strategies[0].text}; {len(groups[key])} runs): median |error| {_shown(before, after)}")
        for q in before:
            pooled[0][q].extend(before[q])
        for q in after:
            pooled[1][q].extend(after[q])
    _pooled_lines(pooled)
    print(f"[{time.perf_counter() - t0:.0f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
