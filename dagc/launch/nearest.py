"""The nearest strategy an engine can run, for a strategy it refuses: same GPUs, the fewest degrees
changed the least, with dagc's own figures for it.

Input: a `Plan`, a valid `Strategy` and its `Layout`, and an engine's table (`EngineTable`).
Output: a `Nearest` — the strategy as text `--strategy` accepts, its metrics and (with
`batch = max`) its batch — or None when no strategy on the same GPUs is both valid and expressible.
"""

from __future__ import annotations

import bisect
import heapq
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

__all__ = ["NEAREST_RESOLVED", "NEAREST_TRIES", "Nearest", "nearest", "nearest_pooled", "priced_by",
           "requirements_missed", "traffic_text"]

T = TypeVar("T")

NEAREST_TRIES = 8           # candidates `check`ed, nearest first, before giving up on a nearest strategy
NEAREST_RESOLVED = 10_000   # candidates resolved into a layout at most, nearest first (`_ranked`), an engine
# Refusals of a strategy's pipeline stages that no in-stage degrees escape, and whose rule's "Fixed" drops them
# (`dagc explain E714`): the candidates also fold the stages into the stage group (`pp 2 < tp 8 ; ep 8 >` → `tp 16 ;
# ep 16`) and into replicas (→ `dp 2 < tp 8 ; ep 8 >`) on the same GPUs. Until 2026-12-02 every candidate kept pp, so
# SGLang's E714 (speculative decoding with stages) found no nearest strategy. (vLLM's E704 is escaped in the stage,
# `pp 4 < tp 8 ; ep 8 >`, and keeps its nearest there.)
FOLDS: dict[str, tuple[str, ...]] = {"E714": ("group", "replicas")}
# Refusals of an expert domain wider or narrower than attention's (vLLM's E702: its EP is always attention DP × TP):
# the candidates also split the stage group into replicas each one EP group wide (`tp 4 ; ep 16 etp 4` on 64 GPUs →
# `dp 4 < tp 4 ; ep 16 >`), keeping the user's ep. Until 2026-12-03 the nearest kept the group whole, and seed 001's
# 10B MoE of 16 experts was told `tp 4 ; ep 1 etp 64` (TTFT 9.984 s against `ttft <= 10 s`), where `dp 4 < tp 4 ; ep
# 16 >` takes 734.5 ms on the same GPUs.
EP_GROUP_FOLDS = frozenset({"E702"})


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


def _moved(value: int, was: int) -> float:
    return abs(math.log2(value / was))


def _attention(d: Degrees, group: int) -> list[tuple[float, int, int]]:
    """The (tp, cp) of a stage group of `group` GPUs, each with the part of `_distance` it fixes alone (tp, cp and
    the attention DP they leave), least first."""
    return sorted((_moved(tp, d.tp) + _moved(cp, d.cp) + _moved(group // (tp * cp), d.adp), tp, cp)
                  for tp in _divisors(group) for cp in _divisors(group // tp))


def _experts(d: Degrees, group: int) -> list[tuple[float, tuple[int, int] | None]]:
    """The expert domains of a candidate, each with the part of `_distance` it fixes alone, least first: none (the
    layout's own: 0, nothing known before it is resolved), then each (ep, etp) with the expert DP they leave."""
    out: list[tuple[float, tuple[int, int] | None]] = [(0.0, None)]
    if d.has_experts:
        out += [(_moved(ep, d.ep) + _moved(etp, d.etp) + _moved(group // (ep * etp), d.edp), (ep, etp))
                for ep in _divisors(group) for etp in _divisors(group // ep)]
    return sorted(out, key=lambda o: o[0])


def _least_sums(a: Sequence[float], b: Sequence[float]) -> Iterator[tuple[float, int, int]]:
    """Every pair (i, j) of two ascending lists, in the order of a[i] + b[j], least first, without building the
    product: a heap of the pairs next to those already given."""
    heap = [(a[0] + b[0], 0, 0)]
    seen = {(0, 0)}
    while heap:
        total, i, j = heapq.heappop(heap)
        yield total, i, j
        for ni, nj in ((i + 1, j), (i, j + 1)):
            if ni < len(a) and nj < len(b) and (ni, nj) not in seen:
                seen.add((ni, nj))
                heapq.heappush(heap, (a[ni] + b[nj], ni, nj))


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
    if codes & EP_GROUP_FOLDS and 1 < d.ep < d.group and d.group % d.ep == 0:
        shapes.append((d.dp * (d.group // d.ep), d.pp, d.ep))      # replicas each one EP group wide
    return shapes


def _candidates(strategy: Strategy, d: Degrees, refused: Sequence[str],
                shapes: Sequence[tuple[int, int, int]]) -> Iterator[tuple[float, Strategy]]:
    """The candidates on the same GPUs, each with a lower bound of its `_distance` (the part its degrees fix
    before it is resolved), in the order of that bound, least first: each strategy is made only when reached."""
    overlaps = _kept_or_dropped(strategy.overlap, Overlap.NONE, "overlap" in refused)
    redundants = _kept_or_dropped(strategy.redundant, None, "redundant" in refused)  # EPLB it cannot run: off
    sp = strategy.sp and "sp" not in refused

    def shaped(dp: int, pp: int, group: int, overlap: Overlap | None, redundant: int | None
               ) -> Iterator[tuple[float, Strategy]]:
        folded = pp != d.pp
        split = None if "split" in refused or folded else strategy.pp_split
        # micro-batches feed the pipeline or the micro-batch overlap: without stages, only the overlap keeps them
        microbatches = None if folded and strategy.overlap is not Overlap.MICROBATCH else strategy.microbatches
        attention, experts = _attention(d, group), _experts(d, group)
        for bound, i, j in _least_sums([a[0] for a in attention], [e[0] for e in experts]):
            (_, tp, cp), (_, expert) = attention[i], experts[j]
            even = aggregated(dp=dp, pp=pp, tp=tp, cp=cp, sp=sp and tp > 1,
                              ep=expert[0] if expert else None, etp=expert[1] if expert else None)
            yield bound, with_options(with_split(even, split), microbatches, overlap, redundant)

    return heapq.merge(*(shaped(*shape, overlap, redundant) for shape in shapes
                         for overlap, redundant in itertools.product(overlaps, redundants)), key=lambda c: c[0])


def _distance(a: Degrees, b: Degrees) -> float:
    axes = ("dp", "pp", "tp", "cp", "adp", "ep", "etp", "edp")
    moved = sum(abs(math.log2(getattr(a, k) / getattr(b, k))) for k in axes)
    return moved + (a.split != b.split) + (a.overlap != b.overlap) + (a.eplb != b.eplb) + (a.sp != b.sp)


def _ranked(plan: Plan, strategy: Strategy, layout: Layout, table: EngineTable) -> list[Strategy]:
    """The strategies on the same GPUs that the engine can express, nearest first: the candidates are resolved in
    the order of their distance's lower bound until no later one can rank among the first `NEAREST_TRIES`, and at
    most `NEAREST_RESOLVED` of them (until 2026-12-02 every one was: `tp 8 cp 1000` took minutes an engine). None
    for a strategy on more GPUs than the cluster has: every candidate takes as many (E401)."""
    d = degrees(plan, strategy, layout)
    if d.gpus > plan.cluster.gpus:
        return []
    refusals = refusals_of(table, d)
    shapes = _shapes(d, {r.code for r in refusals})
    ranked: dict[tuple[float, bool, int, str], Strategy] = {}
    distances: list[float] = []      # of the distinct candidates kept, least first
    for resolved, (bound, cand) in enumerate(_candidates(strategy, d, [r.at for r in refusals], shapes)):
        if resolved == NEAREST_RESOLVED or (len(distances) >= NEAREST_TRIES
                                            and bound > distances[NEAREST_TRIES - 1] + 1e-9):
            break
        cd = degrees(plan, cand)            # resolved into its own layout
        if (cd.dp, cd.pp, cd.group) not in shapes or cd.gpus != d.gpus:
            continue
        if cd.adp * cd.tp * cd.cp != cd.group or refusals_of(table, cd):
            continue
        if cd.eplb and (cd.experts + cd.redundant) % cd.ep:      # dagc's E301: the slots do not split over ep
            continue
        # Among equals, the form the user wrote (an expert domain or none), then the shortest text.
        form = (cand.ep is None) != (strategy.ep is None and strategy.etp is None)
        key = (_distance(d, cd), form, len(cand.text), strategy_source(cand))
        if key not in ranked:
            bisect.insort(distances, key[0])
        ranked[key] = cand
    return [ranked[k] for k in sorted(ranked)[:NEAREST_TRIES]]


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
