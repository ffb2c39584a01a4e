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
the median |error| per quantity uncalibrated (the shipped terms) and calibrated, and their ratio. Target: the
calibrated error at most half the uncalibrated. `--jobs N` fits N folds at once, each in a process of its own (the
figures do not depend on N).
"""

from __future__ import annotations

import argparse
import os
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

from dagc.calibrate.calibrate import fit_jobs  # noqa: E402
from dagc.calibrate.crossval import folds  # noqa: E402
from dagc.calibrate.figures import dagc_figures, quantity_of  # noqa: E402
from dagc.lang.calibration import per_step_terms  # noqa: E402

QUANTITIES = ("tpot", "ttft", "e2e", "throughput")
Errors = dict[str, list[float]]


def _errors(run: fc.Run, terms: dict[str, float] | None) -> Errors:
    """Each measured figure's relative error, by quantity, with the shipped terms (None) or `terms`."""
    plan = fc.lowered(run)
    figs, why = dagc_figures(plan if terms is None else per_step_terms(plan), terms)
    out: Errors = defaultdict(list)
    if why is None:
        for k, m in run.measured.items():
            if k in figs:
                out[quantity_of(k)].append((figs[k] - m) / m)
    return out


def fold(key: tuple, test: list[int]) -> tuple[tuple, list[int], Errors, Errors, str]:
    """One fold of one deployment: its runs `test` tested with the terms calibrated on the deployment's others."""
    runs = bc._groups()[key]
    cal = fit_jobs([bc._job(r) for i, r in enumerate(runs) if i not in test])
    before: Errors = defaultdict(list)
    after: Errors = defaultdict(list)
    for i in test:
        for into, terms in ((before, None), (after, cal.terms)):
            for q, errs in _errors(runs[i], terms).items():
                into[q].extend(errs)
    return key, test, dict(before), dict(after), bc._terms_text(cal.terms)


def _shown(before: Errors, after: Errors) -> str:
    return "; ".join(f"{q} {bc._median_abs(before[q]) * 100:.1f} % → {bc._median_abs(after[q]) * 100:.1f} %"
                     for q in QUANTITIES if before.get(q))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=1, help="folds fitted at once, each in a process (default 1)")
    ap.add_argument("--only", nargs="+", metavar="SOURCE_ID", help="the deployments of these sources only")
    args = ap.parse_args(argv)
    groups = {k: v for k, v in sorted(bc._groups().items()) if not args.only or k[0] in args.only}
    tasks = [(key, test) for key, runs in groups.items() for test in folds(len(runs))]
    print(f"{len(groups)} deployments, {len(tasks)} folds; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs", flush=True)
    t0 = time.perf_counter()
    per: dict[tuple, tuple[Errors, Errors]] = {k: (defaultdict(list), defaultdict(list)) for k in groups}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for key, test, before, after, terms in pool.map(fold, *zip(*tasks, strict=True)):
            ids = ", ".join(groups[key][i].id for i in test)
            print(f"    {key[0]} ({key[1]} {key[2] or ''}) test {ids}: {terms}; {_shown(before, after)}", flush=True)
            for q in before:
                per[key][0][q].extend(before[q])
                per[key][1][q].extend(after.get(q, []))
    pooled: tuple[Errors, Errors] = (defaultdict(list), defaultdict(list))
    for key, (before, after) in per.items():
        first = fc.lowered(groups[key][0])
        print(f"  {key[0]} ({key[1]} {key[2] or ''} {first.cluster.gpus}×{first.cluster.gpu.name} "
              f"{first.strategies[0].text}; {len(groups[key])} runs): median |error| {_shown(before, after)}")
        for q in before:
            pooled[0][q].extend(before[q])
            pooled[1][q].extend(after[q])
    for q in QUANTITIES:
        b, a = bc._median_abs(pooled[0][q]), bc._median_abs(pooled[1][q])
        if pooled[0][q]:
            print(f"corpus: {q:10} test figures {len(pooled[0][q]):3}: median |error| uncalibrated {b * 100:5.1f} %, "
                  f"calibrated {a * 100:5.1f} % ({a / b:.2f}× the uncalibrated)")
    print(f"[{time.perf_counter() - t0:.0f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
