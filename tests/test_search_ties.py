"""Ties of the search's ranking and its Pareto front (docs/search.md, "Ties"): candidates whose scores are
equal rank lower TTFT first, then lower TPOT, then less memory; a point equal on both axes of the front and no
worse on TTFT and memory dominates one it beats on either."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path

from dagc.lang.load import load_plan
from dagc.search.result import pareto_front, rank_key, score_key
from dagc.search.search import search

TRIAL = Path(__file__).parent / "fixtures" / "trial13"


@functools.cache
def _p4():
    """The trial plan's search, made once in this module and read by four tests: a `SearchResult` is frozen, its
    candidates too, and the tests that vary a candidate make new ones (`dataclasses.replace`)."""
    return search(load_plan(TRIAL / "p4-dsv3-eplb-mtp.moe"), top=6)


def test_equal_scores_rank_lower_ttft_first_then_less_memory():
    found = _p4()
    top = found.ranked[:6]
    assert len({score_key(c.score) for c in top}) == 1          # six candidates tied on the objective
    ttfts = [float(c.metrics.ttft_s) for c in top]
    assert ttfts == sorted(ttfts)
    # was 1.644 s (`prefill 1 < tp 1 ; ep 4 etp 2 > …`), first by name; 0.4017 s since its KV moves at the decode
    # instance's 2 receiving ranks' links (tp 2 with attention DP), not the prefill instance's 8: 11.7 ms, not 2.9
    assert ttfts[0] < 0.41
    assert top[0].memory_fraction <= min(c.memory_fraction for c in top)


def test_front_keeps_the_point_that_dominates_on_ttft_and_memory():
    found = _p4()
    tied = [c for c in found.ranked if c.meets_requirements and score_key(c.score) == score_key(found.ranked[0].score)]
    assert len(tied) >= 6
    front = pareto_front(tied)
    assert len(front) == 1
    best = front[0]
    assert all(float(best.metrics.ttft_s) <= float(c.metrics.ttft_s) and best.memory_fraction <= c.memory_fraction
               for c in tied)
    assert best.text in {c.text for c in found.pareto}
    assert "prefill 1 < tp 1 ; ep 4 etp 2 >" not in " ".join(c.text for c in found.pareto)


def test_front_tie_on_the_axes_keeps_both_when_neither_dominates():
    c = _p4().ranked[0]
    faster = replace(c, memory_fraction=c.memory_fraction + 0.1)
    leaner = replace(c, metrics=replace(c.metrics, ttft_s=float(c.metrics.ttft_s) * 2),
                     memory_fraction=c.memory_fraction - 0.1, strategy=c.strategy, gpus=c.gpus)
    assert set(map(id, pareto_front([faster, leaner]))) == {id(faster), id(leaner)}
    assert pareto_front([faster, leaner]) == pareto_front([leaner, faster])
    worse = replace(leaner, memory_fraction=faster.memory_fraction)     # slower and no leaner: dominated
    assert pareto_front([worse, faster]) == (faster,)


def test_float_noise_ties_and_real_differences_do_not():
    c = _p4().ranked[0]
    noisy = replace(c, score=c.score * (1 + 4e-16), metrics=replace(c.metrics, ttft_s=float(c.metrics.ttft_s) + 1))
    better = replace(noisy, score=c.score * 1.001)
    assert sorted([noisy, c], key=rank_key) == [c, noisy]       # the noise does not outrank 1 s of TTFT
    assert sorted([c, better], key=rank_key) == [better, c]


def test_front_of_the_shown_search_holds_no_point_a_shown_row_dominates(tmp_path):
    """Qwen3-235B on 8 H200s from a request log: the front showed a 633.3 tokens/s/GPU point at 260 ms TTFT (its
    throughput lower by float noise) beside row #4 at the same throughput and TPOT, 251.9 ms and less memory (since
    vLLM refuses `sp`, E709, the row of least TTFT there is at 253.3 ms). Since 2026-11-29 (a decode pool's experts
    split over attention-DP ranks pay their exchange) three shown rows tie at 623.8 tokens/s/GPU."""
    import json

    from conftest import run_dagc
    # in this process (`run_dagc`: what `python -m dagc` gives, without an interpreter's start)
    run = run_dagc("search", str(TRIAL / "p2-qwen-log.moe"), "--top", "5", "--format", "json",
                   "--svg", str(tmp_path / "p.svg"))
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    front, rows = doc["pareto"], [c for c in doc["candidates"] if c["meets_requirements"]]
    assert len({c["strategy"] for c in front}) == len(front)              # each point once

    def figures(c):
        m = c["metrics"]
        return (-score_key(m["decode_tokens_per_s_per_gpu"]), score_key(m["tpot_s"]), m["ttft_s"],
                1 - c["memory_headroom"])

    for p in front:
        for r in rows:
            a, b = figures(r), figures(p)
            weakly = all(x <= y for x, y in zip(a, b, strict=True)) and a != b
            assert not (weakly and a[:2] == b[:2]), (r["strategy"], p["strategy"])
    # the point at 623.8 tokens/s/GPU is the shown row of least TTFT there: `prefill 1 < tp 2 ; ep 2 > …` at 257.8
    # ms (257.3 while its KV moved at the link's whole bandwidth, not at the network efficiency; its `tp 2 sp`
    # prefill at 251.9 ms is no longer a candidate: the plan's vLLM refuses `sp`, E709)
    tied = [p for p in front if abs(p["metrics"]["decode_tokens_per_s_per_gpu"] - 623.8) < 0.05]
    at = [r for r in rows if abs(r["metrics"]["decode_tokens_per_s_per_gpu"] - 623.8) < 0.05]
    least = min(r["metrics"]["ttft_s"] for r in at)
    assert len(at) == 3                                           # the tie the front must not repeat
    assert len(tied) == 1 and tied[0]["metrics"]["ttft_s"] == least and 0.2573 < least < 0.2583
    assert not [r["strategy"] for r in rows if " sp" in r["strategy"]]
