"""`dagc search --rate R` on a cluster of more GPUs than a strategy uses: a strategy that does not carry R (or
misses a requirement there) on its own GPUs is judged again as the replicas of it the cluster holds — `dp k < … >`,
each replica with the batch it was searched at — as `dagc check` judges that text with `--set workload.batch=k×b`;
and `dagc fleet` prices the cluster on them (docs/fleet.md, "A strategy on fewer GPUs than the cluster")."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.export.fleet_json import FLEET_ASK, answer_json
from dagc.fleet.cluster import answer_cluster
from dagc.lang.load import parse_strategy
from dagc.lang.overrides import load_plan_with
from dagc.search.at_rate import rank_at_rate
from dagc.search.search import search
from dagc.verdict.check import check_strategy
from conftest import run_dagc

# Qwen3-30B-A3B on 2 H100s at 16 requests/s: one H100 (`tp 1`) serves about 11 requests/s of this traffic
PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h100-sxm"  price = 2.5 $/h }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 16 requests/s  requests = 200 }
require { ttft_p99 <= 1 s  tpot_p90 <= 50 ms }
strategy tp 1
"""
REPLICAS = "dp 2 < tp 1 > with microbatches 1 overlap none"


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("replicas") / "plan.moe"
    path.write_text(PLAN)
    return path


def test_a_strategy_on_fewer_gpus_is_judged_as_the_replicas_the_cluster_holds(plan_path):
    plan = load_plan_with(plan_path, ())
    at = rank_at_rate(plan, search(plan, objective=plan.objective), 16.0)
    alone = next(a for a in at.ranked if a.candidate.text == "tp 1 with microbatches 1 overlap none")
    assert alone.candidate.gpus == 1 and not alone.load.carries_traffic      # one H100 falls behind 16/s
    first = at.ranked[0]
    assert (first.candidate.text, first.candidate.gpus, first.candidate.replicas, first.candidate.batch) == \
        (REPLICAS, 2, 2, 32)
    assert first.candidate.meets_requirements and first.load.carries_traffic
    # its run is the one `dagc check --strategy 'dp 2 < tp 1 > …' --set workload.batch=32 --set workload.rate=16`
    # simulates: two engines of 16 requests in flight each
    ref = check_strategy(load_plan_with(plan_path, ("workload.batch=32", "workload.rate=16 requests/s")),
                         parse_strategy(REPLICAS)).load
    assert ref is not None
    assert first.load.figures.ttft_s.p99 == ref.figures.ttft_s.p99
    assert first.load.figures.goodput_requests_per_s == ref.figures.goodput_requests_per_s == 16.0
    assert first.goodput_per_gpu == 8.0                        # 16 requests/s over 2 GPUs


def test_the_fleet_prices_the_cluster_on_its_replicas(plan_path):
    # the search judged under traffic at 30 requests/s keeps `tp 1` among the best it simulates at 16 (at 16 it
    # ranks 2-GPU strategies first and `tp 1` falls out of them)
    plan = load_plan_with(plan_path, ("workload.rate=30 requests/s",))
    answer = answer_json(answer_cluster(plan, 16.0, FLEET_ASK))
    assert answer["meets_requirements"] and answer["pick"]["strategy"] == REPLICAS
    assert answer["pick"]["replicas"] == 2 and answer["pick"]["workload"]["batch"] == 32
    assert answer["instances"] == 1
    # 2 GPUs × $2.5/h for the hours 16 requests/s × 576 tokens take a million: 5 / 3600 / 9216 × 1e6 = $0.1507
    assert answer["per_million_tokens"] == pytest.approx(2 * 2.5 / 3600 / (16 * 576) * 1e6, rel=1e-12)
    assert answer["per_million_tokens"] == pytest.approx(0.15070, abs=5e-6)


def test_the_best_s_capacity_is_its_replicas_at_their_batch(plan_path):
    # the capacity said beside the fleet's best is `dagc check`'s of the pick's text at the pick's batch (two
    # replicas of 16 requests each: `--set workload.batch=32`), not at the plan's 16 shared between them
    from dagc.fleet.cluster import pick_capacity
    plan = load_plan_with(plan_path, ())
    ref = check_strategy(load_plan_with(plan_path, ("workload.batch=32",)), parse_strategy(REPLICAS)).load
    shared = check_strategy(plan, parse_strategy(REPLICAS)).load
    assert ref is not None and shared is not None
    assert pick_capacity(plan, REPLICAS, 32) == ref.capacity_requests_per_s
    assert pick_capacity(plan, REPLICAS) == shared.capacity_requests_per_s != ref.capacity_requests_per_s


def test_the_rate_table_says_each_row_s_batch_when_replicas_carry_their_own(plan_path):
    """A row of replicas ran at k times the batch it was searched at, which its text alone does not carry: the table
    gains a `batch` column (a row of the plan's batch says the plan's), and says how to paste it."""
    # in this process (`run_dagc`: what `python -m dagc` in the plan's directory gives, without an interpreter's
    # start); the search judged under traffic at 30 requests/s keeps `tp 1` among the best it simulates at 16
    proc = run_dagc("search", plan_path.name, "--set", "workload.rate=30 requests/s", "--rate", "16", "--top", "40",
                    "--svg", str(plan_path.parent / "p.svg"), cwd=plan_path.parent, env={"COLUMNS": "250"})
    assert proc.returncode == 0, proc.stderr
    import re
    table = proc.stdout[re.search(r"best \d+ at 16 requests/s", proc.stdout).start():]
    header = next(line for line in table.splitlines() if "strategy" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")][:4] == ["#", "strategy", "batch", "GPUs"]
    rows = [(cells[1], cells[2]) for line in table.splitlines() if line.startswith("│")
            for cells in [[c.strip() for c in line.strip("│").split("│")]] if cells[0].isdigit()]
    assert rows[0] == (REPLICAS, "32") and ("tp 2 with microbatches 1 overlap none", "16") in rows
    assert "paste a row with `--set workload.batch=N`" in table


# `batch = max`: each candidate at its largest batch, so `dp 2 < tp 1 >`'s is twice `tp 1`'s
MAX_PLAN = PLAN.replace("batch = 16", "batch = max").replace("price = 2.5 $/h", "").replace("strategy tp 1\n", "")


def test_replicas_that_are_the_search_s_own_candidate_are_one_row():
    """With a varied batch the replicas of a strategy that falls short on its own GPUs can be the search's own
    candidate: two replicas of `tp 1 with microbatches 2` at 372 requests each are the search's `dp 2 < tp 1 > with
    microbatches 2` at 744. It is simulated once and shown once; until 2026-11-30 the table showed it twice, figure
    for figure (Qwen3-30B-A3B on 2 H100s at 40 requests/s: rows 25 and 26, 28 and 29)."""
    from collections import Counter

    from dagc.lang.load import load_plan_text
    plan = load_plan_text(MAX_PLAN, needs_strategy=False)
    at = rank_at_rate(plan, search(plan, objective=plan.objective), 40.0, shown=40)
    rows = Counter((a.candidate.text, a.candidate.batch) for a in at.ranked)
    assert [row for row, n in rows.items() if n > 1] == []
    alone = next(a for a in at.ranked if a.candidate.text == "tp 1 with microbatches 2 overlap none")
    assert alone.candidate.batch == 372 and not alone.candidate.meets_requirements     # short: its replicas tried
    twin = next(a for a in at.ranked if a.candidate.text == "dp 2 < tp 1 > with microbatches 2 overlap none")
    assert twin.candidate.batch == 744
