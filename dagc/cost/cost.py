"""Cost model (SPEC 6.4, 6.5): per-rank durations of every op template.

Input: a `Dag` and the plan's `Cluster`. Output: `Costs`, the per-rank durations of each of
the DAG's distinct templates and each node's lock-step duration (its slowest rank). The DAG
is not changed.

A template is priced by its kind: a compute op by its kernels (`dagc.cost.compute`), a
collective or transfer by the alpha-beta model of its group's links (`dagc.cost.comm`). Every
constant comes from the plan's `cluster` block (`dagc.cost.cost_model.CostModel.from_cluster`).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from ..ir.dag import Dag, OpKind, OpTemplate, Vec
from ..plan.cluster import Cluster
from .comm import comm_time_s
from .compute import compute_time_s, kernel_seconds, kernels_sum_s, op_time_scale, priced_kernels
from .cost_model import LAYER_OP, CostModel
from .op_price import op_price

__all__ = ["Costs", "cost", "host_step_s", "template_time_s", "template_lower_s", "template_max_s", "compute_cost_key"]


def template_time_s(tpl: OpTemplate, cm: CostModel, kernel_s: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
    """Per-rank durations of one op template (`kernel_s`: its `kernel_seconds`, when already known)."""
    if tpl.kind.is_comm:
        return comm_time_s(tpl, cm)
    if cm.profile is None:
        peak = cm.peak_flops(tpl.peak_dtype) * cm.compute_efficiency
        return np.asarray(compute_time_s(tpl.flops, tpl.hbm_bytes, peak, cm.hbm_bytes_per_s * cm.hbm_efficiency),
                          dtype=np.float64) * op_time_scale(tpl, cm) + host_step_s(tpl, cm)
    return kernels_sum_s(priced_kernels(tpl, cm.profile, cm.glue), kernel_seconds(tpl, cm) if kernel_s is None
                         else kernel_s, np.shape(tpl.flops), cm.profile.eager_floor_s, host_step_s(tpl, cm))


def host_step_s(tpl: OpTemplate, cm: CostModel) -> float:
    """The engine's time of a step beyond its kernels: its host time (`EngineTerms.step_s`: scheduling, inputs,
    sampling, and `EngineTerms.step_request_s` for each request one engine process runs in it,
    `OpTemplate.requests`), carried by the step's first op, its embedding — every pass of a step through the model
    begins with one (in the DAG, in the search's timer and in the load simulation's step prices alike), so each
    step pays it once —, and its time per layer (`EngineTerms.layer_s`), carried by each layer's QKV projection,
    which every pass through a layer runs once (a pipeline stage pays it for its own layers)."""
    if tpl.kind is OpKind.EMBED:
        return cm.host_s(tpl.requests)
    return cm.layer_s if tpl.kind is LAYER_OP else 0.0


def template_lower_s(tpl: OpTemplate, cm: CostModel) -> float:
    """A lower bound of a template's slowest rank's seconds (`template_time_s(tpl, cm).max()`) that
    interpolates no kernel table: each kernel at its `lower` seconds (the roofline over the table's
    largest efficiency, at least its launches at the floor). The op's time grows with each
    kernel's, so it bounds the template's time, and — the lower seconds growing with the shape —
    that of any template whose kernels have larger shapes on some rank (`dagc.ir.op_moe`'s expert
    FFN at its EP group's mean rows bounds it at the busiest rank's). A collective, or a cost
    model without a profile, at its own time (no table to look up).

    Example:
        >>> from dagc.plan.cluster import Cluster
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> from dagc.kernels.kernels import builtin_profile
        >>> from dagc.ir.dag import Kernel, KernelClass
        >>> cm = CostModel.from_cluster(Cluster(gpus=8, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9,
        ...                                     kernels=builtin_profile("h100-sxm")))
        >>> one = np.ones(2)
        >>> k = Kernel("up", KernelClass.GROUPED_GEMM, (np.full(2, 8.0), np.full(2, 4.0), 4096.0, 2048.0))
        >>> tpl = OpTemplate(OpKind.EXPERT_FFN, None, 1, one, one, one, 0 * one, one, 2, 2, 2, 0, kernels=(k,))
        >>> 0 < template_lower_s(tpl, cm) <= float(template_time_s(tpl, cm).max())
        True
    """
    return template_max_s(tpl, cm, lower=True)


def template_max_s(tpl: OpTemplate, cm: CostModel, lower: bool = False) -> float:
    """The slowest rank's seconds of a template, `template_time_s(tpl, cm).max()` (0 with no ranks);
    `lower`: with its kernels at their lower seconds (`template_lower_s`). When every rank of every
    kernel has the same shape (the search's usual case) it is summed as floats, kernel by kernel in
    the same order as the per-rank arrays would be: the same figure, without a numpy call per kernel
    (`dagc.cost.op_price.OpPrice`, which a timer keeps to price the template again at other engine terms)."""
    return op_price(tpl, cm, lower).seconds(cm)


def compute_cost_key(tpl: OpTemplate, cm: CostModel) -> tuple[Hashable, ...] | None:
    """Everything `template_time_s` reads of a compute template under `cm` but the engine's terms (`step_s` and
    the time scales, which `OpPrice.seconds` applies) and its share of compute (which blends the scales,
    `OpPrice.totals`): templates with the same key have the same `op_price` but for that share (the
    search's timer prices each key once, `dagc.schedule.timer_base`). None for a collective.

    Example:
        >>> from dagc.plan.cluster import Cluster
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> from dagc.ir.dag import Kernel, KernelClass
        >>> cm = CostModel.from_cluster(Cluster(gpus=8, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9))
        >>> one = np.ones(2)
        >>> def norm(rows):
        ...     k = Kernel("norm", KernelClass.MEMORY, (np.full(2, rows),))
        ...     return OpTemplate(OpKind.NORM, None, 1, one, one, one, 0 * one, one, 2, 2, 2, 0, kernels=(k,))
        >>> compute_cost_key(norm(4096.0), cm) == compute_cost_key(norm(4096.0), cm) != compute_cost_key(norm(8.0), cm)
        True
    """
    if tpl.kind.is_comm:
        return None
    kernels = tuple([(k.cls, k.dtype, k.memory_op, k.launches, k.eager, tuple(map(_array_key, k.shape)))
                     for k in priced_kernels(tpl, cm.profile, cm.glue)])
    roofline = (tpl.peak_dtype, _array_key(tpl.flops), _array_key(tpl.hbm_bytes)) if cm.profile is None else ()
    return (np.shape(tpl.flops), kernels, tpl.kind is OpKind.EMBED, tpl.kind is LAYER_OP, tpl.requests,
            *roofline)


def _array_key(x: Vec | float) -> tuple[tuple[int, ...], bytes]:
    if type(x) is np.ndarray and x.dtype == np.float64:       # a template's vector as it is (`np.asarray`'s own)
        return x.shape, x.tobytes()
    a = np.asarray(x, dtype=np.float64)
    return a.shape, a.tobytes()


@dataclass(frozen=True, eq=False)
class Costs:
    """Durations of a DAG's ops: per rank for each distinct template, and per node (lock-step)."""

    model: CostModel
    per_template: tuple[np.ndarray, ...]    # aligned with `Dag.templates`: seconds per local rank
    node_s: np.ndarray                      # per node: its slowest rank's seconds
    per_kernel: tuple[tuple[np.ndarray, ...], ...] = ()   # aligned with `Dag.templates`: `kernel_seconds`

    def rank_s(self, dag: Dag, i: int) -> np.ndarray:
        """Per-rank durations of node `i` of `dag` (the DAG these costs were derived from)."""
        return self.per_template[dag.template_index[i]]


def cost(dag: Dag, cluster: Cluster) -> Costs:
    """The per-rank durations of every template of `dag` (each template once) and every node's."""
    cm = CostModel.from_cluster(cluster)
    per_kernel = tuple(kernel_seconds(tpl, cm) for tpl in dag.templates)
    per_template = tuple(template_time_s(tpl, cm, ks) for tpl, ks in zip(dag.templates, per_kernel, strict=True))
    slowest = np.array([float(t.max()) if t.size else 0.0 for t in per_template])
    node_s = slowest[np.asarray(dag.template_index, dtype=np.int64)] if len(dag) else np.zeros(0)
    return Costs(model=cm, per_template=per_template, node_s=node_s, per_kernel=per_kernel)
