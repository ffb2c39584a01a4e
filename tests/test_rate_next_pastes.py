"""`dagc search PLAN --rate R --set cluster.gpus=1`'s next line, when no strategy keeps up, is a `dagc check` that runs
as printed: the replicas' `--set cluster.gpus=5` and `--set workload.batch=…` replace the searched cluster's and
batch's, not stand beside them — a field set twice is E104, and the line, pasted, checked nothing (Qwen3-30B-A3B on 1
H100 at 30 requests/s: `dagc check q.moe --set cluster.gpus=1 --strategy 'dp 5 < tp 1 > …' --set cluster.gpus=5 …`)."""

from __future__ import annotations

from types import SimpleNamespace

from dagc.cli.print_rate import rate_conclusion
from dagc.lang.flatten import flatten
from dagc.lang.load import parse_strategy
from dagc.plan.strategy import Overlap
from dagc.plan.workload import Traffic
from dagc.search.at_rate import AtRate, RankedAtRate
from dagc.search.result import Candidate

CHECK = "dagc check q.moe --set cluster.gpus=1 --set 'cluster.price=2.49 $/h' --set workload.batch=64"


def _behind(text: str, gpus: int, served: float, batch: int | None = None) -> AtRate:
    strategy = flatten(parse_strategy(text))[0]
    assert strategy is not None
    c = Candidate(strategy, 1, Overlap.NONE, gpus, {}, False, 0.0, 0.5, None, batch=batch)
    run = SimpleNamespace(figures=SimpleNamespace(overloaded=True, served_requests_per_s=served), carries_traffic=False)
    return AtRate(c, run, served / gpus)


def test_the_replicas_line_sets_the_gpus_and_batch_once():
    """30 requests/s, `tp 1` serving 6.828 on 1 GPU: ceil(30 / 6.828 × 1.1) = ceil(4.83) = 5 replicas, 5 GPUs, each
    with the plan's batch of 64: 320 in flight."""
    runs = RankedAtRate(30, Traffic(requests=500, rate=30), (_behind("tp 1", 1, 6.828),))
    lines = rate_conclusion(runs, 1, CHECK, batch=64)
    assert ("next: 5 replicas of it (5 GPUs) if each serves as much: dagc check q.moe --set 'cluster.price=2.49 $/h' "
            "--strategy 'dp 5 < tp 1 > with microbatches 1 overlap none' --set cluster.gpus=5 --set "
            "workload.batch=320 --set 'workload.rate=30 requests/s';") in lines[1]
    assert lines[1].count("cluster.gpus=") == 1 and lines[1].count("workload.batch=") == 1


def test_replicas_within_the_cluster_keep_its_gpus_as_searched():
    """16 GPUs, the best serving 7.2 on 8: 2 replicas fit the cluster, so its `--set cluster.gpus=16` stays and
    none is added; the batch is set again (2 × 64 = 128), once."""
    runs = RankedAtRate(10, Traffic(requests=500, rate=10), (_behind("tp 8 ; ep 8", 8, 7.2),))
    lines = rate_conclusion(runs, 16, CHECK.replace("gpus=1", "gpus=16"), batch=64)
    assert ("dagc check q.moe --set cluster.gpus=16 --set 'cluster.price=2.49 $/h' --strategy 'dp 2 < tp 8 ; ep 8 > "
            "with microbatches 1 overlap none' --set workload.batch=128 --set 'workload.rate=10 requests/s'") \
        in lines[1]
