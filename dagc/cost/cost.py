"""Cost model (SPEC 6.4, 6.5): per-rank durations of every op template.

Input: a `Dag` and the plan's `Cluster`. Output: `Costs`, the per-rank durations of each of
the DAG's distinct templates and each node's lock-step duration (its slowest rank). The DAG
is not changed.

Compute ops: the sum of the kernels the op launches (`OpTemplate.kernels`), each looked up
in the cluster's kernel profile at its shape (`dagc.kernels.kernels`: measured, interpolated, never
below the per-kernel floor; eagerly launched prefill ops at least their launches at the measured
eager launch time); a GPU without its own profile uses the nearest profiled GPU's
efficiencies at its own peaks. `efficiency { compute, hbm }` written in the plan scales the
measured speed (1.0: as measured; `hbm` for memory-bound kernels). A GPU preset defined by
constant efficiencies and without a profile (`generic-400t`) keeps the roofline
`max(flops / (peak · compute_eff), hbm_bytes / (hbm · hbm_eff))`. Collectives over n ranks of
M bytes (M the per-rank send volume), with latency α of the slowest link: ring all-reduce `2(n−1)/n·M/B + α`;
reduce-scatter, all-gather and all-to-all `(n−1)/n·M/B + α`; send/recv `M/B + α`. A group
that spans nodes is priced per level (docs/cost-model.md): the NVLink part at the intra-node
bandwidth, the network part at the inter-node bandwidth per GPU. Every constant comes from
the plan's `cluster` block (`CostModel.from_cluster`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..ir.dag import Dag, Kernel, KernelClass, OpKind, OpTemplate
from ..kernels.kernels import KernelProfile, for_gpu, nearest_profile
from ..plan.plan import DEFAULT_HBM_EFFICIENCY, Cluster, DType, KernelTimes, peak_flops

__all__ = ["CostModel", "Costs", "cost", "compute_time_s", "collective_time_s", "template_time_s",
           "template_lower_s", "template_max_s",
           "kernel_time_s", "kernel_seconds", "compute_cost_key", "cost_basis", "cost_basis_text"]


@dataclass(frozen=True)
class CostModel:
    """The named constants of the cost model, all overridable from the plan's cluster block."""

    profile: KernelTimes | None     # None: the constant-efficiency roofline (a GPU defined by its efficiencies)
    gpu_flops_16bit: float
    gpu_flops_8bit: float | None
    hbm_bytes_per_s: float
    intra_node_bytes_per_s: float
    inter_node_bytes_per_s: float
    compute_efficiency: float       # with a profile: a scale of the measured speed (1.0: as measured)
    hbm_efficiency: float           # with a profile: the same for memory-bound kernels
    network_efficiency: float
    intra_latency_s: float
    inter_latency_s: float

    @classmethod
    def from_cluster(cls, c: Cluster) -> CostModel:
        """The cluster's kernel profile (its GPU's own by default, else the nearest profiled GPU's at
        this GPU's peaks); a GPU preset defined by constant efficiencies (`generic-400t`, the seed
        reports' GPU) without a profile keeps the constant-efficiency roofline."""
        eff, gpu = c.efficiency, c.gpu
        if c.kernels is None and gpu.compute_efficiency is not None:
            profile, compute, hbm = None, eff.compute or gpu.compute_efficiency, eff.hbm or gpu.hbm_efficiency
        else:
            profile = c.kernels if c.kernels is not None else for_gpu(nearest_profile(gpu), gpu)
            compute, hbm = eff.compute or 1.0, eff.hbm or 1.0
        return cls(profile=profile, gpu_flops_16bit=gpu.flops_16bit, gpu_flops_8bit=gpu.flops_8bit,
                   hbm_bytes_per_s=gpu.hbm_bytes_per_s, intra_node_bytes_per_s=c.intra_node_bytes_per_s,
                   inter_node_bytes_per_s=c.inter_node_bytes_per_s, compute_efficiency=compute,
                   hbm_efficiency=hbm or DEFAULT_HBM_EFFICIENCY, network_efficiency=eff.network,
                   intra_latency_s=c.latency.intra_s, inter_latency_s=c.latency.inter_s)

    def peak_flops(self, dtype: DType) -> float:
        return peak_flops(self.gpu_flops_16bit, self.gpu_flops_8bit, dtype)

    def link(self, crosses_nodes: bool) -> tuple[float, float]:
        """(effective bandwidth in bytes/s, latency in s) of a group's slowest link."""
        if crosses_nodes:
            return self.inter_node_bytes_per_s * self.network_efficiency, self.inter_latency_s
        return self.intra_node_bytes_per_s * self.network_efficiency, self.intra_latency_s


def compute_time_s(flops, hbm_bytes, peak_flops_per_s: float, hbm_bytes_per_s: float):
    """Roofline time of a compute op (the bounds of `dagc.rules.bounds` and W506 use it).

    Example:
        >>> compute_time_s(2e12, 0.0, 1e15, 1e12)     # 2 TFLOP at 1 PFLOP/s
        0.002
    """
    return np.maximum(np.asarray(flops) / peak_flops_per_s, np.asarray(hbm_bytes) / hbm_bytes_per_s) \
        if isinstance(flops, np.ndarray) else max(flops / peak_flops_per_s, hbm_bytes / hbm_bytes_per_s)


def collective_time_s(kind: OpKind, n: int, nbytes, bw_bytes_per_s: float, latency_s: float):
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


def _hierarchical_time_s(tpl: OpTemplate, cm: CostModel) -> np.ndarray:
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
    nvl = cm.intra_node_bytes_per_s * cm.network_efficiency
    net = cm.inter_node_bytes_per_s * cm.network_efficiency
    m = np.asarray(tpl.comm_bytes, dtype=np.float64)
    if tpl.kind in (OpKind.ALL_TO_ALL_DISPATCH, OpKind.ALL_TO_ALL_COMBINE):
        m_net = m if tpl.network_bytes is None else np.asarray(tpl.network_bytes, dtype=np.float64)
        return np.maximum((nodes - 1) / nodes * m_net / net, (r - 1) / r * m / nvl) + cm.inter_latency_s
    both = 2.0 if tpl.kind is OpKind.ALL_REDUCE else 1.0
    return both * ((r - 1) / r * m / nvl + (nodes - 1) / nodes * m / (r * net)) + cm.inter_latency_s


def kernel_time_s(k: Kernel, profile: KernelTimes, lower: bool = False) -> np.ndarray:
    """Per-rank seconds of one kernel from the profile; 0 on ranks with nothing to do (a zero in its
    shape). Ranks with the same shape are looked up once. `lower`: a lower bound of them
    (`KernelTimes`' `lower`), non-decreasing in the shape."""
    alike = _alike(k.shape)
    if alike is not None:                                         # every rank alike (the usual case)
        shape, one = alike
        if not all(x > 0 for x in one):                           # no rows, bytes or width: no launch
            return np.zeros(shape)
        return np.full(shape, _uniform_seconds(profile, k.cls, k.dtype, k.memory_op, k.launches, one, lower))
    coords = np.stack(np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in k.shape)))
    size = coords[0].size
    flat = coords.reshape(len(k.shape), size)
    varies = ~(flat == flat[:, :1]).all(axis=1) if size else np.zeros(len(k.shape), dtype=bool)
    active = (flat > 0).all(axis=0)
    out = np.zeros(size)
    if active.any():
        shapes = flat[:, active]
        if varies.sum() == 1:             # one coordinate differs between ranks: its distinct values
            j = int(np.argmax(varies))
            values, inverse = np.unique(shapes[j], return_inverse=True)
            rows = np.repeat(shapes[:, :1].T, len(values), axis=0)
            rows[:, j] = values
        else:
            rows, inverse = np.unique(shapes.T, axis=0, return_inverse=True)
        t = _kernel_lookup(k, profile, [rows[:, j] for j in range(rows.shape[1])], lower)
        out[active] = t[inverse.reshape(-1)]
    return out.reshape(coords[0].shape)


def _alike(coords: tuple) -> tuple[tuple[int, ...], tuple[float, ...]] | None:
    """(the broadcast shape, each coordinate's one value) of a kernel shape whose every rank has the same
    values, else None (also for no ranks), without broadcasting them together."""
    values = _alike_values(coords)
    if values is None:
        return None
    return np.broadcast_shapes(*(np.shape(x) for x in coords)), values


def _alike_values(coords: tuple) -> tuple[float, ...] | None:
    """Each coordinate's one value of a kernel shape whose every rank has the same values, else None
    (also for no ranks)."""
    values = []
    for x in coords:
        a = np.asarray(x, dtype=np.float64)
        if a.ndim == 0:
            values.append(float(a))
            continue
        if not a.size:
            return None
        v = a.flat[0]
        if not (a == v).all():
            return None
        values.append(float(v))
    return tuple(values)


@functools.lru_cache(maxsize=1 << 16)
def _uniform_seconds(profile: KernelTimes, cls: KernelClass, dtype: DType, memory_op: str, launches: int,
                     shape: tuple[float, ...], lower: bool = False) -> float:
    """Seconds of one kernel at one shape (every rank alike): the search asks the same again and again."""
    k = Kernel("", cls, (), dtype, memory_op, launches)
    return float(_kernel_lookup(k, profile, [np.array([x]) for x in shape], lower)[0])


def _kernel_lookup(k: Kernel, profile: KernelTimes, args: list[np.ndarray], lower: bool = False) -> np.ndarray:
    """Seconds of kernel `k` at the shapes `args` (one vector per coordinate), at least its launches
    at the per-kernel floor (`lower`: a lower bound of them)."""
    match k.cls:
        case KernelClass.GEMM:
            t = profile.gemm_s(args[0], args[1], args[2], dtype=k.dtype, lower=lower)
        case KernelClass.GROUPED_GEMM:
            t = profile.grouped_gemm_s(args[0], np.maximum(args[1], 1e-9), args[2], args[3], dtype=k.dtype,
                                       lower=lower)
        case KernelClass.ATTN_PREFILL:
            t = profile.attn_prefill_s(*args, lower=lower)
        case KernelClass.ATTN_DECODE:
            t = profile.attn_decode_s(*args, lower=lower)
        case KernelClass.MLA_DECODE:
            t = profile.mla_decode_s(*args, lower=lower)
        case KernelClass.MEMORY:
            t = profile.memory_s(args[0], op=k.memory_op, lower=lower)
    return np.maximum(np.asarray(t, dtype=np.float64).reshape(-1), k.launches * profile.floor_s)


def kernel_seconds(tpl: OpTemplate, cm: CostModel, lower: bool = False) -> tuple[np.ndarray, ...]:
    """Per-rank seconds of each kernel of a compute op, scaled by the plan's efficiencies; empty for
    communication and for the constant-efficiency roofline (no profile). `lower`: lower bounds of
    them (`kernel_time_s`)."""
    if tpl.kind.is_comm or cm.profile is None:
        return ()
    return tuple(kernel_time_s(k, cm.profile, lower) / (cm.hbm_efficiency if k.cls in _MEMORY_BOUND
                                                         else cm.compute_efficiency)
                 for k in tpl.kernels)


def template_time_s(tpl: OpTemplate, cm: CostModel, kernel_s: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
    """Per-rank durations of one op template (`kernel_s`: its `kernel_seconds`, when already known)."""
    if tpl.kind.is_comm:
        if tpl.nodes > 1 and tpl.kind not in (OpKind.SEND, OpKind.RECV):
            return _hierarchical_time_s(tpl, cm)
        bw, alpha = cm.link(tpl.crosses_nodes)
        return np.asarray(collective_time_s(tpl.kind, tpl.group_size, tpl.comm_bytes, bw, alpha), dtype=np.float64)
    if cm.profile is None:
        peak = cm.peak_flops(tpl.peak_dtype) * cm.compute_efficiency
        return np.asarray(compute_time_s(tpl.flops, tpl.hbm_bytes, peak, cm.hbm_bytes_per_s * cm.hbm_efficiency),
                          dtype=np.float64)
    total = np.zeros(np.shape(tpl.flops))
    eager_launches = np.zeros(np.shape(tpl.flops))
    for k, t in zip(tpl.kernels, kernel_seconds(tpl, cm) if kernel_s is None else kernel_s, strict=True):
        total = total + t
        if k.eager:
            eager_launches = eager_launches + np.where(t > 0, k.launches, 0)
    # Eager launches (prefill): the host queues kernels at its launch rate while the GPU runs them,
    # so an op takes at least its launches at the measured eager launch time.
    return np.maximum(total, eager_launches * cm.profile.eager_floor_s)


def template_lower_s(tpl: OpTemplate, cm: CostModel) -> float:
    """A lower bound of a template's slowest rank's seconds (`template_time_s(tpl, cm).max()`) that
    interpolates no kernel table: each kernel at its `lower` seconds (the roofline over the table's
    largest efficiency, at least its launches at the floor). The op's time grows with each
    kernel's, so it bounds the template's time, and — the lower seconds growing with the shape —
    that of any template whose kernels have larger shapes on some rank (`dagc.ir.op_moe`'s expert
    FFN at its EP group's mean rows bounds it at the busiest rank's). A collective, or a cost
    model without a profile, at its own time (no table to look up).

    Example:
        >>> from dagc.plan.plan import Cluster
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> from dagc.kernels.kernels import builtin_profile
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
    the same order as the per-rank arrays would be: the same figure, without a numpy call per kernel."""
    if not tpl.kind.is_comm and cm.profile is not None and np.size(tpl.flops):
        seconds = _alike_kernel_seconds(tpl, cm, lower)
        if seconds is not None:
            total, eager_launches = 0.0, 0.0
            for k, t in zip(tpl.kernels, seconds, strict=True):
                total = total + t
                if k.eager and t > 0:
                    eager_launches = eager_launches + k.launches
            return max(total, eager_launches * cm.profile.eager_floor_s)
    kernel_s = kernel_seconds(tpl, cm, lower=True) if lower else None
    return float(template_time_s(tpl, cm, kernel_s).max(initial=0.0))


def _alike_kernel_seconds(tpl: OpTemplate, cm: CostModel, lower: bool) -> list[float] | None:
    """`kernel_seconds` of a compute template whose every kernel has the same shape on every rank, one
    float per kernel; None when some kernel's ranks differ."""
    profile = cm.profile
    assert profile is not None
    out = []
    for k in tpl.kernels:
        one = _alike_values(k.shape)
        if one is None:
            return None
        t = _uniform_seconds(profile, k.cls, k.dtype, k.memory_op, k.launches, one, lower) \
            if all(x > 0 for x in one) else 0.0
        out.append(t / (cm.hbm_efficiency if k.cls in _MEMORY_BOUND else cm.compute_efficiency))
    return out


def compute_cost_key(tpl: OpTemplate, cm: CostModel) -> tuple | None:
    """Everything `template_time_s` reads of a compute template under `cm`:
    templates with the same key take the same time (the search's timer prices each key once,
    `dagc.serve.fastsched`). None for a collective.

    Example:
        >>> from dagc.plan.plan import Cluster
        >>> from dagc.plan.presets import GPU_PRESETS
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
    kernels = tuple((k.cls, k.dtype, k.memory_op, k.launches, k.eager, tuple(_array_key(x) for x in k.shape))
                    for k in tpl.kernels)
    roofline = (tpl.peak_dtype, _array_key(tpl.flops), _array_key(tpl.hbm_bytes)) if cm.profile is None else ()
    return (np.shape(tpl.flops), kernels, *roofline)


def _array_key(x) -> tuple:
    a = np.asarray(x, dtype=np.float64)
    return a.shape, a.tobytes()


# Kernel classes that stream memory: `efficiency { hbm }` scales them, `compute` the others.
_MEMORY_BOUND = frozenset({KernelClass.ATTN_DECODE, KernelClass.MLA_DECODE, KernelClass.MEMORY})


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


def cost_basis(cluster: Cluster) -> dict:
    """What a plan's time estimates rest on, for reports: the kernel profile (name and provenance)
    or the constant-efficiency roofline, and the efficiency scales.

    Example:
        >>> from dagc.plan.plan import Cluster
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> c = Cluster(gpus=8, gpu=GPU_PRESETS["a100-80g"], intra_node_bytes_per_s=300e9)
        >>> cost_basis(c)["kernel_profile"]
        'h100-sxm@a100-80g'
    """
    cm = CostModel.from_cluster(cluster)
    p = cm.profile
    if p is None:
        return {"kernel_profile": None, "model": "roofline with constant efficiencies",
                "compute_efficiency": cm.compute_efficiency, "hbm_efficiency": cm.hbm_efficiency,
                "network_efficiency": cm.network_efficiency}
    out: dict = {"kernel_profile": p.name, "model": "measured kernel profile (docs/cost-model.md)",
                 "kernel_floor_s": p.floor_s, "eager_launch_s": p.eager_floor_s,
                 "compute_scale": cm.compute_efficiency, "hbm_scale": cm.hbm_efficiency,
                 "network_efficiency": cm.network_efficiency}
    if isinstance(p, KernelProfile):
        v = p.provenance
        out["measured_on"] = {"gpu": v.gpu, "software": v.software, "date": v.date}
    if p.name.partition("@")[0] != cluster.gpu.name:
        why = "as the plan asks" if cluster.kernels is not None else f"the {cluster.gpu.name} has no profile of its own"
        out["note"] = f"applied at the {cluster.gpu.name}'s peaks ({why})"
    return out


def cost_basis_text(cluster: Cluster) -> str:
    """One sentence of `cost_basis` for report.md and the terminal."""
    b = cost_basis(cluster)
    if b["kernel_profile"] is None:
        return (f"Times: the roofline at constant efficiencies (compute {b['compute_efficiency']:g}, "
                f"HBM {b['hbm_efficiency']:g}) — this GPU has no measured kernel profile.")
    m = b.get("measured_on")
    where = f", measured on {m['gpu']} with {m['software']} ({m['date']})" if m else ""
    borrowed = f"; {b['note']}" if "note" in b else ""
    return f"Times: kernel profile `{b['kernel_profile']}`{where}{borrowed}."
