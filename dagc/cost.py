"""Cost model (SPEC 6.4, 6.5): per-rank durations of every op template.

Input: a `Dag` and the plan's `Cluster`. Output: `Costs`, the per-rank durations of each of
the DAG's distinct templates and each node's lock-step duration (its slowest rank). The DAG
is not changed.

Compute ops: `max(flops / (peak · compute_eff), hbm_bytes / (hbm · hbm_eff))`, the peak of
the op's dtype (fp8 weights use the fp8 peak where the GPU has one). Collectives over n
ranks of M bytes (M the per-rank send volume) with the bandwidth B of the slowest link of
the group (NVLink inside a node, the network across) times the network efficiency, and
latency α (intra or inter): ring all-reduce `2(n−1)/n·M/B + α`; reduce-scatter, all-gather
and all-to-all `(n−1)/n·M/B + α`; send/recv `M/B + α`. Every constant comes from the
plan's `cluster` block (`CostModel.from_cluster`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dag import Dag, OpKind, OpTemplate
from .plan import Cluster, DType, peak_flops

__all__ = ["CostModel", "Costs", "cost", "compute_time_s", "collective_time_s", "template_time_s"]


@dataclass(frozen=True)
class CostModel:
    """The named constants of the cost model, all overridable from the plan's cluster block."""

    gpu_flops_16bit: float
    gpu_flops_8bit: float | None
    hbm_bytes_per_s: float
    intra_node_bytes_per_s: float
    inter_node_bytes_per_s: float
    compute_efficiency: float
    hbm_efficiency: float
    network_efficiency: float
    intra_latency_s: float
    inter_latency_s: float

    @classmethod
    def from_cluster(cls, c: Cluster) -> CostModel:
        return cls(gpu_flops_16bit=c.gpu.flops_16bit, gpu_flops_8bit=c.gpu.flops_8bit,
                   hbm_bytes_per_s=c.gpu.hbm_bytes_per_s, intra_node_bytes_per_s=c.intra_node_bytes_per_s,
                   inter_node_bytes_per_s=c.inter_node_bytes_per_s, compute_efficiency=c.efficiency.compute,
                   hbm_efficiency=c.efficiency.hbm, network_efficiency=c.efficiency.network,
                   intra_latency_s=c.latency.intra_s, inter_latency_s=c.latency.inter_s)

    def peak_flops(self, dtype: DType) -> float:
        return peak_flops(self.gpu_flops_16bit, self.gpu_flops_8bit, dtype)

    def link(self, crosses_nodes: bool) -> tuple[float, float]:
        """(effective bandwidth in bytes/s, latency in s) of a group's slowest link."""
        if crosses_nodes:
            return self.inter_node_bytes_per_s * self.network_efficiency, self.inter_latency_s
        return self.intra_node_bytes_per_s * self.network_efficiency, self.intra_latency_s


def compute_time_s(flops, hbm_bytes, peak_flops_per_s: float, hbm_bytes_per_s: float):
    """Roofline time of a compute op.

    Example:
        >>> compute_time_s(2e12, 0.0, 1e15, 1e12)     # 2 TFLOP at 1 PFLOP/s
        0.002
    """
    return np.maximum(np.asarray(flops) / peak_flops_per_s, np.asarray(hbm_bytes) / hbm_bytes_per_s) \
        if isinstance(flops, np.ndarray) else max(flops / peak_flops_per_s, hbm_bytes / hbm_bytes_per_s)


def collective_time_s(kind: OpKind, n: int, nbytes, bw_bytes_per_s: float, latency_s: float):
    """Alpha-beta time of a collective over n ranks with per-rank volume `nbytes`.

    Example:
        >>> round(collective_time_s(OpKind.ALL_REDUCE, 4, 1e9, 1e11, 1e-5), 6)   # 2·3/4·10 ms + 10 us
        0.01501
    """
    if kind in (OpKind.SEND, OpKind.RECV):
        return nbytes / bw_bytes_per_s + latency_s
    if n <= 1:
        return nbytes * 0.0
    factor = 2 * (n - 1) / n if kind is OpKind.ALL_REDUCE else (n - 1) / n
    return factor * nbytes / bw_bytes_per_s + latency_s


def template_time_s(tpl: OpTemplate, cm: CostModel) -> np.ndarray:
    """Per-rank durations of one op template."""
    if tpl.kind.is_comm:
        bw, alpha = cm.link(tpl.crosses_nodes)
        return np.asarray(collective_time_s(tpl.kind, tpl.group_size, tpl.comm_bytes, bw, alpha), dtype=np.float64)
    return np.asarray(compute_time_s(tpl.flops, tpl.hbm_bytes, cm.peak_flops(tpl.peak_dtype) * cm.compute_efficiency,
                                     cm.hbm_bytes_per_s * cm.hbm_efficiency), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Costs:
    """Durations of a DAG's ops: per rank for each distinct template, and per node (lock-step)."""

    model: CostModel
    per_template: tuple[np.ndarray, ...]    # aligned with `Dag.templates`: seconds per local rank
    node_s: np.ndarray                      # per node: its slowest rank's seconds

    def rank_s(self, dag: Dag, i: int) -> np.ndarray:
        """Per-rank durations of node `i` of `dag` (the DAG these costs were derived from)."""
        return self.per_template[dag.template_index[i]]


def cost(dag: Dag, cluster: Cluster) -> Costs:
    """The per-rank durations of every template of `dag` (each template once) and every node's."""
    cm = CostModel.from_cluster(cluster)
    per_template = tuple(template_time_s(tpl, cm) for tpl in dag.templates)
    slowest = np.array([float(t.max()) if t.size else 0.0 for t in per_template])
    node_s = slowest[np.asarray(dag.template_index, dtype=np.int64)] if len(dag) else np.zeros(0)
    return Costs(model=cm, per_template=per_template, node_s=node_s)
