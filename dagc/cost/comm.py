"""Durations of collectives and point-to-point transfers (SPEC 6.5): the alpha-beta model.

Input: a communication `OpTemplate` (or a collective's kind, ranks and bytes) and the link's
bandwidth and latency. Output: per-rank seconds. Collectives over n ranks of M bytes (M the
per-rank send volume), with latency α of the slowest link: ring all-reduce `2(n−1)/n·M/B + α`;
reduce-scatter, all-gather and all-to-all `(n−1)/n·M/B + α`; send/recv `M/B + α`. A group
that spans nodes is priced per level (docs/cost-model.md): the NVLink part at the intra-node
bandwidth, the network part at the inter-node bandwidth per GPU.
"""

from __future__ import annotations

from typing import overload

import numpy as np

from ..ir.dag import OpKind, OpTemplate, Vec
from .cost_model import CostModel

__all__ = ["collective_time_s", "comm_time_s", "hierarchical_time_s"]


@overload
def collective_time_s(kind: OpKind, n: int, nbytes: float, bw_bytes_per_s: float, latency_s: float) -> float: ...


@overload
def collective_time_s(kind: OpKind, n: int, nbytes: Vec, bw_bytes_per_s: float, latency_s: float) -> Vec: ...


def collective_time_s(kind: OpKind, n: int, nbytes: float | Vec, bw_bytes_per_s: float, latency_s: float
                      ) -> float | Vec:
    """Alpha-beta time of a collective over n ranks with per-rank volume `nbytes`, on one link level.

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


def hierarchical_time_s(tpl: OpTemplate, cm: CostModel) -> np.ndarray:
    """A collective whose group spans `tpl.nodes` nodes, priced per level (SPEC 6.5).

    All-reduce: reduce-scatter inside each node, all-reduce of the node's 1/r share across the
    nodes (each GPU on its own NIC), all-gather inside the node: `2(r−1)/r·M/B_nvl +
    2(N−1)/N·M/(r·B_net) + α_net` for r ranks per node on N nodes; reduce-scatter and all-gather
    take half of that. All-to-all (EP dispatch and combine, its volume already counted per
    destination node, `dagc.ir.ops`): the network part `(N−1)/N·M/B_net` and the NVLink forwarding
    `(r−1)/r·M/B_nvl` run pipelined, so the slower of the two counts.
    """
    n, nodes = tpl.group_size, max(1, tpl.nodes)
    r = max(1.0, n / nodes)
    nvl = cm.node_bytes_per_s(round(r)) * cm.network_efficiency
    net = cm.inter_node_bytes_per_s * cm.network_efficiency
    m = np.asarray(tpl.comm_bytes, dtype=np.float64)
    if tpl.kind in (OpKind.ALL_TO_ALL_DISPATCH, OpKind.ALL_TO_ALL_COMBINE):
        m_net = m if tpl.network_bytes is None else np.asarray(tpl.network_bytes, dtype=np.float64)
        return np.maximum((nodes - 1) / nodes * m_net / net, (r - 1) / r * m / nvl) + cm.inter_latency_s
    both = 2.0 if tpl.kind is OpKind.ALL_REDUCE else 1.0
    return both * ((r - 1) / r * m / nvl + (nodes - 1) / nodes * m / (r * net)) + cm.inter_latency_s


def comm_time_s(tpl: OpTemplate, cm: CostModel) -> np.ndarray:
    """Per-rank seconds of a collective or transfer: per level across nodes (`hierarchical_time_s`), a node's
    all-reduce as the profile measured it (the engine's own, `CostModel.measured_all_reduce`), else the
    alpha-beta model of its group's slowest link."""
    if tpl.nodes > 1 and tpl.kind not in (OpKind.SEND, OpKind.RECV):
        return hierarchical_time_s(tpl, cm)
    if (tpl.kind is OpKind.ALL_REDUCE and not tpl.crosses_nodes and cm.measured_all_reduce
            and cm.profile is not None and cm.profile.all_reduce_covers(tpl.group_size)):
        m = np.asarray(tpl.comm_bytes, dtype=np.float64)     # the engine's own all-reduce, as measured
        return np.where(m > 0, np.asarray(cm.profile.all_reduce_s(tpl.group_size, m), dtype=np.float64), 0.0)
    pair = tpl.kind in (OpKind.SEND, OpKind.RECV)       # a point-to-point transfer: one link between two GPUs
    bw, alpha = cm.link(tpl.crosses_nodes, 2 if pair else tpl.group_size)
    return np.asarray(collective_time_s(tpl.kind, tpl.group_size, tpl.comm_bytes, bw, alpha), dtype=np.float64)
