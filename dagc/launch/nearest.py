"""The nearest strategy an engine can run, for a strategy it refuses: same GPUs, the fewest degrees
changed the least, with dagc's own figures for it.

Input: a `Plan`, a valid `Strategy` and its `Layout`, and an engine's table (`EngineTable`).
Output: a `Nearest` — the strategy as text `--strategy` accepts, its metrics and (with
`batch = max`) its batch — or None when no strategy on the same GPUs is both valid and expressible.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..layout.layout import Layout
from ..plan import printer
from ..plan.plan import Plan, shown_percentiles
from ..plan.printer import aggregated, strategy_source, with_options, with_split
from ..plan.strategy import Strategy
from ..plan.workload import Overlap
from ..verdict.check import StrategyResult, check
from ..verdict.pools import PooledCheck
from ..verdict.steady import SteadyMetrics
from .degrees import Degrees, degrees
from .engines import TABLES
from .launch import EngineTable, Launch, refusals_of

__all__ = ["NEAREST_TRIES", "Nearest", "nearest", "nearest_pooled", "priced_by", "requirements_missed",
           "traffic_text"]

T = TypeVar("T")

NEAREST_TRIES = 8           # candidates `check`ed, nearest first, before giving up on a nearest strategy
# Refusals of a strategy's pipeline stages that no in-stage degrees escape, and whose rule's "Fixed" drops them
# (`dagc explain E714`): the candidates also fold the stages into the stage group (`pp 2 < tp 8 ; ep 8 >` → `tp 16 ;
# ep 16`) and into replicas (→ `dp 2 < tp 8 ; ep 8 >`) on the same GPUs. Until 2026-12-02 every candidate kept pp, so
# SGLang's E714 (speculative decoding with stages) found no nearest strategy. (vLLM's E704 is escaped in the stage,
# `pp 4 < tp 8 ; ep 8 >`, and keeps its nearest there.)
FOLDS: dict[str, tuple[str, ...]] = {"E714": ("group", "replicas")}


@dataclass(frozen=True)
class Nearest:
    """A strategy the engine can run, as text `--strategy` accepts, with dagc's figures for it."""

    text: str
    metrics: SteadyMetrics         # its steady-state figures (report.json's metrics)
    batch: int | None = None       # with `batch = max`: the batch its figures are for (its own largest)
    meets: bool | None = None      # whether it meets the plan's requirements (None: the plan states none)
    missed: tuple[str, ...] = ()   # the requirements it misses, as the plan writes them
    traffic: str = ""              # its percentiles under the plan's traffic (`traffic_text`), "" without traffic

    @property
    def requirements_text(self) -> str:
        """Whether it meets the plan's requirements, in words ("" when the plan states none)."""
        if self.meets is None:
            return ""
        return "meets the plan's requirements" if self.meets else \
            "misses the plan's requirements: " + "; ".join(self.missed)


def _divisors(n: int) -> list[int]:
    return [k for k in range(1, n + 1) if n % k == 0]


def _experts(d: Degrees, group: int) -> Iterator[tuple[int, int] | None]:
    yield None
    if d.has_experts:
        for ep in _divisors(group):
            for etp in _divisors(group // ep):
                yield ep, etp


def _kept_or_dropped(value: T, dropped: T, refused: bool) -> tuple[T, ...]:
    """An option's values for the candidates: dropped when the engine refused it, else kept and, when it has a
    value to drop, dropped too — an option the engine takes with some degrees and not with others (vLLM's
    dual-batch overlap wants attention DP, which its E704 refuses over nodes) can only be kept by degrees the
    engine refuses, and `_distance` counts the drop, so a candidate that keeps it ranks first where one can."""
    return (dropped,) if refused else (value,) if value in (None, dropped) else (value, dropped)


def _shapes(d: Degrees, codes: set[str]) -> list[tuple[int, int, int]]:
    """The (dp, pp, stage group) the candidates take on the same GPUs: the strategy's own, and with the pipeline
    stages folded away the ways the fix of a refusal of `pp` shows (`FOLDS`): into the stage group, into replicas."""
    shapes = [(d.dp, d.pp, d.group)]
    if d.pp > 1:
        for fold in sorted({f for c in codes for f in FOLDS.get(c, ())}):
            shapes.append((d.dp, 1, d.group * d.pp) if fold == "group" else (d.dp * d.pp, 1, d.group))
    return shapes


def _candidates(plan: Plan, strategy: Strategy, d: Degrees, refused: Sequence[str],
                shapes: Sequence[tuple[int, int, int]]) -> Iterator[Strategy]:
    overlaps = _kept_or_dropped(strategy.overlap, Overlap.NONE, "overlap" in refused)
    redundants = _kept_or_dropped(strategy.redundant, None, "redundant" in refused)  # EPLB it cannot run: off
    sp = strategy.sp and "sp" not in refused
    for dp, pp, group in shapes:
        folded = pp != d.pp
        split = None if "split" in refused or folded else strategy.pp_split
        # micro-batches feed the pipeline or the micro-batch overlap: without stages, only the overlap keeps them
        microbatches = None if folded and strategy.overlap is not Overlap.MICROBATCH else strategy.microbatches
        for tp in _divisors(group):
            for cp in _divisors(group // tp):
                for expert in _experts(d, group):
                    even = aggregated(dp=dp, pp=pp, tp=tp, cp=cp, sp=sp and tp > 1,
                                      ep=expert[0] if expert else None, etp=expert[1] if expert else None)
                    for overlap, redundant in itertools.product(overlaps, redundants):
                        yield with_options(with_split(even, split), microbatches, overlap, redundant)


def _distance(a: Degrees, b: Degrees) -> float:
    axes = ("dp", "pp", "tp", "cp", "adp", "ep", "etp", "edp")
    moved = sum(abs(math.log2(getattr(a, k) / getattr(b, k))) for k in axes)
    return moved + (a.split != b.split) + (a.overlap != b.overlap) + (a.eplb != b.eplb) + (a.sp != b.sp)


def _ranked(plan: Plan, strategy: Strategy, layout: Layout, table: EngineTable) -> list[Strategy]:
    """The strategies on the same GPUs that the engine can express, nearest first."""
    d = degrees(plan, strategy, layout)
    refusals = refusals_of(table, d)
    shapes = _shapes(d, {r.code for r in refusals})
    ranked = []
    for cand in _candidates(plan, strategy, d, [r.at for r in refusals], shapes):
        cd = degrees(plan, cand)            # resolved into its own layout
        if (cd.dp, cd.pp, cd.group) not in shapes or cd.gpus != d.gpus:
            continue
        if cd.adp * cd.tp * cd.cp != cd.group or refusals_of(table, cd):
            continue
        if cd.eplb and (cd.experts + cd.redundant) % cd.ep:      # dagc's E301: the slots do not split over ep
            continue
        # Among equals, the form the user wrote (an expert domain or none), then the shortest text.
        form = (cand.ep is None) != (strategy.ep is None and strategy.etp is None)
        ranked.append((_distance(d, cd), form, len(cand.text), strategy_source(cand), cand))
    best = sorted({r[:4]: r for r in ranked}.values(), key=lambda r: r[:4])
    return [r[4] for r in best[:NEAREST_TRIES]]


def nearest(plan: Plan, strategy: Strategy, layout: Layout, table: EngineTable) -> Nearest | None:
    """The valid strategy on the same GPUs (same dp, pp and stage group, or the stages folded away where the
    refusal's fix drops them, `FOLDS`) that the engine can run and that changes the fewest degrees the least
    (in factors of two), with dagc's figures; None if none.

    It keeps what the engine can say and changes only what it cannot: the split when the engine
    refused it, the overlap when it has none, else the in-stage degrees."""
    for text in map(strategy_source, _ranked(plan, strategy, layout, table)):
        result = check(plan, text)[0]
        if result.valid and result.metrics:
            batch = result.layout.batch if plan.workload.batch_max and result.layout is not None else None
            return Nearest(text, result.metrics, batch, *requirements_missed(result), traffic_text(result, plan))
    return None


def requirements_missed(result: StrategyResult) -> tuple[bool | None, tuple[str, ...]]:
    """Whether a checked strategy meets the plan's requirements, and the ones it misses."""
    if not result.requirements:
        return None, ()
    missed = tuple(r.requirement.text for r in result.requirements if r.met is False)
    return result.verdict.meets_requirements is not False and not missed, missed


def traffic_text(result: StrategyResult, plan: Plan) -> str:
    """After a strategy's steady-state figures, its TTFT and TPOT under the plan's traffic at the percentiles its load
    requirements bound (`shown_percentiles`: p99 TTFT and p90 TPOT when they bound none), which they are judged on
    ("" without traffic): a nearest strategy read "TTFT 75.16 ms …; it misses the plan's requirements: ttft_p99 <= 1 s"
    of a run whose p99 TTFT was seconds (until 2026-11-30), and "p90 TPOT 73.11 ms" beside a missed `tpot_p99 <= 50
    ms` (until 2026-12-02)."""
    if result.load is None:
        return ""
    from ..units import Dimension, format_si
    f = result.load.figures
    hi = shown_percentiles(plan)
    ttft, tpot = f.ttft_s.at(hi[0]), f.tpot_s.at(hi[1])
    return (f"; under the plan's traffic p{hi[0]} TTFT {'—' if ttft is None else format_si(ttft, Dimension.TIME)}, "
            f"p{hi[1]} TPOT {'—' if tpot is None else format_si(tpot, Dimension.TIME)}")


def nearest_pooled(plan: Plan, strategy: Strategy, pooled: PooledCheck, table: EngineTable) -> Nearest | None:
    """For a disaggregated strategy the engine refuses: the same pools, each pool the engine cannot run
    replaced by its nearest strategy on the same GPUs (`nearest`'s ranking), checked as a whole
    deployment with dagc's rules and figures; None when none of the first tries is valid."""
    options: list[list[Strategy | None]] = []
    for r in pooled.pools:
        # the pool's role read by the refusals (TensorRT-LLM's Helix runs on a decode pool only), as `launch_pooled`
        served = plan.model_copy(update={"workload": plan.workload.model_copy(update={"role": r.pool.role})})
        own = degrees(served, r.pool.strategy, r.analysis.layout)
        options.append([None] if not refusals_of(table, own) else
                       list(_ranked(served, r.pool.strategy, r.analysis.layout, table)))
    for pair in list(itertools.product(*options))[:NEAREST_TRIES]:
        chosen = [c if c is not None else r.pool.strategy for c, r in zip(pair, pooled.pools, strict=True)]
        overlap = next((c.overlap for c in pair if c is not None and c.overlap is not None), strategy.overlap)
        # `with redundant R` reaches only the pools with ep > 1 (`Strategy.with_pooled_eplb`): kept while a pool
        # the engine can run keeps it, so a pool of ep 1 that drops it takes it from no other
        redundant = strategy.redundant if any(c.redundant is not None and (c.ep or 1) > 1 for c in chosen) else None
        (p, n), (d, m) = ((c, r.pool.instances) for c, r in zip(chosen, pooled.pools, strict=True))
        text = strategy_source(printer.pooled(p, n, d, m, microbatches=strategy.microbatches, overlap=overlap,
                                              redundant=redundant))
        result = check(plan, text)[0]
        if result.valid and result.metrics:
            return Nearest(text, result.metrics, result.plan.workload.batch if plan.workload.batch_max else None,
                           *requirements_missed(result), traffic_text(result, plan))
    return None


def priced_by(plan: Plan, launched: Launch) -> str:
    """Whose figures a nearest strategy's are, when not those of the engine whose heading it is under: the plan's
    engine's, as the launch header's (`dagc launch` without `--engine` prints every engine's commands under the
    figures of the plan's engine, vLLM when it names none). Until 2026-12-02 TensorRT-LLM's hint quoted vLLM's TTFT
    360 ms where `--engine trtllm` gave 426.1 ms, and did not say whose they were."""
    priced = plan.cluster.engine.name
    if priced == launched.engine:
        return ""
    name = TABLES[priced].name if priced in TABLES else f"the {priced} reference"
    again = "" if plan.calibration is not None else \
        f": `--engine {launched.engine}` prices it as {launched.name} serves it"
    return f", priced as {name} serves it, as the header's figures are{again}"
