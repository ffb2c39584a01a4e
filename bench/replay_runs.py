"""The load simulations a `dagc search PLAN --rate R` makes, recorded once and run again without their exact step
prices: a change to the simulation's own events (`dagc.serve.replica`, `dagc.serve.surrogate`) timed on them alone, and
every run's figures compared with the recorded ones, bit for bit.

Run:
  python bench/replay_runs.py record OUT.pkl PLAN RATE      (the search's runs: its candidates' and their capacity's)
  python bench/replay_runs.py record OUT.pkl PLAN           (`dagc check PLAN -q`'s runs: its own, its capacity's
                                                             trials, the search's best judged under the traffic)
  python bench/replay_runs.py replay OUT.pkl [--runs N] [--setup]

`record` runs `dagc search PLAN --rate RATE -q` in this process and keeps, for each run (`simulate_sized`), its
plan, strategy, layout, KV cache, whether it was watched, and the exact step prices its surface asked for (its
`StepPrices.cache`, and its `every_rank` prices'), with a digest of its figures (every request's first token and
end, each step's gap and tokens, the timeline). `replay` makes each run again in this process — its prices given,
its surface (the interpolation and its memos) made afresh, as in the search's own run — and prints the CPU seconds
and how many runs' figures differ from the recorded (0: the change is mechanical). Record with the code before a
change, replay with both. `--setup` stops before the runs: under `valgrind --tool=callgrind` the instructions of a
replay less those of its `--setup` are the runs' own, a figure the same on every run of the same code where seconds
on a shared machine vary by tens of percent (docs/load.md, "The surface's corner sums written out").
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from dagc.serve import load as serve_load
from dagc.serve.load_result import Load
from dagc.serve.step_prices import StepPrices
from dagc.serve.watch import Missed


def digest(load: Load | None) -> str:
    """What a run is compared by, bit for bit: a hash of every request's first token and end, each step's gap and
    tokens, the requests' area and the timeline ('missed': a run its watch stopped)."""
    if load is None:
        return "missed"
    h = hashlib.sha256()
    for a in (load.first_token, load.finish, load.itl, load.itl_weight, np.array([load.area])):
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    if load.timeline is not None:
        for a in (load.timeline.t, load.timeline.running, load.timeline.waiting, load.timeline.kv_share):
            h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()


def record(plan: Path, rate: str | None, out: Path) -> None:
    """Search `plan` at `rate` (None: check it) and write its runs (module docstring) to `out`."""
    from dagc.cli.main import main

    rows: list[tuple[Any, ...]] = []
    made = serve_load.simulate_sized

    def kept(plan: Any, strategy: Any, lay: Any, prices: StepPrices, capacity: int, progress: Any = None,
             watch: bool = False) -> Load:
        load = None
        try:
            load = made(plan, strategy, lay, prices, capacity, progress, watch)
            return load
        finally:
            every = prices._every.cache if prices._every is not None else None
            rows.append((plan, strategy, lay, capacity, watch, dict(prices.cache), every, digest(load)))

    serve_load.simulate_sized = kept                      # type: ignore[assignment]
    main(["search", str(plan), "--rate", rate, "-q"] if rate is not None else ["check", str(plan), "-q"])
    out.write_bytes(pickle.dumps(rows))
    print(f"{plan.name} {'checked' if rate is None else f'at {rate} requests/s'}: {len(rows)} runs recorded in {out}")


def replay(path: Path, runs: int | None, setup: bool) -> None:
    """Make the recorded runs again (module docstring)."""
    rows = pickle.loads(path.read_bytes())[:runs]
    if setup:
        return
    start, differ = time.process_time(), 0
    for plan, strategy, lay, capacity, watch, cache, every, was in rows:
        prices = StepPrices(plan, strategy, lay)
        prices.cache = cache
        if every is not None:
            prices.every_rank().cache = every
        try:
            load: Load | None = serve_load.simulate_sized(plan, strategy, lay, prices, capacity, None, watch)
        except Missed:
            load = None
        differ += digest(load) != was
    print(f"{path.name}: {len(rows)} runs made again in {time.process_time() - start:.3f} CPU s; "
          f"{differ} differ from the recorded figures")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("plan", type=Path)
    rec.add_argument("rate", nargs="?", help="search at this rate (default: `dagc check PLAN -q`)")
    rep = sub.add_parser("replay")
    rep.add_argument("recorded", type=Path)
    rep.add_argument("--runs", type=int, help="the first N runs alone")
    rep.add_argument("--setup", action="store_true", help="load the runs, make none (callgrind's baseline)")
    args = ap.parse_args()
    if args.command == "record":
        record(args.plan, args.rate, args.out)
    else:
        replay(args.recorded, args.runs, args.setup)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
