"""Wall time and peak memory of `check` (parse → DAG → schedule → verdicts) and `compile`
(plus writing report.json, report.md, dag.json) on a ladder of plans.

Run: python bench/bench_check.py [--repeat N] [--serving static|inflight|both]

With `--serving both` each plan is checked statically and in flight (`serving = inflight`: two
decode and two mixed steps instead of the prefill and two decode steps) and the ratio of the two
check times is printed (the in-flight check should cost at most 1.5× the static one).

The DAG has one node per SPMD op instance, so its cost follows layers × micro-batches, not
the GPU count: DeepSeek-V3 on 2048 GPUs should cost about what it costs on 16.

Each timed run starts without the DAGs a check keeps for the next one in its process
(`dagc.verdict.analyse.compiled_clear`), as a new `dagc check` starts: until 2026-11-30 every run after the
first found its DAG kept, and the table said about 0.004 s and 0.0 MiB for every check.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import tracemalloc
from pathlib import Path

from dagc.export.compile import compile_results
from dagc.lang.load import load_plan_text
from dagc.verdict.analyse import compiled_clear
from dagc.verdict.check import check

MIXTRAL = 'model preset "mixtral-8x7b"'
DEEPSEEK = 'model preset "deepseek-v3"'

LADDER = [
    # name, model, gpus, gpu, microbatches, strategy
    ("mixtral 8 GPUs", MIXTRAL, 8, "h100-sxm", 4, "tp 2 ; ep 8"),
    ("mixtral 64 GPUs", MIXTRAL, 64, "h100-sxm", 8, "dp 2 < pp 4 < tp 2 ; ep 8 > >"),
    ("qwen3-235b 64 GPUs", 'model preset "qwen3-235b-a22b"', 64, "h100-sxm", 8, "pp 4 < tp 4 ; ep 16 >"),
    ("deepseek-v3 16 GPUs", DEEPSEEK, 16, "h200", 16, "pp 4 < tp 4 sp ; ep 4 >"),
    ("deepseek-v3 256 GPUs", DEEPSEEK, 256, "h800", 16, "dp 2 < pp 4 < tp 4 sp ; ep 32 > >"),
    ("deepseek-v3 2048 GPUs", DEEPSEEK, 2048, "h800", 16, "dp 16 < pp 4 < tp 4 sp ; ep 32 > >"),
]


def plan_text(model: str, gpus: int, gpu: str, mb: int, strategy: str, serving: str = "static") -> str:
    inflight = "  serving = inflight" if serving == "inflight" else ""
    return (f'{model}\ncluster {{ gpus = {gpus}  gpus_per_node = 8  gpu preset "{gpu}" }}\n'
            f"workload {{ batch = {max(64, gpus)}  prompt = 4096  generate = 512  microbatches = {mb}{inflight} }}\n"
            f"strategy {strategy}\n")


def check_cold(text: str) -> list:
    """`check` of the plan `text` as a new process checks it: without the DAGs earlier checks kept."""
    compiled_clear()
    return check(load_plan_text(text))


def measure(fn, repeat: int) -> tuple[float, float]:
    """Best wall time of `repeat` runs, then the peak of Python allocations in one more run
    (tracemalloc slows Python down, so it is never on while timing)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--serving", choices=("static", "inflight", "both"), default="static")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} · {platform.processor() or 'cpu'} · Python {platform.python_version()}")
    print(f"{'plan':24} {'strategy':36} {'nodes':>7} {'check s':>8} {'MiB':>6} {'compile s':>10} {'MiB':>6}")
    modes = ("static", "inflight") if args.serving == "both" else (args.serving,)
    check_s = {}
    with tempfile.TemporaryDirectory() as tmp:
        for (name, model, gpus, gpu, mb, strategy), serving in ((row, s) for row in LADDER for s in modes):
            text = plan_text(model, gpus, gpu, mb, strategy, serving)
            if serving == "inflight":
                name += " inflight"
            result = check(load_plan_text(text))[0]
            nodes = len(result.dag) if result.dag is not None else 0
            t_check, m_check = measure(lambda text=text: check_cold(text), args.repeat)

            def compile_once(text=text, name=name):
                compiled_clear()
                plan = load_plan_text(text)
                compile_results(plan, check(plan), Path(tmp) / name.replace(" ", "_"))

            t_comp, m_comp = measure(compile_once, args.repeat)
            check_s[name] = t_check
            errors = [d.code for d in result.diagnostics if d.is_error]
            flag = f"  errors {errors}" if errors else ""
            print(f"{name:24} {strategy:36} {nodes:7d} {t_check:8.3f} {m_check:6.1f} {t_comp:10.3f} "
                  f"{m_comp:6.1f}{flag}")
    if "deepseek-v3 16 GPUs" in check_s:
        ratio = check_s["deepseek-v3 2048 GPUs"] / check_s["deepseek-v3 16 GPUs"]
        print(f"deepseek-v3 check time, 2048 GPUs / 16 GPUs: {ratio:.2f}x (target ≤ ~1.2x)")
    if args.serving == "both":
        for name, *_ in LADDER:
            print(f"{name:24} check in flight / static: {check_s[name + ' inflight'] / check_s[name]:.2f}x "
                  "(target ≤ 1.5x)")


if __name__ == "__main__":
    main()
