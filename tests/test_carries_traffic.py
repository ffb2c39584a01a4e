"""A deployment that cannot carry its traffic never meets its requirements: the queue's growth is judged
against its arrivals' noise (`Load.queue_growth`), the capacity never contradicts the run it is printed
beside, and every place that says "meets" agrees (check's verdict, `-q`, report.json, the search's judge).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dagc.cli.main import main
from dagc.export.report import report_json
from dagc.export.result_json import load_json
from dagc.lang.load import load_plan_text, parse_strategy
from dagc.search.under_traffic import judgement
from dagc.serve.kv_blocks import kv_capacity_of
from dagc.serve.load import simulate
from dagc.serve.load_result import QUEUE_Z
from dagc.serve.step_prices import StepPrices
from dagc.verdict.check import check, check_strategy
from dagc.verdict.under_load import capacity, strategy_run
from conftest import one_computation_per_output

# Qwen3-235B-A22B on 16 H200s at batch 336: a run of 16,000 requests keeps up at 12.1 requests/s (its queue
# grows by under 2 % of the second half's arrivals) and falls behind above it
QWEN235 = """model preset "qwen3-235b-a22b"
cluster { gpus = 16 gpu preset "h200" engine = vllm@0.33.0 }
workload { batch = 336 prompt = 2000 generate = 500 serving = inflight rate = 10 requests/s requests = 2000 }
require { ttft_p99 <= 2 s  tpot_p90 <= 50 ms }
strategy tp 8 ; ep 16
"""

# Qwen3-30B-A3B on 8 H200s, two replicas of 16 requests in flight each: its capacity is about 17.5
# requests/s; at 28 it falls far behind, its TPOT (a steady-state requirement) met all the same
OVER = """model preset "qwen3-30b-a3b"
cluster { gpus = 8 gpu preset "h200" engine = vllm@0.33.0 }
workload { batch = 32 prompt = 1000 generate = 200 serving = inflight rate = 28 requests/s requests = 2000 }
require { tpot <= 100 ms }
strategy dp 2 < tp 4 >
"""


def _at(plan, rate: float, requests: int, seed: int):
    traffic = plan.workload.traffic.at_rate(rate).model_copy(update={"requests": requests, "seed": seed})
    return plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": traffic})})


@pytest.fixture(scope="module")
def qwen235():
    plan = load_plan_text(QWEN235)
    (r,) = check(plan)
    return r, StepPrices(r.plan, r.strategy, r.layout)


def _growth_share(load) -> float:
    g = load.queue_growth
    return g.grown / g.arrived


def test_a_run_below_capacity_is_not_called_overloaded(qwen235):
    """At 11 requests/s (0.91 × what a long run keeps up with), seed 37's 2,000 requests grew the queue by 66,
    within the 79 its arrivals' noise allows: the old test — fewer than 97 % as many ended one lifetime later
    — called it overloaded, and 16,000 requests at the same rate show the deployment keeps up."""
    r, prices = qwen235
    run = simulate(_at(r.plan, 11.0, 2000, 37), r.strategy, r.layout, prices)
    g = run.queue_growth
    assert g is not None and g.arrived > 900
    assert 0 < g.grown < QUEUE_Z * math.sqrt(g.arrived)
    assert not run.overloaded
    long = simulate(_at(r.plan, 11.0, 16_000, 37), r.strategy, r.layout, prices)
    assert not long.overloaded and _growth_share(long) < 0.02


def test_a_run_above_capacity_is_overloaded_whatever_its_seed(qwen235):
    r, prices = qwen235
    for seed in range(4):
        run = simulate(_at(r.plan, 14.5, 2000, seed), r.strategy, r.layout, prices)     # 1.2 × what it keeps up with
        assert run.overloaded, seed
        assert run.queue_growth.grown > QUEUE_Z * math.sqrt(run.queue_growth.arrived)
    long = simulate(_at(r.plan, 14.5, 16_000, 0), r.strategy, r.layout, prices)
    assert _growth_share(long) > 0.1


def test_the_capacity_never_contradicts_the_run_beside_it(qwen235):
    """The plan's own run stands for every trial on its side of the bisection: a run that held puts the
    capacity at or above its rate, one that did not below it."""
    r, prices = qwen235
    run = strategy_run(r.strategy, r.layout, prices, kv_capacity_of(r.memory, r.layout, r.plan.workload))
    estimate = float(r.metrics.throughput_tokens_per_s) / 2500
    held = capacity(r.plan, run, estimate, known=(11.5, True))
    failed = capacity(r.plan, run, estimate, known=(9.5, False))
    assert held is not None and held >= 11.5
    assert failed is not None and failed < 9.5
    free = capacity(r.plan, run, estimate)
    assert free is not None and 9.5 < free < 11.5


@pytest.fixture(scope="module")
def over():
    plan = load_plan_text(OVER)
    (r,) = check(plan)
    return plan, r


def test_an_overloaded_deployment_does_not_meet_even_its_steady_state_requirements(over):
    plan, r = over
    assert r.load.load.overloaded
    assert r.requirements[0].met is True                   # `tpot <= 100 ms`: 9.4 ms in the steady state
    assert r.verdict.meets_requirements is False
    out = report_json(r)
    assert out["verdict"]["meets_requirements"] is False
    load = out["load"]
    assert load["overloaded"] is True and load["carries_traffic"] is False
    g = load["queue_growth"]
    assert g["grown"] == g["arrived"] - g["ended"] and g["grown"] > 4 * g["allowance"]
    assert load["not_carried_because"].startswith(
        f"the queue keeps growing: it grew by {g['grown']:,} over the run's second half ({g['arrived']:,} requests "
        f"arrived, {g['ended']:,} ended) — past the {g['allowance']:.0f} its arrivals' noise allows")
    assert load["capacity_requests_per_s"] < 28 * 0.99


def test_a_load_requirement_met_by_a_growing_queue_is_not_met(over):
    """`ttft_p99 <= 60 s` holds on this run's 40 s, a figure that grows with the run's length: not met, and
    report.json says why."""
    plan, _ = over
    text = OVER.replace("require { tpot <= 100 ms }", "require { tpot <= 100 ms  ttft_p99 <= 60 s }")
    (r,) = check(load_plan_text(text))
    q = r.requirements[1]
    assert q.value is not None and q.value < 60 and q.requirement.holds(q.value)
    assert q.met is False
    row = report_json(r)["requirements"][1]
    assert row["met"] is False and row["not_met_because"].startswith("the queue keeps growing")
    assert report_json(r)["requirements"][0]["not_met_because"] is None       # a steady-state line: its own figure


def test_every_output_says_no(over, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")
    path = tmp_path / "over.moe"
    path.write_text(OVER)
    monkeypatch.chdir(tmp_path)
    with one_computation_per_output():             # one check under the traffic, printed three ways
        main(["check", str(path), "--no-search"])
        out = capsys.readouterr().out
        assert "meets requirements: no" in out and "meets requirements: yes" not in out
        assert "meets? no under its traffic: the queue keeps growing" in out
        assert "meets? yes" not in out                     # the bands' line does not say yes beside it
        main(["check", str(path), "--no-search", "-q"])
        assert "meets requirements no" in capsys.readouterr().out
        main(["check", str(path), "--no-search", "--format", "json"])
        assert json.loads(capsys.readouterr().out)["verdict"]["meets_requirements"] is False
    main(["compile", str(path), "--no-search", "-o", str(tmp_path / "out")])
    out = capsys.readouterr().out                         # compile's verdict says why, as check does
    assert out.split("\n", 1)[1].startswith("strategy dp 2 < tp 4 >: correct yes · meets requirements no · optimal "
                                            "not judged\n  meets? no under its traffic: the queue keeps growing")


def test_the_terminal_says_why_a_held_line_is_not_met_beside_one_that_misses(tmp_path, capsys, monkeypatch):
    """One line misses by its own figure (`ttft_p99 <= 1 ms`), another holds on a growing queue's run
    (`ttft_p99 <= 60 s`): the NO beside the second has its reason in the terminal, not only in report.json."""
    monkeypatch.setenv("COLUMNS", "1000")
    path = tmp_path / "over.moe"
    path.write_text(OVER.replace("require { tpot <= 100 ms }", "require { tpot <= 1 ms  ttft_p99 <= 60 s }"))
    monkeypatch.chdir(tmp_path)
    main(["check", str(path), "--no-search"])
    assert "meets? no under its traffic: the queue keeps growing" in capsys.readouterr().out


def test_the_search_judges_as_check_does(over):
    """`dagc search` (and `--rate`) judge a candidate by its check without the capacity: the queue's growth
    alone says the same as check's verdict, and an overloaded candidate counts a miss."""
    plan, r = over
    found = check_strategy(plan, parse_strategy("dp 2 < tp 4 >"), with_capacity=False)
    assert found.verdict.meets_requirements is False
    from dagc.search.search import search
    c = next(c for c in search(plan, top=50).ranked if c.text.startswith("dp 2 < tp 4 >"))
    j = judgement(found, c)
    assert j.meets is False and j.misses == 1 and j.load_missed == ()


def test_a_closed_loop_is_never_overloaded(qwen235):
    r, prices = qwen235
    traffic = r.plan.workload.traffic.model_copy(update={"rate": None, "concurrency": 400, "requests": 800})
    plan = r.plan.model_copy(update={"workload": r.plan.workload.model_copy(update={"traffic": traffic})})
    run = simulate(plan, r.strategy, r.layout, prices)
    assert run.queue_growth is None and not run.overloaded
    assert np.all(run.finish >= run.arrival)


def test_a_run_that_keeps_up_and_misses_a_percentile_is_past_its_capacity_and_meets_what_holds():
    """A static batch of 32 at 0.5 requests/s: a request arriving while a batch runs waits for it, so the p99
    TTFT (1.5 s) misses its 1 s at any rate and the capacity — the highest rate at which the percentiles hold —
    is a trickle. The run itself keeps up (0.49 requests/s served, none waiting long). Its capacity is below the
    rate, so it does not carry its traffic (the one rule, whether or not its own run misses a percentile), but
    its queue keeps pace: each line is judged on the run's figure — the TTFT percentile missed, the p90 TPOT of
    7.4 ms met against its 30 ms, not marked missed for a capacity that only the TTFT percentile set."""
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 4 gpu preset "h200" } '
                          "workload { batch = 32 prompt = 1000 generate = 200 rate = 0.5 requests/s requests = 1000 } "
                          "require { ttft_p99 <= 1 s  tpot_p90 <= 30 ms } strategy tp 1 ; ep 4")
    r = check_strategy(plan, plan.strategies[0])
    load = load_json(r.load)
    assert not load["overloaded"] and load["capacity_requests_per_s"] < 0.05
    assert not load["carries_traffic"] and load["not_carried_because"].startswith(
        "it keeps pace in this 1,000-request run, but its capacity, 0.0")
    met = {x.requirement.kind.value: (x.value, x.met, x.unmet) for x in r.requirements}
    assert met["ttft"][0] > 1.0 and not met["ttft"][1]
    assert met["tpot"][0] < 0.030 and met["tpot"][1] and met["tpot"][2] is None
    assert r.verdict.meets_requirements is False


# DeepSeek-V3 on 16 H200s at 4 requests/s, 1,000 requests: both strategies keep pace in the run (no request
# waits to be admitted), and both have a capacity below the rate — `ep16` 3.92, its own run missing
# `tpot_p90` (50.28 ms), `tp8pp2` 3.951, its run meeting both percentiles (TPOT p90 49.6 ms), a run of 2,000
# missing it (50.37 ms). Runs of 8,000 requests of `ep16` keep up from 3.5 to 4.4 requests/s (its requests in the
# system growing by 3–7 of 3,999 arrivals) and are overloaded at 4.8; its TPOT p90 reaches 50 ms near 3.9.
DSV3_16 = """model preset "deepseek-v3"
cluster { gpus = 16  gpu preset "h200"  inter_node = 50 GB/s  engine = sglang  price = 3.49 $/h }
workload { batch = 128  prompt = 2000  generate = 500  serving = inflight  rate = 4 requests/s
           requests = 1000  seed = 1 }
require { ttft_p99 <= 2 s  tpot_p90 <= 50 ms  memory <= 90 % }
strategy ep16 = tp 16 ; ep 16
strategy tp8pp2 = pp 2 < tp 8 ; ep 8 >
"""


def test_one_rule_for_two_strategies_past_their_capacity():
    """The capacity is the rate the deployment sustains; the run's percentiles are what was simulated. Both
    strategies are past their capacity, so neither carries its traffic nor meets its requirements, whether or
    not its own run misses a percentile; neither run's queue grows, so every line is judged on its own figure:
    no NO beside a figure that holds with no request waiting, and the Load line says `PAST ITS CAPACITY`,
    not `BEHIND`."""
    from dagc.export.load_md import load_line
    plan = load_plan_text(DSV3_16)
    for r, cap, tpot_met in zip(check(plan), (3.92, 3.951), (False, True), strict=True):
        load = load_json(r.load)
        assert not load["overloaded"] and load["capacity_requests_per_s"] == pytest.approx(cap, abs=0.001)
        assert load["binding"]["admission_wait_s"] == 0
        assert not load["carries_traffic"] and load["not_carried_because"].startswith(
            f"it keeps pace in this 1,000-request run, but its capacity, {cap} requests/s")
        met = {x.requirement.text: (x.met, x.unmet) for x in r.requirements}
        assert met["ttft_p99 <= 2 s"] == (True, None) and met["tpot_p90 <= 50 ms"] == (tpot_met, None)
        assert r.verdict.meets_requirements is False
        assert "; PAST ITS CAPACITY, it does not carry its traffic: it keeps pace" in load_line(load)
        assert "BEHIND" not in load_line(load)


def test_a_queue_growing_past_the_pace_with_a_cap_short_of_little_s_law_does_not_carry():
    """Within its noise (60 more of 999 arrivals, against the 79 that 2.5 √n allows) a queue growing past the
    3 % pace a capacity's trial allows is not `overloaded`; when the requests in flight Little's law needs at
    the rate are more than the cap (140.3 against 128: it serves at most 128 / 140.3 of the rate), the run does
    not carry its traffic all the same. Within the 1 % tolerance of the cap, or keeping pace, it does."""
    from dagc.serve.load_result import QueueGrowth
    from dagc.verdict.under_load import not_carried_because
    behind = QueueGrowth(999, 939, QUEUE_Z * math.sqrt(999))
    assert behind.behind and not behind.significant
    why = not_carried_because(False, behind, 4.0, None, needs=(140.3, 128))
    assert why is not None and why.startswith("it needs ≈ 140 requests in flight at this rate") and "cap of 128" in why
    assert ("its queue grows: it grew by 60 over the run's second half (999 requests arrived, 939 ended) — past the 30 "
            "(3 % of the arrivals) a capacity's trial allows; the arrivals' noise alone could make 79") in why
    assert not_carried_because(False, behind, 4.0, None, needs=(129.2, 128)) is None
    pace = QueueGrowth(999, 975, QUEUE_Z * math.sqrt(999))          # 24 more: 2.4 %, within the pace
    assert not_carried_because(False, pace, 4.0, None, needs=(140.3, 128)) is None
    assert not_carried_because(False, behind, 4.0, None) is None
    # a capacity below the rate is short of it whatever else: the run's queue keeps pace, its capacity does not
    short = not_carried_because(False, pace, 4.0, 0.35, 999, needs=(140.3, 128))
    assert short is not None and short.startswith("it keeps pace in this 999-request run, but its capacity, 0.35")


def test_a_deployment_short_of_its_rate_by_its_cap_is_not_said_to_carry_it():
    """Qwen3-235B-A22B in FP8 on 2 H200s at 4 requests/s: its run serves 3.61 requests/s, 80 wait on average and
    Little's law needs 140 in flight of its 128; its queue grows within its noise. It does not carry the rate,
    and the search's `--rate` table says `behind` (not `no`) in its `overloaded` column. (Its plan required
    `memory <= 90 %`, missed at 95.6 %, before that requirement sized the KV cache — 90 % of the GPU leaves
    the KV cache of 86 requests, and the KV blocks then bind, docs/load.md "A memory requirement caps the KV
    cache" —; a steady-state TTFT of 100 ms, missed at 156.1 ms, stands for a requirement missed beside the
    load's.)"""
    plan = load_plan_text('model preset "qwen3-235b-a22b" { weights = fp8 } '
                          'cluster { gpus = 2  gpu preset "h200"  engine = vllm } '
                          "workload { batch = 128  prompt = 1500  generate = 300  serving = inflight "
                          "rate = 4 requests/s  requests = 2000  seed = 7 } "
                          "require { ttft_p99 <= 1.5 s  tpot_p90 <= 40 ms  ttft <= 100 ms } "
                          "strategy tp 2 sp ; ep 2 with microbatches 2 overlap none")
    r = check_strategy(plan, plan.strategies[0])
    # the search's judgement of it names every requirement it misses: the load's two and the steady TTFT
    from types import SimpleNamespace
    j = judgement(r, SimpleNamespace(batch=None, metrics=r.metrics))
    assert j.misses == 3 and len(j.load_missed) == 2 and j.others_missed == ("ttft",)
    load = load_json(r.load)
    assert not load["overloaded"] and load["served_requests_per_s"] < 3.7
    assert load["binding"]["little_concurrency"] > 128 * 1.05
    assert not load["carries_traffic"] and load["not_carried_because"].startswith("it needs ≈ 140 requests in flight")
    from dagc.export.load_md import load_line
    assert "; BEHIND, it does not carry its traffic: it needs ≈ 140 requests in flight" in load_line(load)
    assert r.verdict.meets_requirements is False


def test_the_capacity_does_not_follow_the_plan_s_rate_when_its_run_is_too_short_to_tell():
    """DeepSeek-V3 on 8 H200s, 200 requests of 8,000 + 1,000 tokens, each in flight about a minute: at 0.9
    requests/s the run's last arrival comes before its 64 places have filled, so every request gets its first
    token at once, but the capacity's trials of 2,000 requests fall behind above 0.86. The short run no longer
    stands for the trials (it pinned the capacity at 0.9 and at 1.0 before): the capacity is the same at every
    rate, and at 0.9 the deployment does not carry its traffic, by its capacity."""
    text = ('model preset "deepseek-v3" cluster { gpus = 8  gpu preset "h200"  engine = sglang } '
            "workload { batch = 64  prompt = 8000  generate = 1000  serving = inflight  rate = RATE requests/s "
            "requests = 200  seed = 1 } strategy tp 8")
    loads = {}
    for rate in ("0.5", "0.9", "1.0"):
        plan = load_plan_text(text.replace("RATE", rate))
        loads[rate] = load_json(check_strategy(plan, plan.strategies[0]).load)
    capacities = {load["capacity_requests_per_s"] for load in loads.values()}
    assert len(capacities) == 1 and 0.5 < capacities.pop() < 0.9
    assert not loads["0.9"]["overloaded"] and loads["0.9"]["queue_growth"]["grown"] == 0
    assert loads["0.5"]["carries_traffic"] and not loads["0.9"]["carries_traffic"]
    assert loads["0.9"]["not_carried_because"].startswith(
        "it keeps pace in this 200-request run, but its capacity, 0.8632")


@pytest.mark.slow
def test_the_capacity_lies_between_long_runs_that_keep_up_and_that_fall_behind():
    """The capacity's trials judge pace by the queue waiting for a first token, not by the count in the system: of
    2,000 requests from seed 1, that count grows by some 30 of the second half's 999 arrivals at every rate (the
    seed's own swing: arrival times are its draws over the rate), and read as falling behind it put DeepSeek-V3 on
    8 H200s at 0.794 requests/s. Runs three times as long say where the deployment stands: at 0.85 requests/s it
    keeps up (its count in the system even falls), at 0.95 its queue grows past its noise."""
    text = ('model preset "deepseek-v3" cluster { gpus = 8  gpu preset "h200"  engine = sglang } '
            "workload { batch = 64  prompt = 8000  generate = 1000  serving = inflight  rate = 0.9 requests/s "
            "requests = 200  seed = 1 } strategy tp 8")
    plan = load_plan_text(text)
    cap = load_json(check_strategy(plan, plan.strategies[0]).load)["capacity_requests_per_s"]
    runs = {}
    for rate in ("0.85", "0.95"):
        long = load_plan_text(text.replace("rate = 0.9", f"rate = {rate}").replace("requests = 200", "requests = 6000"))
        runs[rate] = load_json(check_strategy(long, long.strategies[0]).load)
    assert runs["0.85"]["keeps_pace"] and not runs["0.85"]["overloaded"]
    assert runs["0.85"]["queue_growth"]["grown"] <= 0 < runs["0.85"]["queue_growth"]["arrived"]
    assert runs["0.95"]["overloaded"] and not runs["0.95"]["keeps_pace"]
    assert 0.85 < cap < 0.95


@pytest.mark.slow
def test_search_at_a_rate_concludes_as_check_does_on_its_best():
    """Qwen3-235B-A22B in FP8 on 8 H100s, 600 requests at 8.5 requests/s: `search --rate` judges the first of its
    ranking that meets every requirement as check does (capacity included) before it concludes — that row's
    verdict on carrying the traffic is check's at the row's batch. `tp 4 ; ep 8` alone keeps pace in its run but
    its capacity (trials of 2,000 requests) is below 8.5, so `dagc check` says it does not carry its traffic;
    two copies of a 4-GPU strategy on the cluster's 8 GPUs rank above it (`dagc.plan.printer.copies`)."""
    from dagc.search.at_rate import rank_at_rate
    from dagc.search.search import search
    plan = load_plan_text('model preset "qwen3-235b-a22b" { weights = fp8 } '
                          'cluster { gpus = 8  gpu preset "h100-sxm" } '
                          "workload { batch = 128  prompt = 2000  generate = 400  serving = inflight "
                          "rate = 6 requests/s  requests = 600  seed = 3 } "
                          "require { ttft_p99 <= 3 s  tpot_p90 <= 60 ms  memory <= 90 % } strategy tp 8 ; ep 8")
    ranked = rank_at_rate(plan, search(plan, top=20), 8.5)
    at = plan.model_copy(update={"workload": plan.workload.model_copy(
        update={"traffic": plan.workload.traffic.at_rate(8.5)})})
    alone = check_strategy(at, parse_strategy("tp 4 ; ep 8"))
    assert alone.load.carries_traffic is False and "capacity" in alone.load.not_carried_because
    first = next(a for a in ranked.ranked if a.candidate.meets_requirements)
    assert first.capacity_judged
    batch = first.candidate.batch or plan.workload.batch
    checked = check_strategy(at.model_copy(update={"workload": at.workload.model_copy(update={"batch": batch})}),
                             parse_strategy(first.candidate.text))
    assert first.load.carries_traffic is checked.load.carries_traffic
    assert first.load.not_carried_because == checked.load.not_carried_because
    assert first.load.capacity_requests_per_s == pytest.approx(checked.load.capacity_requests_per_s, rel=1e-9)
