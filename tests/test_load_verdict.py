"""Requirements on the simulated load (`ttft_p99 <= 2 s`, `goodput >= …`), judged like the others, and the
capacity: the highest arrival rate at which they hold (`dagc.verdict.under_load`).

Each judged value is the simulated load's own figure (report.json's `load`); a percentile requirement
without traffic, an unknown percentile and a bare `e2e` get located diagnostics; the steady state's
consumers (bounds, search, `batch = max`) never read a load requirement; the capacity's bracket is real —
the requirements hold at the capacity and fail a little above it.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from dagc.export.report import report_json
from dagc.export.result_json import load_figures_json, load_json
from dagc.lang.load import PlanError, load_plan_text
from dagc.serve.load import simulate
from dagc.serve.load_figures import load_figures
from dagc.serve.step_prices import StepPrices
from dagc.verdict.check import check
from dagc.verdict.under_load import CAPACITY_REQUESTS, CAPACITY_TOLERANCE, _holds

ROOT = Path(__file__).resolve().parents[1]
INFLIGHT = (ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text()


def _plan(traffic: str, require: str, strategy: str = "strategy dep = tp 1 ; ep 4"):
    text = INFLIGHT.replace("chunk = 8192", "chunk = 8192\n  " + traffic)
    text = text.replace("memory <= 90 %", "memory <= 90 %\n  " + require)
    text = text[:text.index("strategy dep")] + strategy + "\n"
    return load_plan_text(text)


@pytest.fixture(scope="module")
def judged():
    plan = _plan("rate = 3 requests/s  requests = 600",
                 "ttft_p99 <= 2 s  tpot_p90 <= 40 ms  e2e_p50 <= 1 ms  itl_p95 <= 1 s  goodput >= 2 requests/s")
    (r,) = check(plan)
    return plan, r, report_json(r)


def test_each_load_requirement_is_the_loads_own_figure(judged):
    _, r, rep = judged
    load = rep["load"]
    by_name = {q["name"]: q for q in rep["requirements"]}
    assert by_name["ttft_p99"]["value"] == load["ttft_s"]["p99"]
    assert by_name["tpot_p90"]["value"] == load["tpot_s"]["p90"]
    assert by_name["e2e_p50"]["value"] == load["e2e_s"]["p50"]
    assert by_name["itl_p95"]["value"] == load["itl_s"]["p95"]
    assert by_name["goodput"]["value"] == load["goodput_requests_per_s"]
    # a median end-to-end latency of a millisecond cannot be met; the rest are — but goodput counts the
    # requests within every latency target, `e2e_p50 <= 1 ms` among them: none
    assert [q["met"] for q in rep["requirements"]] == [True, True, True, True, True, False, True, False]
    assert load["goodput_requests_per_s"] == 0.0
    assert r.verdict.meets_requirements is False
    # the steady state's `ttft` is still the steady state's
    assert by_name["ttft"]["value"] == rep["metrics"]["ttft_s"]


def test_the_same_run_judged_again_gives_the_same_figures(judged):
    """The load in report.json is the run of the verdict: simulating again from the seed gives it."""
    plan, r, rep = judged
    again = load_figures_json(load_figures(r.plan, simulate(r.plan, r.strategy, r.layout)))
    assert again is not None
    assert again["ttft_s"] == rep["load"]["ttft_s"] and again["goodput_requests_per_s"] == \
        rep["load"]["goodput_requests_per_s"]


def test_capacity_brackets_the_requirements():
    """At the capacity the percentile requirements hold and the deployment keeps up; half as much again
    they do not."""
    plan = _plan("rate = 3 requests/s  requests = 600", "ttft_p99 <= 2 s  tpot_p90 <= 40 ms")
    (r,) = check(plan)
    rep = report_json(r)
    cap = rep["load"]["capacity_requests_per_s"]
    steady = rep["metrics"]["throughput_tokens_per_s"] / (plan.workload.prompt + plan.workload.generate)
    assert 0.3 * steady < cap < 1.2 * steady
    prices = StepPrices(r.plan, r.strategy, r.layout)

    def holds(rate: float) -> bool:        # judged as the bisection judges its trials: runs of 2,000 requests
        traffic = r.plan.workload.traffic.at_rate(rate).model_copy(update={"requests": CAPACITY_REQUESTS})
        trial = r.plan.model_copy(update={"workload": r.plan.workload.model_copy(update={"traffic": traffic})})
        out = load_figures(trial, simulate(trial, r.strategy, r.layout, prices))
        return _holds(out)

    assert holds(cap)
    assert holds(cap * (1 - CAPACITY_TOLERANCE))
    assert not holds(cap * 1.5)


def test_a_percentile_out_of_reach_has_no_capacity():
    plan = _plan("rate = 3 requests/s  requests = 300", "ttft_p50 <= 1 us")
    (r,) = check(plan)
    load = report_json(r)["load"]
    assert load["capacity_requests_per_s"] is None
    assert r.requirements[-1].met is False


@pytest.mark.parametrize(("traffic", "require", "code", "message", "at"), [
    ("", "ttft_p99 <= 2 s", "E104", "judged on a simulated load, but the workload sends no traffic",
     "ttft_p99 <= 2 s"),
    ("rate = 3 requests/s", "ttft_p98 <= 2 s", "E101", "unknown requirement `ttft_p98`", "ttft_p98"),
    ("rate = 3 requests/s", "e2e <= 2 s", "E101", "`e2e` is judged on the simulated load's percentiles", "e2e"),
    ("rate = 3 requests/s", "goodput >= 2 tokens/s", "E102", "`goodput` takes an arrival rate", "tokens/s"),
])
def test_bad_load_requirements_are_located(traffic, require, code, message, at):
    with pytest.raises(PlanError) as err:
        _plan(traffic, require)
    (d,) = [d for d in err.value.diagnostics if d.code == code]
    assert message in d.message
    assert d.span is not None and d.span.text == at


def test_the_hint_for_an_unknown_percentile_names_the_reported_ones():
    with pytest.raises(PlanError) as err:
        _plan("rate = 3 requests/s", "tpot_p75 <= 2 s")
    (d,) = err.value.diagnostics
    assert "`tpot_p50` … `tpot_p99`" in d.hint


def test_the_search_and_batch_max_never_read_a_load_requirement():
    """A percentile requirement is not a steady-state one: `batch = max` and the search judge the plan
    without it (a `ttft_p99` that only a simulation can judge does not shrink the batch)."""
    plan = _plan("rate = 3 requests/s  requests = 200", "ttft_p99 <= 1 us")
    assert [q.name for q in plan.steady_requirements] == ["ttft", "tpot", "memory"]
    maxed = load_plan_text(plan_text := INFLIGHT.replace("batch = 64", "batch = max").replace(
        "chunk = 8192", "chunk = 8192\n  rate = 3 requests/s  requests = 200").replace(
        "memory <= 90 %", "memory <= 90 %\n  ttft_p99 <= 1 us"))
    plain = load_plan_text(plan_text.replace("ttft_p99 <= 1 us", ""))
    assert [r.plan.workload.batch for r in check(maxed)] == [r.plan.workload.batch for r in check(plain)]


def test_search_at_a_rate_ranks_by_goodput_per_gpu():
    """`dagc search --rate R`: the search's best, each simulated at R, those meeting every requirement and
    keeping up (carrying the traffic) first, then those keeping up, then the rest, each tier best goodput per GPU
    first — but where goodputs lie within `GOODPUT_TIE` of one another (the runs' noise), the most headroom
    first; each figure is a run of that candidate at that rate."""
    from dagc.layout.layout import resolve
    from dagc.search.at_rate import GOODPUT_TIE, MARGIN_TIE, RATE_CANDIDATES, rank_at_rate
    from dagc.search.score import workload_of
    from dagc.search.search import search

    plan = _plan("rate = 2 requests/s  requests = 300", "ttft_p99 <= 2 s")
    found = search(plan, top=5)
    ranked = rank_at_rate(plan, found, 4.0)
    assert ranked.traffic.rate == 4.0 and ranked.traffic.requests == 300
    def tier(a) -> int:
        up = a.load.carries_traffic
        return 0 if up and a.candidate.meets_requirements else 1 if up else 2
    tiers = [tier(a) for a in ranked.ranked]
    assert tiers == sorted(tiers)
    for t in set(tiers):
        rows = [a for a in ranked.ranked if tier(a) == t]
        for above, below in itertools.pairwise(rows):
            # a row above another has the higher goodput per GPU, or one within the noise of it and more headroom
            # (or a headroom within the noise of it, `MARGIN_TIE`, and a next-least margin deciding)
            assert above.goodput_per_gpu >= below.goodput_per_gpu or (
                above.goodput_per_gpu >= below.goodput_per_gpu * (1 - 2 * GOODPUT_TIE)
                and (below.headroom is None or (above.headroom or 0) >= below.headroom - MARGIN_TIE)), (above, below)
    assert ranked.ranked[0].goodput_per_gpu > 0
    simulated = {a.candidate.text for a in ranked.ranked}
    assert len(simulated) + ranked.skipped >= min(RATE_CANDIDATES, len(found.ranked))
    best = ranked.ranked[0]
    c = best.candidate
    w = workload_of(plan, c).model_copy(update={"traffic": ranked.traffic})
    trial = plan.model_copy(update={"workload": w})
    lay = resolve(plan.model, plan.cluster, w, c.strategy)
    again = load_figures_json(load_figures(trial, simulate(trial, c.strategy, lay)))
    assert again is not None and again["goodput_requests_per_s"] / c.gpus == best.goodput_per_gpu


def test_search_at_a_rate_breaks_a_headroom_tie_by_the_next_least_margin():
    """Runs serving the same goodput whose least margins differ by the runs' noise (TPOT p90 27.88 against
    27.91 ms under 40 ms: margins 0.303 and 0.302) are ranked by their next-least margin (TTFT p99 1.023 s
    against 485.4 ms under 5 s: 0.795 and 0.903) — a new user's search recommended double the p99 TTFT for
    0.03 ms of TPOT. A margin more than `MARGIN_TIE` apart still decides alone."""
    from types import SimpleNamespace

    from dagc.search.at_rate import MARGIN_TIE, AtRate, _ranked

    def row(name: str, goodput: float, *margins: float) -> AtRate:
        c = SimpleNamespace(text=name, meets_requirements=True)
        up = SimpleNamespace(carries_traffic=True, figures=SimpleNamespace(ttft_s=SimpleNamespace(p99=1.0)))
        m = tuple(sorted(margins))
        return AtRate(c, up, goodput, m[0], m)      # type: ignore[arg-type]

    one = row("slow first token", 0.25, 1 - 27.88 / 40, 1 - 1.023 / 5)
    four = row("fast first token", 0.25, 1 - 27.91 / 40, 1 - 0.4854 / 5)
    assert [a.candidate.text for a in _ranked([one, four])] == ["fast first token", "slow first token"]
    wide = row("more TPOT margin", 0.25, 0.303 + 2 * MARGIN_TIE, 0.5)
    assert [a.candidate.text for a in _ranked([four, wide])] == ["more TPOT margin", "fast first token"]
    more = row("more goodput", 0.30, 0.1, 0.1)       # goodput past the noise decides before any margin
    assert _ranked([four, more])[0].candidate.text == "more goodput"


def test_progress_follows_every_strategy_to_its_end():
    """check's `progress(done, total)`: one total, never going back, ending at it — two strategies
    simulated, each with its capacity's runs."""
    plan = _plan("rate = 3 requests/s  requests = 200", "ttft_p99 <= 2 s",
                 strategy="strategy dep = tp 1 ; ep 4\nstrategy tp = tp 4")
    seen: list[tuple[int, int]] = []
    check(plan, progress=lambda done, total: seen.append((done, total)))
    assert len({total for _, total in seen}) == 1
    dones = [done for done, _ in seen]
    assert dones == sorted(dones) and dones[-1] == seen[-1][1]
    assert any(done == seen[-1][1] // 2 for done in dones)       # the first strategy's end is half the work


def test_goodput_is_the_served_requests_within_every_target():
    """Goodput counts the requests served while loaded that meet every latency target, over the same
    stretch as the served rate: without a latency requirement it is the served rate; with one, the
    requests within it, counted by hand."""
    plan = _plan("rate = 3 requests/s  requests = 400", "")
    loose = plan.model_copy(update={"requirements": ()})
    (r,) = check(loose)
    run = r.load.load
    out = load_json(r.load)
    assert out["goodput_requests_per_s"] == out["served_requests_per_s"]
    inside, seconds = run.served()
    target = float(np.median(run.ttft[inside]))
    tight = _plan("rate = 3 requests/s  requests = 400", f"ttft_p50 <= {target * 1e3!r} ms")
    (t,) = check(tight)
    # the plan's steady-state `ttft <= 1 s` and `tpot <= 50 ms` are per-request targets too
    ok = (run.ttft <= target * (1 + 1e-12)) & (run.ttft <= 1.0) & (run.tpot <= 0.05)
    by_hand = int(np.count_nonzero(inside & ok)) / seconds
    assert load_json(t.load)["goodput_requests_per_s"] == pytest.approx(by_hand, rel=1e-9)
    assert load_json(t.load)["goodput_requests_per_s"] < out["served_requests_per_s"]


def test_next_steps_judge_the_load_without_bisecting_a_capacity():
    """A next step is checked as the plan is, its load requirements judged on its own run, but no capacity
    is bisected for it: the same run, the same verdict, capacity None."""
    from dagc.verdict.check import check_strategy

    plan = _plan("rate = 3 requests/s  requests = 300", "ttft_p99 <= 2 s")
    full = check_strategy(plan, plan.strategies[0])
    light = check_strategy(plan, plan.strategies[0], with_capacity=False)
    assert load_json(full.load)["capacity_requests_per_s"] is not None
    assert load_json(light.load)["capacity_requests_per_s"] is None
    capacity = {"capacity_requests_per_s", "capacity_judged", "capacity_work_events"}
    assert load_json(full.load)["capacity_judged"] and not load_json(light.load)["capacity_judged"]
    assert load_json(full.load)["capacity_work_events"] > 0 == load_json(light.load)["capacity_work_events"]
    assert {k: v for k, v in load_json(light.load).items() if k not in capacity} == \
        {k: v for k, v in load_json(full.load).items() if k not in capacity}
    assert light.verdict == full.verdict and light.requirements == full.requirements
