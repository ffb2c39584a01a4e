"""What weighing disaggregated candidates costs the search: in-flight plans searched with and without
them (`dagc.search.search.search(…, pools=False)`), best wall time of `--repeat` runs each.

    python bench/bench_pools.py [--repeat 5] [--plan PLAN ...]

Default plans: examples/deepseek-v3-disaggregated.moe (DeepSeek-V3 on 64 H200s, the figure whose
search is held to at most 3× the aggregated one) and the in-flight ladder of bench/bench_check.py.
Prints, per plan and for the front search (`dagc search`) and the check's (`front=False`): seconds
without and with the pools, their ratio, and what the disaggregated part evaluated.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "bench"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from bench_check import LADDER, plan_text  # noqa: E402
from machine import best_of  # noqa: E402

from dagc.lang.load import load_plan, load_plan_text  # noqa: E402
from dagc.search.search import search  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--plan", type=Path, nargs="*", default=None, help="these plans instead of the defaults")
    ap.add_argument("--ladder", action="store_true", help="also the in-flight ladder of bench/bench_check.py")
    args = ap.parse_args()
    plans = [(str(p), load_plan(p)) for p in (args.plan or [ROOT / "examples" / "deepseek-v3-disaggregated.moe"])]
    if args.ladder:
        plans += [(name + " inflight", load_plan_text(plan_text(model, gpus, gpu, mb, strategy, "inflight")))
                  for name, model, gpus, gpu, mb, strategy in LADDER]
    print(f"{'plan':48} {'search':>8} {'+pools':>8} {'ratio':>6} {'check':>8} {'+pools':>8} {'ratio':>6}  pools")
    for name, plan in plans:
        row = []
        counts = ""
        for front in (True, False):
            t_agg, _ = best_of(lambda plan=plan, front=front: search(plan, front=front, pools=False), args.repeat)
            t_all, r = best_of(lambda plan=plan, front=front: search(plan, front=front), args.repeat)
            row += [t_agg, t_all, t_all / t_agg]
            if front and r.disaggregated:
                d = r.disaggregated
                counts = (f"{d.prefill_instances} prefill + {d.decode_instances} decode evaluated, "
                          f"{d.pruned} pruned, {d.pairs:,} pairs")
        print(f"{Path(name).name[:48]:48} {row[0]:8.3f} {row[1]:8.3f} {row[2]:6.2f} {row[3]:8.3f} {row[4]:8.3f} "
              f"{row[5]:6.2f}  {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
