"""`check`: plan → per-strategy results (layout, rules, memory, DAG, schedule, verdicts).

Input: a `Plan` (and optionally a strategy expression that replaces the plan's). Output:
one `StrategyResult` per strategy, with every diagnostic of that strategy and, when the
strategy is sound, its scheduled DAG and metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypedDict

from ..diagnostics import Diagnostic, cap, has_errors
from ..ir.dag import Dag, Phase
from ..lang.flatten import flatten
from ..lang.load import load_plan, load_plan_text, parse_strategy, strategy_option
from ..layout.layout import Layout
from ..layout.modes import pool_mode
from ..memory.memory import MemoryBreakdown
from ..plan.plan import Plan
from ..plan.strategy import Strategy, StrategyDecl
from ..plan.workload import Workload
from ..rules import in_rule_order
from ..schedule.schedule import PathBreakdown
from ..serve.kv_blocks import kv_capacity_of
from ..serve.step_prices import StepPrices
from .analyse import analyse
from .batch_max import choose_batch
from .compiled import Compiled
from .optimal import OptimalEvidence, judge_optimal
from .pools import PooledCheck, check_pools
from .searched import Searched, SearchedCandidate
from .steady import InstanceMetrics, Steady, SteadyMetrics, binding_steps
from .techniques import Techniques, techniques_of
from .under_load import (
    CapacityMode,
    Progress,
    Run,
    UnderLoad,
    carries_traffic,
    judge_on_load,
    not_simulated,
    pools_run,
    strategy_run,
    under_load,
)
from .verdict import MemoryFigures, RequirementResult, Verdict, judge_requirements, verdict

# The loaders live in `dagc.lang.load`; they are named here too for callers of `dagc.verdict.check.load_plan`.
__all__ = ["TRAFFIC_NOT_SIMULATED", "NextStep", "StepFigures", "StrategyResult", "check", "check_strategy", "load_plan",
           "load_plan_text", "parse_strategy"]


# a next step's `not_judged` entry for its traffic, not simulated (`StrategyResult.traffic_unjudged`)
TRAFFIC_NOT_SIMULATED = "the traffic (not simulated)"


class StepFigures(TypedDict):
    """A next step's figures, as report.json's `next_steps` holds them (None: not computed)."""

    gpus: int | None
    ttft_s: float | None
    tpot_s: float | None
    decode_tokens_per_s_per_gpu: float | None


@dataclass(frozen=True)
class NextStep:
    """A change to a strategy that misses its requirements, tried (`dagc.verdict.next_steps`)."""

    kind: str                      # strategy | batch | precision | gpus | prefill | chunk
    change: str                    # in words: "a batch of 48 (from 64)"
    options: tuple[str, ...]       # what makes it on the command line
    meets: bool                    # every requirement met
    # the requirements it still misses on their figures, as written: not a load line whose figure is within its
    # target, NO only because the step's deployment does not carry its traffic (`short_of_traffic` says that miss)
    missed: tuple[str, ...]
    figures: StepFigures
    # with traffic: each load requirement's figure in the step's run, by its name (`tpot_p90`), SI — what `meets`
    # judged it on (`figures` are the steady state's, every request of the batch in flight at once)
    load_figures: tuple[tuple[str, float | None], ...] = ()
    # with traffic: that the step's deployment does not carry it, in words (`UnderLoad.shortfall`) — a miss no
    # requirement's line may say (an overloaded run whose lines are all steady-state ones); None when it does
    short_of_traffic: str | None = None
    # what `meets` could not judge: the requirements without a figure, as written, and `TRAFFIC_NOT_SIMULATED`
    # when the step's traffic was not simulated (`StrategyResult.traffic_unjudged`: W518, say)
    not_judged: tuple[str, ...] = ()
    # each steady-state requirement of `missed` with its figure in the step's run, by its text, SI: how close the step
    # came (a missed `throughput` is none of `figures`)
    missed_figures: tuple[tuple[str, float | None], ...] = ()

    @property
    def misses(self) -> int:
        """What the step still misses: its requirements, and the traffic when it does not carry it."""
        return len(self.missed) + (self.short_of_traffic is not None)


@dataclass(frozen=True)
class StrategyResult:
    plan: Plan
    decl: StrategyDecl
    strategy: Strategy | None
    layout: Layout | None
    memory: MemoryBreakdown | None
    diagnostics: tuple[Diagnostic, ...]
    requirements: tuple[RequirementResult, ...]
    verdict: Verdict
    metrics: SteadyMetrics | None = field(default=None)   # None when not computed
    compiled: Compiled | None = field(default=None, repr=False)   # None: no DAG was built
    optimality: OptimalEvidence | None = field(default=None)     # the optimal verdict's evidence (a search ran)
    pooled: PooledCheck | None = field(default=None, repr=False)   # a disaggregated strategy's pools
    # the nearest changes that meet the requirements it misses (`dagc.verdict.next_steps.with_next_steps`)
    next_steps: tuple[NextStep, ...] = field(default=(), repr=False)
    # what a kind of change tried helps not, in words ("no number of replicas helps: …"), said after the next steps in
    # the terminal and report.md (not in report.json, whose keys stay)
    no_step: tuple[str, ...] = field(default=(), repr=False)
    # the workload's traffic simulated through the strategy (`dagc.verdict.under_load`), None without traffic
    load: UnderLoad | None = field(default=None, repr=False)
    # what its speculative decoding and expert load balancing give (`dagc.verdict.techniques`), made once here
    techniques: Techniques = field(default=Techniques(), repr=False)
    # a disaggregated strategy's fuller pool's memory (`PooledCheck.memory_figures`), None otherwise
    pools_memory: MemoryFigures | None = field(default=None, repr=False)

    @property
    def dag(self) -> Dag | None:
        return self.compiled.dag if self.compiled is not None else None

    @property
    def valid(self) -> bool:
        return not has_errors(self.diagnostics)

    @property
    def figures_requests(self) -> int | None:
        """The requests in flight a strategy with errors was priced at, when fewer than the plan's batch: E402's
        strategy holds none of the batch's KV cache beside its weights, so dagc schedules one request
        (`metrics.concurrency_effective`) and its figures are that one request's, not the deployment's — what the
        terminal, report.md and report.json (`metrics_at_requests`) label them as. None for a valid strategy (W520
        says its own), a disaggregated one, and figures at the plan's batch."""
        m = self.metrics
        if self.valid or m is None or self.pooled is not None or m.concurrency_effective is None:
            return None
        return m.concurrency_effective if m.concurrency_effective < self.plan.workload.batch else None

    @property
    def figures_requests_text(self) -> str | None:
        """`figures_requests` in words, as the terminal's metrics table and report.md's Metrics say it; of another
        strategy with errors whose figures were priced, that they are its figures were its errors not there (until
        2026-12-03 a strategy whose weights alone exceed its GPUs showed its figures as the deployment's)."""
        few = self.figures_requests
        if few is None and not self.valid and self.metrics is not None:
            return ("the strategy has errors, so these figures are not a deployment's: dagc priced the plan's batch of "
                    f"{self.plan.workload.batch:,} as if they were not there; no requirement is judged on them")
        if few is None:
            return None
        whose = "one request's" if few == 1 else f"{few:,} requests'"
        return (f"{whose} figures, not the deployment's: the strategy has errors, so dagc priced {few:,} "
                f"request{'s' if few > 1 else ''} in flight, not the plan's batch of {self.plan.workload.batch:,}; "
                "no requirement is judged on them")

    @property
    def gpus_used(self) -> int | None:
        """The GPUs the strategy uses: its layout's, or a disaggregated strategy's pools' together."""
        if self.pooled is not None:
            return sum(p.gpus for p in self.pooled.pools) or None
        return self.layout.gpus_used if self.layout is not None else None

    @property
    def fullest_memory(self) -> MemoryFigures | None:
        """The memory of the strategy's fullest GPU, as its `memory` requirement reads it: of a disaggregated
        strategy the fuller pool's (`pools_memory`: a `tp 4` prefill instance's 26 %, not the `tp 4 ; ep 16` decode
        instance's 11 % that `memory` describes: until 2026-11-30 the optimal verdict's "this strategy: … memory",
        report.md's "memory of the fullest GPU" and the comparison's "worst rank memory" showed the decode pool's
        beside a requirement judged on the prefill pool's)."""
        if self.pools_memory is not None:
            return self.pools_memory
        return MemoryFigures.of(self.memory) if self.memory is not None else None

    @property
    def memory_fraction(self) -> float | None:
        """`fullest_memory` as a share of the GPU."""
        full = self.fullest_memory
        return None if full is None else full.fraction

    @property
    def label(self) -> str:
        return self.decl.name or self.decl.text

    @property
    def traffic_unjudged(self) -> str | None:
        """Why the plan's traffic was not simulated through this correct strategy — so whether the deployment
        carries it is not known, and its verdict does not say it meets the requirements (`_traffic_unknown`) —,
        in words; None when it was simulated, when the plan has no traffic and for a strategy with errors."""
        if self.plan.workload.traffic is None or self.load is not None or not self.valid:
            return None
        codes = {d.code for d in self.diagnostics}
        why = ("its run is past the load's work budget (W518)" if "W518" in codes else
               f"the strategy's steady-state figures, which price its steps, were not computed ({code})"
               if (code := next((c for c in ("W507", "W511") if c in codes), None)) else
               "the strategy has no figures to run it with")
        return f"the plan's traffic was not simulated: {why}, so whether the deployment carries it is not known"

    @property
    def running(self) -> tuple[Workload, Layout | None]:
        """The workload and layout the steady-state figures are for: those the DAG was scheduled at — in
        flight, `batch` the requests the engine reaches (`metrics.concurrency_effective`: fewer than the
        plan's when the KV cache admits fewer, W520) — else the plan's."""
        if self.compiled is not None and self.pooled is None:
            return self.compiled.plan.workload, self.compiled.layout
        return self.plan.workload, self.layout


def check_strategy(plan: Plan, decl: StrategyDecl, progress: Progress | None = None,
                   with_capacity: CapacityMode = True,
                   engine: Callable[[StrategyResult], StrategyResult] | None = None) -> StrategyResult:
    """Flatten one strategy and `analyse` it (resolve, rules, memory, DAG, schedule, verdict); `engine` adds what
    the plan's engine refuses of it (`check`); with traffic, simulate a strategy still correct under that load
    (`dagc.verdict.under_load`; `progress(done, total)` follows the simulation) and judge the requirements on the
    load, and — `with_capacity` — find its capacity (`AT_RATE`: only whether it reaches the plan's rate,
    `dagc.verdict.under_load`). A strategy with errors, the engine's among them, is not simulated: its `load` is
    None, as report.json's is (docs/outputs.md).

    A strategy that does not flatten (E201, E202, E204) gets its diagnostics and nothing else.
    """
    strategy, diags = flatten(decl, plan.cluster.gpus)
    if strategy is None:
        reqs = judge_requirements(plan, None, None, None)
        return StrategyResult(plan=plan, decl=decl, strategy=None, layout=None, memory=None,
                              diagnostics=tuple(cap(diags)), requirements=reqs, verdict=verdict(diags, reqs))
    result = _checked_steady(plan, decl, strategy)
    if engine is not None:
        result = engine(result)
    if result.plan.workload.traffic is None or not result.valid or result.metrics is None:
        return result
    if result.pooled is not None:
        pooled = result.pooled
        if len(pooled.pools) != 2:
            return result
        lay = result.layout
        reqs, judged, load, found = _judged_on_load(pooled.plan, lambda: pools_run(pooled, strategy, lay),
                                                    _pool_steps(pooled), result.diagnostics, result.requirements,
                                                    progress, with_capacity)
    else:
        if result.memory is None or result.layout is None:
            return result
        lay, kv_tokens, ready = result.layout, kv_capacity_of(result.memory, result.layout, result.plan.workload), \
            result.plan
        steps = binding_steps(result.metrics, tokens_per_step=ready.workload.tokens_per_step)
        reqs, judged, load, found = _judged_on_load(
            ready, lambda: strategy_run(strategy, lay, StepPrices(ready, strategy, lay), kv_tokens),
            steps, result.diagnostics, result.requirements, progress, with_capacity)
    return replace(result, diagnostics=found, requirements=reqs, verdict=_traffic_unknown(result.plan, judged, load),
                   load=load)


def _checked_steady(plan: Plan, decl: StrategyDecl, strategy: Strategy) -> StrategyResult:
    """A flattened strategy checked without its traffic: its pools (`check_pools`) or its `analyse`, the verdict
    on the steady state's figures (its traffic's, not simulated yet, `_traffic_unknown`)."""
    if strategy.disaggregated:
        pooled = check_pools(plan, strategy)
        decode = pooled.decode
        a = decode.analysis if decode is not None else None
        return StrategyResult(plan=pooled.plan, decl=decl, strategy=strategy, layout=a.layout if a else None,
                              memory=a.memory if a else None, diagnostics=pooled.diagnostics,
                              requirements=pooled.requirements,
                              verdict=_traffic_unknown(pooled.plan, pooled.verdict, None),
                              metrics=pooled.metrics, compiled=a.compiled if a else None, pooled=pooled,
                              pools_memory=pooled.memory_figures,
                              techniques=techniques_of(pooled.plan, a.layout if a else None, a.compiled if a else None,
                                                       pooled.metrics))
    workload = None
    if plan.workload.batch_max:              # `batch = max`: the largest batch this strategy serves
        workload = choose_batch(plan, strategy, strategy.workload_for(plan.workload))
    a = analyse(plan, strategy, workload, decl=decl)
    metrics = a.metrics if isinstance(a.metrics, SteadyMetrics) else None     # a deployment's (no pool's instance)
    return StrategyResult(plan=a.plan, decl=decl, strategy=strategy, layout=a.layout, memory=a.memory,
                          diagnostics=a.diagnostics, requirements=a.requirements,
                          verdict=_traffic_unknown(a.plan, a.verdict, None), metrics=metrics, compiled=a.compiled,
                          techniques=techniques_of(a.plan, a.layout, a.compiled, metrics))


def _traffic_unknown(plan: Plan, judged: Verdict, load: UnderLoad | None) -> Verdict:
    """`judged`, but not judged ("meets requirements: not judged", exit 1) rather than met when the plan has traffic
    and it was not simulated (`StrategyResult.traffic_unjudged`: past the load's work budget, W518; no figures to
    run it with, W507, W511), requirements or none: meeting them promises the traffic carried, which nothing
    judged (docs/limits.md, "Exit codes"). A requirement that is not met, or errors, still make it "no"."""
    if plan.workload.traffic is None or load is not None or judged.meets_requirements is not True:
        return judged
    return replace(judged, meets_requirements=None)


def _pool_steps(pooled: PooledCheck) -> Steady:
    """What `dagc.serve.binding` reads of a disaggregated strategy (`binding_steps`): the decode pool's step
    time (its TPOT × the tokens a step emits: with speculative decoding more than one; until 2026-11-30 the TPOT
    alone, which the binding text called "a step without a prompt chunk" beside the step's true time) and critical
    path, the prefill pool's (its prefill) and critical path."""
    assert pooled.metrics is not None, "a disaggregated strategy with figures"
    pools: dict[Phase, tuple[float, PathBreakdown | None]] = {}
    per_step = pooled.plan.workload.tokens_per_step
    for p in pooled.pools:
        m = p.analysis.metrics
        if not isinstance(m, InstanceMetrics):
            continue
        mode = pool_mode(p.pool.role)        # its step: the pass its first token is made of, its own figure
        path = (m.critical_path or {}).get(mode.first)
        seconds = mode.own_figure(m.ttft_s, m.tpot_s)
        pools[mode.first] = (seconds * per_step if mode.first is Phase.DECODE else seconds, path)
    return binding_steps(pooled.metrics, pools, per_step)


def _judged_on_load(plan: Plan, make_run: Callable[[], Run], steady: Steady,
                    diagnostics: tuple[Diagnostic, ...], requirements: tuple[RequirementResult, ...],
                    progress: Progress | None, with_capacity: CapacityMode
                    ) -> tuple[tuple[RequirementResult, ...], Verdict, UnderLoad | None, tuple[Diagnostic, ...]]:
    """The plan's traffic simulated by the run `make_run` makes, the requirements judged again with the
    load's figures, the verdict on them and the diagnostics with the load's (W518). A run past the plan's
    work budget is not made: no load, its requirements not judged (`not_simulated`)."""
    skipped = not_simulated(plan)
    if skipped is None:
        load = under_load(plan, make_run(), steady, progress, with_capacity)
        diags = tuple(in_rule_order([*diagnostics, *load.diagnostics])) if load.diagnostics else diagnostics
        reqs = judge_on_load(requirements, load)
        return reqs, verdict(list(diags), reqs, carried=carries_traffic(load)), load, diags
    diags = tuple(in_rule_order([*diagnostics, skipped]))
    reqs = judge_on_load(requirements, None)
    return reqs, verdict(list(diags), reqs), None, diags


def _share(progress: Progress | None, i: int, n: int) -> Progress | None:
    """Strategy `i` of `n`'s share of one progress: its (done, total) as the `i`-th of `n` equal parts."""
    if progress is None:
        return None
    report = progress

    def share(done: int, total: int) -> None:
        report(i * total + done, n * total)

    return share


def check(plan: Plan, strategy: str | StrategyDecl | None = None, optimality: Searched | None = None,
          picks: Mapping[str, SearchedCandidate | None] | None = None, progress: Progress | None = None,
          engine: Callable[[StrategyResult], StrategyResult] | None = None) -> list[StrategyResult]:
    """Check every strategy of a plan (or only `strategy`, which replaces them).

    `engine` adds to each result what the plan's serving engine refuses of it (E7xx, before the optimal
    verdict): `dagc.launch.engine_check.check` passes the launch mapping's, so that `dagc.check` and the
    CLI judge a strategy the engine cannot start as they judge any other error.
    `optimality`, a `dagc.search.search.SearchResult`, sets each verdict's `optimal` against it;
    `picks` (`dagc.search.search.objective_picks`), what each objective would pick, joins its evidence.
    `dagc.verdict.next_steps.with_next_steps` adds the next steps of the strategies that miss requirements.

    Raises:
        PlanError: when `strategy` text does not parse.
    """
    if isinstance(strategy, str):
        strategy = strategy_option(strategy, plan)
    decls = (strategy,) if strategy is not None else plan.strategies
    results = [check_strategy(plan, d, _share(progress, i, len(decls)), engine=engine) for i, d in enumerate(decls)]
    if optimality is not None:
        judged = []
        for r in results:
            optimal, evidence = judge_optimal(r, optimality, picks=picks)
            judged.append(replace(r, verdict=replace(r.verdict, optimal=optimal), optimality=evidence))
        results = judged
    return results

