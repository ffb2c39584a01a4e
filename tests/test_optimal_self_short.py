"""The optimal verdict when the search's best is the checked strategy itself, which met every requirement on its
run under the traffic — its capacity not judged: the search judges its first 3 that meet so with their capacities
(`dagc.search.verify`), and here all 3 fall short — while its check, capacity included, finds it short of the rate:
not "`X` meets the requirements; this strategy does not" of X itself, but why nothing is known of a better one
(`Why.SELF_SHORT`); and of another strategy, not that the best meets (`Why.BEST_UNVERIFIED`). The plan: Qwen3-30B-A3B
on 4 H200s replaying 150 long-context requests (32,000 tokens on average) at 0.8 requests/s."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.drive.drive import judged, searched
from dagc.export.summary import optimal_note
from dagc.lang.load import strategy_option
from dagc.lang.overrides import load_plan_with
from dagc.launch.engine_check import check as engine_check
from dagc.verdict.optimal import Why

BEST = "tp 2 sp ; ep 2 with microbatches 1 overlap none"
TP2EP2, TP2 = "tp 2 ; ep 2 with microbatches 1 overlap none", "tp 2 with microbatches 1 overlap none"
TP1CP2 = "tp 1 cp 2 ; ep 2 with microbatches 1 overlap none"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "self_short"
PLAN = """model preset "qwen3-30b-a3b" { context_length = 131072 }
cluster { gpus = 4  gpu preset "h200" }
workload { batch = 32  prompt = 32000  generate = 850  serving = inflight  chunk = 8192
  requests from "longctx.csv" }
require { ttft_p99 <= 10 s  tpot_p90 <= 50 ms  goodput >= 0.3 requests/s }
strategy dep = tp 1 ; ep 4
"""


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    """The plan at 0.8 requests/s and its search as `dagc check` judges it (`judged`, the best alone)."""
    d = tmp_path_factory.mktemp("self_short")
    (d / "longctx.csv").write_bytes((FIXTURE / "longctx.csv").read_bytes())
    (d / "p.moe").write_text(PLAN)
    plan = load_plan_with(d / "p.moe", ["workload.rate=0.8 requests/s"])
    return plan, judged(plan, searched(plan), 1)


def _checked(plan, found, text):
    (r,) = engine_check(plan, strategy_option(text, plan), optimality=found)
    return r


def test_the_search_judges_its_firsts_that_meet_with_their_capacities(short):
    """Each of the 3 that met on its run falls short by its capacity (0.41–0.71 requests/s, `dagc search --rate`'s
    `_verified` found them so too); the search judges no more so, and its best met on its run alone."""
    _, found = short
    assert [c.text for c in found.ranked if c.capacity_judged] == [TP2EP2, TP1CP2, TP2]
    assert not any(c.meets_requirements for c in found.ranked if c.capacity_judged)
    b = found.best
    assert b.text == BEST and b.meets_requirements and b.judged == "all" and not b.capacity_judged


def test_the_best_that_is_this_strategy_and_falls_short_is_not_named_as_another(short):
    plan, found = short
    # the search's best, its capacity not judged: `tp 2 ; ep 2` until 2026-11-30, when the search judged no row with
    # its capacity (`tp 1 cp 2 ; ep 1 etp 2` until 2026-11-29, its experts' exchange left out of the DAG)
    r = _checked(plan, found, BEST)
    assert r.verdict.meets_requirements is False and r.load is not None and not r.load.carries_traffic
    assert r.optimality is not None and r.optimality.why is Why.SELF_SHORT and r.verdict.optimal is None
    note = optimal_note(r)
    assert note.startswith("not judged: the search's best by tokens-per-gpu is this strategy, which met every "
                           "requirement on its run under the traffic")
    assert "this strategy does not" not in note


def test_another_that_falls_short_is_not_said_beaten_by_a_best_whose_capacity_was_not_judged(short):
    """`tp 2 ; ep 2`, the search's best until 2026-11-30, falls short by its capacity, and so might the best that met
    after it on its run alone: not "`X` meets the requirements; this strategy does not" (`Why.BEST_UNVERIFIED`)."""
    plan, found = short
    r = _checked(plan, found, "tp 2 ; ep 2")
    assert r.verdict.meets_requirements is False and r.load.capacity_requests_per_s < 0.8
    assert r.optimality.why is Why.BEST_UNVERIFIED and r.verdict.optimal is None
    note = optimal_note(r)
    assert note.startswith(f"not judged: the search's best by tokens-per-gpu, `{BEST}`, met every requirement on its "
                           "run under the traffic, its capacity not judged: the search judges its first 3 that meet "
                           "every requirement on their runs with their capacities, as `dagc check` does, and those "
                           "before it fell short by theirs (`dagc check --strategy` of it judges its capacity)")
    assert "meets the requirements" not in note
