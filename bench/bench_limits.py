"""Time and peak memory of dagc on hostile inputs: every bound of docs/limits.md holds.

Run: python bench/bench_limits.py [--budget S]

Each case runs in a fresh process (peak RSS is per process) under a 4 GB address-space limit
and a timeout, and prints wall time, peak RSS, the exit code and the size of what dagc printed.
Nothing is written outside a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

MEMORY_LIMIT_BYTES = 4 * 1024**3
TIMEOUT_S = 300

WIDE = """\
model "wide" {{ layers = 240  hidden = 15360  heads = 240  kv_heads = 240  head_dim = 64  vocab = 32000
  moe {{ experts = 240  top_k = 2  ffn = 2048 }} }}
cluster {{ gpus = {gpus}  gpus_per_node = 256  gpu preset "h100-sxm" }}
workload {{ batch = 4096  prompt = 8192  generate = 128 }}
strategy tp 8
"""
BASE = """\
model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 128  generate = 8 }
"""

# In a child process: run one search in-process and print its figures (peak RSS is the child's).
SEARCH_CHILD = textwrap.dedent("""
    import resource, sys, time
    from dagc.lang.load import load_plan
    from dagc.search.search import search
    budget = float(sys.argv[2])
    t = time.perf_counter()
    r = search(load_plan(sys.argv[1]), budget_s=budget if budget > 0 else None)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{r.evaluated} of {r.total} evaluated ({r.stop_reason() or 'complete'}), "
          f"{time.perf_counter() - t:.1f} s, peak RSS {rss_mb:.0f} MB")
""")


def limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def run(args: list[str], cwd: Path) -> tuple[float, float, int, int, str]:
    """(seconds, peak MB of this child, exit code, bytes printed, last stdout line)."""
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        t = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, stdout=fo, stderr=fe, preexec_fn=limit)
        killer = threading.Timer(TIMEOUT_S, proc.kill)
        killer.start()
        _, status, usage = os.wait4(proc.pid, 0)          # the rusage of this child alone
        killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t
    printed = out.stat().st_size + err.stat().st_size
    last = out.read_text(errors="replace").strip().splitlines()[-1:] or [""]
    return seconds, usage.ru_maxrss / 1024, proc.returncode, printed, last[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=20.0, help="search budget for the wide plans (0: none)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    dagc = [sys.executable, "-m", "dagc"]
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        fifo = tmp / "fifo.moe"
        os.mkfifo(fifo)
        axes = tmp / "axes.moe"
        axes.write_text(BASE + "strategy " + " ".join(["tp 2"] * 40_000) + "\n")
        many = tmp / "many.moe"
        many.write_text(BASE + "".join(f"strategy s{k} = tp 8\n" for k in range(30_000)))
        big = tmp / "big.moe"
        big.write_text(BASE + "# " + "x" * (5 * 1024 * 1024) + "\n")
        cases = [
            ("check /dev/zero", dagc + ["check", "/dev/zero"]),
            ("check /dev/urandom", dagc + ["check", "/dev/urandom"]),
            ("check a FIFO", dagc + ["check", str(fifo)]),
            ("check a 5 MB plan", dagc + ["check", str(big)]),
            (f"check 40,000 repeated axes ({axes.stat().st_size // 1024} KB)",
             dagc + ["check", str(axes), "--no-search"]),
            ("check 30,000 strategies", dagc + ["check", str(many), "--no-search"]),
        ]
        for gpus in (4096, 65536):
            plan = tmp / f"wide-{gpus}.moe"
            plan.write_text(WIDE.format(gpus=gpus))
            cases.append((f"search a wide plan on {gpus} GPUs", [sys.executable, "-c", SEARCH_CHILD, str(plan),
                                                                  str(args.budget)]))
        print(f"{'case':45} {'s':>7} {'peak MB':>8} {'exit':>5} {'printed':>9}  result")
        for name, argv in cases:
            seconds, peak, rc, printed, last = run(argv, tmp)
            print(f"{name:45} {seconds:7.2f} {peak:8.0f} {rc:5d} {printed:9,d}  {last[:80]}")


if __name__ == "__main__":
    main()
