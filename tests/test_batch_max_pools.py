"""`batch = max` and `--vary batch` weigh disaggregated strategies (`dagc.search.pooled_max`): each decode
instance at its largest batch, the prefill pool sized by trying every N; the best can be a pool, its
batch is M × the decode instance's, its text checks to its figures, the pruning changes nothing, and a
search whose space is cut says what it left out."""

from __future__ import annotations

import json
import math

import pytest

from dagc.export.optimal_words import evidence_json
from dagc.export.result_json import metrics_json
from dagc.lang.load import load_plan_text
from dagc.search.result import rank_key
from dagc.search.search import search
from dagc.verdict.check import check
from dagc.verdict.pools import check_pools
from conftest import run_dagc

# Qwen3-30B-A3B on 4 H100s, served in flight: TPOT binds each decode instance's batch
PLAN = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 4  gpus_per_node = 8  gpu preset "h100-sxm" }\n'
        "workload { batch = max  prompt = 2000  generate = 200  serving = inflight }\n"
        "require { tpot <= 30 ms  ttft <= 1 s }\nstrategy tp 4\n")
FIGURES = ("ttft_s", "tpot_s", "decode_tokens_per_s", "throughput_tokens_per_s")


def plan_with(batch: str = "max", strategy: str = "tp 4"):
    return load_plan_text(PLAN.replace("batch = max", f"batch = {batch}").replace("strategy tp 4",
                                                                                   f"strategy {strategy}"))


@pytest.fixture(scope="module")
def found():
    return search(plan_with(), rescore=3, front=False)


def test_a_disaggregated_candidate_is_best_at_its_largest_batch(found):
    best = found.best
    assert best.strategy.disaggregated and best.exact and best.meets_requirements
    assert found.disaggregated is not None and found.disaggregated.complete
    probes = found.disaggregated.batch_max
    assert probes is not None and probes.left_out == 0 and found.left_out is None
    probed = probes.probes
    assert probed > 0 and f"evaluated at their largest batch ({probed:,} batches probed" in found.counts_text()
    # its batch is M × the largest batch one decode instance serves, as `check` chooses it for the pool
    decode = best.strategy.pool("decode")
    chosen = check_pools(plan_with(), best.strategy).plan.workload.batch
    assert best.batch == chosen and best.batch % decode.instances == 0 and best.batch >= 64
    assert best.binding == "tpot <= 30 ms" and best.metrics.tpot_s <= 0.030
    # ranked before the best aggregated strategy, each at its own largest batch
    aggregated = next(c for c in found.ranked if not c.strategy.disaggregated)
    assert aggregated.batch is not None and best.score > 1.2 * aggregated.score
    assert rank_key(best) < rank_key(aggregated)


def test_the_optimal_verdict_names_the_pool_with_its_batch(found):
    r = check(plan_with(), optimality=found)[0]
    best = found.best
    assert r.verdict.optimal is False
    ev = evidence_json(r.optimality, r)
    assert ev["best_strategy"] == best.text and ev["best_batch"] == best.batch
    assert f"serving {best.batch:,} requests" in ev["note"] and "left out" not in ev["note"]


def test_the_text_pasted_at_its_batch_checks_to_the_same_figures(found):
    best = found.best
    at_batch = check(plan_with(str(best.batch), best.text))[0]
    assert at_batch.verdict.correct and at_batch.pooled is not None
    assert at_batch.gpus_used == best.gpus
    for key in FIGURES:
        assert math.isclose(metrics_json(at_batch.metrics)[key], metrics_json(best.metrics)[key], rel_tol=1e-12), key
    # with `batch = max` in the plan, check chooses the same batch for it (N605)
    at_max = check(plan_with("max", best.text))[0]
    assert at_max.plan.workload.batch == best.batch
    assert math.isclose(at_max.metrics.decode_tokens_per_s, best.metrics.decode_tokens_per_s, rel_tol=1e-12)


def test_the_command_line_pastes_it_with_set_batch(found, tmp_path):
    best = found.best
    path = tmp_path / "plan.moe"
    path.write_text(PLAN)
    out = run_dagc("check", str(path), "--strategy", best.text, "--set", f"workload.batch={best.batch}", "--no-search",
                   "--format", "json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["workload"]["batch"] == best.batch and report["valid"]
    for key in FIGURES:
        assert math.isclose(report["metrics"][key], metrics_json(best.metrics)[key], rel_tol=1e-12), key


def test_pruning_changes_nothing(found):
    every = search(plan_with(), rescore=3, front=False, prune=False)
    n = found.exact_top
    assert n >= 3 and every.exact_top >= n

    def keys(r):
        return [(c.text, c.batch, c.gpus, c.score) for c in r.ranked[:n]]

    assert keys(found) == keys(every)
    d, e = found.disaggregated, every.disaggregated
    assert e.pruned == 0 and d.pruned > 0
    assert d.decode_instances + d.pruned == e.decode_instances      # the same space, less probed
    assert d.batch_max.probes < e.batch_max.probes


def test_a_space_cut_by_the_cap_on_probes_says_what_it_left_out():
    cut = search(plan_with(), rescore=3, front=False, max_pool_probes=30)
    d = cut.disaggregated
    probes = d.batch_max
    assert probes.left_out > 0 and probes.max_probes == 30
    total = d.decode_instances + d.pruned + probes.left_out
    assert cut.left_out == (f"disaggregated candidates with {probes.left_out:,} of the {total:,} decode instances "
                            "(the largest), past its cap of 30 batches probed for their largest batch")
    assert f"left out {cut.left_out}" in cut.counts_text()
    # a count, not a clock: the same cut every time; the probes stop at the instance that crosses the cap
    again = search(plan_with(), rescore=0, front=False, max_pool_probes=30)
    assert again.disaggregated == d
    assert 30 <= probes.probes < 30 + 64
    r = check(plan_with(), optimality=cut)[0]
    assert evidence_json(r.optimality, r)["note"].endswith(f"; the search left out {cut.left_out}")


def test_vary_batch_ranks_pools_in_the_search_output(tmp_path):
    path = tmp_path / "plan.moe"
    path.write_text(PLAN.replace("batch = max", "batch = 16"))
    out = run_dagc("search", str(path), "--vary", "batch", "--top", "3", "--format", "json",
                   "--svg", str(tmp_path / "pareto.svg"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    first = result["candidates"][0]
    assert first["strategy"].startswith("prefill ") and first["workload"]["batch"] > 16
    assert result["disaggregated"]["left_out"] == 0 and result["disaggregated"]["batch_probes"] > 0
