"""Record the capacity `dagc check` reports for every strategy of every in-flight example under traffic, and of
bench/bench_traffic.py's 16-GPU Qwen3-235B-A22B plan, as tests/test_capacity_recorded.py reads them: run once
on a version whose capacities are the reference (the figures in tests/data/capacity_recorded.json were made by
the version named in it), so that a later change to the step prices, the surrogate or the bisection is held to
within `CAPACITY_TOLERANCE` (1 %) of them.

Each example is given traffic as tests/test_capacity_reference.py gives it (its own when it has some, else half
its first strategy's steady-state request rate with p99 TTFT and p90 TPOT requirements at twice the steady
state's, its run 300 requests; the capacity's trials are 2,000 requests whatever the run's count).

Run: python bench/record_capacities.py [--out tests/data/capacity_recorded.json] [--version COMMIT]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from bench_traffic import QWEN235  # noqa: E402  (bench/ is the script's own directory)

from dagc.lang.load import load_plan_text
from dagc.plan.plan import Plan
from dagc.verdict.check import StrategyResult, check

ROOT = Path(__file__).resolve().parents[1]



def with_traffic(path: Path) -> Plan:
    """The example's plan with traffic (module docstring)."""
    text = path.read_text()
    if "requests from" in text or re.search(r"rate = [0-9.]+ requests/s", text):
        return load_plan_text(text, path.name, path.parent)
    first = next(r for r in check(load_plan_text(text, path.name, path.parent)) if r.valid and r.metrics)
    w = first.plan.workload
    rate = first.metrics.throughput_tokens_per_s / (w.prompt + w.generate) / 2
    text = re.sub(r"^( *serving = inflight)", rf"\1\n  rate = {rate:.6g} requests/s  requests = 300", text,
                  count=1, flags=re.M)
    lines = f"ttft_p99 <= {first.metrics.ttft_s * 2e3:.6g} ms  tpot_p90 <= {first.metrics.tpot_s * 2e3:.6g} ms"
    text = re.sub(r"require \{", f"require {{\n  {lines}", text, count=1) if "require {" in text else \
        text.replace("\nstrategy", f"\nrequire {{ {lines} }}\nstrategy", 1)
    return load_plan_text(text, path.name, path.parent)


QWEN235_NAME = "qwen3-235b-a22b-16gpu-10rps"


def names() -> list[str]:
    """Every plan whose capacities are recorded: the in-flight examples and the Qwen3-235B-A22B plan."""
    examples = [p.stem for p in sorted((ROOT / "examples").glob("*.moe")) if "serving = inflight" in p.read_text()]
    return [*examples, QWEN235_NAME]


def plan_named(name: str) -> Plan:
    """The plan of `names()` with traffic (module docstring)."""
    return load_plan_text(QWEN235) if name == QWEN235_NAME else with_traffic(ROOT / "examples" / f"{name}.moe")


def capacities(plan: Plan) -> dict[str, float | None]:
    """Each strategy's capacity (requests/s; None where not judged or not found), by the strategy's text."""
    return capacities_of(check(plan))


def capacities_of(results: Iterable[StrategyResult]) -> dict[str, float | None]:
    """`capacities` of a plan's check already made."""
    return {r.strategy.text: (r.load.capacity_requests_per_s if r.load is not None else None) for r in results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "capacity_recorded.json")
    ap.add_argument("--version", help="the version recorded (default: this checkout's commit)")
    args = ap.parse_args()
    version = args.version or subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=False).stdout.strip() or "unknown"
    figures = {name: capacities(plan_named(name)) for name in names()}
    args.out.write_text(json.dumps({"version": version, "capacities": figures}, indent=1) + "\n")
    print(f"{sum(len(v) for v in figures.values())} capacities of {len(figures)} plans written to {args.out}")


if __name__ == "__main__":
    main()
