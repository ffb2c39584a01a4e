"""`Compiled`: a strategy whose DAG was built, costed and scheduled — what the DAG exporters draw.

Input: the plan, layout and memory of one strategy, and its `Dag`, `Costs`, `Schedule` and
`Metrics`. Output: one immutable value whose every field is set, with timed views of the
nodes (`TimedNode`), the networkx view with times, and the per-rank expansion.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..cost.compute import priced_kernels
from ..cost.cost import Costs
from ..ir.dag import Dag, Kernel, Node
from ..layout.layout import Layout
from ..memory.memory import MemoryBreakdown
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..schedule.schedule import Schedule
from ..serve.metrics import Metrics

if TYPE_CHECKING:   # networkx is for exporters and tests: checking a plan does not load it
    import networkx as nx

__all__ = ["Compiled", "PricedKernel", "TimedNode"]


@dataclass(frozen=True, eq=False)
class PricedKernel:
    """A kernel an op launches with its seconds on each rank of its template (None without a profile)."""

    kernel: Kernel
    seconds: np.ndarray | None


@dataclass(frozen=True)
class TimedNode:
    """A DAG node with its place in the schedule."""

    node: Node
    start_s: float
    finish_s: float
    on_critical_path: bool

    @property
    def duration_s(self) -> float:
        return self.finish_s - self.start_s


@dataclass(frozen=True, eq=False)
class Compiled:
    plan: Plan
    strategy: Strategy
    layout: Layout
    memory: MemoryBreakdown
    dag: Dag
    costs: Costs
    schedule: Schedule
    metrics: Metrics

    def node(self, i: int) -> TimedNode:
        s = self.schedule
        return TimedNode(node=self.dag.node(i), start_s=float(s.start[i]), finish_s=float(s.finish[i]),
                         on_critical_path=bool(s.critical[i]))

    def nodes(self) -> Iterator[TimedNode]:
        return (self.node(i) for i in range(len(self.dag)))

    def to_networkx(self) -> nx.DiGraph:
        """`Dag.to_networkx` with each node's duration, start, finish and on_critical_path, and the
        stream-order edges."""
        g = self.dag.to_networkx()
        s = self.schedule
        kernels = self.priced_kernels()
        for i in range(len(self.dag)):
            g.nodes[i].update(duration=float(s.finish[i] - s.start[i]), start=float(s.start[i]),
                              finish=float(s.finish[i]), on_critical_path=bool(s.critical[i]),
                              kernels=kernels[self.dag.template_index[i]])
        for i, p in enumerate(s.stream_prev):
            if p >= 0 and not g.has_edge(p, i):
                g.add_edge(p, i, kind="stream", bytes=0.0)
        return g

    def priced_kernels(self) -> list[tuple[PricedKernel, ...]]:
        """Per template, the kernels it is priced by (with the profile and glue its costs were priced with, the
        nearest GPU's too), each with its seconds per rank."""
        profile, glue = self.costs.model.profile, self.costs.model.glue
        return [tuple(PricedKernel(k, ks[j] if ks else None) for j, k in enumerate(priced_kernels(t, profile, glue)))
                for t, ks in zip(self.dag.templates, self.costs.per_kernel, strict=True)]

    def expand_ranks(self, max_ops: int = 1_000_000) -> Iterator[tuple[int, int, float, float]]:
        """Per-rank expansion: (node id, global rank, start, finish) for every rank of every node.

        A rank faster than the slowest of its group finishes early and waits for the group.

        Raises:
            ValueError: when the expansion would exceed `max_ops` (use representative ranks).
        """
        dag = self.dag
        total = len(dag) * dag.group_size
        if total > max_ops:
            raise ValueError(f"per-rank expansion has {total:,} ops, above the budget of {max_ops:,}")
        for i in range(len(dag)):
            durations = self.costs.rank_s(dag, i)
            start = float(self.schedule.start[i])
            for local, rank in enumerate(dag.ranks_of(i)):
                yield i, rank, start, start + float(durations[local])
