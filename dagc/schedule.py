"""List scheduling, the critical path and the metrics (SPEC 7).

Input: a costed `Dag`, the overlap mode, the workload and the layout. Output: start and
finish of every node (written into the `Dag`), its binding predecessor, and `Metrics`.

Every stage has a compute stream and a communication stream (and, with overlap, a stream
for pipeline send/recv); with `overlap = none` communication blocks compute (everything
uses one stream). The ranks of a stage run in lock-step, so the stage's streams stand for
every rank's. A send and its recv occupy both stages' streams together. Every stream runs
its ops in one fixed order — micro-batches in turn (GPipe's forward), or with `overlap =
microbatch` two by two, interleaved op by op — and each op starts as soon as its data and
its streams allow. Prefill
and decode are scheduled on separate timelines, each from 0. The critical path is the
chain of binding predecessors (the predecessor, data or stream, whose finish is the op's
start) ending at the last finish.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .dag import Category, Dag, OpKind, Phase
from .layout import Layout
from .plan import Overlap, Workload

__all__ = ["Metrics", "PathBreakdown", "schedule", "rate_metrics", "CycleError"]


class CycleError(RuntimeError):
    """The DAG has a cycle (a bug in the builder): some ops can never become ready."""


@dataclass(frozen=True)
class PathBreakdown:
    """Time on a critical path by category, in seconds; the parts sum to the makespan."""

    makespan_s: float
    compute_s: float
    tp_comm_s: float
    ep_comm_s: float
    pp_comm_s: float
    waiting_s: float
    nodes: tuple[int, ...] = field(repr=False, default=())

    def to_json(self) -> dict:
        return {"makespan_s": self.makespan_s, "compute_s": self.compute_s, "tp_comm_s": self.tp_comm_s,
                "ep_comm_s": self.ep_comm_s, "pp_comm_s": self.pp_comm_s, "waiting_s": self.waiting_s,
                "ops": len(self.nodes)}


def rate_metrics(ttft_s: float, tpot_s: float, workload: Workload, gpus: int) -> dict:
    """TTFT, TPOT and the throughputs they imply, total and per GPU (SPEC 7).

    Example:
        >>> from dagc.plan import Workload
        >>> rate_metrics(2.0, 0.01, Workload(batch=10, prompt=100, generate=10), 5)["decode_tokens_per_s_per_gpu"]
        200.0
    """
    b, s, g = workload.batch, workload.prompt, workload.generate
    rates = {"prefill_tokens_per_s": b * s / ttft_s, "decode_tokens_per_s": b / tpot_s,
             "throughput_tokens_per_s": b * (s + g) / (ttft_s + g * tpot_s)}
    return {"ttft_s": ttft_s, "tpot_s": tpot_s, **rates, **{f"{k}_per_gpu": v / gpus for k, v in rates.items()}}


@dataclass(frozen=True)
class Metrics:
    rates: dict                    # rate_metrics(): ttft_s, tpot_s and the throughputs
    bubble_fraction: float
    prefill_path: PathBreakdown
    decode_path: PathBreakdown

    @property
    def ttft_s(self) -> float:
        return self.rates["ttft_s"]

    @property
    def tpot_s(self) -> float:
        return self.rates["tpot_s"]

    def to_json(self) -> dict:
        return {**self.rates, "bubble_fraction": self.bubble_fraction,
                "critical_path": {"prefill": self.prefill_path.to_json(), "decode": self.decode_path.to_json()}}


def _stream_offsets(overlap: Overlap) -> dict[OpKind, int]:
    """Stream of each op kind within a stage (stage s owns streams 3s, 3s+1, 3s+2)."""
    if overlap is Overlap.NONE:
        return {k: 0 for k in OpKind}
    # Point-to-point transfers get their own stream, as NCCL's p2p does: a send waiting
    # behind another micro-batch's all-to-all would stall the next stage.
    return {k: (2 if k in (OpKind.SEND, OpKind.RECV) else 1) if k.is_comm else 0 for k in OpKind}


def _schedule_phase(dag: Dag, idx: list[int], overlap: Overlap, start: np.ndarray, finish: np.ndarray,
                    binding: list[int], stream_prev: list[int]) -> None:
    """Static list schedule: every stream runs its ops in one global order, each op as early as its
    data and its streams allow. Start times are then max-plus expressions of the durations, so a
    faster op never makes the schedule slower (no list-scheduling anomalies).

    The order: decode step, then micro-batches in turn — with overlap two by two, interleaved op
    by op (as DeepSeek's dual micro-batch overlap), so one's communication hides under the
    other's compute — then the op's position in the pass."""
    w = 2 if overlap is Overlap.MICROBATCH else 1
    step, mb, pos, pair, preds, kinds, stages, tpl = (dag.step, dag.mb, dag.pos, dag.pair, dag.preds, dag.kind,
                                                       dag.stage, dag.template)
    order = sorted(idx, key=lambda i: (step[i], mb[i] // w, pos[i], mb[i] % w, i))
    offset = _stream_offsets(overlap)
    members = set(idx)
    stream_free: dict[int, float] = {}
    stream_last: dict[int, int] = {}
    done = [False] * len(dag)
    fin = [0.0] * len(dag)
    for i in order:
        if done[i]:
            continue
        units = (i,) if pair[i] < 0 else (i, pair[i])
        t0, bind = 0.0, -1
        for u in units:
            for p in preds[u]:
                if not done[p] and p in members:
                    raise CycleError(f"cycle detected: op {u} is ordered before its predecessor {p}")
                if fin[p] > t0:
                    t0, bind = fin[p], p
        streams = [(u, 3 * stages[u] + offset[kinds[u]]) for u in units]
        for u, s in streams:
            stream_prev[u] = stream_last.get(s, -1)
            free = stream_free.get(s, 0.0)
            if free > t0:
                t0, bind = free, stream_last[s]
        dur = tpl[i].duration if len(units) == 1 else max(tpl[units[0]].duration, tpl[units[1]].duration)
        end = t0 + dur
        for u in units:
            start[u] = t0
            finish[u] = end
            fin[u] = end
            binding[u] = bind
            done[u] = True
        for u, s in streams:
            stream_free[s] = end
            stream_last[s] = u


def _path(dag: Dag, idx: list[int], start: np.ndarray, finish: np.ndarray, binding: list[int]) -> PathBreakdown:
    last = max(idx, key=lambda i: (finish[i], -i))
    makespan = float(finish[last])
    parts = {c: 0.0 for c in Category}
    nodes = []
    i = last
    while i >= 0:
        nodes.append(i)
        parts[dag.kind[i].category] += float(finish[i] - start[i])
        b = binding[i]
        gap = float(start[i] - (finish[b] if b >= 0 else 0.0))
        parts[Category.WAITING] += max(0.0, gap)
        i = b
    return PathBreakdown(makespan_s=makespan, compute_s=parts[Category.COMPUTE], tp_comm_s=parts[Category.TP_COMM],
                         ep_comm_s=parts[Category.EP_COMM], pp_comm_s=parts[Category.PP_COMM],
                         waiting_s=parts[Category.WAITING], nodes=tuple(reversed(nodes)))


def _bubble(dag: Dag, idx: list[int], start: np.ndarray, finish: np.ndarray, makespan: float) -> float:
    """Share of stage-time during which a stage runs nothing (the pipeline bubble)."""
    if makespan <= 0:
        return 0.0
    idle = 0.0
    by_stage: dict[int, list[tuple[float, float]]] = {}
    for i in idx:
        by_stage.setdefault(dag.stage[i], []).append((float(start[i]), float(finish[i])))
    for spans in by_stage.values():
        spans.sort()
        busy = 0.0
        cur_s, cur_f = spans[0]   # a stage is listed only with a span
        for s, f in spans[1:]:
            if s > cur_f:
                busy += cur_f - cur_s
                cur_s, cur_f = s, f
            else:
                cur_f = max(cur_f, f)
        busy += cur_f - cur_s
        idle += makespan - busy
    return idle / (dag.pp * makespan)


def schedule(dag: Dag, overlap: Overlap, workload: Workload, layout: Layout) -> Metrics:
    """Schedule both phases, mark the critical paths and derive the metrics."""
    n = len(dag)
    start = np.zeros(n)
    finish = np.zeros(n)
    binding = [-1] * n
    stream_prev = [-1] * n
    prefill = dag.indices(Phase.PREFILL)
    decode = dag.indices(Phase.DECODE)
    _schedule_phase(dag, prefill, overlap, start, finish, binding, stream_prev)
    _schedule_phase(dag, decode, overlap, start, finish, binding, stream_prev)
    dag.start, dag.finish, dag.stream_prev = start, finish, stream_prev
    dag.binding = binding
    p_path = _path(dag, prefill, start, finish, binding)
    d_path = _path(dag, decode, start, finish, binding)
    critical = np.zeros(n, dtype=bool)
    critical[list(p_path.nodes)] = True
    critical[list(d_path.nodes)] = True
    dag.critical = critical

    heads = {(dag.step[i], dag.mb[i]): i for i in decode if dag.kind[i] is OpKind.LM_HEAD}
    tpot = max(float(finish[heads[(1, j)]] - finish[heads[(0, j)]]) for j in range(layout.microbatches))
    ttft = p_path.makespan_s
    return Metrics(rates=rate_metrics(ttft, tpot, workload, layout.gpus_used),
                   bubble_fraction=_bubble(dag, prefill, start, finish, ttft), prefill_path=p_path, decode_path=d_path)
