"""The search with disaggregated candidates (`dagc.search.pooled`, `dagc.search.pairs`): what it finds is
what a brute force over the documented space finds, its figures are `check`'s, its pruning changes
nothing, and it reports what it did."""

from __future__ import annotations

import functools
import math

import pytest

from dagc.export.optimal_words import evidence_json
from dagc.export.result_json import metrics_json
from dagc.export.search_json import search_json
from dagc.lang.load import load_plan_text
from dagc.layout.layout import resolve
from dagc.layout.split import busiest_group_requests
from dagc.plan.objective import OBJECTIVES
from dagc.plan.strategy import Pool, Strategy
from dagc.schedule.timer import Timer
from dagc.search import pooled
from dagc.search.result import Candidate, rank_key
from dagc.search.search import SearchResult, search
from dagc.search.space import instance_strategies, replica_counts, variants
from dagc.serve.disagg import PoolFigures, disaggregated, kv_bytes_per_request, transfer_link, transfer_seconds
from dagc.verdict.check import check
from dagc.verdict.pools import check_pools, prefill_batch_of
from dagc.verdict.steady import steady_metrics
from dagc.verdict.verdict import RequirementResult, requirement_value

QWEN = ('model preset "qwen3-30b-a3b"\ncluster {{ gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm" }}\n'
        "workload {{ batch = 64  prompt = 2000  generate = 200  serving = inflight {extra} }}\n{require}"
           "strategy tp 8\n")


def qwen(extra: str = "", require: str = "") -> str:
    return QWEN.format(extra=extra, require=require)


def searched(text: str, objective: str = "tokens-per-gpu", prune: bool = True, pools: bool = True) -> SearchResult:
    """`search(load_plan_text(text), objective=objective, rescore=0, prune=prune, pools=pools)`, once per
    process for the tests that only read it (that the search gives the same result twice is
    `test_the_search_is_deterministic`'s, which searches afresh)."""
    return _searched(text, objective, prune, pools)


@functools.cache
def _searched(text: str, objective: str, prune: bool, pools: bool) -> SearchResult:
    return search(load_plan_text(text), objective=objective, rescore=0, prune=prune, pools=pools)


def brute_force(text: str, objective: str) -> list[Candidate]:
    """Every disaggregated candidate of the documented space (docs/search.md), each pool's instance by
    the fast check, each pair and N scored one by one with `dagc.serve.disagg.disaggregated`: the pairs'
    figures are the plan's own whatever the objective (`_pairs`), each ranked under `objective` here."""
    plan = load_plan_text(text)
    return [candidate(plan, objective, pair) for pair in _pairs(text)]


@functools.cache
def _pairs(text: str) -> tuple[tuple, ...]:
    """Each (prefill instance, N, decode instance, M) of the brute force over `text`'s plan with its figures:
    the pools' GPUs, transfer and rates of `dagc.serve.disagg.disaggregated`, and the fuller instance. None
    of it reads the objective, so the cases of one plan share it (the search each case runs does not)."""
    plan = load_plan_text(text)
    timer, alone = Timer(plan), plan.model_copy(update={"requirements": ()})
    w, c = plan.workload, plan.cluster
    prefills = []
    for s in instance_strategies(plan, c.gpus - 1):
        lay = resolve(plan.model, c, w, s)
        batch = prefill_batch_of(w, lay.adp)
        for mb, ov in variants(s, busiest_group_requests(batch, 1, lay.adp)):
            p = pooled._instance(alone, s, pooled._role_workload(w, "prefill", batch, mb, ov), timer)
            if p is not None:
                prefills.append(p)
    least = min(p.gpus for p in prefills)
    out = []
    for s in instance_strategies(plan, c.gpus - least):
        g = resolve(plan.model, c, w, s).gpus_used
        for m in replica_counts(min(w.batch, (c.gpus - least) // g)):
            batch = -(-w.batch // m)
            lay = resolve(plan.model, c, pooled._role_workload(w, "decode", batch, 1, pooled.Overlap.NONE), s)
            for mb, ov in variants(s, busiest_group_requests(batch, 1, lay.adp)):
                if not any(p.mb == mb and p.overlap == ov and p.gpus + m * g <= c.gpus for p in prefills):
                    continue
                d = pooled._instance(alone, s, pooled._role_workload(w, "decode", batch, mb, ov), timer)
                if d is None:
                    continue
                for p in prefills:
                    for n in range(1, (c.gpus - m * d.gpus) // p.gpus + 1 if (p.mb, p.overlap) == (mb, ov) else 1):
                        out.append(pair_figures(plan, p, n, d, m))
    return tuple(out)


def pair_figures(plan, p, n, d, m) -> tuple:
    w = plan.workload
    gpus = n * p.gpus + m * d.gpus
    kv = kv_bytes_per_request(plan.model, w, d.tp)
    link = transfer_link(plan.cluster, gpus, p.kv_ranks, d.kv_ranks)
    transfer = transfer_seconds(kv, p.batch, link, plan.model.layers, False)
    f = disaggregated(PoolFigures("prefill", n, p.gpus, p.batch, p.seconds),
                      PoolFigures("decode", m, d.gpus, d.batch, d.seconds), transfer, w,
                      plan.cluster.engine.terms.frontend_alone_s)     # the client's TTFT, as check's
    fuller = max((p, d), key=lambda i: i.memory_fraction)
    return p, n, d, m, gpus, steady_metrics(f.rates, kv_transfer_s=transfer), fuller


def candidate(plan, objective, pair) -> Candidate:
    p, n, d, m, gpus, metrics, fuller = pair
    reqs = [RequirementResult(r, requirement_value(r, gpus, metrics, fuller.memory_fraction, fuller.memory_bytes))
            for r in plan.requirements]
    text = f"prefill {n} < {p.strategy.text} > decode {m} < {d.strategy.text} >"
    strategy = Strategy(text=text, pools=(Pool(role="prefill", instances=n, strategy=p.strategy),
                                          Pool(role="decode", instances=m, strategy=d.strategy)))
    return Candidate(strategy, d.mb, d.overlap, gpus, metrics, all(r.met for r in reqs),
                     OBJECTIVES[objective].score(metrics, gpus), fuller.memory_fraction, None,
                     misses=sum(r.met is False for r in reqs))


def keys(cands) -> list[tuple]:
    return [(c.misses, round(-c.score, 9), c.gpus, c.text) for c in cands]


# objective, requirements, whether a disaggregated candidate is among the best 10
CASES = [("tokens-per-gpu", "", True), ("throughput", "", True), ("tpot", "", True), ("ttft", "", False),
         ("min-gpus", "require { tpot <= 40 ms }\n", True),
         ("tokens-per-gpu", "require { ttft <= 1 s  decode_throughput >= 2000 tokens/s }\n", True)]


@pytest.mark.parametrize("objective, require, pools_win", CASES)
@pytest.mark.parametrize("prune", [True, False])
def test_the_search_finds_what_a_brute_force_over_its_space_finds(objective, require, pools_win, prune):
    text = qwen(require=require)
    found = searched(text, objective=objective, prune=prune)
    aggregated = searched(text, objective=objective, pools=False).ranked
    brute = sorted([*aggregated, *brute_force(text, objective)], key=rank_key)
    assert any(c.strategy.disaggregated for c in brute[:10]) is pools_win
    assert keys(found.ranked[:10]) == keys(brute[:10])
    assert found.disaggregated is not None and found.disaggregated.complete


def test_pruning_pools_keeps_the_front_and_counts_what_it_pruned():
    pruned, full = searched(qwen()), searched(qwen(), prune=False)
    assert [c.text for c in pruned.pareto] == [c.text for c in full.pareto]
    assert any(c.strategy.disaggregated for c in pruned.pareto)
    assert pruned.disaggregated.pruned > 0 == full.disaggregated.pruned
    assert pruned.disaggregated.decode_instances < full.disaggregated.decode_instances


@pytest.mark.parametrize("extra", ["", "kv_transfer = layerwise\n  speculative { method = eagle  tokens = 2  "
                                       "acceptance = 0.75 }"])
def test_the_search_figures_of_a_pair_are_the_checks(extra):
    """overlap none: the fast check's recurrence is exact, so a pair's figures are `check_pools`' — a layer-wise
    transfer's visible share too, whose layers are the model's and the draft's (`transfer_layers`)."""
    plan = load_plan_text(qwen(extra))
    pairs = [c for c in search(plan, rescore=0, top=40).ranked if c.strategy.disaggregated
             and c.overlap.value == "none"][:6]
    assert pairs
    for c in pairs:
        exact = check_pools(plan.model_copy(update={"workload": plan.workload.model_copy(
            update={"microbatches": c.microbatches})}), c.strategy)
        for key in ("ttft_s", "tpot_s", "decode_tokens_per_s_per_gpu", "kv_transfer_s"):
            assert math.isclose(metrics_json(c.metrics)[key], metrics_json(exact.metrics)[key],
                                rel_tol=1e-9), (c.text, key)


def test_the_best_is_rescored_by_check_and_its_text_checks_to_the_same_figures():
    plan = load_plan_text(qwen())
    best = search(plan, objective="tpot").best
    assert best.strategy.disaggregated and best.exact
    again = check(load_plan_text(qwen().replace("strategy tp 8", f"strategy {best.text}")))[0]
    assert again.verdict.correct and again.pooled is not None
    assert math.isclose(again.metrics.decode_tokens_per_s, best.metrics.decode_tokens_per_s, rel_tol=1e-12)
    assert again.gpus_used == best.gpus


def test_the_optimal_verdict_can_name_a_disaggregated_strategy():
    plan = load_plan_text(qwen() + "objective = tpot\n")
    r = check(plan, optimality=search(plan, objective="tpot", rescore=5, front=False))[0]
    assert r.verdict.optimal is False
    assert evidence_json(r.optimality, r)["best_strategy"].startswith("prefill 1 < ")
    assert evidence_json(r.optimality, r)["best_figures"]["tpot_s"] < r.metrics.tpot_s


def test_only_in_flight_plans_weigh_pools():
    # `batch = max` weighs them too, each decode instance at its largest batch: tests/test_batch_max_pools.py
    found = search(load_plan_text(qwen().replace("serving = inflight", "")), rescore=0)
    assert found.disaggregated is None and not any(c.strategy.disaggregated for c in found.ranked)
    assert searched(qwen(), pools=False).disaggregated is None


def test_a_budget_spent_while_weighing_pools_leaves_a_partial_search(monkeypatch):
    import dagc.search.search as driver

    plan = load_plan_text(qwen())
    calls, entered = [0], []

    def clock() -> float:
        calls[0] += 1
        return float(calls[0])

    def recording(*args, **kwargs):
        entered.append(calls[0])
        return pooled.pooled_search(*args, **kwargs)

    monkeypatch.setattr(driver, "pooled_search", recording)
    search(plan, rescore=0, clock=clock, budget_s=1e9)        # a budget makes the search read the clock more
    calls[0] = 0
    # the deadline falls a few instances into the pools: t0 is the first call
    found = search(plan, rescore=0, clock=clock, budget_s=entered[0] + 5 - 1)
    assert not found.complete and found.stopped == "budget"
    assert found.disaggregated is not None and not found.disaggregated.complete
    assert 0 < found.disaggregated.prefill_instances <= 6
    assert "cut short by the time budget" in found.counts_text()


def test_counts_are_reported_in_words_and_json():
    found = searched(qwen())
    d = search_json(found)["disaggregated"]
    assert set(d) == {"prefill_instances", "decode_instances", "pruned", "pairs", "legal", "complete"}
    assert d["pairs"] >= d["legal"] > 0 and d["prefill_instances"] > 0
    assert f"{d['pairs']:,} pairs weighed" in found.counts_text()


def test_the_search_is_deterministic():
    a, b = searched(qwen()), search(load_plan_text(qwen()), rescore=0)      # b: a search of its own
    assert keys(a.ranked) == keys(b.ranked) and a.disaggregated == b.disaggregated


def test_prefill_instances_that_enough_others_beat_are_set_aside():
    def inst(text, seconds=1.0, gpus=1, fraction=0.5):
        return pooled.Instance(Strategy(text=text), 1, pooled.Overlap.NONE, gpus, 4, seconds, fraction, 10.0, 1, 1)

    a, b, c = inst("tp 1"), inst("tp 1 ; ep 1"), inst("tp 2", seconds=2.0)
    assert pooled._undominated([a, b, c], False, 2) == [a, b]                  # c: beaten by two
    assert pooled._undominated([a, b, c], False, 3) == [a, b, c]               # … not by three
    # the same figures: only the name tells them apart — as written inside a pooled strategy, where
    # `tp 1 ; ep 1 >` comes before `tp 1 >` (`;` before `>`)
    assert pooled._undominated([a, b], False, 1) == [b]
    # more memory: no matter without a memory line
    fuller = inst("tp 1 sp", fraction=0.9)
    assert pooled._undominated([a, fuller], False, 1) == [a] and pooled._undominated([a, fuller], True, 1) == [a]
    assert pooled._undominated([fuller, inst("tp 4", fraction=0.1)], True, 1) == [fuller, inst("tp 4", fraction=0.1)]
    # other GPUs never beat each other
    assert pooled._undominated([a, inst("tp 2", seconds=9.0, gpus=2)], False, 1) == [a, inst("tp 2", seconds=9.0,
                                                                                             gpus=2)]


def test_both_pools_of_a_candidate_run_its_options():
    """A strategy's options apply to both pools: no candidate mixes micro-batches or overlap."""
    found = search(load_plan_text(qwen()), rescore=0, top=40, prune=False)
    pairs = [c for c in found.ranked if c.strategy.disaggregated]
    assert len(pairs) > 40
    for c in pairs:
        p, d = (pool.strategy for pool in c.strategy.pools)
        assert (p.microbatches, p.overlap) == (d.microbatches, d.overlap) == (c.microbatches, c.overlap)


def test_pareto_svg_draws_disaggregated_candidates_as_diamonds():
    import xml.etree.ElementTree as ET

    from dagc.export.pareto import MAX_POINTS, pareto_svg

    found = searched(qwen(), objective="tpot")
    svg = ET.fromstring(pareto_svg(found, "qwen"))
    ns = "{http://www.w3.org/2000/svg}"
    marks = [e for e in svg.iter() if "candidate" in e.get("class", "").split() or
             "pareto" in e.get("class", "").split()]
    diamonds = [e for e in marks if e.tag == ns + "polygon"]
    pooled_points = sum(c.strategy.disaggregated for c in (*found.ranked[:MAX_POINTS], *found.pareto))
    assert pooled_points > 0 and len(diamonds) == pooled_points
    assert all("disaggregated" in e.get("class").split() for e in diamonds)
    assert all(e.tag == ns + "circle" for e in marks if e not in diamonds)
    assert any("diamonds: disaggregated" in (t.text or "") for t in svg.iter(ns + "text"))
    aggregated = searched(qwen(), objective="tpot", pools=False)
    assert "diamonds" not in pareto_svg(aggregated, "qwen")


def test_pairs_with_the_same_figures_are_ranked_by_name_pruned_or_not():
    """A tiny model on 1,024 GPUs: many pairs share their figures and GPUs; the front and the best keep the
    first by the tie-break (lower TTFT, then TPOT, memory, name) whether or not the search prunes (found by the
    generated plans of test_search_bound). Its pairs' ties on the front came of `decode 1 < tp 1 ; ep 1 etp 2 >`
    priced as `decode 2 < tp 1 >`, its expert exchange free; priced, no tie is left among the best 10 nor on the
    front, so the plan asks `tpot <= 0.84 ms`, which only pairs meet (the best aggregated, `dp 2 < tp 1 >`,
    0.849 ms): the best are pairs, three of them tied on 7 GPUs."""
    text = ('model "gen" { layers = 4  hidden = 256  heads = 8  vocab = 1000  kv_heads = 1  head_dim = 32\n'
            '  moe { experts = 4  top_k = 2  ffn = 256  shared = 0  dense_layers = 0  dense_ffn = 1024 } }\n'
            'cluster { gpus = 1024  gpus_per_node = 8  gpu "big" { memory = 10 TB  flops = 400 TFLOPS  hbm = 2 TB/s }\n'
            '  inter_node = 50 GB/s  engine = pytorch }\n'
            'workload { batch = 2  prompt = 114  generate = 2  microbatches = 2  '
            'routing = uniform  overlap = none  serving = inflight  chunk = 200 }\n'
            'require { tpot <= 0.84 ms }\n'
            'strategy pp 2 < tp 1 cp 2 ; ep 4 >\n')
    plan = load_plan_text(text)
    pruned, whole = search(plan, rescore=0), search(plan, rescore=0, prune=False)
    assert pruned.pruned > 0
    assert [c.text for c in pruned.pareto] == [c.text for c in whole.pareto]
    assert keys(pruned.ranked[:10]) == keys(whole.ranked[:10])
    assert any(c.strategy.disaggregated for c in pruned.pareto)
    assert all(c.strategy.disaggregated for c in pruned.ranked[:10])
    # #2–#4 share their decode instance, `decode 1 < tp 1 >` at 0.8251 ms a step, and their 7 GPUs: each serves
    # 2 requests / 0.8251 ms / 7 GPUs = 346.26 tokens/s per GPU; tied, the lower TTFT first (4.709, 4.791, 4.832 ms,
    # prefill's own), not the first by name (`prefill 3 …` before `prefill 6 …`)
    tied = pruned.ranked[1:4]
    assert [c.strategy.text for c in tied] == ["prefill 6 < tp 1 > decode 1 < tp 1 >",
                                               "prefill 3 < tp 1 ; ep 2 > decode 1 < tp 1 >",
                                               "prefill 3 < tp 1 ; ep 1 etp 2 > decode 1 < tp 1 >"]
    assert {c.gpus for c in tied} == {7} and len({c.score for c in tied}) == 1
    assert tied[0].metrics.tpot_s == pytest.approx(0.8251e-3, abs=0.0001e-3)
    assert tied[0].score == pytest.approx(2 / tied[0].metrics.tpot_s / 7) == pytest.approx(346.26, abs=0.01)
    assert [round(c.metrics.ttft_s * 1e3, 3) for c in tied] == [4.709, 4.791, 4.832]
    assert "prefill 6 < tp 1 > decode 2 < tp 1 >" in {c.strategy.text for c in pruned.pareto}



def test_a_pairs_text_is_the_printers_text_of_the_pair():
    """`pooled.pooled_text` writes a pair's scope without making the strategy: what `scope_source` prints of
    `printer.pooled` of it, for pairs of the instance strategies of a plan and of strategies with cp, sp, etp and
    a written split; and the parser reads the text back as its own canonical text."""
    from dagc.lang.load import parse_strategy
    from dagc.plan.printer import aggregated, pooled as made, scope_source, with_split

    plan = load_plan_text(qwen().replace("gpus = 8 ", "gpus = 16 "))
    strategies = list(instance_strategies(plan, 8))[::4] + [
        aggregated(tp=2, cp=2, sp=True, ep=4, etp=2), with_split(aggregated(pp=2, tp=4, ep=4), (30, 18))]
    assert len(strategies) >= 10 and any(s.pp > 1 for s in strategies) and any(s.ep for s in strategies)
    for p in strategies:
        for d in strategies:
            text = pooled.pooled_text(p, 3, d, 2)
            assert text == scope_source(made(p, 3, d, 2))
            assert parse_strategy(text).text == text
