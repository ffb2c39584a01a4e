"""The search space: every candidate strategy of a plan, generated lazily, fewest GPUs first.

Input: a `Plan`. Output: candidates (`space_items`: cheap tuples for the worker processes;
`candidates`: `Strategy` objects with their micro-batches and overlap) and their number
(`count_candidates`, counted without generating them). The coverage is described in
`dagc.search.search`.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..launch.engine_check import (
    PLAN_CODES,
    checkpoint_refusals,
    default_engine_judges,
    default_engine_refuses,
    engine_judges,
    engine_refuses,
)
from ..layout.layout import resolve
from ..layout.shards import kv_heads_fit
from ..layout.split import busiest_group_requests
from ..plan.plan import Plan
from ..plan.printer import aggregated, with_split
from ..plan.strategy import Strategy
from ..plan.workload import Overlap, PoolRole

__all__ = ["candidates", "count_candidates", "engine_left_out", "engine_refused", "strategy_text",
           "instance_strategies", "replica_counts", "variants", "CP_MIN_PROMPT", "PP_MAX", "ETP_VALUES"]


def _divisors_upto(n: int, limit: int) -> list[int]:
    """The divisors of n not above `limit`, ascending: at most min(limit, √n) trial divisions.

    Example:
        >>> _divisors_upto(36, 10)
        [1, 2, 3, 4, 6, 9]
    """
    limit = min(n, limit)
    if limit < 1:
        return []
    root = math.isqrt(n)
    if limit <= root:
        return [d for d in range(1, limit + 1) if n % d == 0]
    small = [d for d in range(1, root + 1) if n % d == 0]
    return small + [n // d for d in reversed(small) if n // d != d and n // d <= limit]


@functools.lru_cache(maxsize=4096)
def _divisors_of(n: int) -> tuple[int, ...]:
    return tuple(_divisors_upto(n, n))


def strategy_text(dp: int, pp: int, split: tuple[int, ...] | None, tp: int, cp: int, sp: bool,
                  expert: tuple[int, int] | None) -> str:
    """Strategy text that `--strategy` accepts, as the printer writes it (`dagc.plan.printer`).

    Example:
        >>> strategy_text(2, 4, None, 2, 1, False, (8, 1))
        'dp 2 < pp 4 < tp 2 ; ep 8 > >'
    """
    return _aggregated(dp, pp, split, tp, cp, sp, expert).text


def _aggregated(dp: int, pp: int, split: tuple[int, ...] | None, tp: int, cp: int, sp: bool,
                expert: tuple[int, int] | None) -> Strategy:
    ep, etp = expert if expert is not None else (None, None)
    even = aggregated(dp=dp, pp=pp, tp=tp, cp=cp, sp=sp, ep=ep, etp=etp)
    return even if split is None else with_split(even, split)


CP_MIN_PROMPT = 4096        # context parallelism is searched for prompts at least this long
PP_MAX = 16
ETP_VALUES = (1, 2, 4)


def _pp_values(layers: int, limit: int) -> list[int]:
    """Stage counts searched: the divisors of the layers and the powers of two, up to 16."""
    top = min(layers, limit, PP_MAX)
    return [p for p in range(1, top + 1) if layers % p == 0 or p & (p - 1) == 0]


def _dp_values(limit: int) -> list[int]:
    values = {1 << k for k in range(limit.bit_length()) if 1 << k <= limit}
    values.add(limit)
    return sorted(v for v in values if v >= 1)


def replica_counts(limit: int) -> list[int]:
    """The replica counts searched up to `limit`: the powers of two and the limit itself (dp, and a
    decode pool's instances).

    Example:
        >>> replica_counts(12)
        [1, 2, 4, 8, 12]
    """
    return _dp_values(limit)


def _next_dp(dp: int, limit: int) -> int | None:
    """The next value of `_dp_values(limit)` after dp (powers of two, then the limit)."""
    if dp >= limit:
        return None
    return min(dp * 2, limit)


def _mb_options(per_group: int, pp: int) -> tuple[int, ...]:
    """Micro-batch counts searched: pp and 2·pp (1 and 2 without pp), at most the requests of an
    attention-DP group (a micro-batch beyond carries no request)."""
    return tuple(mb for mb in ((pp, 2 * pp) if pp > 1 else (1, 2)) if mb <= max(per_group, 1))


def _overlaps(mb: int) -> tuple[Overlap, ...]:
    return (Overlap.NONE, Overlap.MICROBATCH) if mb >= 2 else (Overlap.NONE,)


@dataclass(frozen=True)
class _Space:
    """The stage-group configurations: attention domains by tp·cp, expert domains by ep·etp."""

    attention: dict[int, tuple[tuple[int, int, bool], ...]]     # tp·cp → (tp, cp, sp)
    experts: dict[int, tuple[tuple[int, int], ...]]             # ep·etp → (ep, etp)
    groups: tuple[int, ...]                                     # stage group sizes G, ascending

    def configs(self, g: int) -> Iterator[tuple[int, int, bool, tuple[int, int] | None, int]]:
        """(tp, cp, sp, expert domain, tp·cp) of every stage group of size g = max(tp·cp, ep·etp),
        where the smaller domain divides the larger."""
        divs = _divisors_of(g)
        for a in divs:
            for tp, cp, sp in self.attention.get(a, ()):
                options: Iterable[tuple[int, int] | None]
                if a == g:
                    options = itertools.chain((None,), (x for e in divs for x in self.experts.get(e, ())))
                else:
                    options = self.experts.get(g, ())
                for expert in options:
                    # `ep 1 etp T` beside `tp T` is what an absent expert domain means: keep one spelling.
                    if expert != (1, tp):
                        yield tp, cp, sp, expert, a

    def config_counts(self, g: int) -> dict[int, int]:
        """The number of `configs(g)` by tp·cp, counted without listing them."""
        divs = _divisors_of(g)
        out: dict[int, int] = {}
        for a in divs:
            att = self.attention.get(a, ())
            if not att:
                continue
            if a == g:
                n_exp = 1 + sum(len(self.experts.get(e, ())) for e in divs)
                skipped = sum(1 for tp, _, _ in att if (1, tp) in self.experts.get(tp, ()))
                out[a] = len(att) * n_exp - skipped
            elif g in self.experts:
                out[a] = len(att) * len(self.experts[g])
        return out


def _space(plan: Plan) -> _Space:
    m, c, w = plan.model, plan.cluster, plan.workload
    attention: dict[int, list[tuple[int, int, bool]]] = {}
    tps = [tp for tp in _divisors_upto(m.heads, min(max(1, c.gpus_per_node), c.gpus)) if kv_heads_fit(m, tp)]
    for tp in tps:
        for cp in ((1, 2) if w.prompt >= CP_MIN_PROMPT else (1,)):
            for sp in ((False, True) if tp > 1 else (False,)):
                if tp * cp <= c.gpus:
                    attention.setdefault(tp * cp, []).append((tp, cp, sp))
    experts: dict[int, list[tuple[int, int]]] = {}
    if m.has_experts:
        for ep in _divisors_upto(m.moe.experts, c.gpus):
            for etp in ETP_VALUES:
                if m.moe.ffn % etp == 0 and ep * etp <= c.gpus:
                    experts.setdefault(ep * etp, []).append((ep, etp))
    # tp 1 is always there, so every expert domain size is a stage group (with tp 1 and adp G).
    groups = tuple(sorted(set(attention) | set(experts)))
    return _Space({a: tuple(v) for a, v in attention.items()}, {e: tuple(v) for e, v in experts.items()}, groups)


def _layouts(groups: Iterable[int], layers: int, gpus: int) -> Iterator[tuple[int, int, int, int]]:
    """(GPUs used, G, pp, dp) in increasing order of GPUs used (then G, pp, dp), lazily: a heap
    holds one entry per (G, pp)."""
    heap = [(g * pp, g, pp, 1) for g in groups for pp in _pp_values(layers, gpus // g)]
    heapq.heapify(heap)
    while heap:
        n, g, pp, dp = heap[0]
        yield n, g, pp, dp
        nxt = _next_dp(dp, gpus // (pp * g))
        if nxt is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (g * pp * nxt, g, pp, nxt))


# A candidate before it is a Strategy: (dp, pp, tp, cp, sp, ep, etp, micro-batches, overlap) — cheap to
# pickle for the worker processes.
Item = tuple[int, int, int, int, bool, int | None, int | None, int, str]
ItemDegrees = tuple[int, int, int, int, bool, int | None, int | None]    # an item's first seven: its degrees


class _EngineRefusals:
    """Which search items the engine a plan chose cannot start (`dagc.launch.engine_check.engine_refuses`: the
    launch mapping's own refusals, E7xx), remembered by what they read of an item: its degrees and its
    overlap (not its micro-batches). With `default`, the default engine's on a plan that names none
    (`default_engine_refuses`), which the pools of a disaggregated candidate are searched under (`_pool_engine`)."""

    def __init__(self, plan: Plan, default: bool = False):
        self.plan = plan
        self.refuses = default_engine_refuses if default else engine_refuses
        self._plans: dict[tuple[str, PoolRole | None], Plan] = {}
        self._refused: dict[tuple[int, int, int, int, bool, int | None, int | None, str, PoolRole | None],
                            tuple[str, ...]] = {}       # the codes, by what they read of an item

    def refused(self, item: Item, role: PoolRole | None = None) -> tuple[str, ...]:
        """The codes the engine refuses `item` for, in the launch mapping's order (empty: it starts it), as a strategy
        of its own or (`role`) a pool's instance: TensorRT-LLM's Helix (`cp`) runs in a decode pool only (E727)."""
        key = (*item[:7], item[8], role)
        hit = self._refused.get(key)
        if hit is None:
            plan = self._plans.get((item[8], role))
            if plan is None:             # the overlap is the workload's: E703, E710, E715 and E725 read it
                workload = self.plan.workload.model_copy(update={"overlap": Overlap(item[8]), "role": role})
                plan = self._plans[item[8], role] = self.plan.model_copy(update={"workload": workload})
            strategy = item_strategy(item)
            workload = plan.workload.model_copy(update={"microbatches": item[7]})
            layout = resolve(plan.model, plan.cluster, workload, strategy)
            hit = self._refused[key] = tuple(self.refuses(plan, strategy, layout))
        return hit


# by the plan's id (its object kept) and whether the default engine's: a search asks three times
_REFUSALS: dict[tuple[int, bool], _EngineRefusals] = {}
_REFUSALS_MAX = 8


def _engine_refusals(plan: Plan, default: bool = False) -> _EngineRefusals:
    """The plan's `_EngineRefusals`, shared by `space_items`, `count_candidates` and `engine_left_out` (one search
    asks each once; `dagc.rules.bounds.bounds` remembers its figures the same way)."""
    hit = _REFUSALS.get((id(plan), default))
    if hit is None or hit.plan is not plan:
        if len(_REFUSALS) >= _REFUSALS_MAX:
            _REFUSALS.clear()
        hit = _REFUSALS[id(plan), default] = _EngineRefusals(plan, default)
    return hit


def _pool_engine(plan: Plan) -> _EngineRefusals | None:
    """The refusals a disaggregated candidate's pools are searched under: the engine the plan chose, else, on a plan
    that names none, the default engine's (vLLM, which prices it). An aggregated candidate of such a plan is ranked
    whatever that engine refuses, and its best is said to be unstartable with the best startable named
    (`dagc.search.startable`); a pair's pools are not judged after the search, so without this the search's pick
    could be a pair no engine launches (docs/search.md). None on `pytorch`, which has no launcher."""
    if engine_judges(plan):
        return _engine_refusals(plan)
    return _engine_refusals(plan, default=True) if default_engine_judges(plan) else None


def space_items(plan: Plan) -> Iterator[Item]:
    """The candidates, fewest GPUs first, generated lazily (memory independent of their number); on an
    engine the plan chose (`dagc.launch.engine_check.engine_judges`), those it can start: `check` rejects the
    others with that engine's E7xx, so the search leaves them out (`engine_left_out` counts them)."""
    items = _all_items(plan)
    if checkpoint_refusals(plan):      # E706 on a plan that names no engine: every engine refuses every candidate
        return iter(())
    if not engine_judges(plan):
        return items
    engine = _engine_refusals(plan)
    return (item for item in items if not engine.refused(item))


def engine_left_out(plan: Plan) -> int:
    """The candidates of the space the engine the plan chose cannot start (E7xx, as `dagc launch` and `check` say),
    which `space_items` leaves out (`engine_refused`); 0 on an engine the plan did not choose, and on `pytorch`.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> text = ('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" ENGINE } '
        ...         'workload { batch = 32 prompt = 512 generate = 64 } strategy tp 8')
        >>> p = load_plan_text(text.replace("ENGINE", "engine = trtllm"))
        >>> engine_left_out(p) + count_candidates(p) == count_candidates(load_plan_text(text.replace("ENGINE", "")))
        True
        >>> engine_left_out(p) > 0, engine_left_out(load_plan_text(text.replace("ENGINE", "")))
        (True, 0)
    """
    return sum(1 for _ in engine_refused(plan))


def engine_refused(plan: Plan) -> Iterator[tuple[str, Item]]:
    """What `space_items` leaves out, in order, each with the engine's first refusal (E706: `checkpoint_refusals`)."""
    checkpoint = tuple(d.code for d in checkpoint_refusals(plan))
    if not checkpoint and not engine_judges(plan):
        return
    for item in _all_items(plan):
        codes = checkpoint or _engine_refusals(plan).refused(item)
        if codes:         # the engine's refusal of the plan whatever the strategy (E706, E728, …) first: its cause
            yield next((c for c in codes if c in PLAN_CODES), codes[0]), item


def _all_items(plan: Plan) -> Iterator[Item]:
    """Every candidate of the space, whatever the engine (`space_items`)."""
    batch = plan.workload.batch
    space = _space(plan)
    # each layout's (micro-batches, overlap) pairs by its attention-DP groups: made once, not once per stage group
    tails: dict[tuple[int, int, int], tuple[tuple[int, str], ...]] = {}
    for _, g, pp, dp in _layouts(space.groups, plan.model.layers, plan.cluster.gpus):
        if pp > max(1, busiest_group_requests(batch, dp, 1)):
            continue                 # pp (and 2·pp) micro-batches would exceed the requests
        for tp, cp, sp, expert, a in space.configs(g):
            tail = tails.get((dp, pp, g // a))
            if tail is None:
                per_group = busiest_group_requests(batch, dp, g // a)
                tail = tails[(dp, pp, g // a)] = tuple((mb, overlap.value) for mb in _mb_options(per_group, pp)
                                                       for overlap in _overlaps(mb))
            ep, etp = expert if expert else (None, None)
            for mb, overlap in tail:
                yield dp, pp, tp, cp, sp, ep, etp, mb, overlap


@functools.lru_cache(maxsize=65_536)
def item_strategy(item: Item) -> Strategy:
    """A search item's strategy, split evenly (explicit splits come later); one immutable object per item, shared."""
    return aggregated(*item[:7])        # its degrees: dp, pp, tp, cp, sp, ep, etp


def instance_strategies(plan: Plan, most_gpus: int, role: PoolRole | None = None) -> Iterator[Strategy]:
    """The strategies a pool's instance of a disaggregated candidate may run (`dagc.search.pooled`): those
    of the space without data parallelism (an instance's replicas are more instances) on at most
    `most_gpus` GPUs, fewest GPUs first, before micro-batches and overlap (`variants`); on an engine the
    plan chose (or the default engine, on a plan that names none: `_pool_engine`), those it can start in the pool
    of `role` (`space_items`)."""
    space = _space(plan)
    engine = _pool_engine(plan)
    for n, g, pp, dp in _layouts(space.groups, plan.model.layers, plan.cluster.gpus):
        if n > most_gpus:
            return
        if dp == 1:
            for tp, cp, sp, expert, _ in space.configs(g):
                item = (1, pp, tp, cp, sp, expert[0] if expert else None, expert[1] if expert else None, 1,
                        Overlap.NONE.value)
                if engine is None or not engine.refused(item, role):
                    yield item_strategy(item)


def variants(strategy: Strategy, per_group: int, plan: Plan | None = None, role: PoolRole | None = None
             ) -> Iterator[tuple[int, Overlap]]:
    """The micro-batches and overlap a strategy is searched with when its busiest attention-DP group
    holds `per_group` requests (the space's: pp and 2·pp micro-batches, or 1 and 2 without pp); with
    `plan`, those its pools' engine (`_pool_engine`) can start (in the pool of `role`: an overlap it has no option
    for, E703, E710, E715, E725, is left out as `space_items` leaves it out)."""
    engine = _pool_engine(plan) if plan is not None else None
    for mb in _mb_options(per_group, strategy.pp):
        for overlap in _overlaps(mb):
            item = (strategy.dp, strategy.pp, strategy.tp, strategy.cp, strategy.sp, strategy.ep, strategy.etp, mb,
                    overlap.value)
            if engine is None or not engine.refused(item, role):
                yield mb, overlap


def candidates(plan: Plan) -> Iterator[tuple[Strategy, int, Overlap]]:
    """Every candidate (strategy, micro-batches, overlap) of the search space, before the rules,
    fewest GPUs first, generated lazily."""
    for item in space_items(plan):
        yield item_strategy(item), item[7], Overlap(item[8])


def count_candidates(plan: Plan) -> int:
    """The number of `candidates(plan)`, counted without generating them (but for those an engine the
    plan chose cannot start, `engine_left_out`, which are found one by one).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 32 prompt = 512 generate = 64 } strategy tp 8')
        >>> count_candidates(p) == sum(1 for _ in candidates(p))
        True
    """
    batch, layers, gpus = plan.workload.batch, plan.model.layers, plan.cluster.gpus
    space = _space(plan)
    total = 0
    for g in space.groups:
        counts = space.config_counts(g)
        pairs = [(pp, dp) for pp in _pp_values(layers, gpus // g) for dp in _dp_values(gpus // (pp * g))
                 if pp <= max(1, math.ceil(batch / dp))]
        if not counts or not pairs:
            continue
        pp_, dp_ = (np.array(v, dtype=np.int64) for v in zip(*pairs, strict=True))
        a = np.array(list(counts), dtype=np.int64)
        n = np.array(list(counts.values()), dtype=np.int64)
        # requests of an attention-DP group, per (tp·cp, layout): ceil(batch / (dp·adp)), at least 1
        per_group = np.maximum(-(-batch // (dp_[None, :] * (g // a)[:, None])), 1)
        # `_mb_options` × `_overlaps`: without pp, 1 (mb 1) + 2 (mb 2); with pp, 2 per mb ∈ {pp, 2·pp}
        variants = np.where(pp_ == 1, 1 + 2 * (per_group >= 2), 2 * (pp_ <= per_group) + 2 * (2 * pp_ <= per_group))
        total += int((n[:, None] * variants).sum())
    return total - engine_left_out(plan)
