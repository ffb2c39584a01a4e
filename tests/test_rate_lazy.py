"""`dagc search --rate R` simulates only the candidates that can reach the rows it prints
(`dagc.search.at_rate.rank_at_rate` with `shown`): a strategy serves at most R, so its goodput per GPU is at most R
over its GPUs. The rows printed are those of simulating every candidate; `beyond` counts the ones left out."""

from __future__ import annotations

import json
from types import SimpleNamespace as N

import pytest

from dagc.export.search_json import at_rate_json, ranked_at_rate_json
from dagc.lang.load import load_plan
from dagc.search.at_rate import GOODPUT_TIE, _out_of_reach, _pool, _tier, rank_at_rate
from dagc.search.search import search
from conftest import EXAMPLES


def _row(goodput: float, up: bool = True, meets: bool = True) -> N:
    return N(goodput_per_gpu=goodput, load=N(carries_traffic=up), candidate=N(meets_requirements=meets))


def test_a_candidate_is_out_of_reach_only_below_every_shown_row_by_the_noise_twice():
    rate = 4.0
    two, four = N(gpus=2), N(gpus=4)           # at most 2.0 and 1.0 requests/s per GPU
    rows = (_row(1.9), _row(1.5), _row(1.2))
    assert _out_of_reach(rows, [four], rate, 1) and _out_of_reach(rows, [four], rate, 3)
    assert not _out_of_reach(rows, [two], rate, 1)          # it could serve 2.0 per GPU: more than 1.9
    assert not _out_of_reach(rows, [four], rate, 4)         # three rows meet: a fourth could be the 4-GPU one
    assert not _out_of_reach(rows, [four, two], rate, 1)    # the closest of those left decides
    assert not _out_of_reach(rows, [four], rate, None) and not _out_of_reach(rows, [], rate, 1)
    edge = 1.0 / (1 - GOODPUT_TIE) ** 2
    assert not _out_of_reach((_row(edge),), [four], rate, 1)            # within the noise twice: not cut
    assert _out_of_reach((_row(edge * 1.001),), [four], rate, 1)
    # rows that keep up but miss a requirement, or fall behind, do not count: a candidate could rank above them
    assert not _out_of_reach((_row(1.9, meets=False), _row(1.8, up=False)), [four], rate, 1)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "rate", "cut"), [("deepseek-v3-disaggregated", 6.52, {1: 27, 10: 11}),
                                                   # 17 → 16 left out (2026-11-28): vLLM's mxfp4 expert
                                                   # padding and second copy of the block scales; 16 → 15
                                                   # (2026-11-29): `tp 1 ; ep 1 etp 2` pays its experts' exchange
                                                   ("gpt-oss-120b-1xh100", 0.7122, {1: 15, 10: 0})])
def test_the_rows_shown_are_those_of_simulating_every_candidate(name, rate, cut):
    plan = load_plan(str(EXAMPLES / f"{name}.moe"))
    found = search(plan, top=10)
    every = rank_at_rate(plan, found, rate)
    assert every.beyond == 0
    for shown, beyond in cut.items():
        lazy = rank_at_rate(plan, found, rate, shown=shown)
        assert lazy.beyond == beyond
        assert len(lazy.ranked) < len(every.ranked) or beyond == 0
        rows = [json.dumps(at_rate_json(a), sort_keys=True) for a in lazy.ranked[:shown]]
        assert rows == [json.dumps(at_rate_json(a), sort_keys=True) for a in every.ranked[:shown]]
        assert ranked_at_rate_json(lazy, shown)["beyond_shown"] == beyond


@pytest.mark.slow
@pytest.mark.parametrize(("name", "rate", "gpus"), [("llama-4-maverick-8xh200", 0.741224, 8),
                                                    ("qwen3-30b-a3b-inflight", 3.73278, 2)])
def test_goodputs_that_tie_at_the_rate_are_ranked_by_p99_ttft_and_every_tied_candidate_is_simulated(
        name, rate, gpus):
    """bench/bench_traffic.py's two slowest `search --rate` cases (issue 57; R half the first strategy's steady
    rate, `--only rate`): every candidate on as many GPUs as the first that keeps up serves the whole rate, so
    their goodputs per GPU tie at R / GPUs — 0.741224 / 8 = 0.092653 and 3.73278 / 2 = 1.86639 requests/s — and
    the bound a candidate serves at most R cannot leave one of them out (`_out_of_reach`): the p99 TTFT of its
    whole run orders them. Only candidates on more GPUs are left out (qwen3-30b-a3b-inflight's on 3 and 4 GPUs,
    whose bound R / 3 = 1.24 is below the first row by more than the noise), and the rows shown are those of
    simulating every candidate."""
    plan = load_plan(str(EXAMPLES / f"{name}.moe"))
    found = search(plan, top=10)
    every = rank_at_rate(plan, found, rate)
    first = every.ranked[0]
    assert first.candidate.gpus == gpus and _tier(first) == 0
    assert first.goodput_per_gpu == pytest.approx(rate / gpus, rel=1e-12)
    tied = [a for a in every.ranked if _tier(a) == 0 and a.goodput_per_gpu == first.goodput_per_gpu]
    assert len(tied) >= 8 and all(a.candidate.gpus == gpus for a in tied)
    p99 = [a.load.figures.ttft_s.p99 for a in tied]
    assert p99 == sorted(p99) and p99[0] < p99[-1]
    more = sum(1 for c in _pool(found) if c.gpus > gpus)
    for shown in (1, 10):
        lazy = rank_at_rate(plan, found, rate, shown=shown)
        assert lazy.beyond == more
        rows = [json.dumps(at_rate_json(a), sort_keys=True) for a in lazy.ranked[:shown]]
        assert rows == [json.dumps(at_rate_json(a), sort_keys=True) for a in every.ranked[:shown]]
