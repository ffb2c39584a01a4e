"""`dagc search --rate`'s conclusion says what the strategies on fewer GPUs gave (dagc.cli.print_rate.fewer_gpus_line):
the answer to "how many GPUs do I need?" beside rows that all use the cluster's."""

from __future__ import annotations

from types import SimpleNamespace as N

from dagc.cli.print_rate import fewer_gpus_line
from dagc.plan.workload import Requirement, RequirementKind

TPOT = Requirement(kind=RequirementKind.TPOT, op="<=", target=0.05, percentile=99, text="tpot_p99 <= 50 ms")


def _run(text, gpus, carries=True, meets=False, served=4.0, tpot=None):
    reqs = () if tpot is None else (N(requirement=TPOT, met=tpot <= 0.05, value=tpot),)
    return N(candidate=N(text=text, gpus=gpus, batch=None, meets_requirements=meets, load_missed=(), others_missed=()),
             load=N(carries_traffic=carries, figures=N(served_requests_per_s=served)), requirements=reqs)


BEST = _run("dp 2 < tp 8 ; ep 8 >", 16, meets=True)


def test_one_strategy_on_fewer_gpus_with_the_requirement_it_misses():
    ranked = N(ranked=(BEST, _run("tp 2 ; ep 8", 8, tpot=0.05336)))
    assert fewer_gpus_line(ranked, BEST, "4 requests/s") == (
        "  fewer GPUs: the one strategy simulated on fewer than 16, `tp 2 ; ep 8` on 8 GPUs, misses tpot_p99 <= 50 ms "
        "(53.36 ms) at 4 requests/s (`--set cluster.gpus=8` searches every strategy on 8)")


def test_several_the_best_ranked_of_them_and_one_that_falls_behind():
    ranked = N(ranked=(BEST, _run("tp 4 ; ep 4", 4, carries=False, served=2.5), _run("tp 2", 2, carries=False)))
    assert fewer_gpus_line(ranked, BEST, "4 requests/s") == (
        "  fewer GPUs: none of the 2 strategies simulated on fewer than 16 meets every requirement at 4 requests/s "
        "(the best of them, `tp 4 ; ep 4` on 4 GPUs, does not keep up: it serves 2.5 requests/s; "
        "`--set cluster.gpus=4` searches every strategy on 4)")


def test_nothing_said_without_fewer_gpus_or_when_one_of_them_meets():
    assert fewer_gpus_line(N(ranked=(BEST, _run("tp 8 ; ep 16", 16))), BEST, "4 requests/s") is None
    met = _run("tp 8 ; ep 8", 8, meets=True)
    assert fewer_gpus_line(N(ranked=(BEST, met)), BEST, "4 requests/s") is None
