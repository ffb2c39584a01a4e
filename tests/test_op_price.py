"""An op's price with the engine's terms left open (`dagc.cost.op_price.OpPrice`): priced once, the terms applied
on top, it gives every template the very seconds (==) the plain per-rank pricing (`template_time_s`) gives at those
terms; timers that share their op prices (`OpTables`: a calibration's, one a set of terms) price every step, and a
calibration's simulation gives every figure, as fresh ones do — with no op template made again."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from weakref import WeakValueDictionary

import numpy as np
import pytest

from dagc.calibrate.figures import dagc_figures, with_terms
from dagc.cost.cost import template_time_s
from dagc.cost.cost_model import CostModel
from dagc.cost.op_price import op_price
from dagc.ir.build import build
from dagc.ir.ops import OpShapes
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.layout.layout import resolve
from dagc.memory import activations
from dagc.schedule import timer as timer_module
from dagc.schedule.timer import Timer
from dagc.schedule.timer_base import OpTables
from dagc.serve import shared as shared_module
from dagc.serve.shared import cache_clear
from dagc.serve.step_prices import StepPrices
from dagc.verdict import analyse
from conftest import templates_made

PLAN = ('model preset "qwen3-30b-a3b"\ncluster {{ gpus = {gpus}  gpu preset "{gpu}"  engine = vllm }}\n'
        "workload {{ batch = 32  prompt = 700  generate = 60  serving = inflight{traffic} }}\nstrategy {s}\n")
TERMS = [{"step_s": 0.0, "compute_time_scale": 1.0, "memory_time_scale": 1.0},
         {"step_s": 3e-3, "compute_time_scale": 1.3, "memory_time_scale": 0.8},
         {"step_s": 1e-4, "compute_time_scale": 0.25, "memory_time_scale": 4.5},
         {"step_s": 2e-3, "compute_time_scale": 2.0, "memory_time_scale": 2.0}]
POINTS = [(1, 0), (5, 0), (32, 0), (3, 64), (16, 700), (32, 4000)]


def plan_of(s: str, gpu: str = "h200", gpus: int = 4, traffic: str = ""):
    return load_plan_text(PLAN.format(s=s, gpu=gpu, gpus=gpus, traffic=traffic))


def templates(plan) -> list:
    """The templates of the plan's DAG and those its timer makes pricing steps (mixed steps' attention splits)."""
    strategy, _ = flatten(plan.strategies[0])
    lay = resolve(plan.model, plan.cluster, plan.workload, strategy)
    out = list(build(plan.model, plan.workload, lay, engine=plan.cluster.engine.terms).templates)
    make = OpShapes.make

    def keep(self, op):
        out.append(make(self, op))
        return out[-1]

    prices = StepPrices(plan, strategy, lay, Timer(plan))
    try:
        OpShapes.make = keep        # type: ignore[method-assign]
        for n, p in POINTS:
            prices.step(n, p)
    finally:
        OpShapes.make = make        # type: ignore[method-assign]
    return out


@pytest.mark.parametrize("s, gpu, gpus", [("tp 4", "h200", 4), ("tp 1 ; ep 4", "h200", 4),
                                          ("dp 2 < tp 2 >", "h100-sxm", 4), ("tp 8 ; ep 16", "h100-sxm", 16),
                                          ("tp 2 ; ep 4", "generic-400t", 4)])
def test_an_op_priced_once_gives_the_plain_seconds_at_any_terms(s, gpu, gpus):
    """Every template of a DAG and of a timer's steps — collectives (across nodes too), kernels alike on every
    rank or not, the roofline of a GPU without a profile — at the engine's own terms and others."""
    plan = plan_of(s, gpu, gpus)
    base = CostModel.from_cluster(plan.cluster)
    kinds = {"fixed": 0, "alike": 0, "ranks": 0, "roofline": 0}
    tpls = templates(plan)
    for tpl in tpls:
        price = op_price(tpl, base)
        kinds["fixed" if price.fixed_s is not None else "alike" if price.alike is not None else
              "roofline" if price.roofline is not None else "ranks"] += 1
        for terms in TERMS:
            cm = dataclasses.replace(base, **terms)
            plain = float(template_time_s(tpl, cm).max(initial=0.0))
            assert price.seconds(cm) == plain, (tpl.kind, terms)
    assert len(tpls) > 90 and kinds["fixed"] > 10
    if gpu == "generic-400t":
        assert kinds["roofline"] > 50
    else:
        assert kinds["alike"] > 30 and kinds["ranks"] > 10


def test_the_scales_and_step_time_reach_an_op_as_the_plain_pricing_says():
    """Not only equal: the price moves with the terms — the embedding by `step_s`, the most compute-bound op
    with the compute scale, the most memory-bound one with the memory scale."""
    plan = plan_of("tp 4")
    base = CostModel.from_cluster(plan.cluster)
    tpls = templates(plan)
    embed = next(t for t in tpls if t.kind.name == "EMBED")
    price = op_price(embed, base)
    none, some = (price.seconds(dataclasses.replace(base, step_s=x)) for x in (0.0, 3e-3))
    assert some - none == pytest.approx(3e-3, rel=1e-12)
    # the compute ops whose time the scales reach whole (not held up by an eager launch floor)
    both = dataclasses.replace(base, compute_time_scale=2.0, memory_time_scale=2.0)
    compute = [t for t in tpls if not t.kind.is_comm and t.flops_total > 0
               and op_price(t, base).seconds(both) == pytest.approx(2 * op_price(t, base).seconds(base), rel=1e-12)]
    shares = [base.compute_share(t.flops_total, t.hbm_bytes_total, t.peak_dtype) for t in compute]
    assert len(compute) > 20 and max(shares) > 0.15 and min(shares) < 0.01
    for i, scale, grows in ((int(np.argmax(shares)), "compute_time_scale", max(shares)),
                            (int(np.argmin(shares)), "memory_time_scale", 1 - min(shares))):
        p = op_price(compute[i], base)      # twice the scale: its share of the op's time twice over
        assert p.seconds(dataclasses.replace(base, **{scale: 2.0})) == pytest.approx((1 + grows) * p.seconds(base),
                                                                                     rel=1e-12), scale


def test_timers_sharing_op_prices_price_every_step_as_fresh_ones():
    plan = plan_of("tp 1 ; ep 4")
    strategy, _ = flatten(plan.strategies[0])
    lay = resolve(plan.model, plan.cluster, plan.workload, strategy)
    tables = OpTables()
    own = StepPrices(plan, strategy, lay, Timer(plan, tables))
    at_own = [own.step(n, p) for n, p in POINTS]
    made = 0
    for terms in TERMS[1:]:
        other = with_terms(plan, terms)
        shared = StepPrices(other, strategy, lay, Timer(other, tables))
        with templates_made() as count:
            at_shared = [shared.step(n, p) for n, p in POINTS]
        made += count[0]
        fresh = StepPrices(other, strategy, lay, Timer(other))
        assert at_shared == [fresh.step(n, p) for n, p in POINTS]
        assert all(a != b for a, b in zip(at_shared, at_own, strict=True))
    assert made == 0            # every op template made once, by the first timer


def _forget(monkeypatch) -> None:
    """This process's kept timers, op prices, DAGs, activations, step prices and runs forgotten (a new process)."""
    monkeypatch.setattr(timer_module, "_TIMERS", OrderedDict())
    monkeypatch.setattr(timer_module, "_TABLES", WeakValueDictionary())
    monkeypatch.setattr(analyse, "_COMPILED", OrderedDict())
    monkeypatch.setattr(analyse, "_DAGS", OrderedDict())
    monkeypatch.setattr(activations, "_ACTIVATIONS", OrderedDict())
    cache_clear()


def test_a_calibrations_simulations_give_the_figures_of_fresh_ones(monkeypatch):
    """`dagc_figures` at one set of terms after others (what the calibration's fit does: the op prices, DAGs and
    activations shared; at another front-end time alone, the steps and the run) is every figure, to the bit, of
    the same in a process that simulated nothing before."""
    plan = plan_of("tp 2", traffic="  rate = 6 requests/s  requests = 40")
    sets = [{**t, "frontend_s": 0.02} for t in TERMS] + [{**TERMS[1], "frontend_s": 0.05}]
    _forget(monkeypatch)
    shared = [dagc_figures(plan, terms) for terms in sets]
    # one DAG built, costed at each set of terms; the timers (a set of terms' own, and its eager mixed steps'
    # own, `StepPrices._eager_prices`) share two tables of op prices
    assert len(analyse._DAGS) == 1 and len(analyse._COMPILED) == len(sets)
    assert len({id(t.core.tables) for t in timer_module._TIMERS.values()}) == 2
    assert len(shared_module._LOADS.values) == len(TERMS)     # the front end's time alone: the same run
    for terms, figures in zip(sets, shared, strict=True):
        _forget(monkeypatch)
        assert dagc_figures(plan, terms) == figures
    assert all(why is None for _, why in shared)
    assert len({f["tpot_ms"] for f, _ in shared}) == len(TERMS)
    (one, _), (other, _) = shared[1], shared[-1]
    assert one["tpot_ms"] == other["tpot_ms"] and other["ttft_ms"] - one["ttft_ms"] == pytest.approx(30.0)
