"""Disaggregated candidates of the search (SPEC 11.3): `prefill N < A > decode M < B >` beside the
aggregated strategies, factorised.

Input: a `Plan` served in flight, the objective, the search's `Timer` and its `Tally` (the aggregated
candidates taken so far: their bar prunes). Output: the disaggregated candidates that could matter,
taken into the tally, and `PooledCounts`.

The space (docs/search.md, "Disaggregated candidates"): each pool's instance runs a strategy of the
space without data parallelism (`dagc.search.space.instance_strategies`: an instance's replicas are
more instances) with the micro-batches and overlap the space gives the requests of its busiest
attention-DP group; both pools run the same micro-batches and overlap (a strategy's options apply to
both pools). A prefill instance prefills its `prefill_batch` (`dagc.verdict.pools.prefill_batch_of`);
M decode instances hold ceil(batch / M) requests each, M a power of two or the most that fit (as the
space's dp) while M·G(B) leaves room for the smallest legal prefill instance; N prefill instances,
every N from 1 while N·G(A) + M·G(B) fits the cluster.

Factorised: each (A, micro-batches, overlap) is evaluated once as a prefill instance (its makespan,
memory) and each (B, micro-batches, overlap, M) once as a decode instance (its step, memory), with
the fast check (`dagc.verdict.fastcheck`: the rules and memory of `check`); every pair and every N
is then weighed from those figures at once (`dagc.search.pairs`), no op priced. A decode instance
whose step's floor (`dagc.schedule.recurrence.op_floor`) cannot beat the bar with the best prefill
pool it could have is not evaluated (`pruned`).

With `batch = max` (`dagc search --vary batch`) each (B, micro-batches, overlap) runs the largest batch
one decode instance serves, and M of them hold M times it (`dagc.search.pooled_max`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..layout.layout import resolve
from ..layout.modes import mode_of
from ..layout.split import busiest_group_requests
from ..memory.admission import admission, admitted
from ..memory.memory import memory
from ..plan.objective import OBJECTIVES
from ..plan.plan import Plan
from ..plan.printer import scope_source
from ..plan.strategy import Pool, Strategy
from ..plan.workload import Overlap, PoolRole, RequirementKind, Workload
from ..schedule.recurrence import op_floor
from ..schedule.timer import Timer
from ..verdict.fastcheck import Refused, fast_check
from ..verdict.pools import check_pools, memory_caps, prefill_batch_of, role_workload
from ..verdict.verdict import MemoryFigures, fuller
from .bar import Bar, BarKeeper, is_out_of_reach
from .chunks import Tally
from .floor import floored_for
from .kv_screen import kv_refused
from .pairs import Entry, Instance, Pair, PooledCounts, Prefills, best_at_bounds, instance_of, weigh
from .pooled_max import MAX_POOL_PROBES, decode_pools_at_max
from .result import Candidate
from .run import Run
from .score import binding_of, misses
from .space import instance_strategies, replica_counts, variants

__all__ = ["PooledCounts", "exact_pooled", "pooled_search", "pooled_text", "searches_pools"]


def searches_pools(plan: Plan) -> bool:
    """Whether the search weighs disaggregated candidates: served in flight, at the plan's batch or, with
    `batch = max` (`--vary batch`), each decode instance at its own largest (`dagc.search.pooled_max`)."""
    return mode_of(plan.workload).continuous and plan.cluster.gpus >= 2


def pooled_text(prefill: Strategy, n: int, decode: Strategy, m: int) -> str:
    """The scope of a disaggregated strategy, as the printer writes it (`dagc.plan.printer`) and `--strategy`
    accepts it; the execution options go after it (`dagc.search.result.option_text`).

    Example:
        >>> pooled_text(Strategy(text="tp 8", tp=8), 3, Strategy(text="tp 8 ; ep 8", tp=8, ep=8, etp=1), 1)
        'prefill 3 < tp 8 > decode 1 < tp 8 ; ep 8 >'
    """
    # `scope_source(pooled(prefill, n, decode, m))`, without making the strategy: each pool's scope is its
    # strategy's own (a pool's options are outside its scope)
    return f"{PoolRole.PREFILL} {n} < {scope_source(prefill)} > {PoolRole.DECODE} {m} < {scope_source(decode)} >"


def _role_workload(w: Workload, role: PoolRole, batch: int, mb: int, overlap: Overlap) -> Workload:
    """What one pool's instance runs with `mb` micro-batches and `overlap` (`dagc.verdict.pools.role_workload`)."""
    return role_workload(w, role, batch, microbatches=mb, overlap=overlap)


def _instance(plan: Plan, s: Strategy, workload: Workload, timer: Timer) -> Instance | None:
    """One instance's figures from the fast check, or None when a rule rejects it or the engine the plan chose would
    not start it for want of KV cache (E732, `dagc.search.kv_screen`: `dagc launch` and `check` judge each pool)."""
    fc = fast_check(plan, s, workload, timer)
    return None if isinstance(fc, Refused) or kv_refused(plan, s, workload, fc) else instance_of(fc, s, workload)


def _prefill_instances(plan: Plan, alone: Plan, timer: Timer, counts: PooledCounts, late: Callable[[], bool]
                       ) -> list[Instance]:
    """Every legal prefill instance of the space."""
    w, out = plan.workload, list[Instance]()
    for s in instance_strategies(plan, plan.cluster.gpus - 1, PoolRole.PREFILL):
        lay = resolve(plan.model, plan.cluster, w, s)
        batch = prefill_batch_of(w, lay.adp)
        for mb, overlap in variants(s, busiest_group_requests(batch, 1, lay.adp), plan, PoolRole.PREFILL):
            if late():
                counts.stopped = True
                return out
            counts.prefill += 1
            found = _instance(alone, s, _role_workload(w, PoolRole.PREFILL, batch, mb, overlap), timer)
            if found is not None:
                out.append(found)
    return out


def pooled_search(run: Run, tally: Tally, prune: bool = True, keep: int = 10,
                  max_probes: int = MAX_POOL_PROBES) -> PooledCounts:
    """Weigh the disaggregated candidates (module docstring) into `tally`, which keeps the best `keep`
    (the search's exact top) and maybe a front. With `batch = max`, each decode instance at its largest
    batch, at most `max_probes` batches probed in all (`dagc.search.pooled_max`)."""
    plan = run.plan
    t0, counts = run.clock(), PooledCounts(batch_max=plan.workload.batch_max, max_probes=max_probes)
    # an instance is no deployment: it keeps the memory limits alone, which size its KV cache (`check_pools`)
    alone = plan.model_copy(update={"requirements": memory_caps(plan)})
    found = _prefill_instances(plan, alone, run.timer, counts, run.late)
    if not found or counts.stopped:
        counts.seconds = run.clock() - t0
        return counts
    least = min(p.gpus for p in found)
    prefills = Prefills({}, least)
    for p in _undominated(found, _memory_read(plan), keep):
        prefills.by_option.setdefault((p.mb, p.overlap), []).append(p)
    kept = BarKeeper(keep)             # the best `keep` rank keys so far: a pair after them is not made
    for c in tally.best.ranked():
        kept.take(c)
    bar_of = (lambda: _bar(tally)) if prune else (lambda: None)
    pair = _Pairing(run, tally, kept, counts)
    strategies = instance_strategies(plan, plan.cluster.gpus - least, PoolRole.DECODE)
    if plan.workload.batch_max:
        decode_pools_at_max(run, strategies, prefills, counts, bar_of, pair, max_probes)
    else:
        _decode_pools(run, alone, strategies, prefills, counts, bar_of, pair)
    counts.seconds = run.clock() - t0
    return counts


def _decode_pools(run: Run, alone: Plan, strategies: Iterable[Strategy], prefills: Prefills, counts: PooledCounts,
                  bar_of: Callable[[], Bar | None], pair: Callable[[Instance, int, list[Instance]], None]) -> None:
    """Every decode pool at the plan's batch — M instances of B, each holding ceil(batch / M) requests —
    weighed by `pair` against the prefill instances that fit beside it (module docstring)."""
    plan = run.plan
    w, gpus = plan.workload, plan.cluster.gpus
    for s in strategies:
        bar = bar_of()
        g = resolve(plan.model, plan.cluster, w, s).gpus_used
        for m in replica_counts(min(w.batch, (gpus - prefills.least) // g)):
            batch = -(-w.batch // m)
            lay = resolve(plan.model, plan.cluster, _role_workload(w, PoolRole.DECODE, batch, 1, Overlap.NONE), s)
            for mb, overlap in variants(s, busiest_group_requests(batch, 1, lay.adp), plan, PoolRole.DECODE):
                fits = [p for p in prefills.by_option.get((mb, overlap), ()) if p.gpus + m * g <= gpus]
                if not fits:
                    continue
                if run.late():
                    counts.stopped = True
                    return
                workload = _role_workload(w, PoolRole.DECODE, batch, mb, overlap)
                if bar is not None and bar.kth is not None and _hopeless(run, workload, s, fits, m, bar):
                    counts.pruned += 1
                    continue
                counts.decode += 1
                d = _instance(alone, s, workload, run.timer)
                if d is not None:
                    pair(d, m, fits)


@dataclass(frozen=True)
class _Pairing:
    """Weigh `m` decode instances `d` against the prefill instances that `fit` beside them, and take
    those pairs that could matter into `tally` and `kept` (the best `kept.k` rank keys so far), counting
    them in `counts`; `at`: with `batch = max`, the deployment's workload at the batch chosen
    (`dagc.search.pooled_max`)."""

    run: Run
    tally: Tally
    kept: BarKeeper
    counts: PooledCounts

    def __call__(self, d: Instance, m: int, fits: list[Instance], at: Workload | None = None) -> None:
        plan, objective, kept = self.run.plan, self.run.objective, self.kept
        head = kept.keys[-1][:3] if len(kept.keys) >= kept.k else None
        found, weighed = weigh(plan, objective, d, m, fits, Entry(head, self.tally.front is not None, kept.k))
        self.counts.pairs += weighed
        self.counts.legal += len(found)
        taken = [_candidate(plan, objective, c, at) for c in found]
        _take(self.tally, taken)
        for c in taken:
            kept.take(c)


def _memory_read(plan: Plan) -> str:
    """What of a pair's memory the plan's requirements read: "" nothing, "need" what its rank needs (`memory <= X`),
    "held" that and what the engine holds too (`memory == X`, judged on the engine's share)."""
    ops = {r.op for r in plan.requirements if r.kind is RequirementKind.MEMORY}
    return "held" if "==" in ops else "need" if ops else ""


def _undominated(prefills: list[Instance], memory: str, keep: int) -> list[Instance]:
    """The prefill instances that fewer than `keep` others of the same GPUs, micro-batches and overlap
    beat (`_beats`): a pair with one that `keep` others beat ranks after the `keep` pairs those make
    with the same decode pool and N, so it can enter neither the best `keep` nor the front."""
    groups: dict[tuple[int, int, Overlap], list[Instance]] = {}
    for p in prefills:
        groups.setdefault((p.gpus, p.mb, p.overlap), []).append(p)
    return [p for p in prefills
            if sum(_beats(q, p, memory) for q in groups[(p.gpus, p.mb, p.overlap)]) < keep]


def _beats(q: Instance, p: Instance, memory: str) -> bool:
    """Whether every pair prefill instance `q` makes ranks before the same pair with `p` (the same GPUs,
    micro-batches and overlap): a pair's rank reads of its prefill instance its makespan and its
    requests per makespan — and its memory when a requirement reads memory (`memory`, `_memory_read`) — and then
    its name. `q` no slower, serving no fewer requests per second (and no fuller, holding what `p` holds where
    `memory == X` reads that: a share nearer X is not worse, one further is) and first by name."""
    held = memory != "held" or (q.memory is not None and p.memory is not None
                                and q.memory.held_bytes == p.memory.held_bytes)
    return (q.seconds <= p.seconds and q.batch * p.seconds >= p.batch * q.seconds
            and (not memory or (q.memory_fraction <= p.memory_fraction and q.memory_bytes <= p.memory_bytes
                                and held))
            and f"{q.strategy.text} >" < f"{p.strategy.text} >")         # as inside `pooled_text`


def _hopeless(run: Run, workload: Workload, s: Strategy, fits: list[Instance], m: int, bar: Bar) -> bool:
    """Whether no pair of `m` decode instances running `s` on `workload` can matter (`bar`) at the floor of
    their step with each op at its lower bound (`op_floor`). (Cheaper floors first — the physical bound
    of the instance's GPUs, its attention split's ops alone — were measured to prune 4 % of what this one
    does on the DeepSeek-V3 example, and cost more than they saved.)"""
    plan, timer = run.plan, run.timer
    lay = resolve(plan.model, plan.cluster, workload, s)
    step, step_lay = workload, lay
    # Its step runs the requests its KV cache admits (dagc.memory.admission). Without the activations (their
    # working sets cost a pass's shapes) the KV cache holds at least as much: when that admits every request
    # the step is the cap's (the activations could still take the room of a request: rare, not screened).
    # Sized as the instance is evaluated — under the plan's memory limit (`pooled_search`'s `alone`, as `dagc
    # check` sizes a pool): sized otherwise, the KV cache would admit other requests than the instance runs, and
    # the bound would miss the pair's own figures
    limit = plan.memory_limit_bytes
    bare = memory(plan.model, workload, plan.cluster, lay, dict.fromkeys(range(lay.pp), 0.0), limit_bytes=limit)
    full = plan.cluster.engine.terms                       # how the engine admits (at full length, reserving)
    if admission(workload, lay, bare, full).limited:
        mem = memory(plan.model, workload, plan.cluster, lay, timer.activations(workload, lay), limit_bytes=limit)
        if all(st.fits for st in mem.stages):
            step, step_lay = admitted(plan, s, workload, lay, admission(workload, lay, mem, full))
    floor = op_floor(timer, step, step_lay)                   # a step's floor; the pair's TPOT is per token
    return is_out_of_reach(best_at_bounds(plan, run.objective, fits, m, lay.gpus_used, step.batch, floor), bar)


def _take(tally: Tally, found: list[Candidate]) -> None:
    """Take pooled candidates into the best, the bar's keys and the front (as `Tally.take`, which
    also counts them among the aggregated candidates and makes a bar: `PooledCounts` counts them)."""
    for c in found:
        tally.best.add(c)
        tally.keeper.take(c)
        if c.meets_requirements and tally.front is not None:
            tally.front.add(c)


def _bar(tally: Tally) -> Bar:
    """The bar of what the tally holds now."""
    return tally.keeper.bar(None if tally.front is None else [c for _, c in tally.front.points])


def _candidate(plan: Plan, objective: str, pair: Pair, at: Workload | None = None) -> Candidate:
    """A weighed pair (`dagc.search.pairs.Pair`) as a candidate of the search; `at`: with `batch = max`,
    the deployment's workload at its batch (the candidate's `batch`, and what one more request per
    decode instance would break binds it)."""
    p, n, d, m = pair.prefill, pair.n, pair.decode, pair.m
    text = pooled_text(p.strategy, n, d.strategy, m)
    strategy = Strategy(text=text, microbatches=d.mb, overlap=d.overlap,
                        pools=(Pool(role=PoolRole.PREFILL, instances=n, strategy=p.strategy),
                               Pool(role=PoolRole.DECODE, instances=m, strategy=d.strategy)))
    reqs = pair.requirements(plan)
    return floored_for(Candidate(strategy=strategy, microbatches=d.mb, overlap=d.overlap, gpus=pair.gpus,
                                 metrics=pair.metrics, meets_requirements=all(r.met for r in reqs),
                                 score=OBJECTIVES[objective].score_of(pair.metrics, pair.gpus),
                                 memory_fraction=max(p.memory_fraction, d.memory_fraction),
                                 memory_figures=pair.memory,
                                 binding=binding_of(reqs, at or plan.workload), misses=misses(reqs),
                                 batch=None if at is None else at.batch), plan)


def exact_pooled(plan: Plan, c: Candidate, objective: str) -> Candidate | None:
    """A disaggregated candidate with the figures `check` gives its printed text (None: the full check
    rejects it): both pools analysed in full (`dagc.verdict.pools.check_pools`); with `batch = max`, at
    the candidate's batch, as `--set workload.batch=…` checks it."""
    # under an overlap the search's batch is an estimate: the largest as `check` chooses it (its schedule's), as an
    # aggregated row's is (`dagc.search.rescore.exact_figures`; until 2026-12-03 a row kept 224 where check gives 280)
    chosen = c.batch is not None and plan.workload.batch_max and c.overlap is not Overlap.NONE
    if c.batch is not None and not chosen:
        plan = plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": c.batch,
                                                                                    "batch_max": False})})
    checked = check_pools(plan, c.strategy)
    if checked.metrics is None or any(d.is_error for d in checked.diagnostics):
        return None
    batch, binding = (checked.plan.workload.batch, binding_of((), checked.plan.workload)) if chosen else \
        (c.batch, c.binding)
    metrics = checked.metrics.like(c.metrics)
    fractions = [p.analysis.memory.worst.fraction for p in checked.pools if p.analysis.memory is not None]
    full = fuller(MemoryFigures.of(p.analysis.memory) for p in checked.pools if p.analysis.memory is not None)
    return floored_for(Candidate(strategy=c.strategy, microbatches=c.microbatches, overlap=c.overlap, gpus=c.gpus,
                                 metrics=metrics, meets_requirements=checked.verdict.meets_requirements is not False,
                                 score=OBJECTIVES[objective].score_of(metrics, c.gpus),
                                 memory_fraction=max(fractions, default=math.nan), exact=True, memory_figures=full,
                                 binding=binding if c.batch is not None else binding_of(checked.requirements,
                                                                                           plan.workload),
                                 batch=batch, misses=misses(checked.requirements)), plan)
