"""Where `dagc search PLAN --rate R -q` spends what `dagc search PLAN -q` does not: the plans and rates of
bench/bench_traffic.py (`--only rate`), each searched in a process of its own, its CPU seconds split.

Run: python bench/bench_rate_phases.py [--plan NAME]
(pinned to one core, as measured in docs/load.md: `taskset -c 1 python bench/bench_rate_phases.py`)

Each search runs in a fresh process (`--one FILE [RATE]`, so that nothing dagc memoises is shared), timed by
`time.process_time` from the command's start, imports apart. Printed per plan, in CPU seconds:

- `rate`: the search with `--rate R`, and `plain`: the same without it;
- `search`: the search itself in the first (`dagc.drive.drive.searched`: with `--rate` it ranks `--top`'s
  candidates exactly, without it the best alone);
- `runs`: the candidates checked at the rate (`dagc.search.at_rate`'s `check_candidate`, each as `dagc check
  --strategy TEXT --set workload.rate=R` checks it), `(n)` of them, and of those `verify`, the first rows
  judged with their capacity bisected (`_verified`);
- across the runs: `analyse`, each candidate's DAG, memory and rules (`dagc.verdict.check.analyse`); `prices`, the
  exact step prices (`StepPrices.step`, outermost calls); `sim`, the load simulations besides the prices
  (`Replica.run` less the prices it asked for);
- `tied`: of the candidates simulated that keep up and meet every requirement, those whose goodput per GPU
  equals the first row's, and `beyond`, those left out as unable to reach the rows shown
  (`RankedAtRate.beyond`): a candidate serves at most the rate, so one on as many GPUs as the first cannot be
  left out by that bound, and the p99 TTFT of its whole run is what places it.

What it counts is what the search does: its figures are not changed.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_traffic import rate_plans
from bench_traffic_phases import timed
from machine import cpu, load_average

PHASES = ("runs", "verify")


def one(path: str, rate: str | None) -> dict[str, float]:
    """`dagc search PATH -q [--rate RATE]` in this process, its CPU seconds split (module docstring)."""
    start = time.process_time()
    from dagc.cli.main import main
    from dagc.drive import drive
    from dagc.search import at_rate
    from dagc.serve import replica, step_prices
    from dagc.verdict import check

    seconds: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    active: list[str] = []
    timed(drive, "searched", "search", seconds, calls, active, PHASES)
    timed(at_rate, "check_candidate", "runs", seconds, calls, active, PHASES)
    timed(at_rate, "_verified", "verify", seconds, calls, active, PHASES)
    timed(check, "analyse", "analyse", seconds, calls, active, PHASES)
    timed(step_prices.StepPrices, "step", "prices", seconds, calls, active, PHASES)
    timed(replica.Replica, "run", "sims", seconds, calls, active, PHASES)
    ranked: list[Any] = []
    made = at_rate.rank_at_rate

    def kept(*args: Any, **kw: Any) -> Any:
        ranked.append(made(*args, **kw))
        return ranked[-1]

    at_rate.rank_at_rate = kept                     # type: ignore[assignment]
    imported = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["search", path, "-q", *(["--rate", rate] if rate else [])])
    out = {"total": time.process_time() - imported, "imports": imported - start, "n": calls["runs"], **seconds}
    out["sim"] = out.get("sims", 0.0) - out.get("prices/runs", 0.0)
    if ranked:
        rows = ranked[-1].ranked
        good = [a for a in rows if a.load.carries_traffic and a.candidate.meets_requirements]
        out["tied"] = sum(1 for a in good if good and a.goodput_per_gpu == good[0].goodput_per_gpu)
        out["beyond"] = ranked[-1].beyond
    return out


def _measure(path: Path, rate: str | None) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--one", path.name, *([rate] if rate else [])], cwd=path.parent,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan", default="", help="only the plans whose name holds this")
    ap.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1] if len(args.one) > 1 else None)))
        return
    print(f"{cpu()}; load average {load_average()}; CPU seconds of `dagc search -q [--rate R]`, imports apart")
    print(f"{'plan':30s} {'rate':>6s} {'plain':>6s} {'search':>6s} {'runs':>6s} {'(n)':>4s} {'verify':>6s} · "
          f"{'analyse':>7s} {'prices':>6s} {'sim':>6s} · {'tied':>4s} {'beyond':>6s}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for name, text, r in rate_plans(args.plan):
            (out / f"{name}.moe").write_text(text)
            m, plain = _measure(out / f"{name}.moe", f"{r:.6g}"), _measure(out / f"{name}.moe", None)
            print(f"{name[:30]:30s} {m['total']:6.2f} {plain['total']:6.2f} {m.get('search', 0):6.2f} "
                  f"{m.get('runs', 0):6.2f} {int(m['n']):4d} {m.get('verify', 0):6.2f} · "
                  f"{m.get('analyse/runs', 0):7.2f} {m.get('prices/runs', 0):6.2f} {m['sim']:6.2f} · "
                  f"{int(m.get('tied', 0)):4d} {int(m.get('beyond', 0)):6d}", flush=True)


if __name__ == "__main__":
    main()
