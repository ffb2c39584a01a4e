"""A rate in a command dagc prints for pasting is the rate dagc reads back: a fleet's `dagc search … --rate R` line
and `dagc search --rate`'s `check it:` / replicas lines wrote it with `{:g}` until 2026-11-30, which made
12.345678 requests/s `--rate 12.3457` and 1,000,000 `--rate 1e+06` — pasted, another rate (`rate_arg`)."""

from __future__ import annotations

import shlex
from types import SimpleNamespace

import pytest

from dagc.cli.parser import build_parser
from dagc.cli.print_rate import rate_conclusion
from dagc.export.at_rate import rate_arg
from dagc.export.fleet_words import search_command
from dagc.lang.flatten import flatten
from dagc.lang.load import parse_strategy
from dagc.plan.strategy import Overlap
from dagc.plan.workload import Traffic
from dagc.search.at_rate import AtRate, RankedAtRate
from dagc.search.result import Candidate

RATES = [(12.345678, "12.345678"), (123456.789, "123456.789"), (1e6, "1000000"), (1.2345678, "1.2345678"),
         (1e-06, "0.000001"), (1200.0, "1200"), (0.1, "0.1")]


@pytest.mark.parametrize("rate, text", RATES)
def test_a_fleets_search_line_carries_the_rate_whole(rate: float, text: str) -> None:
    row = {"rate_requests_per_s": rate, "options": ["cluster.gpu=h100-sxm", "cluster.price=2.5 $/h"]}
    line = search_command(row, "q.moe")
    assert line == f"dagc search q.moe --rate {text} --set cluster.gpu=h100-sxm --set 'cluster.price=2.5 $/h'"
    assert build_parser().parse_args(shlex.split(line)[1:]).rate == rate


@pytest.mark.parametrize("rate, text", RATES)
def test_rate_arg_is_a_plain_decimal_read_back_as_the_rate(rate: float, text: str) -> None:
    assert rate_arg(rate) == text
    assert "e" not in text and "," not in text and float(text) == rate


def _run(text: str, served: float, carries: bool) -> AtRate:
    strategy = flatten(parse_strategy(text))[0]
    assert strategy is not None
    c = Candidate(strategy, 1, Overlap.NONE, 1, {}, True, 0.0, 0.5, None)
    figures = SimpleNamespace(overloaded=not carries, served_requests_per_s=served)
    return AtRate(c, SimpleNamespace(figures=figures, carries_traffic=carries), served)


def test_the_replicas_line_sets_the_rate_whole() -> None:
    """12.345678 requests/s, `tp 1` serving 6 on 1 GPU: ceil(12.345678 / 6 × 1.1) = ceil(2.26) = 3 replicas."""
    runs = RankedAtRate(12.345678, Traffic(requests=500, rate=12.345678), (_run("tp 1", 6.0, False),))
    lines = rate_conclusion(runs, 1, "dagc check q.moe")
    assert "next: 3 replicas of it (3 GPUs)" in lines[1]
    assert "--set 'workload.rate=12.345678 requests/s'" in lines[1]
