"""What traffic and `--top` cost the commands a planner runs in a loop: `dagc check` of a plan with traffic
(its run and capacity included) over the same check without it, `dagc search --rate R` over the same search
without it, `dagc search --top 2000` over `--top 20`, and the 2,048-GPU check over a small one.

Run: python bench/bench_traffic.py [--repeat N] [--only check|rate|search|verdict] [--plan NAME] [--jobs N]
(pinned to one core, as measured in docs/load.md: `taskset -c 1 python bench/bench_traffic.py --only check`)

Each command runs as its own process (`python -m dagc …`, so that nothing dagc memoises is shared) and is
timed by the CPU seconds it used (user + system, `getrusage` of the children): on a machine other work
shares, CPU time moves far less than wall time. Best of `--repeat` (3). Printed:

- every in-flight example with traffic: its own when it has some (qwen3-30b-a3b-traffic), else `rate = R
  requests/s  requests = 1000` with R half its first strategy's steady-state request rate and `ttft_p99 <=
  2 × TTFT`, `tpot_p90 <= 2 × TPOT` of that steady state (as bench/bench_capacity.py builds them), checked
  with `-q`, and the same plan without its traffic and load requirements; target: at most 2×;
- a 16-GPU Qwen3-235B-A22B plan at 10 requests/s with p99 and p90 requirements, the same way;
- `dagc search PLAN --rate R -q` over `dagc search PLAN -q` on every in-flight example, its traffic taken away
  and R its rate as above (a request log's mean rate); target: at most 3×; with `--jobs N` (N > 1), also the wall
  seconds of `dagc search PLAN --rate R -q` alone and with `--jobs N` (the candidates' checks at the rate in N
  worker processes), best of `--repeat` each — on a machine with N idle cores;
- `dagc check -q` of DeepSeek-V3 on 2,048 H800s (bench/bench_check.py's plan, its optimal verdict's search
  included) over that of the default example, Mixtral 8x7B on one node (a small plain check); target: at most 1.8×.
  The small check is mostly start-up (imports: about 0.5 of its 0.75 CPU s with bytecode caches, 0.75 of 1.0 s
  without), so the ratio moves with them: measured 2026-11-27 at load 16-18, 1.64-1.96x with caches written
  (one `PYTHONPYCACHEPREFIX` per checkout, warmed) and about 1.5-1.6x under `PYTHONDONTWRITEBYTECODE=1`; say which;
- `dagc search PLAN --top 2000 -q` over `--top 20 -q` on DeepSeek-V3 over 32 H200 in flight; target: at
  most 1.2×.
"""

from __future__ import annotations

import argparse
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_check import LADDER, plan_text
from machine import cpu, load_average

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

ROOT = Path(__file__).resolve().parents[1]

QWEN235 = """model preset "qwen3-235b-a22b"
cluster { gpus = 16  gpus_per_node = 8  gpu preset "h200" }
workload {
  batch = 64  prompt = 2000  generate = 500  serving = inflight
  rate = 10 requests/s  requests = 1000
}
require { ttft_p99 <= 2 s  tpot_p90 <= 60 ms }
strategy tp = tp 8 ; ep 16
"""

LADDER_2048 = next(row for row in LADDER if row[0] == "deepseek-v3 2048 GPUs")
# a request log's mean arrival rate (its example's comment): `search --rate` needs a rate
MEAN_RATES = {"qwen3-30b-a3b-traffic": 4.6}

DEEPSEEK32 = """model preset "deepseek-v3"
cluster { gpus = 32  gpus_per_node = 8  gpu preset "h200" }
workload { batch = 256  prompt = 4096  generate = 512  serving = inflight }
strategy tp 8 ; ep 32
"""


def without_traffic(text: str) -> str:
    """The plan without its traffic (a log, a rate and its requests) and its load requirements."""
    text = re.sub(r'\n *requests from "[^"]*"', "", text)
    text = re.sub(r"rate = [0-9.e+-]+ requests/s *(requests = \d+)?", "", text)
    return re.sub(r"(ttft|tpot|e2e|itl)_p\d+ [<>=]+ [0-9.e+-]+ m?s|goodput [<>=]+ [^\n}]*", "", text)


def write_pair(out: Path, name: str, text: str, apart: str) -> str | None:
    """Write the plan `text` with traffic (`with_traffic`) to OUT/SLUG.moe and without it to OUT/SLUG-APART.moe, SLUG
    made of `name`; None (nothing written) when the plan takes no traffic."""
    loaded = with_traffic(text)
    if loaded is None:
        return None
    slug = re.sub(r"\W+", "-", name)
    (out / f"{slug}.moe").write_text(loaded)
    (out / f"{slug}-{apart}.moe").write_text(without_traffic(loaded))
    return slug


def with_traffic(text: str) -> str | None:
    """The in-flight example with traffic: its own, else as bench/bench_capacity.py gives it one; None when it
    has no valid strategy to size it by."""
    if "requests from" in text or re.search(r"rate = [0-9.]+ requests/s", text):
        return text
    base = without_traffic(text)
    first = next((r for r in check(load_plan_text(base)) if r.valid and r.metrics), None)
    if first is None:
        return None
    w = first.plan.workload
    rate = first.metrics.throughput_tokens_per_s / (w.prompt + w.generate) / 2
    ttft, tpot = first.metrics.ttft_s * 2, first.metrics.tpot_s * 2
    out = re.sub(r"^( *serving = inflight)", rf"\1\n  rate = {rate:.6g} requests/s  requests = 1000", base,
                 count=1, flags=re.M)
    lines = f"ttft_p99 <= {ttft * 1e3:.6g} ms  tpot_p90 <= {tpot * 1e3:.6g} ms"
    return re.sub(r"require \{", f"require {{\n  {lines}", out, count=1) if "require {" in out else \
        out.replace("\nstrategy", f"\nrequire {{ {lines} }}\nstrategy", 1)


def cpu_seconds(argv: list[str], repeat: int, cwd: Path) -> float:
    """The least CPU seconds (user + system, its worker processes' too) `python -m dagc ARGV` took over `repeat`
    runs."""
    return _best(argv, repeat, cwd)[0]


def _best(argv: list[str], repeat: int, cwd: Path) -> tuple[float, float]:
    """The least CPU seconds and the least wall seconds `python -m dagc ARGV` took over `repeat` runs."""
    cpu, wall = float("inf"), float("inf")
    for _ in range(repeat):
        before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run([sys.executable, "-m", "dagc", *argv], cwd=cwd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        wall = min(wall, time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = min(cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return cpu, wall


def rate_plans(only: str = "") -> list[tuple[str, str, float]]:
    """`--only rate`'s plans: each in-flight example whose name holds `only`, without its traffic, and its rate."""
    out = []
    for p in sorted((ROOT / "examples").glob("*.moe")):
        text = p.read_text()
        if "serving = inflight" not in text or only not in p.stem:
            continue
        loaded = with_traffic(text)
        if loaded is None:
            continue
        rate = re.search(r"rate = ([0-9.e+-]+) requests/s", loaded)
        r = float(rate.group(1)) if rate else MEAN_RATES.get(p.stem)
        if r is not None:
            out.append((p.stem, without_traffic(loaded), r))
    return out


def search_rates(args, out: Path) -> None:
    """`dagc search PLAN --rate R -q` over `dagc search PLAN -q` on every in-flight example (module docstring)."""
    for stem, plan, r in rate_plans(args.plan):
        (out / f"{stem}.moe").write_text(plan)
        plain = cpu_seconds(["search", f"{stem}.moe", "-q"], args.repeat, out)
        at = cpu_seconds(["search", f"{stem}.moe", "--rate", f"{r:.6g}", "-q"], args.repeat, out)
        print(f"search {stem:43s} --rate {r:<8.4g} {at:7.2f} s · without {plain:6.2f} s · {at / plain:5.2f}x "
              "(target ≤ 3x)", flush=True)
        if args.jobs > 1:
            argv = ["search", f"{stem}.moe", "--rate", f"{r:.6g}", "-q"]
            one, many = _best(argv, args.repeat, out)[1], _best([*argv, "--jobs", str(args.jobs)], args.repeat, out)[1]
            print(f"       {'':43s} wall {one:6.2f} s · --jobs {args.jobs} {many:6.2f} s · {many / one:5.2f}x",
                  flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=("check", "rate", "search", "verdict"))
    ap.add_argument("--plan", default="", help="only the plans whose name holds this")
    ap.add_argument("--jobs", type=int, default=1, help="--only rate: also the wall seconds with --jobs N")
    args = ap.parse_args()
    print(f"{cpu()}, Python {platform.python_version()}; load average {load_average()}; CPU seconds, "
          f"best of {args.repeat}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if args.only in (None, "check"):
            plans = [(p.stem, p.read_text()) for p in sorted((ROOT / "examples").glob("*.moe"))
                     if "serving = inflight" in p.read_text()]
            plans.append(("qwen3-235b-a22b 16 GPUs at 10 requests/s", QWEN235))
            for name, text in plans:
                if args.plan not in name:
                    continue
                slug = write_pair(out, name, text, "steady")
                if slug is None:
                    continue
                for trace in (ROOT / "examples" / "traces").glob("*"):    # beside the plans (E002 outside)
                    (out / "traces").mkdir(exist_ok=True)
                    shutil.copy(trace, out / "traces" / trace.name)
                t = cpu_seconds(["check", f"{slug}.moe", "-q"], args.repeat, out)
                s = cpu_seconds(["check", f"{slug}-steady.moe", "-q"], args.repeat, out)
                print(f"check {name:44s} with traffic {t:7.2f} s · without {s:6.2f} s · {t / s:5.2f}x (target ≤ 2x)",
                      flush=True)
        if args.only in (None, "rate"):
            search_rates(args, out)
        if args.only in (None, "verdict"):
            (out / "ds2048.moe").write_text(plan_text(*LADDER_2048[1:]))
            (out / "small.moe").write_text((ROOT / "examples" / "mixtral-8x7b-1node.moe").read_text())
            big = cpu_seconds(["check", "ds2048.moe", "-q"], args.repeat, out)
            small = cpu_seconds(["check", "small.moe", "-q"], args.repeat, out)
            print(f"check deepseek-v3 2048 H800 -q {big:6.2f} s · mixtral-8x7b-1node -q {small:6.2f} s · "
                  f"{big / small:5.2f}x (target ≤ 1.8x)", flush=True)
        if args.only in (None, "search"):
            (out / "ds32.moe").write_text(DEEPSEEK32)
            few = cpu_seconds(["search", "ds32.moe", "--top", "20", "-q", "--svg", str(out / "p.svg")],
                              args.repeat, out)
            many = cpu_seconds(["search", "ds32.moe", "--top", "2000", "-q", "--svg", str(out / "p.svg")],
                               args.repeat, out)
            print(f"search deepseek-v3 32 H200 in flight -q: --top 2000 {many:6.2f} s · --top 20 {few:6.2f} s · "
                  f"{many / few:5.2f}x (target ≤ 1.2x)")


if __name__ == "__main__":
    main()
