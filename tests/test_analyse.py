"""`analyse` visits each stage once, in the pipeline's order, and runs each rule once, as soon as what
it reads exists (`rules.Reads`); its diagnostics are those of one pass of every rule over the final
memory and metrics, in the same order."""

from __future__ import annotations

import sys

import pytest
from hypothesis import HealthCheck, given, settings

from dagc.diagnostics import PlanError, cap
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan, load_plan_text
from dagc.rules import RULES, Reads, RuleContext, in_rule_order, run_rules
from dagc.verdict.analyse import analyse
from conftest import EXAMPLES, plan_text
from plans import plan_texts

PLANS = sorted(EXAMPLES.glob("*.moe")) + sorted((EXAMPLES / "mistakes").glob("*.moe"))
MORE = [  # a bubble with and without a schedule (W504), a plan over memory (E402), a broken structure
    plan_text(strategy="strategy pp 4 < tp 2 >"),
    plan_text(strategy="strategy tp 3 ; ep 8"),
    plan_text(cluster='cluster { gpus = 2  gpus_per_node = 8  gpu preset "h100-sxm" }', strategy="strategy tp 2"),
    plan_text(cluster='cluster { gpus = 4  gpus_per_node = 8  gpu preset "h100-sxm" }',
              strategy="strategy pp 8 < tp 1 >"),
]


def _strategies():
    for path in PLANS:
        try:
            plan = load_plan(path)
        except PlanError:        # a mistake found while the plan is read: no strategy reaches analyse
            continue
        for decl in plan.strategies:
            yield path.name, plan, decl
    for k, text in enumerate(MORE):
        plan = load_plan_text(text)
        yield f"more-{k}", plan, plan.strategies[0]


# The strategies that reach `analyse`: one that does not flatten (E201, E202, E204) stops before it.
CASES = [(name, plan, decl) for name, plan, decl in _strategies() if flatten(decl)[0] is not None]


class _Unread:
    """Stands for memory and metrics where a rule on the layout must not look."""

    def __getattr__(self, name):
        raise AssertionError(f"a rule that reads the layout only read .{name} of memory or metrics")

    def __bool__(self):
        raise AssertionError("a rule that reads the layout only tested memory or metrics")


def _final(a) -> RuleContext:
    """The context of one pass of every rule over the analysis's final memory and metrics, with what the engine
    admits and the workload and layout the schedule was made at (in flight, the requests admitted: W520)."""
    metrics = a.compiled.metrics if a.compiled is not None else None
    running = (a.compiled.plan.workload, a.compiled.layout) if a.compiled is not None else None
    # the errors of the rules that read the layout and the memory, which those of the schedule read (W505)
    reads = {r.code: r.reads for r in RULES}
    errors = tuple(d.code for d in a.diagnostics if d.is_error and reads.get(d.code) is not Reads.SCHEDULE)
    return RuleContext(a.plan, None, a.strategy, a.layout, a.memory, metrics, a.admission, running, errors)


def _one_pass(a):
    """The diagnostics of one pass of every rule over the analysis's final memory and metrics."""
    return cap(run_rules(_final(a)))


@pytest.mark.parametrize(("name", "plan", "decl"), CASES, ids=[c[0] + ":" + c[2].text for c in CASES])
def test_diagnostics_are_one_pass_of_every_rule_in_code_order(name, plan, decl):
    a = analyse(plan, flatten(decl)[0])
    assert list(a.diagnostics) == _one_pass(a)


@pytest.mark.parametrize(("name", "plan", "decl"), CASES, ids=[c[0] + ":" + c[2].text for c in CASES])
def test_rules_on_the_layout_read_neither_memory_nor_metrics(name, plan, decl):
    a = analyse(plan, flatten(decl)[0])
    ctx = RuleContext(a.plan, None, a.strategy, a.layout, _Unread(), _Unread())   # type: ignore[arg-type]
    every = run_rules(_final(a))
    assert run_rules(ctx, Reads.LAYOUT) == [d for d in every if RULES_BY_CODE[d.code].reads is Reads.LAYOUT]


RULES_BY_CODE = {r.code: r for r in RULES}


def test_the_rules_that_read_more_than_the_layout():
    reads = {r.code: r.reads for r in RULES if r.reads is not Reads.LAYOUT}
    assert reads == {"E402": Reads.MEMORY, "W520": Reads.MEMORY, "W504": Reads.SCHEDULE,
                     "W506": Reads.SCHEDULE, "W513": Reads.SCHEDULE,
                     "W531": Reads.SCHEDULE,     # at the requests in flight the figures are for
                     "W532": Reads.SCHEDULE,     # the decode step at the requests in flight the figures are for
                     "W505": Reads.SCHEDULE}     # last: it suggests replicas of a strategy that passes the others


def test_each_check_emits_only_its_own_code():
    """What lets `in_rule_order` put diagnostics of rules run at different stages back in code order."""
    assert len(CASES) >= 20
    for _name, plan, decl in CASES:
        a = analyse(plan, flatten(decl)[0])
        ctx = _final(a)
        for r in RULES:
            if r.check is not None:
                assert {d.code for d in r.check(ctx)} <= {r.code}, r.code


def test_rules_run_at_three_stages_give_one_pass_in_order():
    plan = load_plan(EXAMPLES / "mixtral-8x7b-1node.moe")
    a = analyse(plan, flatten(plan.strategies[0])[0])
    ctx = RuleContext(a.plan, None, a.strategy, a.layout, a.memory, a.compiled.metrics if a.compiled else None)
    parts = [run_rules(ctx, reads) for reads in (Reads.SCHEDULE, Reads.MEMORY, Reads.LAYOUT)]
    assert in_rule_order([d for part in parts for d in part]) == run_rules(ctx)


def test_each_stage_runs_once_in_order(monkeypatch):
    module = sys.modules["dagc.verdict.analyse"]
    calls: list[str] = []
    for name in ("resolve", "memory", "activation_bytes_by_stage", "build", "cost", "schedule", "derive_metrics",
                 "judge_requirements", "verdict"):
        real = getattr(module, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)
        monkeypatch.setattr(module, name, counted)
    module.compiled_clear()                  # a DAG compiled before in this process would be kept, not built again
    plan = load_plan(EXAMPLES / "mixtral-8x7b-1node.moe")
    a = analyse(plan, flatten(plan.strategies[0])[0])
    assert a.compiled is not None
    assert calls == ["resolve", "activation_bytes_by_stage", "memory", "build", "cost", "schedule", "derive_metrics",
                     "judge_requirements", "verdict"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_texts())
def test_generated_plans_get_one_pass_of_every_rule(text):
    plan = load_plan_text(text)
    strategy, _ = flatten(plan.strategies[0])
    if strategy is None:
        return
    a = analyse(plan, strategy)
    assert list(a.diagnostics) == _one_pass(a)


def _counted_builds(monkeypatch) -> list[int]:
    """The DAGs `dagc.verdict.analyse` builds from now on, one entry each, its kept DAGs forgotten first."""
    module = sys.modules["dagc.verdict.analyse"]
    module.compiled_clear()
    builds: list[int] = []
    real = module.build
    monkeypatch.setattr(module, "build", lambda *a, **k: builds.append(1) or real(*a, **k))
    return builds


def test_a_strategy_on_two_counts_of_one_gpu_is_compiled_once_with_the_same_figures(monkeypatch):
    # a fleet's counts of one GPU type: what times a strategy does not read the cluster's count of GPUs or price
    from dagc.schedule.timer import shared_timer
    builds = _counted_builds(monkeypatch)
    plan = load_plan(EXAMPLES / "mixtral-8x7b-1node.moe")
    bigger = plan.model_copy(update={"cluster": plan.cluster.model_copy(update={"gpus": 2 * plan.cluster.gpus,
                                                                                 "price_per_gpu_hour": 2.5})})
    strategy = flatten(plan.strategies[0])[0]
    a, b = analyse(plan, strategy), analyse(bigger, strategy)
    assert len(builds) == 1 and a.metrics == b.metrics and a.metrics.tpot_s > 0
    assert b.compiled.plan is bigger and b.compiled.layout.gpus_available == 2 * plan.cluster.gpus
    assert shared_timer(plan) is shared_timer(bigger)
    other = plan.model_copy(update={"cluster": plan.cluster.model_copy(update={"gpus_per_node": 4})})
    assert shared_timer(other) is not shared_timer(plan)


def test_a_strategy_and_its_text_with_its_options_are_compiled_once_with_the_same_figures(monkeypatch):
    # `dagc search --rate` checks a candidate by its printed text (`tp 4 with microbatches 1 overlap none`) after the
    # search's exact figures compiled the same strategy as `tp 4`: one DAG, the same figures, and each its own
    # strategy; a strategy whose options change the workload is another DAG
    from dagc.lang.load import parse_strategy
    builds = _counted_builds(monkeypatch)
    plan = load_plan(EXAMPLES / "mixtral-8x7b-1node.moe")
    bare, written, other = (flatten(parse_strategy(t), plan.cluster.gpus)[0] for t in (
        "tp 4", "tp 4 with microbatches 1 overlap none", "tp 4 with microbatches 2 overlap none"))
    a, b = analyse(plan, bare), analyse(plan, written)
    assert a.layout.timing_key == b.layout.timing_key and a.layout.strategy != b.layout.strategy
    assert len(builds) == 1 and a.metrics == b.metrics and a.metrics.tpot_s > 0
    assert a.compiled.dag is b.compiled.dag and b.compiled.strategy is written
    c = analyse(plan, other)
    assert len(builds) == 2 and c.compiled.dag is not a.compiled.dag
