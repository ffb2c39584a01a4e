"""What the error bands add to a check: `bands_of` against `check`, on each example plan.

Usage:
    python bench/bench_bands.py            # every example, each check once, the bands 20 times

`dagc check` computes the bands three times per strategy — its verdict's odds line, its requirements table
and report.json (`dagc.verdict.bands.bands_of`: the ledger, read once per process, and a physical bound per
strategy); this prints, per example, the check's seconds (without the strategy search), the bands' (the three
calls, the ledger already read) and their share of the check — the target is at most 10 %.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dagc.lang.load import load_plan  # noqa: E402
from dagc.verdict.bands import bands_of  # noqa: E402
from dagc.verdict.check import check  # noqa: E402
from dagc.verdict.ledger import ledger  # noqa: E402

REPEATS = 20


def main() -> int:
    t0 = time.perf_counter()
    ledger()
    print(f"ledger read: {(time.perf_counter() - t0) * 1e3:.2f} ms (once per process)")
    print(f"{'example':40} {'check s':>9} {'bands ms':>9} {'share':>7}")
    worst = 0.0
    for path in sorted((ROOT / "examples").glob("*.moe")):
        t0 = time.perf_counter()
        results = check(load_plan(str(path)))
        checked = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(REPEATS):
            for r in results:
                for _ in range(3):
                    bands_of(r)
        banded = (time.perf_counter() - t0) / REPEATS
        worst = max(worst, banded / checked)
        print(f"{path.name:40} {checked:9.3f} {banded * 1e3:9.2f} {banded / checked:7.2%}")
    print(f"largest share: {worst:.2%} (target ≤ 10 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
