"""Strategy search: is there a better plan on this cluster? (SPEC 9)

Input: a `Plan` and an objective. Output: `SearchResult`: the best legal strategies
evaluated, ranked best first, subject to the plan's `require` block, with their Pareto front.

Enumeration (`candidates`) covers dp, pp (divisors of the layers and powers of two up to 16;
the default split, plus a cost-balanced explicit split when it differs), tp (divisors of the
heads, at most a node), cp ∈ {1, 2} (2 only for prompts of 4096 tokens or more), sp, the
expert domain (none — experts follow tp — or ep dividing the experts with etp ∈ {1, 2, 4}
dividing the expert ffn), micro-batches ∈ {pp, 2·pp} (1 and 2 without pp; at most the
requests of an attention-DP group) and overlap — using at most the GPUs available (fewer is
a result in itself). dp takes the powers of two and the largest value that fits. Candidates
are generated lazily, fewest GPUs first, and pruned by the very rules `check` runs.

Evaluation (`evaluate`) uses the cost model of `compile` on op templates shared between
candidates (`dagc.fastsched`: exact for `overlap = none`, an estimate with overlap) and the
memory model of `check` (activations: the working sets of the DAG's ops, so a candidate
called legal is never rejected by check with E402); the top candidates are re-scored by the
full scheduler (`dagc.analyse.analyse`, the route of `check_strategy`), on the candidates'
`Strategy` objects themselves.

Bounded memory: the search streams candidates and keeps only the best `RANKED_KEEP`, the
Pareto front (at most `PARETO_MAX` points) and counters. It evaluates at most
`MAX_SEARCH_CANDIDATES` candidates (and stops early on `budget_s`); a partial search says so
(`complete`, `stopped`) and its verdicts are never claims about what it did not see.

Time budget: an absolute `time.monotonic()` deadline (or one of the `clock` given, in one
process), checked before every candidate (in the worker processes too: a chunk in flight
stops at the deadline and returns what it evaluated),
and before every balanced split and every exact re-scoring; the steps it cut short are named
in `SearchResult.skipped`. A search overruns its budget by at most one candidate, one balanced
split or one re-scoring (with worker processes, the evaluation waits `DEADLINE_GRACE_S` at most
past the deadline for a worker's last candidate).

Worker processes (`jobs` > 1) ignore Ctrl-C: the parent stops them. On any way out of the
search — finished, budget spent, Ctrl-C, an error — the parent cancels the pending chunks,
kills the workers that still run (SIGKILL: they hold nothing worth saving) and joins them and
the pool's manager thread with a timeout; meanwhile further Ctrl-Cs are noted, not raised, so
a second or third Ctrl-C cannot abandon workers half-stopped (the first one, or one that came
during a normal finish, raises KeyboardInterrupt once they are gone). A worker also dies with
its parent however the parent ends (SIGKILL, or a `timeout` that signals it alone): on Linux
by PR_SET_PDEATHSIG, elsewhere by a thread polling its parent twice a second.
"""

from __future__ import annotations

import ctypes
import functools
import heapq
import itertools
import math
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import FrameType

import numpy as np

from .analyse import analyse
from .dag import Phase
from .fastsched import Timer as _Timer, fast_metrics
from .layout import busiest_group_requests, default_split, resolve
from .memory import memory
from .plan import Overlap, Plan, Strategy
from .rules import RuleContext, run_rules
from .rules.resources import check_memory
from .verdict import OPTIMAL_TOLERANCE, Objective, judge_optimal, judge_requirements

__all__ = ["Objective", "Candidate", "SearchResult", "candidates", "count_candidates", "evaluate", "search",
           "strategy_text", "judge_optimal", "pareto_front", "OPTIMAL_TOLERANCE", "MAX_SEARCH_CANDIDATES",
           "RANKED_KEEP", "PARETO_MAX", "SPLIT_CANDIDATES", "CHUNK", "OPTIMAL_SEARCH_BUDGET_S", "cpu_count",
           "SKIPPED_SPLITS", "SKIPPED_RESCORE"]

MAX_SEARCH_CANDIDATES = 100_000  # candidates one search evaluates at most, fewest GPUs first (~1 min on one core)
RANKED_KEEP = 5_000             # best candidates kept for the ranking, re-scoring and pareto.svg
PARETO_MAX = 1_000              # Pareto-front points kept (beyond: the best by decode tokens/s per GPU)
SPLIT_CANDIDATES = 50           # best pipelined candidates tried again with a cost-balanced split
CHUNK = 64                      # candidates per unit of work of a worker process
OPTIMAL_SEARCH_BUDGET_S = 10.0  # default time budget of the search behind check/compile's optimal verdict
SKIPPED_SPLITS = "balanced pipeline splits"           # `SearchResult.skipped`: not tried (for all the best)
SKIPPED_RESCORE = "exact re-scoring of the best"      # `SearchResult.skipped`: the top are (partly) estimates
DEADLINE_GRACE_S = 0.5          # how long past the deadline the parent waits for a worker's last candidate
WORKER_STOP_TIMEOUT_S = 5.0     # how long the parent waits for each step of stopping its workers


@dataclass(frozen=True)
class Candidate:
    strategy: Strategy
    microbatches: int
    overlap: Overlap
    gpus: int
    metrics: dict
    meets_requirements: bool
    score: float
    memory_fraction: float
    binding: str | None            # the requirement with the least margin
    exact: bool = False            # re-scored by the full scheduler

    @property
    def text(self) -> str:
        return self.strategy.text

    def to_json(self) -> dict:
        return {"strategy": self.text, "gpus": self.gpus,
                "workload": {"microbatches": self.microbatches, "overlap": self.overlap.value},
                "metrics": self.metrics, "meets_requirements": self.meets_requirements, "score": self.score,
                "memory_headroom": 1.0 - self.memory_fraction, "binding_requirement": self.binding,
                "exact": self.exact}


@dataclass(frozen=True)
class SearchResult:
    objective: str
    evaluated: int
    legal: int
    seconds: float
    ranked: tuple[Candidate, ...]                 # the best (at most RANKED_KEEP), best first
    pareto: tuple[Candidate, ...] = field(default=())
    total: int = 0                                # candidates in the space (evaluated < total: stopped early)
    stopped: str | None = None                    # why it stopped early: "budget" or "cap"
    limit: int = MAX_SEARCH_CANDIDATES            # the cap on candidates evaluated
    pareto_complete: bool = True                  # False: the front was thinned to PARETO_MAX points
    skipped: tuple[str, ...] = ()                 # steps after the evaluation that the time budget cut short:
                                                  # SKIPPED_SPLITS, SKIPPED_RESCORE

    @property
    def complete(self) -> bool:
        return self.evaluated >= self.total

    def stop_reason(self) -> str:
        """Why a partial search stopped, in words ('' when complete)."""
        if self.complete:
            return ""
        if self.stopped == "cap":
            return f"at its cap of {self.limit:,} candidates"
        return "when its time budget was spent"

    def to_json(self, top: int | None = None) -> dict:
        chosen = self.ranked if top is None else self.ranked[:top]
        return {"objective": self.objective, "evaluated": self.evaluated, "legal": self.legal,
                "seconds": self.seconds, "candidates": [c.to_json() for c in chosen],
                "pareto": [c.to_json() for c in self.pareto], "total": self.total, "complete": self.complete,
                "stopped": None if self.complete else self.stopped, "skipped": list(self.skipped)}

    @property
    def best(self) -> Candidate | None:
        return self.ranked[0] if self.ranked else None


# ---------------------------------------------------------------- enumeration

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
    """Strategy text that `--strategy` accepts.

    Example:
        >>> strategy_text(2, 4, None, 2, 1, False, (8, 1))
        'dp 2 < pp 4 < tp 2 ; ep 8 > >'
    """
    inner = f"tp {tp}" + (f" cp {cp}" if cp > 1 else "") + (" sp" if sp else "")
    if expert is not None:
        ep, etp = expert
        inner += f" ; ep {ep}" + (f" etp {etp}" if etp > 1 else "")
    if pp > 1:
        inner = f"pp {pp}" + (f" [{', '.join(map(str, split))}]" if split else "") + f" < {inner} >"
    if dp > 1:
        inner = f"dp {dp} < {inner} >"
    return inner


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
    for tp in _divisors_upto(m.heads, min(max(1, c.gpus_per_node), c.gpus)):
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
_Item = tuple[int, int, int, int, bool, int | None, int | None, int, str]


def _items(plan: Plan) -> Iterator[_Item]:
    """The candidates, fewest GPUs first, generated lazily (memory independent of their number)."""
    batch = plan.workload.batch
    space = _space(plan)
    for _, g, pp, dp in _layouts(space.groups, plan.model.layers, plan.cluster.gpus):
        if pp > max(1, busiest_group_requests(batch, dp, 1)):
            continue                 # pp (and 2·pp) micro-batches would exceed the requests
        for tp, cp, sp, expert, a in space.configs(g):
            per_group = busiest_group_requests(batch, dp, g // a)
            for mb in _mb_options(per_group, pp):
                for overlap in _overlaps(mb):
                    yield (dp, pp, tp, cp, sp, expert[0] if expert else None, expert[1] if expert else None,
                           mb, overlap.value)


def _strategy(item: _Item) -> Strategy:
    dp, pp, tp, cp, sp, ep, etp, _, _ = item
    # explicit splits are added later, for the candidates that rank well
    text = strategy_text(dp, pp, None, tp, cp, sp, (ep, etp) if ep is not None and etp is not None else None)
    return Strategy(text=text, dp=dp, pp=pp, tp=tp, cp=cp, sp=sp, ep=ep, etp=etp)


def candidates(plan: Plan) -> Iterator[tuple[Strategy, int, Overlap]]:
    """Every candidate (strategy, micro-batches, overlap) of the search space, before the rules,
    fewest GPUs first, generated lazily."""
    for item in _items(plan):
        yield _strategy(item), item[7], Overlap(item[8])


def count_candidates(plan: Plan) -> int:
    """The number of `candidates(plan)`, counted without generating them.

    Example:
        >>> from dagc.load import load_plan_text
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
    return total


def _binding(requirements) -> str | None:
    judged = [r for r in requirements if r.margin is not None]
    if not judged:
        return None
    return min(judged, key=lambda r: r.margin).requirement.text


def evaluate(plan: Plan, strategy: Strategy, mb: int, overlap: Overlap, objective: str,
             timer: _Timer | None = None) -> Candidate | None:
    """Score one candidate, or None when a rule rejects it (the same rules as `check`).

    Memory is `check`'s: the rules run on a first estimate to reject unsound structures, then
    E402 is judged on the working sets of the DAG's ops (`Timer.activations`, the figure of
    `dagc.memory.activation_bytes_by_stage`), as `check_strategy` does.
    """
    timer = timer or _Timer(plan)
    workload = plan.workload.model_copy(update={"microbatches": mb, "overlap": overlap})
    lay = resolve(plan.model, plan.cluster, workload, strategy)
    if lay.pp > plan.model.layers:
        return None
    variant = plan.model_copy(update={"workload": workload})
    first = memory(plan.model, workload, plan.cluster, lay)
    diags = run_rules(RuleContext(variant, None, strategy, lay, first))
    if any(d.is_error and d.code != "E402" for d in diags):
        return None
    if any(st.weights_bytes + st.kv_cache_bytes > st.capacity_bytes for st in first.stages):
        return None                  # E402 whatever the activations: no need to compute them
    mem = memory(plan.model, workload, plan.cluster, lay, timer.activations(workload, lay))
    if any(True for _ in check_memory(RuleContext(variant, None, strategy, lay, mem))):
        return None
    metrics = fast_metrics(plan, lay, workload, timer)
    reqs = judge_requirements(variant, lay, mem, metrics)
    meets = all(r.met for r in reqs)
    return Candidate(strategy=strategy, microbatches=mb, overlap=overlap, gpus=lay.gpus_used, metrics=metrics,
                     meets_requirements=meets, score=Objective.score(objective, metrics, lay.gpus_used),
                     memory_fraction=mem.worst.fraction, binding=_binding(reqs))


def _balanced_split(plan: Plan, cand: Candidate, timer: _Timer) -> tuple[int, ...] | None:
    """A split that balances stage time (dense layers, embedding and LM head weigh differently)."""
    s = cand.strategy
    if s.pp == 1:
        return None
    workload = plan.workload.model_copy(update={"microbatches": cand.microbatches, "overlap": cand.overlap})
    lay = resolve(plan.model, plan.cluster, workload, s)
    req = tuple(lay.requests()[0])
    t = timer.pass_times(workload, lay, Phase.PREFILL, req, 0)
    t_last = timer.pass_times(workload, lay, Phase.PREFILL, req, lay.pp - 1)
    m = plan.model
    cost = [t["dense"] if not m.is_moe_layer(i) else t["moe"] for i in range(m.layers)]
    cost[0] += t["embed"]
    cost[-1] += t_last["head"]
    best: tuple[float, tuple[int, ...]] | None = None
    # binary search on the largest stage time, greedy packing
    lo, hi = max(cost), sum(cost)
    for _ in range(60):
        mid = (lo + hi) / 2
        counts, acc = [0], 0.0
        for c in cost:
            if counts[-1] and acc + c > mid:
                counts.append(0)
                acc = 0.0
            counts[-1] += 1
            acc += c
        if len(counts) <= s.pp:
            hi = mid
            best = (mid, tuple(counts))
        else:
            lo = mid
    if best is None:
        return None
    counts = list(best[1])
    while len(counts) < s.pp:            # split the largest stage until there are pp of them
        k = max(range(len(counts)), key=lambda i: counts[i])
        if counts[k] < 2:
            return None
        counts[k:k + 1] = [counts[k] - counts[k] // 2, counts[k] // 2]
    split = tuple(counts)
    return None if split == default_split(m.layers, s.pp) else split


def _rank_key(c: Candidate):
    return (not c.meets_requirements, -c.score, c.gpus, c.text, c.microbatches, c.overlap.value)


class _Best:
    """The best `k` candidates by `_rank_key`, in memory bounded by 2·k."""

    def __init__(self, k: int):
        self.k = k
        self.items: list[Candidate] = []

    def add(self, c: Candidate) -> None:
        self.items.append(c)
        if len(self.items) >= 2 * self.k:
            self._trim()

    def _trim(self) -> None:
        self.items.sort(key=_rank_key)
        del self.items[self.k:]

    def ranked(self) -> list[Candidate]:
        self._trim()
        return list(self.items)


def _front_key(c: Candidate) -> tuple:
    m = c.metrics
    return (-m["decode_tokens_per_s_per_gpu"], m["tpot_s"], m["ttft_s"], c.text, c.microbatches, c.overlap.value)


def _beats(f: tuple, c: tuple) -> bool:
    """Front keys: f is no worse than c on every objective and comes first (better, or the same
    figures and an earlier name)."""
    return f[0] <= c[0] and f[1] <= c[1] and f[2] <= c[2] and f < c


class _Front:
    """The Pareto front (more decode tokens/s per GPU, less TPOT, less TTFT), kept incrementally.

    A point joins unless a point of the front beats it, and evicts the points it beats; the
    result does not depend on the order of arrival. Beyond `cap` points the front keeps the
    `cap` with the most decode tokens/s per GPU and says so (`complete`).
    """

    def __init__(self, cap: int | None = PARETO_MAX):
        self.cap = cap
        self.points: list[tuple[tuple, Candidate]] = []
        self.complete = True

    def add(self, c: Candidate) -> None:
        k = _front_key(c)
        if any(_beats(f, k) for f, _ in self.points):
            return
        self.points = [(f, x) for f, x in self.points if not _beats(k, f)]
        self.points.append((k, c))
        if self.cap is not None and len(self.points) > self.cap:
            self.points.sort(key=lambda p: p[0])
            del self.points[self.cap:]
            self.complete = False

    def result(self) -> tuple[Candidate, ...]:
        return tuple(c for _, c in sorted(self.points, key=lambda p: p[0]))


def pareto_front(cands: Iterable[Candidate]) -> tuple[Candidate, ...]:
    """Non-dominated candidates: more decode tokens/s per GPU, less TPOT, less TTFT."""
    front = _Front(cap=None)
    for c in cands:
        front.add(c)
    return front.result()


# ---------------------------------------------------------------- evaluation in worker processes

_WORKER: dict = {}
_PR_SET_PDEATHSIG = 1           # <linux/prctl.h>
_PARENT_POLL_S = 0.5            # where PR_SET_PDEATHSIG is missing: how often a worker looks for its parent


def _init_worker(plan: Plan, objective: str, parent: int | None = None) -> None:
    """Worker processes leave Ctrl-C to the parent, which stops them (no traceback from a worker),
    and end with their parent (`_die_with_parent`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if parent is not None:
        _die_with_parent(parent)
    _WORKER.update(plan=plan, objective=objective, timer=_Timer(plan))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True                 # it exists, and is not ours to signal
    return True


def _die_with_parent(parent: int) -> None:
    """End this worker when the process that started it ends, however that one ends (SIGKILL, a
    `timeout --foreground` that signals it alone, a crash): an orphaned worker would wait for
    work forever. On Linux the kernel sends SIGKILL (PR_SET_PDEATHSIG); elsewhere a daemon
    thread polls the parent's pid. `parent` is the searching process; the direct parent can be
    a fork server instead, which itself ends with the searching process."""
    ppid = os.getppid()
    if ppid != parent and not _pid_alive(parent):
        os._exit(1)                 # the search ended before this worker started
    if sys.platform.startswith("linux"):
        try:
            armed = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
        if armed:
            if os.getppid() != ppid:
                os._exit(1)         # the parent ended before the signal was armed
            return
    threading.Thread(target=_watch_parent, args=(ppid,), name="dagc-watch-parent", daemon=True).start()


def _watch_parent(ppid: int) -> None:
    while os.getppid() == ppid:
        time.sleep(_PARENT_POLL_S)
    os._exit(1)


def _evaluate_items(items: list[_Item], deadline: float | None = None, plan: Plan | None = None,
                    objective: str | None = None, timer: _Timer | None = None,
                    clock: Callable[[], float] = time.monotonic) -> tuple[list[Candidate], int]:
    """The legal candidates of a chunk, and how many of its items were evaluated: all, or those
    started before the `clock` deadline. In a worker: with the plan of `_init_worker`."""
    plan = plan or _WORKER["plan"]
    objective = objective or _WORKER["objective"]
    timer = timer or _WORKER["timer"]
    out: list[Candidate] = []
    for n, item in enumerate(items):
        if deadline is not None and clock() >= deadline:
            return out, n
        c = evaluate(plan, _strategy(item), item[7], Overlap(item[8]), objective, timer)
        if c is not None:
            out.append(c)
    return out, len(items)


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _submit(pool: ProcessPoolExecutor, items: list[_Item], deadline: float | None) -> Future:
    # Worker processes (and the pool's threads) start at a submit: SIGINT stays blocked in them
    # until a worker's initializer ignores it; the threads never take it from the main thread.
    if not hasattr(signal, "pthread_sigmask"):
        return pool.submit(_evaluate_items, items, deadline)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return pool.submit(_evaluate_items, items, deadline)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _InterruptGuard:
    """Ctrl-C while worker processes run: the first raises KeyboardInterrupt; once the workers are
    being stopped (`stopping`) later ones are only noted (`seen`), so that none can break off
    the stopping. Installed only in the main thread over Python's default handler (a program's
    own handler, or SIG_IGN, is left alone)."""

    def __init__(self) -> None:
        self.seen = self.raised = self.stopping = False
        self.previous: Callable[[int, FrameType | None], object] | None = None

    def install(self) -> None:
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            signal.signal(signal.SIGINT, self._on_sigint)
            self.previous = signal.default_int_handler

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.seen = True
        if not (self.stopping or self.raised):
            self.raised = True
            raise KeyboardInterrupt

    def restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None


def _stop_workers(pool: ProcessPoolExecutor, workers: list[BaseProcess], manager: threading.Thread | None,
                  results: object, kill: bool) -> None:
    """Stop the pool without ever waiting unboundedly: cancel the pending chunks, kill the workers
    (`kill`; else idle workers exit on their own, or are killed after a timeout), join them and
    the pool's manager thread (which the interpreter would join at exit) with a timeout. Can be
    called again if it was interrupted."""
    pool.shutdown(wait=False, cancel_futures=True)
    if not kill and manager is not None:
        manager.join(WORKER_STOP_TIMEOUT_S)
    workers = [p for p in workers if not getattr(p, "_closed", False)]
    for p in workers:
        if p.exitcode is None:
            p.kill()
    for p in workers:
        p.join(WORKER_STOP_TIMEOUT_S)
    if manager is not None and manager.is_alive():
        # A worker killed while writing its result leaves half a message, which the manager thread
        # would wait for forever: with the parent's write end closed too, it reads end-of-file.
        writer = getattr(results, "_writer", None)
        if writer is not None:
            try:
                writer.close()
            except OSError:
                pass
        manager.join(WORKER_STOP_TIMEOUT_S)
    if manager is None or not manager.is_alive():
        # Release the pipes now rather than in finalizers run later, outside any Ctrl-C guard.
        for p in workers:
            if p.exitcode is not None:
                p.close()
        close = getattr(results, "close", None)
        if close is not None:
            close()


def _evaluate_in_workers(plan: Plan, objective: str, jobs: int, chunks: Iterator[list[_Item]],
                         deadline: float | None, take: Callable[[list[Candidate], int], None]) -> str | None:
    """Evaluate the chunks in `jobs` worker processes, taking their results in order. Returns
    "budget" when the deadline stopped it. However it ends (also by Ctrl-C, however many), no
    worker process is left behind."""
    guard = _InterruptGuard()
    pool: ProcessPoolExecutor | None = None
    workers: dict[int, BaseProcess] = {}
    manager: threading.Thread | None = None
    results: object = None
    finished = False
    try:
        guard.install()
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                                   initargs=(plan, objective, os.getpid()))
        results = getattr(pool, "_result_queue", None)
        pending: deque[tuple[Future, int]] = deque()

        def submit(items: list[_Item]) -> None:
            nonlocal manager
            assert pool is not None
            pending.append((_submit(pool, items, deadline), len(items)))
            workers.update(getattr(pool, "_processes", None) or {})
            manager = getattr(pool, "_executor_manager_thread", None) or manager

        for items in itertools.islice(chunks, 2 * jobs):       # a bounded number of chunks in flight
            submit(items)
        while pending:
            fut, n = pending[0]
            wait = None if deadline is None else max(0.0, deadline - time.monotonic()) + DEADLINE_GRACE_S
            try:
                found, k = fut.result(wait)
            except TimeoutError:
                return "budget"                     # its last candidate overran: what it did is lost
            pending.popleft()
            take(found, k)
            if k < n or (deadline is not None and time.monotonic() >= deadline):
                return "budget"
            items = next(chunks, [])
            if items:
                submit(items)
        finished = True
        return None
    finally:
        guard.stopping = True
        interrupted = False
        while pool is not None:
            try:
                # also the workers and thread of a submit that Ctrl-C cut short (before shutdown forgets them)
                workers.update(getattr(pool, "_processes", None) or {})
                manager = getattr(pool, "_executor_manager_thread", None) or manager
                _stop_workers(pool, list(workers.values()), manager, results, kill=not finished or interrupted)
                break
            except KeyboardInterrupt:       # a program's own SIGINT handler: stop them all the same
                interrupted = True
        guard.restore()
        if interrupted or (guard.seen and not guard.raised):
            raise KeyboardInterrupt


def search(plan: Plan, objective: str = "tokens-per-gpu", top: int = 10, jobs: int = 1,
           progress: Callable[[int, int], None] | None = None, rescore: int = 5,
           budget_s: float | None = None, max_candidates: int = MAX_SEARCH_CANDIDATES, *,
           clock: Callable[[], float] = time.monotonic) -> SearchResult:
    """Enumerate, prune by the rules, score, rank; re-score the top `rescore` exactly.

    Candidates are evaluated from the fewest GPUs up, at most `max_candidates` of them; with
    `budget_s` the evaluation stops when the budget is spent (checked before every candidate),
    and the balanced splits and the re-scoring are cut short (`skipped`). The result says how
    many were evaluated of how many (`complete`, `stopped`). `jobs` worker processes (at most
    the CPUs available) evaluate chunks of candidates; Ctrl-C stops them and raises
    KeyboardInterrupt. `clock` (seconds, for tests) measures the budget; worker processes read
    `time.monotonic()`, so with `jobs` > 1 it must be that clock.

    Raises:
        ValueError: an unknown objective, jobs < 1, top, rescore or max_candidates < 0, a
            negative or NaN budget, a `clock` other than `time.monotonic` with jobs > 1.

    Example:
        >>> from dagc.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 32 prompt = 512 generate = 64 } strategy tp 8')
        >>> r = search(p, rescore=0)
        >>> r.best.meets_requirements and r.best.gpus <= 8 and r.complete
        True
    """
    if objective not in Objective.NAMES:
        raise ValueError(f"unknown objective {objective!r}; one of {', '.join(Objective.NAMES)}")
    for name, value, least in (("jobs", jobs, 1), ("top", top, 0), ("rescore", rescore, 0),
                               ("max_candidates", max_candidates, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be a whole number of at least {least}, not {value!r}")
    if budget_s is not None and not budget_s >= 0:
        raise ValueError(f"budget_s must be a number of seconds of at least 0, not {budget_s!r}")
    if jobs > 1 and clock is not time.monotonic:
        raise ValueError("with jobs > 1 the budget is measured by time.monotonic (the clock of the workers)")
    jobs = min(jobs, cpu_count())
    t0 = clock()
    deadline = None if budget_s is None else t0 + budget_s       # monotonic: the same clock in the workers
    space = count_candidates(plan)
    limit = min(space, max_candidates)
    stream = itertools.islice(_items(plan), limit)
    best, front = _Best(max(RANKED_KEEP, SPLIT_CANDIDATES, rescore)), _Front()
    legal = done = 0
    stopped: str | None = None

    def spent() -> bool:
        return deadline is not None and clock() >= deadline

    def take(found: list[Candidate], n: int) -> None:
        nonlocal legal, done
        for c in found:
            best.add(c)
            front.add(c)
        legal += len(found)
        done += n
        if progress:
            progress(done, limit)

    chunks = iter(lambda: list(itertools.islice(stream, CHUNK)), [])
    if jobs > 1 and limit > CHUNK:
        stopped = _evaluate_in_workers(plan, objective, jobs, chunks, deadline, take)
    else:
        timer = _Timer(plan)
        for items in chunks:
            found, n = _evaluate_items(items, deadline, plan, objective, timer, clock)
            if n:
                take(found, n)
            if n < len(items):
                stopped = "budget"
                break
    if done >= space:
        stopped = None
    elif stopped is None:
        stopped = "cap"
    skipped: list[str] = []
    # balanced explicit splits for the pipelined candidates that rank well
    timer = _Timer(plan)
    extra = []
    for c in best.ranked()[:SPLIT_CANDIDATES]:
        if c.strategy.pp == 1:
            continue
        if spent():
            skipped.append(SKIPPED_SPLITS)
            break
        split = _balanced_split(plan, c, timer)
        if split is not None:
            s = c.strategy
            text = strategy_text(s.dp, s.pp, split, s.tp, s.cp, s.sp, (s.ep, s.etp or 1) if s.ep else None)
            alt = evaluate(plan, s.model_copy(update={"pp_split": split, "text": text}), c.microbatches, c.overlap,
                           objective, timer)
            if alt is not None:
                extra.append(alt)
    for c in extra:
        best.add(c)
        front.add(c)
    ranked = best.ranked()
    if rescore and ranked:
        ranked, cut = _rescore(plan, ranked, rescore, objective, deadline, clock)
        if cut:
            skipped.append(SKIPPED_RESCORE)
    return SearchResult(objective=objective, evaluated=done + len(extra), legal=legal + len(extra),
                        seconds=clock() - t0, ranked=tuple(ranked), pareto=front.result(),
                        total=space + len(extra), stopped=stopped, limit=max_candidates,
                        pareto_complete=front.complete, skipped=tuple(skipped))


def _rescore(plan: Plan, ranked: list[Candidate], n: int, objective: str,
             deadline: float | None = None,
             clock: Callable[[], float] = time.monotonic) -> tuple[list[Candidate], bool]:
    """Replace the top n's figures by the full DAG schedule (exact under both overlaps), while
    the `clock` deadline allows. Returns the new ranking and whether it was cut."""
    head: list[Candidate] = []
    n = min(n, len(ranked))
    for k, c in enumerate(ranked[:n]):
        if deadline is not None and clock() >= deadline:
            return sorted(head + ranked[k:], key=_rank_key), True
        workload = plan.workload.model_copy(update={"microbatches": c.microbatches, "overlap": c.overlap})
        r = analyse(plan, c.strategy, workload)
        if not r.valid or r.metrics is None:
            continue
        assert r.memory is not None, "a scheduled strategy has its memory breakdown"
        metrics = {k: r.metrics[k] for k in c.metrics}
        head.append(Candidate(strategy=c.strategy, microbatches=c.microbatches, overlap=c.overlap, gpus=c.gpus,
                              metrics=metrics, meets_requirements=r.verdict.meets_requirements is not False,
                              score=Objective.score(objective, metrics, c.gpus),
                              memory_fraction=r.memory.worst.fraction, binding=_binding(r.requirements), exact=True))
    return sorted(head + ranked[n:], key=_rank_key), False
