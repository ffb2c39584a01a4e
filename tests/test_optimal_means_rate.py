"""`dagc check`'s "optimal means" line under a plan's traffic says that its ranking is the steady state's and
which command ranks at the traffic's rate: a trial's fleet and `dagc search --rate` picked `tp 8 ; ep 16` at 6
requests/s, and check of the same cluster said "optimal: no", naming another strategy by its steady-state tokens/s
per GPU, without a word of why they differ."""

from __future__ import annotations

from dagc.cli.print_check import objective_text
from dagc.lang.load import load_plan_text

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h100-sxm" }
workload { batch = 32  prompt = 1024  generate = 256  serving = inflight %s }
strategy tp 2
"""


def test_with_a_rate_the_line_names_the_ranking_at_it():
    line = objective_text(load_plan_text(PLAN % "rate = 4.5 requests/s  requests = 200"))
    assert line.endswith("within 5 % of the best counts as optimal; in the steady state — at the traffic's 4.5 "
                         "requests/s the strategies are ranked by goodput per GPU by `dagc search PLAN --rate 4.5`")


def test_without_traffic_or_with_clients_it_says_nothing_of_a_rate():
    for extra in ("", "concurrency = 16  requests = 200"):
        line = objective_text(load_plan_text(PLAN % extra))
        assert line.endswith("within 5 % of the best counts as optimal"), extra


def test_a_rate_of_thousands_is_written_as_search_reads_it():
    """The prose says 1,200 requests/s; the command says `--rate 1200`, which `dagc search` reads (until 2026-11-30
    `--rate 1,200`, which it refuses: "`1,200` is not an arrival rate in requests/s")."""
    line = objective_text(load_plan_text(PLAN % "rate = 1200 requests/s  requests = 200"))
    assert line.endswith("at the traffic's 1,200 requests/s the strategies are ranked by goodput per GPU by "
                         "`dagc search PLAN --rate 1200`")
    from dagc.cli.parser import build_parser
    assert build_parser().parse_args(["search", "p.moe", "--rate", "1200"]).rate == 1200.0
