"""Weighing disaggregated pairs (SPEC 11.3): one decode pool against every prefill instance and count.

Input: one decode instance's figures (`Instance`: its step, GPUs, memory) and its count M, the prefill
instances it may pair with, the plan and the search's bar. Output: the pairs (`Pair`: a prefill
instance, N, the decode instance, M, the deployment's figures) that could matter — every N from 1 to
what the cluster holds weighed at once with numpy, from the formulas of `dagc.serve.disagg` (the
one place they are written), and only those that could enter the best or the front made into
`Pair`s. And `best_at_bounds`: the best any pair of a decode pool could do at a floor of its step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from ..layout.modes import mode_of
from ..plan.objective import OBJECTIVES
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Overlap, RequirementKind, Workload
from ..rules.bounds import unreachable
from ..serve.disagg import (
    capacity,
    kv_bytes_per_request,
    kv_ranks,
    pooled_rates,
    transfer_layers,
    transfer_link,
    transfer_seconds,
)
from ..serve.rates import Rates, per_token
from ..verdict.fastcheck import FastCheck
from ..verdict.steady import SteadyMetrics, figure_of, steady_metrics
from ..verdict.verdict import MemoryFigures, RequirementResult, fuller, requirement_value
from .bar import BestAtBounds
from .floor import traffic_floor, traffic_misses
from .result import BatchProbes, PooledSummary, score_key

__all__ = ["Entry", "Instance", "Pair", "PairColumns", "PooledCounts", "best_at_bounds", "best_at_tpot", "instance_of",
           "weigh"]

Column = npt.NDArray[np.float64]

@dataclass(frozen=True)
class Instance:
    """One pool's instance evaluated in its role: its strategy (with the micro-batches and overlap it
    ran), its GPUs and requests, its `seconds` (a prefill instance its makespan, a decode instance
    its step), its fullest GPU's memory and its tensor parallelism (the KV layout a decode instance
    receives)."""

    strategy: Strategy
    mb: int
    overlap: Overlap
    gpus: int
    batch: int
    seconds: float
    memory_fraction: float
    memory_bytes: float
    tp: int
    kv_ranks: int       # the ranks that hold one request's KV (`dagc.serve.disagg.kv_ranks`): its transfer's end
    memory: MemoryFigures | None = None    # its fullest GPU's, as a memory requirement is judged on it


def instance_of(fc: FastCheck, s: Strategy, workload: Workload) -> Instance:
    """One pool's instance from its fast check (`dagc.verdict.fastcheck`) of `s` running `workload`: a
    prefill instance's seconds are its makespan (TTFT), a decode instance's its TPOT (its mode's own figure)."""
    mode = mode_of(workload)
    seconds = mode.own_figure(fc.metrics.ttft_s, fc.metrics.tpot_s)
    worst = fc.memory.worst
    # a decode instance runs the requests its KV cache admits at once (`dagc.memory.admission`)
    running = fc.metrics.concurrency_effective
    batch = running if mode.admits_by_kv and running is not None else workload.batch
    return Instance(s.model_copy(update={"microbatches": workload.microbatches, "overlap": workload.overlap}),
                    workload.microbatches or 1, workload.overlap, fc.layout.gpus_used, batch, seconds,
                    worst.fraction, worst.total_bytes, fc.layout.tp, kv_ranks(fc.layout), MemoryFigures.of(fc.memory))


@dataclass(frozen=True)
class Pair:
    """N prefill instances and M decode instances, with the deployment's figures."""

    prefill: Instance
    n: int
    decode: Instance
    m: int
    gpus: int
    metrics: SteadyMetrics

    @property
    def memory(self) -> MemoryFigures | None:
        """The fuller pool's memory (`dagc.verdict.verdict.fuller`), which the deployment's memory requirements are
        judged on, as `dagc.verdict.pools` judges them."""
        return fuller(i.memory for i in (self.prefill, self.decode) if i.memory is not None)

    def requirements(self, plan: Plan) -> tuple[RequirementResult, ...]:
        """The plan's requirements judged on the deployment, as `dagc.verdict.pools` judges them: memory on the fuller
        pool's, `memory == X` on the engine's share (`MemoryFigures.judged`)."""
        full = self.memory
        return tuple(RequirementResult(r, requirement_value(r, self.gpus, self.metrics,
                                                            *(full.judged(r) if full is not None else (None, None))))
                     for r in plan.steady_requirements)


@dataclass(frozen=True)
class PairColumns:
    """The deployment's figures of many pairs, a numpy column each (`dagc.serve.disagg.pooled_rates`, and the
    KV transfer): what `weigh` scores and judges them by, and the figures of the pairs it makes."""

    ttft_s: Column
    ttft_server_s: Column
    tpot_s: Column
    prefill_tokens_per_s: Column
    decode_tokens_per_s: Column
    throughput_tokens_per_s: Column
    prefill_tokens_per_s_per_gpu: Column
    decode_tokens_per_s_per_gpu: Column
    throughput_tokens_per_s_per_gpu: Column
    kv_transfer_s: Column

    @staticmethod
    def of(rates: Rates[Column], kv_transfer_s: Column) -> PairColumns:
        """The columns of `dagc.serve.disagg.pooled_rates` and the KV transfer."""
        return PairColumns(
            ttft_s=rates.ttft_s, ttft_server_s=rates.ttft_server_s, tpot_s=rates.tpot_s,
            prefill_tokens_per_s=rates.prefill_tokens_per_s, decode_tokens_per_s=rates.decode_tokens_per_s,
            throughput_tokens_per_s=rates.throughput_tokens_per_s,
            prefill_tokens_per_s_per_gpu=rates.prefill_tokens_per_s_per_gpu,
            decode_tokens_per_s_per_gpu=rates.decode_tokens_per_s_per_gpu,
            throughput_tokens_per_s_per_gpu=rates.throughput_tokens_per_s_per_gpu, kv_transfer_s=kv_transfer_s)

    def row(self, k: int) -> SteadyMetrics:
        """Pair `k`'s figures."""
        return SteadyMetrics(
            ttft_s=float(self.ttft_s[k]), ttft_server_s=float(self.ttft_server_s[k]), tpot_s=float(self.tpot_s[k]),
            prefill_tokens_per_s=float(self.prefill_tokens_per_s[k]),
            decode_tokens_per_s=float(self.decode_tokens_per_s[k]),
            throughput_tokens_per_s=float(self.throughput_tokens_per_s[k]),
            prefill_tokens_per_s_per_gpu=float(self.prefill_tokens_per_s_per_gpu[k]),
            decode_tokens_per_s_per_gpu=float(self.decode_tokens_per_s_per_gpu[k]),
            throughput_tokens_per_s_per_gpu=float(self.throughput_tokens_per_s_per_gpu[k]),
            kv_transfer_s=float(self.kv_transfer_s[k]))


def _columns(prefills: list[Instance], m: int, g: int, cluster_gpus: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (prefill instance, N) that fits beside M decode instances of g GPUs: the instances' indices
    and N, as arrays."""
    room = np.array([(cluster_gpus - m * g) // p.gpus for p in prefills], dtype=np.int64)
    which = np.repeat(np.arange(len(prefills)), room)
    starts = np.repeat(np.cumsum(room) - room, room)
    return which, np.arange(len(which)) - starts + 1


def _holds(op: str, value: npt.NDArray[np.float64], target: float) -> npt.NDArray[np.bool_]:
    """`Requirement.holds`, elementwise."""
    match op:
        case "<=":
            return value <= target
        case ">=":
            return value >= target
        case "<":
            return value < target
        case ">":
            return value > target
    close: npt.NDArray[np.bool_] = np.isclose(value, target, rtol=1e-9, atol=0.0)
    return close


@dataclass(frozen=True, slots=True)
class Entry:
    """What lets a pair into the best `keep`: a rank key's head (requirements missed, −score, GPUs) no later than
    `head`, the `keep`-th best's so far (None: fewer found), names breaking ties — or, when a `front` is kept,
    its point of the front."""

    head: tuple[int, float, int] | None
    front: bool
    keep: int


def weigh(plan: Plan, objective: str, d: Instance, m: int, prefills: list[Instance],
          entry: Entry) -> tuple[list[Pair], int]:
    """The pairs of `m` decode instances `d` with every prefill instance and N that `entry` lets in (with no
    head, this pool's own best `entry.keep`); and how many pairs were weighed."""
    head, front, keep = entry.head, entry.front, entry.keep
    w, c = plan.workload, plan.cluster
    which, n = _columns(prefills, m, d.gpus, c.gpus)
    if not len(which):
        return [], 0
    g_p = np.array([p.gpus for p in prefills])[which]
    batch_p = np.array([p.batch for p in prefills], dtype=float)[which]
    t_p = np.array([p.seconds for p in prefills])[which]
    gpus = n * g_p + m * d.gpus
    kv = kv_bytes_per_request(plan.model, w, d.tp)
    kv_p = np.array([p.kv_ranks for p in prefills])[which]
    transfer = transfer_seconds(kv, batch_p, transfer_link(c, gpus, kv_p, d.kv_ranks),
                                transfer_layers(plan.model, w),
                                w.kv_transfer == "layerwise")
    served = np.minimum(capacity(n, batch_p, t_p), capacity(m, d.batch, d.seconds, w.generate))
    metrics = PairColumns.of(pooled_rates(served, gpus, t_p + transfer, np.full(len(which), d.seconds), w,
                                          c.engine.terms.frontend_alone_s), np.asarray(transfer, dtype=float))
    # the scores as the ranking reads them (`score_key`): a pair tying the head by float noise is let in
    score = _score_keys(OBJECTIVES[objective].score(metrics, gpus.astype(float)))
    missed = _misses(plan, metrics, gpus, _memory_columns(prefills, which, d))
    if head is None:                                    # this pool's best `keep` by the rank key but the names
        order = np.lexsort((gpus, -score, missed))
        last = order[min(keep, len(order)) - 1]
        head = (int(missed[last]), float(-score[last]), int(gpus[last]))
    chosen = set(np.flatnonzero(_before(missed, -score, gpus, head)).tolist())   # ties too: names break them
    meets = np.flatnonzero(missed == 0)
    if len(meets) and front:                            # the front holds only what meets them all
        # one TPOT for all: the front can take only the most tokens/s per GPU (as `front_key` reads it), any of
        # those (TTFT and memory tell them apart: docs/search.md, "Ties")
        per_gpu = _score_keys(metrics.decode_tokens_per_s_per_gpu[meets])
        chosen.update(meets[per_gpu == per_gpu.max()].tolist())
    pairs = [Pair(prefills[int(which[k])], int(n[k]), d, m, int(gpus[k]), metrics.row(k)) for k in sorted(chosen)]
    return pairs, len(which)


def _score_keys(scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """`score_key` of each score, formatted once per distinct score: a pool's pairs share most of theirs (a
    search of 1,024 GPUs weighed 3.7 million pairs' scores, 86 thousand distinct). Distinct by their bits, so each
    score's key is exactly the one `score_key` gives it (−0.0 and NaN too)."""
    values = np.asarray(scores, dtype=np.float64)
    bits, where = np.unique(values.view(np.int64), return_inverse=True)
    keys = np.array([score_key(x) for x in bits.view(np.float64).tolist()], dtype=np.float64)
    out: npt.NDArray[np.float64] = keys[where.reshape(-1)].reshape(values.shape)
    return out


def _before(missed: npt.NDArray[np.int64], neg_score: npt.NDArray[np.float64], gpus: npt.NDArray[np.int64],
            head: tuple[int, float, int]) -> npt.NDArray[np.bool_]:
    """Whether each rank-key head (missed, −score, GPUs) comes no later than `head`."""
    k_missed, k_score, k_gpus = head
    before: npt.NDArray[np.bool_] = (missed < k_missed) | ((missed == k_missed) & (
        (neg_score < k_score) | ((neg_score == k_score) & (gpus <= k_gpus))))
    return before


def _memory_columns(prefills: list[Instance], which: npt.NDArray[np.int64], d: Instance
                    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each pair's fuller pool's memory as a share of the GPU (`Pair.memory`: the prefill instance's when it needs
    at least the decode instance's share, as `fuller` takes the first of equals): what its rank needs, and what the
    engine holds (`memory == X` is judged on that, `MemoryFigures.judged`)."""
    figures = [p.memory for p in prefills]
    assert d.memory is not None and all(f is not None for f in figures), "instances from their fast checks"
    need = np.array([f.fraction for f in figures if f is not None])[which]
    held = np.array([f.held_bytes / f.capacity_bytes for f in figures if f is not None])[which]
    prefill_fuller = need >= d.memory.fraction
    return (np.where(prefill_fuller, need, d.memory.fraction),
            np.where(prefill_fuller, held, d.memory.held_bytes / d.memory.capacity_bytes))


def _misses(plan: Plan, metrics: PairColumns, gpus: npt.NDArray[np.int64],
            memory: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]) -> npt.NDArray[np.int64]:
    """The requirements each pair misses (memory judged on its fuller pool's share — what its rank needs, what the
    engine holds for `memory == X` (`_memory_columns`) — or on bytes by `Pair.requirements` for the pairs made),
    and for a pair short of the plan's traffic every load requirement (at least one), as its candidate counts it
    (`dagc.search.floor.traffic_misses`)."""
    out = np.zeros(len(gpus), dtype=np.int64)
    floor = traffic_floor(plan)
    if floor is not None:
        out += (np.asarray(metrics.decode_tokens_per_s, dtype=float) < floor) * traffic_misses(plan)
    for r in plan.steady_requirements:
        if r.kind is RequirementKind.GPUS:
            value = gpus.astype(float)
        elif r.kind is RequirementKind.MEMORY:
            if not r.memory_is_fraction:
                continue
            value = memory[1] if r.op == "==" else memory[0]
        else:
            value = np.asarray(figure_of(metrics, r.kind), dtype=float) / (gpus if r.per_gpu else 1)
        out += ~_holds(r.op, value, r.target)
    return out


def best_at_bounds(plan: Plan, objective: str, prefills: list[Instance], m: int, g: int, batch: int,
                   step_floor: float) -> BestAtBounds:
    """The best any pair of `m` decode instances of `g` GPUs holding `batch` requests each could do when
    their step takes at least `step_floor`: served at most their capacity D at that floor, TTFT at
    least the quickest prefill's, TPOT at least the floor, and over N prefill instances at least
    D · (the least prefill GPU-seconds per request) + m·g GPUs and at least the smallest prefill
    instance's + m·g."""
    # the TPOT floor: with speculative decoding, per token
    return best_at_tpot(plan, objective, prefills, m, g, batch, per_token(step_floor, plan.workload))


def best_at_tpot(plan: Plan, objective: str, prefills: list[Instance], m: int, g: int, batch: int,
                 step_floor: float) -> BestAtBounds:
    """`best_at_bounds` of decode instances whose TPOT (per token) is at least `step_floor`."""
    w = plan.workload
    d = capacity(m, batch, step_floor, w.generate)
    per_request = min(p.gpus * p.seconds / p.batch for p in prefills)
    least = m * g + min(p.gpus for p in prefills)
    per_gpu = min(d * w.generate / (d * per_request + m * g), d * w.generate / least)
    ttft = min(p.seconds for p in prefills)
    served = per_gpu * least / w.generate                   # at `least` GPUs, the best per GPU
    front = plan.cluster.engine.terms.frontend_alone_s
    at_least = steady_metrics(pooled_rates(served, least, ttft, step_floor, w, front))
    score = OBJECTIVES[objective].score_of(replace(at_least, throughput_tokens_per_s=d * (w.prompt + w.generate)),
                                           least)
    # the totals at the decode pools' capacity D (more prefill instances only add GPUs), per GPU at `least`
    totals = steady_metrics(pooled_rates(d, least, ttft, step_floor, w))
    floor = traffic_floor(plan)             # short of the traffic even at the decode pools' capacity: its misses
    missed = traffic_misses(plan) if floor is not None and float(totals.decode_tokens_per_s) < floor else 0
    for r in plan.steady_requirements:
        if r.kind is RequirementKind.GPUS:
            missed += unreachable(r, float(least), lower=True)
        elif r.kind in (RequirementKind.TTFT, RequirementKind.TPOT):
            missed += unreachable(r, ttft if r.kind is RequirementKind.TTFT else step_floor, lower=True)
        elif r.kind is not RequirementKind.MEMORY:
            missed += unreachable(r, float(figure_of(at_least if r.per_gpu else totals, r.kind, r.per_gpu)),
                                  lower=False)
    return BestAtBounds((missed, -score_key(score), least), missed, (-score_key(per_gpu), score_key(step_floor)))


@dataclass(frozen=True)
class Prefills:
    """The prefill instances a decode pool is weighed against, by their micro-batches and overlap
    (`by_option`), and the GPUs of the smallest (`least`: what a decode pool must leave room for)."""

    by_option: dict[tuple[int, Overlap], list[Instance]]
    least: int


@dataclass
class PooledCounts:
    """What the disaggregated part of a search did: instances evaluated in each role, decode instances
    pruned by their floor, pairs (with their N) weighed, legal candidates among them."""

    prefill: int = 0
    decode: int = 0
    pruned: int = 0
    pairs: int = 0
    legal: int = 0
    stopped: bool = False                  # the deadline cut it short
    seconds: float = 0.0
    best: list[str] = field(default_factory=list)
    batch_max: bool = False                # each decode instance at its largest batch (`dagc.search.pooled_max`)
    probes: int = 0                        # with `batch_max`: batches probed for the decode instances
    left_out: int = 0                      # with `batch_max`: decode instances left out past the cap on probes
    max_probes: int = 0                    # with `batch_max`: that cap

    def summary(self) -> PooledSummary:
        """What was done, once the search is over (`dagc.search.result.SearchResult.disaggregated`)."""
        return PooledSummary(prefill_instances=self.prefill, decode_instances=self.decode, pruned=self.pruned,
                             pairs=self.pairs, legal=self.legal, complete=not self.stopped,
                             batch_max=BatchProbes(self.probes, self.left_out, self.max_probes)
                             if self.batch_max else None)

    def left_out_text(self) -> str | None:
        """What the search left out of the disaggregated space, in words (None: nothing).

        Example:
            >>> c = PooledCounts(decode=300, pruned=75, left_out=37, batch_max=True, max_probes=50_000)
            >>> c.left_out_text()[:77]
            'disaggregated candidates with 37 of the 412 decode instances (the largest), p'
        """
        if not self.left_out:
            return None
        total = self.decode + self.pruned + self.left_out
        return (f"disaggregated candidates with {self.left_out:,} of the {total:,} decode instances (the largest), "
                f"past its cap of {self.max_probes:,} batches probed for their largest batch")
