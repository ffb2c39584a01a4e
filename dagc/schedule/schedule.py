"""List scheduling and the critical path (SPEC 7).

Input: a `Dag`, its `Costs` and the overlap mode. Output: a frozen `Schedule`: start and
finish of every node, its binding predecessor, the stream order, and the two critical paths
(`dagc.serve.metrics` turns a schedule into TTFT, TPOT and throughputs).

Every stage has a compute stream and a communication stream (and, with overlap, a stream
for pipeline send/recv); with `overlap = none` communication blocks compute (everything
uses one stream). The ranks of a stage run in lock-step, so the stage's streams stand for
every rank's. A send and its recv occupy both stages' streams together. Every stream runs
its ops in one fixed order — micro-batches in turn (GPipe's forward), or with `overlap =
microbatch` two by two, interleaved op by op — and each op starts as soon as its data and
its streams allow. Prefill and decode (in flight: decode and the mixed steps) are scheduled on
separate timelines, each from 0. The critical path is the chain of binding predecessors (the
predecessor, data or stream, whose finish is the op's start) ending at the last finish.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..cost.cost import Costs, host_step_s
from ..ir.dag import Category, Dag, OpKind, Phase
from ..plan.workload import Overlap

__all__ = ["PathBreakdown", "Schedule", "schedule", "CycleError"]


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
    # of `compute_s`, the engine's host time its compute ops carry (`dagc.cost.cost.host_step_s`: a step's
    # scheduling and per-request work on its embedding, the time per layer on each QKV projection)
    host_s: float = 0.0


def _stream_offsets(overlap: Overlap) -> dict[OpKind, int]:
    """Stream of each op kind within a stage (stage s owns streams 3s, 3s+1, 3s+2)."""
    if overlap is Overlap.NONE:
        return {k: 0 for k in OpKind}
    # Point-to-point transfers get their own stream, as NCCL's p2p does: a send waiting
    # behind another micro-batch's all-to-all would stall the next stage.
    return {k: (2 if k in (OpKind.SEND, OpKind.RECV) else 1) if k.is_comm else 0 for k in OpKind}


@dataclass(frozen=True, eq=False)
class Schedule:
    """When every node of a DAG runs, and the critical paths of prefill and decode."""

    start: np.ndarray                 # per node, seconds from its phase's start
    finish: np.ndarray
    binding: tuple[int, ...]          # per node: the predecessor (data or stream) whose finish is its start; -1
    stream_prev: tuple[int, ...]      # per node: the op before it on its stream; -1
    critical: np.ndarray              # per node: on a critical path
    paths: dict[Phase, PathBreakdown]     # per phase of the DAG, in the DAG's order (`dagc.ir.dag.step_passes`)

    @property
    def prefill_path(self) -> PathBreakdown:
        """The path of the first timeline: the prefill, or in flight the mixed steps (what TTFT is made of);
        a disaggregated decode instance's DAG has only its decode steps."""
        return self.paths.get(Phase.PREFILL) or self.paths.get(Phase.MIXED) or self.paths[Phase.DECODE]

    @property
    def decode_path(self) -> PathBreakdown:
        return self.paths[Phase.DECODE]


@dataclass(frozen=True, slots=True)
class _Timeline:
    """Per node of a DAG: its start and finish, the node that binds its start and the op before it on its
    stream (-1: none), filled phase by phase."""

    start: np.ndarray
    finish: np.ndarray
    binding: list[int]
    stream_prev: list[int]


def _schedule_phase(dag: Dag, durations: np.ndarray, idx: list[int], overlap: Overlap, out: _Timeline) -> None:
    """Static list schedule of the nodes `idx` into `out`: every stream runs its ops in one global order, each
    op as early as its data and its streams allow. Start times are then max-plus expressions of the durations, so a
    faster op never makes the schedule slower (no list-scheduling anomalies).

    The order: decode step, then micro-batches in turn — with overlap two by two, interleaved op
    by op (as DeepSeek's dual micro-batch overlap), so one's communication hides under the
    other's compute — then the op's position in the pass."""
    w = 2 if overlap is Overlap.MICROBATCH else 1
    pair, preds, kinds, stages = dag.pair, dag.preds, dag.kind, dag.stage
    binding, stream_prev = out.binding, out.stream_prev
    order = _order(dag, idx, w)
    offset = _stream_offsets(overlap)
    members = set(idx)
    stream_free: dict[int, float] = {}
    stream_last: dict[int, int] = {}
    done = [False] * len(dag)
    fin = [0.0] * len(dag)                        # per node its finish (and `began` its start), as Python floats
    began = [0.0] * len(dag)
    dur_of = durations.tolist()                   # the same floats, read as Python's
    for i in order:
        if done[i]:
            continue
        j = pair[i]
        units = (i,) if j < 0 else (i, j)
        t0, bind = 0.0, -1
        for u in units:
            for p in preds[u]:
                f = fin[p]
                if not done[p] and p in members:
                    raise CycleError(f"cycle detected: op {u} is ordered before its predecessor {p}")
                if f > t0:
                    t0, bind = f, p
        streams = [(u, 3 * stages[u] + offset[kinds[u]]) for u in units]
        for u, st in streams:
            stream_prev[u] = stream_last.get(st, -1)
            free = stream_free.get(st, 0.0)
            if free > t0:
                t0, bind = free, stream_last[st]
        dur = dur_of[i] if j < 0 else max(dur_of[i], dur_of[j])
        end = t0 + dur
        for u in units:
            began[u] = t0
            fin[u] = end
            binding[u] = bind
            done[u] = True
        for u, st in streams:
            stream_free[st] = end
            stream_last[st] = u
    if idx:                                       # into the arrays at once: a numpy element costs a call
        nodes = np.asarray(idx, dtype=np.int64)
        out.start[nodes] = np.asarray(began, dtype=np.float64)[nodes]
        out.finish[nodes] = np.asarray(fin, dtype=np.float64)[nodes]


def _order(dag: Dag, idx: list[int], w: int) -> list[int]:
    """`idx` in the streams' order: decode step, units of `w` micro-batches, position in the pass,
    micro-batch within the unit, then the node (a total order: `sorted` by that key, made by numpy)."""
    if not idx:
        return []
    nodes = np.asarray(idx, dtype=np.int64)
    step = np.asarray(dag.step, dtype=np.int64)[nodes]
    mb = np.asarray(dag.mb, dtype=np.int64)[nodes]
    pos = np.asarray(dag.pos, dtype=np.float64)[nodes]
    ordered: list[int] = nodes[np.lexsort((nodes, mb % w, pos, mb // w, step))].tolist()
    return ordered


def _path(dag: Dag, idx: list[int], out: _Timeline, host: list[float]) -> PathBreakdown:
    """The critical path of the phase of nodes `idx` on `out`, by category (`host`: each template's host seconds,
    aligned with `dag.templates`, within its compute)."""
    start, finish, binding = out.start, out.finish, out.binding
    began, ended = start.tolist(), finish.tolist()      # the same floats, read as Python's
    members = np.asarray(idx, dtype=np.int64)
    ends = finish[members]
    last = int(members[ends == ends.max()].min())        # the latest finish; of several, the lowest node
    makespan = ended[last]
    parts = {c: 0.0 for c in Category}
    nodes = []
    host_s = 0.0
    category = [t.category for t in dag.templates]      # each template's, aligned with `dag.templates` as `host`
    i = last
    while i >= 0:
        nodes.append(i)
        k = dag.template_index[i]
        parts[category[k]] += ended[i] - began[i]
        host_s += host[k]
        b = binding[i]
        gap = began[i] - (ended[b] if b >= 0 else 0.0)
        parts[Category.WAITING] += max(0.0, gap)
        i = b
    return PathBreakdown(makespan_s=makespan, compute_s=parts[Category.COMPUTE], tp_comm_s=parts[Category.TP_COMM],
                         ep_comm_s=parts[Category.EP_COMM], pp_comm_s=parts[Category.PP_COMM],
                         waiting_s=parts[Category.WAITING], nodes=tuple(reversed(nodes)), host_s=host_s)


def schedule(dag: Dag, costs: Costs, overlap: Overlap) -> Schedule:
    """Schedule each phase (prefill and decode; in flight decode and mixed) on its own timeline
    from 0 and find their critical paths."""
    n = len(dag)
    out = _Timeline(np.zeros(n), np.zeros(n), [-1] * n, [-1] * n)
    start, finish, binding, stream_prev = out.start, out.finish, out.binding, out.stream_prev
    critical = np.zeros(n, dtype=bool)
    paths: dict[Phase, PathBreakdown] = {}
    host = [0.0 if t.kind.is_comm else host_step_s(t, costs.model) for t in dag.templates]
    for phase in dict.fromkeys(dag.phase):          # the phases present, in the DAG's order
        idx = dag.indices(phase)
        _schedule_phase(dag, costs.node_s, idx, overlap, out)
        paths[phase] = path = _path(dag, idx, out, host)
        critical[list(path.nodes)] = True
    start.flags.writeable = finish.flags.writeable = critical.flags.writeable = False
    return Schedule(start=start, finish=finish, binding=tuple(binding), stream_prev=tuple(stream_prev),
                    critical=critical, paths=paths)
