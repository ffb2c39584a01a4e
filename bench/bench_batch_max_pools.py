"""What weighing disaggregated candidates costs a search that varies the batch (`batch = max`,
`dagc search --vary batch`): the plan searched with the aggregated strategies only (what dagc did
before, `search(…, pools=False)`) and with the pools (`dagc.search.pooled_max`), best wall time of
`--repeat` runs each, a fresh stage-cost timer per run.

    python bench/bench_batch_max_pools.py [--repeat 3] [--plan PLAN ...]

Default plan: DeepSeek-V3 over 32 H200s (4 nodes) at 4,000/500 tokens in flight, `batch = max`,
TTFT ≤ 1 s and TPOT ≤ 50 ms. Prints, per plan: seconds without and with the pools, their
ratio, the best candidate of each and what the disaggregated part did.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from machine import best_of  # noqa: E402

from dagc.lang.load import load_plan, load_plan_text  # noqa: E402
from dagc.search.search import search  # noqa: E402

DSV3_32 = """model preset "deepseek-v3"
cluster { gpus = 32  gpus_per_node = 8  gpu preset "h200" }
workload { batch = max  prompt = 4000  generate = 500  serving = inflight }
require { ttft <= 1 s  tpot <= 50 ms }
strategy dp 4 < tp 8 ; ep 8 >
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--plan", type=Path, nargs="*", default=None, help="these plans instead of the default")
    args = ap.parse_args()
    plans = [(str(p), load_plan(p)) for p in args.plan] if args.plan else \
        [("DeepSeek-V3 32xH200 batch = max", load_plan_text(DSV3_32))]
    for name, plan in plans:
        t_agg, agg = best_of(lambda plan=plan: search(plan, pools=False), args.repeat)
        t_all, found = best_of(lambda plan=plan: search(plan), args.repeat)
        print(f"{name}: aggregated only {t_agg:.2f} s, with pools {t_all:.2f} s ({t_all / t_agg:.2f}×)")
        for label, r in (("aggregated only", agg), ("with pools", found)):
            b = r.best
            if b is not None:
                print(f"  best, {label}: {b.text}, batch {b.batch}, {b.gpus} GPUs, "
                      f"{b.metrics.decode_tokens_per_s / b.gpus:.1f} tokens/s per GPU")
        print(f"  pools: {found.disaggregated}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
