"""Where `dagc check` of a plan with traffic spends what the same check without traffic does not: the plans of
bench/bench_traffic.py (`--only check`), each checked with `-q` in a process of its own, its CPU seconds split.

Run: python bench/bench_traffic_phases.py [--plan NAME]
(pinned to one core, as measured in docs/load.md: `taskset -c 1 python bench/bench_traffic_phases.py`)

Each check runs in a fresh process (`--one FILE`, so that nothing dagc memoises is shared), timed by
`time.process_time` from the command's start, imports apart. Printed per plan, in CPU seconds:

- `check`: the check with traffic, and `plain`: the same plan without its traffic (bench/bench_traffic.py's);
- where the check with traffic spends it: `capacity`, the capacity bisections' trials
  (`dagc.verdict.under_load.capacity`); `search`, the search's best candidates judged under the traffic
  (`dagc.search.under_traffic.judge_under_traffic`); `next`, the next steps' re-checks
  (`dagc.verdict.next_steps.with_next_steps`); the rest (the plan's own strategies and their runs, and all a
  check without traffic does);
- across them: `prices`, the exact step prices (`StepPrices.step`, outermost calls; of them `routing`, the
  exact routing statistics of new token counts, `dagc.layout.routing._max_load_exact`) and `sim`, the load
  simulations besides the prices (`Replica.run` less the prices it asked for); `n`, the prices made; `pools`, a
  disaggregated strategy's runs (`dagc.serve.load_pools`), its pools' prices in them (counted in neither `prices`
  nor `sim`);
- the ratios, each process's start-up (its imports) counted on both sides as bench/bench_traffic.py counts them:
  `ratio`, the check with traffic over the one without; `-cap-next`, what it would be were the capacity's trials
  and the next steps' re-checks free (the most that bracketing the capacity, fewer trials and sharing the
  re-checks' work can bring); `own`, were the search's candidates judged under the traffic free too: the plan's
  own strategies and their runs, which the report prints, and all a check without traffic does.

What it counts is what the check does: its figures are not changed.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_traffic import QWEN235, ROOT, write_pair
from machine import cpu, load_average

PHASES = ("capacity", "search", "next")


def timed(owner: Any, name: str, label: str, seconds: collections.Counter[str], calls: collections.Counter[str],
          active: list[str], phases: tuple[str, ...] = PHASES) -> None:
    """Wrap `owner.name` to add its outermost calls' CPU seconds to `label`, and to each phase active around
    them (`label/phase`); a phase's own label (one of `phases`) is pushed on `active` while it runs."""
    made = getattr(owner, name)
    depth = [0]

    @functools.wraps(made)
    def wrapper(*args: Any, **kw: Any) -> Any:
        if depth[0]:
            return made(*args, **kw)
        depth[0] += 1
        if label in phases:
            active.append(label)
        start = time.process_time()
        try:
            return made(*args, **kw)
        finally:
            spent = time.process_time() - start
            depth[0] -= 1
            if label in phases:
                active.pop()
            seconds[label] += spent
            calls[label] += 1
            for phase in {*active} - {label}:
                seconds[f"{label}/{phase}"] += spent

    setattr(owner, name, wrapper)


def one(path: str) -> dict[str, float]:
    """`dagc check PATH -q` in this process, its CPU seconds split (module docstring)."""
    start = time.process_time()
    from dagc.cli.main import main
    from dagc.drive import drive
    from dagc.layout import routing
    from dagc.serve import load_pools, replica, step_prices
    from dagc.verdict import under_load

    seconds: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    active: list[str] = []
    timed(under_load, "capacity", "capacity", seconds, calls, active)
    timed(drive, "judge_under_traffic", "search", seconds, calls, active)
    timed(drive, "with_next_steps", "next", seconds, calls, active)
    timed(step_prices.StepPrices, "step", "prices", seconds, calls, active)
    timed(replica.Replica, "run", "runs", seconds, calls, active)
    timed(load_pools._Pools, "run", "pools", seconds, calls, active)
    exact: Callable[..., float] = routing._max_load_exact.__wrapped__          # type: ignore[attr-defined]
    routing_s = [0.0]

    @functools.lru_cache(maxsize=4096)
    def max_load_exact(*args: int) -> float:
        t = time.process_time()
        try:
            return exact(*args)
        finally:
            routing_s[0] += time.process_time() - t

    routing._max_load_exact = max_load_exact                 # type: ignore[assignment]
    imported = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["check", path, "-q"])
    # `startup`: the process's CPU seconds before the check (the interpreter, its imports and this bench's own)
    out = {"check": time.process_time() - imported, "imports": imported - start, "startup": imported,
           "routing": routing_s[0],
           "n": calls["prices"], **seconds}
    out["sim"] = out.get("runs", 0.0) - out.get("prices", 0.0)
    return out


def _ratios(m: dict[str, float], plain: dict[str, float]) -> Callable[[float], float]:
    """The ratio of `seconds` of the check with traffic (`m`), its process's start-up added, over the whole check
    without it (`plain`), as bench/bench_traffic.py counts a process (its start-up here holds this bench's imports
    too, a little more than `dagc check`'s own: the ratios a little lower than bench/bench_traffic.py's)."""
    whole = plain["check"] + plain["startup"]
    return lambda seconds: (seconds + m["startup"]) / whole


def _measure(path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--one", path.name], cwd=path.parent, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _plans(only: str) -> list[tuple[str, str]]:
    """bench/bench_traffic.py's plans with traffic (its `--only check`), by name."""
    plans = [(p.stem, p.read_text()) for p in sorted((ROOT / "examples").glob("*.moe"))
             if "serving = inflight" in p.read_text()]
    plans.append(("qwen3-235b-a22b 16 GPUs at 10 requests/s", QWEN235))
    return [(name, text) for name, text in plans if only in name]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan", default="", help="only the plans whose name holds this")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    print(f"{cpu()}; load average {load_average()}; CPU seconds of `dagc check -q`, imports apart")
    print(f"{'plan':42s} {'check':>6s} {'plain':>6s} {'capacity':>8s} {'search':>6s} {'next':>6s} {'rest':>6s} · "
          f"{'prices':>6s} {'(n)':>5s} {'routing':>7s} {'sim':>6s} {'pools':>6s} · {'ratio':>5s} {'-cap-next':>9s} "
          f"{'own':>5s}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        shutil.copytree(ROOT / "examples" / "traces", out / "traces")     # beside the plans (E002 outside)
        for name, text in _plans(args.plan):
            slug = write_pair(out, name, text, "plain")
            if slug is None:
                continue
            m, plain = _measure(out / f"{slug}.moe"), _measure(out / f"{slug}-plain.moe")
            rest = m["check"] - sum(m.get(p, 0.0) for p in PHASES)
            ratio = _ratios(m, plain)
            print(f"{name[:42]:42s} {m['check']:6.2f} {plain['check']:6.2f} {m.get('capacity', 0):8.2f} "
                  f"{m.get('search', 0):6.2f} {m.get('next', 0):6.2f} {rest:6.2f} · {m.get('prices', 0):6.2f} "
                  f"{int(m['n']):5d} {m['routing']:7.2f} {m['sim']:6.2f} {m.get('pools', 0):6.2f} · "
                  f"{ratio(m['check']):4.2f}x "
                  f"{ratio(rest + m.get('search', 0)):8.2f}x {ratio(rest):4.2f}x", flush=True)


if __name__ == "__main__":
    main()
