"""The optimal verdict of a strategy with errors, when the search's best legal strategy misses the requirements too,
says both (`dagc.export.optimal_words`). Until 2026-11-29 seed 000's `pp 16 < tp 1 ; ep 16 >` (E704) read "optimal?
`tp 2 with microbatches 1 overlap none` is a legal strategy that misses the requirements on 2 GPUs", as if that were
the reason this one is not optimal."""

from __future__ import annotations

from dagc.drive.drive import check
from dagc.export.report import report_json
from dagc.lang.load import load_plan_text

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64 }
require { decode_throughput >= 1000000 tokens/s/gpu }
strategy tp 3
"""


def test_a_strategy_with_errors_is_told_the_best_legal_one_misses_too():
    (result,) = check(load_plan_text(PLAN))
    assert not result.valid                                        # E302: 32 heads over tp 3
    evidence = report_json(result)["verdict"]["optimal_evidence"]
    assert evidence["best_meets_requirements"] is False           # a million tokens/s per GPU: nothing meets it
    best = evidence["best_strategy"]
    gpus = evidence["best_gpus"]
    assert evidence["note"] == (f"it has errors; the search's best legal strategy, `{best}` on {gpus} GPU"
                                f"{'s' if gpus > 1 else ''}, misses the requirements too")
