"""Where `dagc check` of a plan with traffic spends its exact step prices (the surrogate's grid points,
`dagc.serve.surrogate`, each priced once by `dagc.serve.step_prices.StepPrices`).

Run: python bench/bench_step_prices.py [PLAN]   (default: examples/qwen3-30b-a3b-traffic.moe)

Runs the check in this process and prints, in CPU seconds (`time.process_time`):

- the whole check, the exact step prices (`StepPrices.step`, outermost calls) and the load simulations' own
  work beside them (`Replica.run` less the prices it asked for);
- how many prices were made: asked for by the surface, and made inside another to extrapolate a chunk longer
  than its prefix (`StepPrices.mixed`: a whole prompt's and half a prompt's mixed steps at each prefix);
- the passes timed: first at their (requests, tokens) — every op made and priced (`Timer._body_entries`) —
  or again at another prefix, the attention alone priced (`dagc.schedule.timer._with_attention`); of the first,
  those on a timer whose engine runs every mixed step eagerly where the plan's engine graphs some
  (`StepPrices._eager_prices`: the eager steps a chunk longer than its prefix is extrapolated from), whose
  unpadded token counts share no op template with the graphed steps';
- the (requests, prompt tokens) cells priced, by how many prefixes each was priced at.

What it counts is what the check does: the figures it prints are not changed.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dagc.lang.load import load_plan
from dagc.schedule import timer as timer_module
from dagc.serve import replica, step_prices
from dagc.verdict.check import check

ROOT = Path(__file__).resolve().parents[1]


def _counted(cls: Any, name: str, seconds: collections.Counter[str], calls: collections.Counter[str],
             label: str, depth: list[int] | None = None) -> None:
    """Wrap `cls.name` to add its CPU seconds and calls to `label` (outermost calls only, with `depth`)."""
    made = getattr(cls, name)

    def wrapper(*args: Any, **kw: Any) -> Any:
        if depth is not None and depth[0]:
            return made(*args, **kw)
        if depth is not None:
            depth[0] += 1
        start = time.process_time()
        try:
            return made(*args, **kw)
        finally:
            seconds[label] += time.process_time() - start
            calls[label] += 1
            if depth is not None:
                depth[0] -= 1

    setattr(cls, name, wrapper)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("plan", nargs="?", type=Path, default=ROOT / "examples" / "qwen3-30b-a3b-traffic.moe")
    args = ap.parse_args()
    seconds: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    _counted(step_prices.StepPrices, "step", seconds, calls, "exact step prices", [0])
    _counted(timer_module.Timer, "_body_entries", seconds, calls, "passes timed first (every op made)")
    first = timer_module.Timer._body_entries

    def eager_apart(self: timer_module.Timer, *a: Any) -> Any:
        """`_body_entries`, its CPU seconds also counted apart on an eager-mixed-steps timer (module docstring)."""
        if self.plan.cluster.engine.terms.mixed_graphs or not graphs_mixed[0]:
            return first(self, *a)
        start = time.process_time()
        try:
            return first(self, *a)
        finally:
            seconds["of them eager"] += time.process_time() - start
            calls["of them eager"] += 1

    timer_module.Timer._body_entries = eager_apart               # type: ignore[method-assign]
    graphs_mixed = [False]
    _counted(replica.Replica, "run", seconds, calls, "load simulations, prices included", [0])

    # each price made, by (prices, requests, tokens) and prefix; and whether made inside another (extrapolated)
    cells: dict[tuple[int, int, int], set[int]] = collections.defaultdict(set)
    inside = [0]
    kinds: collections.Counter[str] = collections.Counter()
    mixed, decode = step_prices.StepPrices.mixed, step_prices.StepPrices.decode

    def recording(made: Callable[..., float], mixed_step: bool) -> Callable[..., float]:
        def wrapper(self: step_prices.StepPrices, n: int, *rest: Any) -> float:
            before = len(self.cache)
            inside[0] += 1
            try:
                out = made(self, n, *rest)
            finally:
                inside[0] -= 1
            if len(self.cache) > before:
                p = rest[0] if mixed_step else 0
                ell = rest[-1] if len(rest) > (1 if mixed_step else 0) else self.plan.workload.prompt
                cells[(id(self), n, p)].add(ell if ell is not None else self.plan.workload.prompt)
                kinds["made inside another (extrapolation)" if inside[0] else "asked for"] += 1
            return out
        return wrapper

    step_prices.StepPrices.mixed = recording(mixed, True)          # type: ignore[method-assign]
    step_prices.StepPrices.decode = recording(decode, False)       # type: ignore[method-assign]
    again = timer_module._with_attention

    def with_attention(*a: Any) -> Any:
        calls["passes timed again (attention alone)"] += 1
        return again(*a)

    timer_module._with_attention = with_attention
    plan = load_plan(args.plan)
    graphs_mixed[0] = plan.cluster.engine.terms.mixed_graphs
    start = time.process_time()
    results = check(plan)
    total = time.process_time() - start
    print(f"{args.plan.name}: check {total:.2f} s CPU, {len(results)} strategies")
    print(f"  load simulations (replica runs): {calls['load simulations, prices included']}, "
          f"{seconds['load simulations, prices included'] - seconds['exact step prices']:.2f} s besides the prices")
    print(f"  exact step prices: {seconds['exact step prices']:.2f} s over {calls['exact step prices']} asked for")
    for kind, count in kinds.items():
        print(f"    prices made, {kind}: {count}")
    print(f"  passes timed first (every op made): {calls['passes timed first (every op made)']}, "
          f"{seconds['passes timed first (every op made)']:.2f} s; of them on the eager mixed steps' timer "
          f"(`StepPrices._eager_prices`): {calls['of them eager']}, {seconds['of them eager']:.2f} s")
    print(f"  passes timed again (attention alone): {calls['passes timed again (attention alone)']}")
    by_prefixes = collections.Counter(len(ells) for ells in cells.values())
    print(f"  (requests, prompt tokens) cells priced: {len(cells)}; by prefixes priced at: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(by_prefixes.items())))


if __name__ == "__main__":
    sys.exit(main())
