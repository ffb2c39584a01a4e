"""Fit each engine's `ingest_s` — the front end's time per request, queued on its one server (docs/load.md,
"The front end") — on the calibration half of the corpus, by a grid: print, for each value, the median |error| of
the engine's calibration TTFT and throughput figures with every other term at the engine's own.

Usage:
    python bench/fit_ingest.py                          # vllm and sglang, the default grid
    python bench/fit_ingest.py --engine vllm --grid 0,2,4,6,8    # one engine, values in ms
    python bench/fit_ingest.py --jobs 2

The runs are `bench/fit_engine_terms.py`'s `calibration_jobs` (calibration sources only, the releases of the
generation the terms describe). Each value simulates every run again (`bench/fidelity_corpus.py`'s `evaluate`
with the term replaced on the lowered plan, never by editing source); the value printed best is the one of least
TTFT and throughput median |error| together (their sum: a queue that lowers one quantity's error by raising the
other's is not a better front end) — the pick for dagc/plan/engines.py.
A term that moves fewer than three runs' TTFT is not fitted (one deployment's error is not a term's).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fidelity_corpus as fc  # noqa: E402
from fit_engine_terms import MIN_RUNS, calibration_jobs  # noqa: E402

GRID_MS = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
QUANTITIES = ("TTFT", "throughput")


def _evaluate(job: tuple) -> tuple[float, str, dict]:
    sid, run, value = job
    return value, run.id, fc.evaluate(sid, run, None, {"ingest_s": value})


def medians(rows: list[dict]) -> dict[str, tuple[float, int]]:
    """Median |error| (%) and figures of each quantity over `rows`."""
    out = {}
    for q in QUANTITIES:
        errs = [abs(e) for r in rows for k, e in r["errors"].items() if fc.quantity(k) == q]
        out[q] = (statistics.median(errs) * 100 if errs else float("nan"), len(errs))
    return out


def moved(by_value: dict[float, dict[str, dict]]) -> int:
    """The runs whose TTFT moves by 0.5 % or more across the grid."""
    values = sorted(by_value)
    runs = by_value[values[0]]
    count = 0
    for rid in runs:
        ttft = [by_value[v][rid]["dagc"].get("ttft_ms") for v in values]
        if all(t is not None for t in ttft) and max(ttft) > min(ttft) * 1.005:
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=("vllm", "sglang", "trtllm"), help="fit this engine only")
    ap.add_argument("--grid", help="the values to try, in ms, comma-separated")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    half = fc.halves()
    files = fc.load_corpus()
    grid = [float(v) / 1e3 for v in args.grid.split(",")] if args.grid else [v / 1e3 for v in GRID_MS]
    for engine in [args.engine] if args.engine else ["vllm", "sglang", "trtllm"]:
        jobs = [(sid, r) for sid, r in calibration_jobs(files, half, engine) if "ttft_ms" in r.measured]
        if not jobs:
            print(f"{engine}: no calibration runs with a TTFT")
            continue
        by_value: dict[float, dict[str, dict]] = {v: {} for v in grid}
        with ProcessPoolExecutor(args.jobs) as ex:
            for value, rid, row in ex.map(_evaluate, [(sid, r, v) for v in grid for sid, r in jobs]):
                by_value[value][rid] = row
        n = moved(by_value)
        table = {v: medians(list(by_value[v].values())) for v in grid}
        for v in grid:
            print(f"{engine} ingest_s = {v * 1e3:4.1f} ms over {len(jobs)} runs: " + ", ".join(
                f"{q} {m:.1f} % ({k} figures)" for q, (m, k) in table[v].items()), flush=True)
        if n < MIN_RUNS:
            print(f"{engine}: {n} runs' TTFT move with it, fewer than {MIN_RUNS}: not fitted")
            continue
        best = min(grid, key=lambda v: table[v]["TTFT"][0] + table[v]["throughput"][0])
        print(f"{engine}: ingest_s = {best * 1e3:.1f} ms ({n} runs' TTFT move with it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
