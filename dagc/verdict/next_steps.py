"""Next steps: for a legal strategy that misses the plan's requirements, the nearest changes that meet them,
each tried by the compiler (checked as the plan itself is), not guessed.

Input: a `StrategyResult` of `dagc.verdict.check`. Output: `next_steps` — `NextStep`s, each a change in
words, the command-line options that make it (`--set …`, `--strategy …`), whether it meets every
requirement and the figures it gives. First, without a check of its own, the plan's other strategy that meets every
requirement on at most the strategy's GPUs, when the plan holds one (`_plans_own`, kind `strategy`). Tried, in this
order, each only where it applies:

- when the load is bound by the cap on requests in flight (`dagc.serve.binding`): a larger batch — the
  concurrency Little's law needs, rounded up, then larger while the cap still binds (`LARGER_BATCH_TRIES`
  at most), with 8-bit weights from the first whose own TPOT or ITL misses (not one missed only as its queue
  grows) or that the KV cache does not admit (W520) — from the first try when the strategy's own TPOT or ITL
  already misses —, and never past the requests the KV cache admits;
- when a disaggregated strategy's load is bound by its prefill pool: more prefill instances, from the
  share of the arrivals the pool served, then the counts between the pool's and it, then one more at a time
  (`PREFILL_TRIES` at most), the cluster grown to hold them (a disaggregated strategy gets a larger batch, a
  smaller batch and the precisions too, no replicas);
- when a missed ITL rests on the mixed step (`dagc.serve.binding`): a smaller chunk, halved up to
  `CHUNK_TRIES` times, not below `MIN_CHUNK` tokens;
- the largest smaller batch that meets (the batch is searched by halving: a smaller batch shortens
  TTFT and TPOT and lightens memory, so meeting is taken to be monotone in it — under traffic, where a batch
  too small cannot carry the rate, from the first of the plan's batch halved, quartered, … that meets);
- 8-bit weights, an 8-bit KV cache, both; fp4 weights on a GPU with fp4 units (when the KV cache's
  blocks bind, the 8-bit KV cache first);
- more GPUs: the strategy replicated `dp` 2, 4 or 8 times (each replica a share of the batch: the
  plan's batch caps the requests in flight over the deployment, so `dp 2` halves each replica's, as
  `dagc check` runs it and the words say), the cluster grown to hold them; the fewest that meets; else, of those
  that bring the missed requirements nearer their targets (`step_effect.closer`), the nearest — one the cluster holds
  first — and when none does, none (`dagc.verdict.step_replicas`); not when no number tried meets a memory
  requirement missed (a replica's GPUs hold the same weights).
  No change grows the GPUs past what a `gpus` requirement of the plan allows (`gpus_allowed`): the cap the user
  wrote is not a figure to trade;
- fewer GPUs, when a replicated strategy (`dp d < … >`) misses a `gpus` cap: the most replicas under it (`dp k`, k
  dividing d, down to the strategy alone), with traffic each keeping its own cap (the batch k/d of the plan's). No
  precision is tried when `gpus` caps are all the strategy misses: none moves the GPUs.

None is tried while the strategy misses a requirement written on the wrong side of its figure (`ttft >= 2 s`,
W522; `throughput <= …`, W523): every step would chase a slower deployment; the fix is the comparator.

Each change is checked as `dagc check` with its options checks it: `check_strategy` (the load simulated, the capacity
once it meets on its run) and, given `judge`, the engine's refusals (E7xx) `dagc check` adds.

A change is listed when it meets the requirements, and the nearest of each kind only; when none meets, of each kind
the tried change that comes nearest the missed requirements is listed with `meets` false, so that the user sees how
close it came — one rule for every kind (`dagc.verdict.step_nearest`): only a change that brings them nearer their
targets and misses none the strategy meets (`dagc.verdict.step_effect.closer`), and moves a figure that holds its load
back (`moves`); when no change of a kind tried does, none of it, and "no … helps" is said instead
(`StrategyResult.no_step`). Until 2026-12-01 every kind but the replicas listed its last (precision: its fewest-missing)
tried change that moved any figure, in whichever direction. The library never prints: the reports and `dagc check`
show them.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
from collections.abc import Callable

from ..diagnostics import Diagnostic
from ..layout.modes import mode_of
from ..plan.model import DType
from ..plan.printer import with_instances
from ..plan.workload import PoolRole
from ..rules.requirements import written_backwards
from ..serve.binding import Limit
from ..units import count_text, said_list
from .check import NextStep, StrategyResult
from .step_effect import missed_texts
from .step_nearest import offered
from .step_reads import admitted_below, binding, binding_figure, decode_missed, limit
from .step_replicas import REPLICAS_WHAT, fewer_replicas as _fewer_replicas, grown as _grown, replicas as _replicas
from .step_sizes import gpus_allowed, gpus_missed, rounded_down, rounded_up
from .step_tries import Judge, Tries as _Tries, make_step as _step, meets as _meets

__all__ = ["Judge", "NextStep", "next_steps", "with_next_steps", "MAX_TRIES"]

MAX_TRIES = 24          # checks one strategy's next steps may run (each is a whole check, no search)
LARGER_BATCH_TRIES = 5  # larger batches tried when the cap on requests in flight binds
PREFILL_TRIES = 4       # prefill pools tried when a disaggregated strategy's prefill binds
CHUNK_TRIES = 3         # smaller chunks tried when a missed ITL rests on the mixed step
MIN_CHUNK = 256         # the smallest chunk tried


def next_steps(result: StrategyResult, max_tries: int = MAX_TRIES, judge: Judge | None = None) -> list[NextStep]:
    """The nearest changes that make `result`'s legal strategy meet its plan's requirements (none when it
    meets them or is not legal). `judge` adds to each change's check what `dagc check` adds to the plan's
    (`dagc.launch.engine_check.engine_checked`: the engine's refusals): judged as `dagc check` judges it."""
    return _steps(result, max_tries, judge)[0]


def _steps(result: StrategyResult, max_tries: int = MAX_TRIES, judge: Judge | None = None
           ) -> tuple[list[NextStep], tuple[str, ...]]:
    """`next_steps`, and what a kind of change tried found helps not, in words (`StrategyResult.no_step`)."""
    if not result.valid or result.verdict.meets_requirements is not False \
            or binding_figure(result, lambda b: b.goodput_unreachable) is not None \
            or any(q.met is False and written_backwards(q.requirement) for q in result.requirements):
        return [], ()   # a goodput target above the arrival rate, a target on the wrong side (W522, W523): no step
    tries = _Tries(result.plan, result.decl, max_tries, judge)
    out: list[NextStep] = []
    kinds: tuple[Callable[[StrategyResult, _Tries], NextStep | None], ...] = \
        (_more_prefill, _larger_batch, _batch, _precision) if result.pooled is not None else \
        (_larger_batch, _smaller_chunk, _batch, _precision, _replicas, _fewer_replicas)
    if limit(result) is Limit.KV_BLOCKS:      # an 8-bit KV cache first (binding_text says so)
        kinds = (_precision, *(k for k in kinds if k is not _precision))
    for kind in kinds:
        found = kind(result, tries)
        if found is not None:
            out.append(found)
    return out, tuple(tries.said)


def with_next_steps(results: list[StrategyResult], judge: Judge | None = None) -> list[StrategyResult]:
    """`results` with each one's `next_steps` (`dagc check` and `dagc compile` show them), each change judged
    with `judge` too (`next_steps`), and what a kind of change tried found helps not (`StrategyResult.no_step`)."""
    out = []
    for r in results:
        steps, said = _steps(r, judge=judge)
        own = _plans_own(r, results)
        out.append(dataclasses.replace(r, next_steps=(*((own,) if own else ()), *steps), no_step=said,
                                       diagnostics=_unused_told(r.diagnostics, said)))
    return out


def _plans_own(result: StrategyResult, results: list[StrategyResult]) -> NextStep | None:
    """The plan's first other strategy that meets every requirement on at most `result`'s GPUs, as its own check
    judged it: no change tried is nearer than a strategy the plan already holds (until 2026-12-02 DeepSeek-V3's
    `tp 1 ; ep 16` on 16 H200 was told to grow to 32 GPUs beside the plan's `tp 8 ; ep 16`, which met on the 16)."""
    if not result.valid or result.verdict.meets_requirements is not False or result.gpus_used is None:
        return None
    for other in results:
        if other is result or other.decl is None or not _meets(other) or other.gpus_used is None \
                or other.gpus_used > result.gpus_used:
            continue
        d = other.decl
        words = f"the plan's strategy `{d.name}` (`{d.text}`)" if d.name else f"the plan's strategy `{d.text}`"
        return _step("strategy", f"{words}, on {count_text(other.gpus_used, 'GPU')}", (
            f"--strategy {shlex.quote(d.name or d.text)}",), other)
    return None


def _unused_told(diagnostics: tuple[Diagnostic, ...], said: tuple[str, ...]) -> tuple[Diagnostic, ...]:
    """W505's hint proposes replicas for the unused GPUs ("dp 4 would use 64", `dagc.rules.unused_hint`); when the next
    steps found that no number of replicas helps the requirements the strategy misses, the hint says so too. Until
    2026-12-02 the summary listed "dp 4 would use 64 (W505)" right after "No number of replicas helps"."""
    if not any(s.startswith(f"no {REPLICAS_WHAT} helps") for s in said):
        return diagnostics
    return tuple(dataclasses.replace(d, hint=f"{d.hint}, though no number of replicas brings the missed requirements "
                                     "nearer (the next steps)")
                 if d.code == "W505" and d.hint is not None and d.hint.startswith("dp ") else d for d in diagnostics)


def _batch(result: StrategyResult, tries: _Tries) -> NextStep | None:
    """The largest batch below the plan's that meets, by halving [1, batch); under traffic, where a batch too
    small cannot carry the rate (batch 1 at 8 requests/s), from the first of batch/2, batch/4, … that meets."""
    w = result.plan.workload
    if w.batch_max or w.batch <= 1:
        return None

    def at(b: int) -> StrategyResult | None:
        return tries(result.plan.model_copy(update={"workload": w.model_copy(update={"batch": b})}))
    lo_r, lo, hi = at(1), 1, w.batch
    if not _meets(lo_r):
        # halved from the plan's down: until 2026-12-03 none was offered unless batch 1 met, and DeepSeek-V3's pools
        # at 8 requests/s (batch 256, steady TPOT over `tpot <= 30 ms`) were told no step, where 128 meets
        lo = hi // 2
        while lo > 1 and not _meets(lo_r := at(lo)):
            if lo_r is None:
                return None
            hi, lo = lo, lo // 2
        if lo <= 1:
            return None
    best = lo_r                                 # lo meets, hi does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        r = at(mid)
        if r is None:
            break
        if _meets(r):
            lo, best = mid, r
        else:
            hi = mid
    assert best is not None
    return _step("batch", f"a batch of {lo:,} (from {w.batch:,})", (f"--set workload.batch={lo}",), best)


def _precision(result: StrategyResult, tries: _Tries) -> NextStep | None:
    """The first of 8-bit weights, an 8-bit KV cache, both, fp4 weights that meets; else the nearest tried (where the
    KV cache's blocks bind, the KV cache's alone before any with the weights). None when the only requirements
    missed are `gpus` caps, which no precision moves."""
    m, gpu = result.plan.model, result.plan.cluster.gpu
    missed = missed_texts(result)
    if missed and gpus_missed(result) == missed:
        return None
    weights_16 = m.weights.bytes >= 2
    kv_16 = m.kv_cache.bytes >= 2
    options: list[tuple[str, dict[str, DType]]] = []
    if weights_16:
        options.append(("8-bit weights (fp8)", {"weights": DType.FP8}))
    if kv_16:
        options.append(("an 8-bit KV cache (fp8)", {"kv_cache": DType.FP8}))
    if weights_16 and kv_16:
        options.append(("8-bit weights and KV cache (fp8)", {"weights": DType.FP8, "kv_cache": DType.FP8}))
    if gpu.flops_4bit and not m.weights.is_fp4:
        options.append(("fp4 weights (nvfp4)", {"weights": DType.NVFP4}))
    kv_binds = limit(result) is Limit.KV_BLOCKS
    if kv_binds:                              # the KV cache's blocks bind: its 8-bit cache first
        options.sort(key=lambda o: "weights" in o[1])
    tried: list[tuple[StrategyResult, NextStep, str]] = []
    for words, update in options:
        r = tries(result.plan.model_copy(update={"model": m.model_copy(update=update)}))
        if r is None:
            break
        sets = tuple(f"--set model.{k}={v.value}" for k, v in update.items())
        step = _step("precision", words, sets, r)
        if step.meets:
            return step
        tried.append((r, step, words))
    return offered(result, tries, tried, "change of precision", lambda ws: said_list(ws, "or"),
                   first=lambda r: kv_binds and r.plan.model.weights != m.weights)     # … if it comes nearer


def _larger_batch(result: StrategyResult, tries: _Tries) -> NextStep | None:
    """When the cap on requests in flight binds: the batch Little's law needs, rounded up, and while the
    cap still binds, larger (the run's own need, at least 5/4 as many); once a tried batch's own figure misses
    a decode latency (TPOT, ITL: a larger batch only lengthens its steps), with 8-bit weights from then
    on — from the first try when the run's own figure already misses one. Never past what the KV cache
    admits: in flight a larger batch is a cap the engine does not reach when its KV cache holds fewer (W520),
    so such a batch is tried with 8-bit weights, else brought down to what it admits, rounded down. The first
    that meets, else the last tried."""
    w, lay = result.plan.workload, result.layout
    little = binding_figure(result, lambda b: b.little_concurrency)
    if w.batch_max or lay is None or limit(result) is not Limit.REQUESTS_IN_FLIGHT or not little:
        return None
    ranks = lay.dp * lay.adp
    batch = rounded_up(max(little, w.batch + 1), ranks)
    halvable = result.plan.model.weights.bytes >= 2
    fp8 = halvable and decode_missed(result)           # a larger batch alone only lengthens a missed step
    tried: list[tuple[StrategyResult, NextStep, str]] = []
    admits: float = math.inf            # the requests the KV cache admits at a tried batch (W520), once past it
    for _ in range(LARGER_BATCH_TRIES):
        plan = result.plan.model_copy(update={"workload": w.model_copy(update={"batch": batch})})
        words = f"a batch of {batch:,} (from {w.batch:,}): the cap on requests in flight binds"
        options: tuple[str, ...] = (f"--set workload.batch={batch}",)
        if fp8:
            plan = plan.model_copy(update={"model": plan.model.model_copy(update={"weights": DType.FP8})})
            words += "; with 8-bit weights (fp8)"
            options += (f"--set model.weights={DType.FP8.value}",)
        r = tries(plan)
        if r is None:
            break
        running = admitted_below(r, batch)
        if running is not None:                         # past what the KV cache admits (W520): runs `running`
            if not fp8 and halvable:
                fp8 = True                # the same batch, its weights halved: the KV cache gets more
                continue
            admits = min(admits, running)
            batch = rounded_down(admits, ranks)
            if batch <= w.batch:
                break                                   # no larger batch the KV cache admits
            continue
        step = _step("batch", words, options, r)
        if step.meets:
            return step
        over_memory = not r.valid and any(d.code == "E402" for d in r.diagnostics)
        if not r.valid and not (over_memory and not fp8 and halvable):
            break                                       # a batch the rules refuse is never proposed
        tried.append((r, step, f"{batch:,}{' (fp8 weights)' if fp8 else ''}"))
        if (decode_missed(r) or over_memory) and not fp8 and halvable:
            fp8 = True                    # the same batch, its steps shortened and its weights halved
            continue
        grown = rounded_up(max(binding_figure(r, lambda b: b.little_concurrency) or 0, batch * 5 / 4), ranks)
        if (limit(r) is not Limit.REQUESTS_IN_FLIGHT and not _past_capacity(r)) or grown > admits:
            break                                       # the cap no longer binds, or past what the KV cache admits
        batch = grown
    return offered(result, tries, tried, "larger batch", lambda ws: f"a batch of {said_list(ws, 'or')}")


def _past_capacity(r: StrategyResult) -> bool:
    """Whether `r`'s run keeps pace but its capacity lies below the rate: the capacity's longer trials fill the cap
    its run did not (DeepSeek-V3 pools at 4 requests/s: batch 80, its run bound by the step time with 66 in flight,
    capacity 3.907; 96 meets, capacity 4.662 — until 2026-12-03 the step stopped at 80)."""
    load = r.load
    return load is not None and not load.carries_traffic and load.queue_grows is None \
        and load.capacity_requests_per_s is not None


def _smaller_chunk(result: StrategyResult, tries: _Tries) -> NextStep | None:
    """When a missed ITL rests on the mixed step (a prompt's chunk run with the decode tokens): the chunk
    halved, then halved again (`CHUNK_TRIES` at most, not below `MIN_CHUNK`). The first that meets, else
    the last tried."""
    w = result.plan.workload
    itl_missed = any(q.met is False and q.requirement.kind.value == "itl" for q in result.requirements)
    b = binding(result)
    if not mode_of(w).continuous or not itl_missed or b is None or b.step != "mixed":
        return None
    chunk, tried = w.chunk_tokens, []
    for _ in range(CHUNK_TRIES):
        chunk //= 2
        if chunk < MIN_CHUNK:
            break
        r = tries(result.plan.model_copy(update={"workload": w.model_copy(update={"chunk": chunk})}))
        if r is None or not r.valid:
            break
        step = _step("chunk", f"a chunk of {chunk:,} tokens (from {w.chunk_tokens:,}): the mixed steps lengthen "
                     "a token's gaps", (f"--set workload.chunk={chunk}",), r)
        if step.meets:
            return step
        tried.append((r, step, f"{chunk:,}"))
    return offered(result, tries, tried, "smaller chunk", lambda ws: f"a chunk of {said_list(ws, 'or')} tokens")


def _fewer_decode(result: StrategyResult, tries: _Tries, k: int) -> NextStep | None:
    """`k` prefill instances beside as many decode instances as the cluster then holds, fewer than the strategy's,
    when that meets: a decode pool with room to spare gives its GPUs to the binding prefill pool before the cluster
    is grown (until 2026-12-03 a large-scale trial was offered 4,320 GPUs for `prefill 92 … decode 14 …`, where
    `prefill 92 … decode 13 …` met on the cluster's 4,096)."""
    own, pooled = result.strategy, result.pooled
    assert own is not None and pooled is not None and pooled.prefill is not None
    decode, prefill = pooled.decode, pooled.prefill
    if decode is None:
        return None
    m, per = decode.pool.instances, decode.gpus_per_instance
    fit = (result.plan.cluster.gpus - k * prefill.gpus_per_instance) // per if per else 0
    if not 1 <= fit < m:
        return None
    strategy = with_instances(with_instances(own, PoolRole.PREFILL, k), PoolRole.DECODE, fit)
    r, options = _grown(result, tries, result.plan.cluster.gpus, strategy)
    if r is None:
        return None
    step = _step("prefill", f"{k:,} prefill instances and {fit:,} decode instances (from {prefill.pool.instances:,} "
                 f"and {m:,}): the prefill pool binds, and the decode pool has GPUs to give it", options, r)
    return step if step.meets else None


def _more_prefill(result: StrategyResult, tries: _Tries) -> NextStep | None:
    """When a disaggregated strategy's prefill pool binds: more prefill instances — from the arrivals'
    share the pool served (the instances × the arrival rate over the served rate, rounded up), then the counts
    between the pool's and it, fewest first, then one more at a time — the cluster grown to hold them. The first
    that meets, else the nearest tried (`offered`). Until 2026-12-03 the counts below the share were never tried:
    DeepSeek-V3's `prefill 1 < tp 8 >` at 6 requests/s was told "no number helps" after 3 to 6 instances (each
    taking `tpot_p90` further, on 40 to 64 GPUs), where 2, on the cluster's 32, took p99 TTFT from 311 to 72 s."""
    own, pooled = result.strategy, result.pooled
    if own is None or pooled is None or limit(result) is not Limit.PREFILL_POOL:
        return None
    prefill = pooled.prefill
    if prefill is None:
        return None
    n = prefill.pool.instances
    served = result.load.figures.served_requests_per_s if result.load is not None else None
    rate = binding_figure(result, lambda b: b.arrival_rate_requests_per_s)
    share = max(n + 1, math.ceil(n * rate / served)) if rate and served else n + 1
    counts = [share, *range(n + 1, share), *range(share + 1, share + PREFILL_TRIES)][:PREFILL_TRIES]
    others = sum(p.gpus for p in pooled.pools if p is not prefill)
    tried: list[tuple[StrategyResult, NextStep, str]] = []
    for k in counts:
        if not gpus_allowed(result.plan, others + k * prefill.gpus_per_instance):
            if k > share:
                break
            continue
        gpus = max(result.plan.cluster.gpus, others + k * prefill.gpus_per_instance)
        if gpus > result.plan.cluster.gpus and (fit := _fewer_decode(result, tries, k)) is not None:
            return fit                  # fewer decode instances on the cluster, before a grown one
        r, options = _grown(result, tries, gpus, with_instances(own, PoolRole.PREFILL, k))
        if r is None:
            break
        step = _step("prefill", f"{k:,} prefill instances (from {n:,}): the prefill pool binds", options, r)
        if step.meets:
            return step
        grown = f" ({gpus:,} GPUs)" if gpus > result.plan.cluster.gpus else ""
        tried.append((r, step, f"{k:,}{grown}"))
    return offered(result, tries, tried, "number of prefill instances",
                   lambda ws: f"{said_list(ws, 'or')} prefill instances")
