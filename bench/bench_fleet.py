"""What a `dagc fleet` sweep takes: Qwen3-235B-A22B over GPU types x counts at one arrival rate, in this
process, with worker processes (`--jobs`) and on a local Ray of 1, 2 and 4 workers.

    python bench/bench_fleet.py [--gpus h100-sxm h200 b200 gb200] [--counts 8 16 24 32 48 64]
                                [--requests 200] [--rate 8] [--jobs 2] [--ray 1 2 4] [--in-process]
                                [--answers FILE]

The default sweep is 4 GPU types x 6 counts = 24 clusters (the bar: at most 60 s with `--jobs 2`). Prints
the machine, then a line a way of running: wall seconds, clusters a minute, the speed-up against the first
way measured, and whether its answers equal the first's (they must: docs/fleet.md); in this process and
with `--jobs`, the CPU seconds spent (what an idle machine of N cores divides by N). The GPU prices are
illustrative on-demand rents per GPU-hour, not quotes: they order the ranking, not its time. `--answers FILE`
writes the first way's answers as JSON, to compare two versions of dagc byte for byte.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "bench"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from machine import cpu, load_average  # noqa: E402

from dagc.export.fleet_json import FLEET_ASK, answer_json  # noqa: E402
from dagc.fleet.rank import rank_fleet  # noqa: E402
from dagc.fleet.run import run_fleet  # noqa: E402
from dagc.lang.fleet import fleet_plans, load_fleet  # noqa: E402

PRICES = {"h100-sxm": "2.49 $/h", "h200": "3.49 $/h", "b200": "5.99 $/h", "gb200": "6.49 $/h",
          "h800": "2.49 $/h", "b300": "7.49 $/h", "gb300": "7.99 $/h", "mi300x": "2.99 $/h"}


def plan_text(gpus: list[str], counts: list[int], requests: int, rate: float) -> str:
    lines = "\n".join(f'  gpu preset "{g}" {{ price = {PRICES.get(g, "4 $/h")} }}' for g in gpus)
    return f"""model preset "qwen3-235b-a22b"
cluster {{ gpus = 8  gpu preset "h100-sxm" }}
workload {{ batch = 64  prompt = 1024  generate = 256  serving = inflight  rate = {rate:g} requests/s
           requests = {requests} }}
require {{ ttft_p99 <= 2 s  tpot_p90 <= 50 ms }}
strategy tp 8
fleet {{
{lines}
  gpus = [{", ".join(str(n) for n in counts)}]
}}
"""


def _cpu_s() -> float:
    """CPU seconds of this process and of its waited-for children (the worker processes of `--jobs`; Ray's
    workers are not this process's children and are not counted)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpus", nargs="+", default=["h100-sxm", "h200", "b200", "gb200"])
    ap.add_argument("--counts", nargs="+", type=int, default=[8, 16, 24, 32, 48, 64])
    ap.add_argument("--requests", type=int, default=200, help="requests simulated a strategy at the rate")
    ap.add_argument("--rate", type=float, default=8.0)
    ap.add_argument("--jobs", type=int, nargs="*", default=[2], help="worker processes (none: skip)")
    ap.add_argument("--ray", type=int, nargs="*", default=[1, 2, 4], help="Ray workers (none: skip)")
    ap.add_argument("--in-process", action="store_true", help="also in this process")
    ap.add_argument("--answers", metavar="FILE", help="write the first way's answers there (JSON), to compare runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.moe"
        path.write_text(plan_text(args.gpus, args.counts, args.requests, args.rate))
        plan, fleet = load_fleet(path)
        items = fleet_plans(path, fleet)
    print(f"machine: {cpu()}; load average {load_average()}")
    print(f"sweep: Qwen3-235B-A22B, {len(args.gpus)} GPU types x {len(args.counts)} counts = {len(items)} clusters "
          f"at {args.rate:g} requests/s, {args.requests} requests a strategy")
    ways: list[tuple[str, dict]] = []
    if args.in_process:
        ways.append(("in this process", {}))
    ways += [(f"--jobs {n}", {"jobs": n}) for n in args.jobs]
    ways += [(f"Ray, {n} worker{'s' if n > 1 else ''}", {"ray": n}) for n in args.ray]
    first: tuple[float, list] | None = None
    for name, how in ways:
        t0, cpu0 = time.perf_counter(), _cpu_s()
        if "ray" in how:
            import ray
            ray.init(num_cpus=how["ray"], include_dashboard=False, log_to_driver=False)
            try:
                answers = run_fleet(items, FLEET_ASK, ray="")
            finally:
                ray.shutdown()
        else:
            answers = run_fleet(items, FLEET_ASK, jobs=how.get("jobs", 1))
        wall, cpu_s = time.perf_counter() - t0, _cpu_s() - cpu0
        if first is None and args.answers:
            Path(args.answers).write_text(json.dumps([[p.key, answer_json(a)] for p, a in answers], indent=1,
                                                   sort_keys=True))
        first = first or (wall, answers)
        best = rank_fleet(fleet, answers, plan.objective).best
        rss = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        spent = "" if "ray" in how else (f"  CPU {cpu_s:7.1f} s ({cpu_s / len(items):5.1f} s a cluster, "
                                         f"largest process so far {rss / 1024:,.0f} MB)")
        print(f"{name:18} {wall:8.1f} s{spent}  {60 * len(items) / wall:6.2f} clusters/min  speed-up "
              f"{first[0] / wall:4.2f}x  same answers: {answers == first[1]}  best: "
              f"{best.label + ', ' + best.answer.pick.strategy if best and best.answer.pick else 'none meets'}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
