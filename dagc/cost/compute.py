"""Durations of compute ops (SPEC 6.4): each kernel looked up in the kernel profile, or the roofline.

Input: an `OpTemplate` and a `CostModel`. Output: per-rank seconds of each of the op's kernels.
Compute ops take the sum of the kernels the op launches (`OpTemplate.kernels`), each looked up
in the cluster's kernel profile at its shape (`dagc.kernels.kernels`: measured, interpolated, never
below the per-kernel floor; eagerly launched prefill ops at least their launches at the measured
eager launch time); a GPU without its own profile uses the nearest profiled GPU's
efficiencies at its own peaks. `efficiency { compute, hbm }` written in the plan scales the
measured speed (1.0: as measured; `hbm` for memory-bound kernels). A GPU preset defined by
constant efficiencies and without a profile (`generic-400t`) keeps the roofline
`max(flops / (peak · compute_eff), hbm_bytes / (hbm · hbm_eff))` (`compute_time_s`).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from typing import overload

import numpy as np

from ..ir.dag import Kernel, KernelClass, OpTemplate, Vec
from ..plan.cluster import FusedMoe, KernelTimes
from ..plan.model import DType
from .cost_model import CostModel

__all__ = ["MEMORY_BOUND", "compute_time_s", "engine_glue", "glued_kernels", "kernel_raw_s", "kernel_time_s",
           "kernel_efficiency", "kernel_seconds", "kernels_sum_s", "op_time_scale", "priced_kernels"]


@overload
def compute_time_s(flops: float, hbm_bytes: float, peak_flops_per_s: float, hbm_bytes_per_s: float) -> float: ...


@overload
def compute_time_s(flops: Vec, hbm_bytes: float | Vec, peak_flops_per_s: float, hbm_bytes_per_s: float) -> Vec: ...


def compute_time_s(flops: float | Vec, hbm_bytes: float | Vec, peak_flops_per_s: float, hbm_bytes_per_s: float
                   ) -> float | Vec:
    """Roofline time of a compute op (the bounds of `dagc.rules.bounds` and W506 use it).

    Example:
        >>> compute_time_s(2e12, 0.0, 1e15, 1e12)     # 2 TFLOP at 1 PFLOP/s
        0.002
    """
    return np.maximum(np.asarray(flops) / peak_flops_per_s, np.asarray(hbm_bytes) / hbm_bytes_per_s) \
        if isinstance(flops, np.ndarray) else max(flops / peak_flops_per_s, hbm_bytes / hbm_bytes_per_s)


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
    if size <= _FEW_RANKS:
        return _few_ranks_time_s(k, profile, flat, lower).reshape(coords[0].shape)
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


# Up to this many ranks a kernel's distinct shapes are found as tuples (`_few_ranks_time_s`), not by numpy's unique.
_FEW_RANKS = 64


def _few_ranks_time_s(k: Kernel, profile: KernelTimes, flat: np.ndarray, lower: bool) -> np.ndarray:
    """`kernel_time_s` of a kernel on few ranks (`flat`: one row per coordinate): its active ranks' distinct
    shapes sorted as tuples — the order `np.unique` gives them, so the very vectors are looked up — and each
    rank's seconds from its shape's."""
    active = (flat > 0).all(axis=0)
    out = np.zeros(flat.shape[1])
    if not active.any():
        return out
    shapes = list(map(tuple, flat[:, active].T.tolist()))
    distinct = tuple(sorted(set(shapes)))
    index = {shape: i for i, shape in enumerate(distinct)}
    t = _distinct_seconds(profile, k.cls, k.dtype, k.memory_op, k.launches, distinct, lower)
    out[active] = t[[index[shape] for shape in shapes]]
    return out


@functools.lru_cache(maxsize=1 << 14)
def _distinct_seconds(profile: KernelTimes, cls: KernelClass, dtype: DType, memory_op: str, launches: int,
                      distinct: tuple[tuple[float, ...], ...], lower: bool) -> np.ndarray:
    """Seconds of one kernel at each of a few ranks' `distinct` shapes (read-only): the load simulation's
    step prices ask for the same ones at every context."""
    k = Kernel("", cls, (), dtype, memory_op, launches)
    if cls is KernelClass.FUSED_MOE:          # its first shape's dimensions stand for all of them (`_kernel_lookup`)
        rows = np.array(distinct, dtype=np.float64)
        t = _kernel_lookup(k, profile, [rows[:, j] for j in range(rows.shape[1])], lower)
        t.flags.writeable = False
        return t
    # each shape's seconds are its own however many are looked up with it (tests/test_kernels.py): a shape looked
    # up beside others before (the decode ranks beside each chunk) is not looked up again
    if len(_SHAPE_SECONDS) >= _SHAPE_SECONDS_MAX:
        _SHAPE_SECONDS.clear()
    base = (profile, cls, dtype, memory_op, launches, lower)
    known = [_SHAPE_SECONDS.get((base, shape)) for shape in distinct]
    missing = [shape for shape, x in zip(distinct, known, strict=True) if x is None]
    if missing:
        rows = np.array(missing, dtype=np.float64)
        found = _kernel_lookup(k, profile, [rows[:, j] for j in range(rows.shape[1])], lower).tolist()
        made = dict(zip(missing, found, strict=True))
        for shape, x in made.items():
            _SHAPE_SECONDS[base, shape] = x
        known = [made[shape] if x is None else x for shape, x in zip(distinct, known, strict=True)]
    t = np.array(known, dtype=np.float64)
    t.flags.writeable = False
    return t


# The seconds of one kernel at one shape, looked up among a few ranks' distinct shapes (`_distinct_seconds`)
_SHAPE_SECONDS: dict[tuple[object, ...], float] = {}
_SHAPE_SECONDS_MAX = 1 << 16


def _alike(coords: tuple[Vec | float, ...]) -> tuple[tuple[int, ...], tuple[float, ...]] | None:
    """(the broadcast shape, each coordinate's one value) of a kernel shape whose every rank has the same
    values, else None (also for no ranks), without broadcasting them together."""
    values = _alike_values(coords)
    if values is None:
        return None
    return np.broadcast_shapes(*(np.shape(x) for x in coords)), values


def _alike_values(coords: tuple[Vec | float, ...]) -> tuple[float, ...] | None:
    """Each coordinate's one value of a kernel shape whose every rank has the same values, else None
    (also for no ranks)."""
    values = []
    for x in coords:
        if isinstance(x, (int, float)):          # a number (np.float64 is a float): itself
            values.append(float(x))
            continue
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
        case KernelClass.FUSED_MOE:
            *dims, a2a = (int(a[0]) for a in args[1:])
            t = profile.fused_moe_s(args[0], FusedMoe(k.dtype, *dims), a2a, lower=lower)
    return np.maximum(np.asarray(t, dtype=np.float64).reshape(-1), k.launches * profile.floor_s)


def priced_kernels(tpl: OpTemplate, profile: KernelTimes | None,
                   glue: Mapping[str, int] | None = None) -> tuple[Kernel, ...]:
    """The kernels a compute op is priced by: its engine kernel (`OpTemplate.fused`: a fused MoE layer) when
    the profile measured it at this shape, else the kernels dagc decomposes it into — each glue step the
    engine runs its own way as that engine runs it (`engine_glue`). `glue`: the cluster's engine's map
    (`CostModel.glue`); None: the profile's own (`KernelTimes.glue`)."""
    global _LAST_PRICED
    last = _LAST_PRICED
    if last[0] is tpl and last[1] is profile and last[2] is glue:
        return last[3]
    out = _priced_kernels(tpl, profile, glue)
    _LAST_PRICED = (tpl, profile, glue, out)
    return out


# The last template's kernels (`priced_kernels`): its key, its cost and its seconds each ask for them in turn.
# Held by identity (a template is frozen; the reference keeps its identity from being reused).
_LAST_PRICED: tuple[OpTemplate | None, KernelTimes | None, Mapping[str, int] | None, tuple[Kernel, ...]] = (
    None, None, None, ())


def _priced_kernels(tpl: OpTemplate, profile: KernelTimes | None, glue: Mapping[str, int] | None) -> tuple[Kernel, ...]:
    fused = tpl.fused
    if fused is not None and profile is not None:
        shape = _alike_values(fused.shape[1:])
        if shape is not None:
            *dims, a2a = (int(x) for x in shape)
            if profile.fused_moe_covers(FusedMoe(fused.dtype, *dims), a2a):
                return (fused,)
    return glued_kernels(tpl.kernels, profile, glue)


def glued_kernels(kernels: tuple[Kernel, ...], profile: KernelTimes | None,
                  glue: Mapping[str, int] | None = None) -> tuple[Kernel, ...]:
    """`kernels` as the engine runs them: each glue step its own way (`engine_glue`), the others as they are.
    `glue`: as `priced_kernels`'s."""
    if glue is None:
        glue = profile.glue if profile is not None else None
    if profile is None or not glue:
        return kernels
    return tuple(x for k in kernels if (x := engine_glue(k, glue)) is not None)


def engine_glue(k: Kernel, glue: Mapping[str, int]) -> Kernel | None:
    """Glue kernel `k` as an engine that spends `glue[name]` launches on it runs it: None when fused into a
    measured kernel (0 launches); else one pass over its data (`Kernel.one_pass` of its bytes) at a copy's
    speed in that many launches. Any other kernel as it is.

    Example:
        >>> rope = Kernel("rope", KernelClass.MEMORY, (np.array([900.0]),), launches=26, one_pass=2 / 9)
        >>> x = engine_glue(rope, {"rope": 1}); (x.launches, float(x.shape[0][0]), x.memory_op)
        (1, 200.0, 'copy')
        >>> engine_glue(rope, {"rope": 0}) is None, engine_glue(rope, {}) is rope
        (True, True)
    """
    n = glue.get(k.name) if k.cls is KernelClass.MEMORY else None
    if n is None:
        return k
    if n == 0:
        return None
    # `dataclasses.replace`'s kernel, made directly (a step's templates glue thousands of kernels)
    return Kernel(k.name, k.cls, (k.shape[0] * k.one_pass,), k.dtype, "copy", n, k.eager, 1.0)


def kernel_seconds(tpl: OpTemplate, cm: CostModel, lower: bool = False) -> tuple[np.ndarray, ...]:
    """Per-rank seconds of each kernel of a compute op, scaled by the plan's efficiencies; empty for
    communication and for the constant-efficiency roofline (no profile). `lower`: lower bounds of
    them (`kernel_time_s`)."""
    if tpl.kind.is_comm or cm.profile is None:
        return ()
    scale = op_time_scale(tpl, cm)
    return tuple(kernel_time_s(k, cm.profile, lower) * (scale / kernel_efficiency(k.cls, cm))
                 for k in priced_kernels(tpl, cm.profile, cm.glue))


def kernel_efficiency(cls: KernelClass, cm: CostModel) -> float:
    """The efficiency a kernel of class `cls` is priced at (its time over it): the plan's HBM efficiency for a
    memory-bound kernel, its compute efficiency else — a routed expert's grouped GEMM's over the engine's
    `CostModel.expert_time_scale` (`dagc.cost.cost_model.expert_time_scale`).

    Example:
        >>> import dataclasses
        >>> from dagc.plan.cluster import Cluster
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> cm = CostModel.from_cluster(Cluster(gpus=8, gpu=GPU_PRESETS["h200"], intra_node_bytes_per_s=900e9))
        >>> cm = dataclasses.replace(cm, expert_time_scale=2.0)
        >>> kernel_efficiency(KernelClass.GROUPED_GEMM, cm), kernel_efficiency(KernelClass.GEMM, cm)
        (0.5, 1.0)
    """
    if cls in MEMORY_BOUND:
        return cm.hbm_efficiency
    return cm.compute_efficiency / cm.expert_time_scale if cls is KernelClass.GROUPED_GEMM else cm.compute_efficiency


def op_time_scale(tpl: OpTemplate, cm: CostModel) -> float:
    """The engine's multiplier of a compute op's time (`CostModel.time_scale` of its total FLOPs and bytes): the
    one place a calibration's `compute_time_scale` and `memory_time_scale` reach an op's time."""
    if cm.compute_time_scale == cm.memory_time_scale:
        return cm.compute_time_scale
    return cm.time_scale(tpl.flops_total, tpl.hbm_bytes_total, tpl.peak_dtype)


def kernel_raw_s(k: Kernel, profile: KernelTimes, lower: bool = False) -> float | np.ndarray:
    """A kernel's seconds from the profile before the plan's efficiencies and the engine's scale: one float
    when every rank has the same shape (0.0 with nothing to do), else per rank (`kernel_time_s`).

    A shape whose every coordinate is a vector of float64 over the same ranks (the op templates' kernels,
    `dagc.ir.op_shapes.Shapes.vec`) is read once as Python floats (`_rank_rows`): the same values, compared and
    sorted as `_alike_values` and `_few_ranks_time_s` compare and sort them, so the same seconds."""
    rows = _rank_rows(k.shape)
    if rows is None:
        one = _alike_values(k.shape)
        if one is None:
            return kernel_time_s(k, profile, lower)
    else:
        one = tuple(row[0] for row in rows)
        # every rank alike: each row holds its first value alone (`count` compares as `==` does, but that a value is
        # itself, which for a NaN `==` denies: one is never alike)
        for row, v in zip(rows, one, strict=True):
            if row.count(v) != len(row) or v != v:                  # ranks apart
                return _few_rank_rows_s(k, profile, rows, lower)
    return _uniform_seconds(profile, k.cls, k.dtype, k.memory_op, k.launches, one, lower) \
        if all(x > 0 for x in one) else 0.0


def _rank_rows(coords: tuple[Vec | float, ...]) -> list[list[float]] | None:
    """Each coordinate of a kernel shape as a list of its ranks' values, when every one is a 1-D float64 vector of
    the same length, at most `_FEW_RANKS` and at least one; else None."""
    rows = []
    size = -1
    for x in coords:
        if type(x) is not np.ndarray or x.ndim != 1 or x.dtype != np.float64:
            return None
        if size != x.shape[0]:
            if size >= 0:
                return None
            size = x.shape[0]
            if not 0 < size <= _FEW_RANKS:
                return None
        rows.append(x.tolist())
    return rows if rows else None


def _few_rank_rows_s(k: Kernel, profile: KernelTimes, rows: list[list[float]], lower: bool) -> np.ndarray:
    """`_few_ranks_time_s` of a kernel whose coordinates are `rows` (`_rank_rows`): the same distinct shapes,
    sorted the same way, looked up as one (`_distinct_seconds`)."""
    ranks = list(zip(*rows, strict=True))
    # whether a rank launches anything (every coordinate above 0), asked once per distinct shape (the ranks repeat)
    active = []
    for shape in set(ranks):
        for x in shape:
            if not x > 0:
                break
        else:
            active.append(shape)
    distinct = tuple(sorted(active))
    if not distinct:
        return np.zeros(len(ranks))
    t = _distinct_seconds(profile, k.cls, k.dtype, k.memory_op, k.launches, distinct, lower).tolist()
    seconds = dict(zip(distinct, t, strict=True))
    return np.array(list(map(seconds.get, ranks, itertools.repeat(0.0, len(ranks)))), dtype=np.float64)


def kernels_sum_s(kernels: tuple[Kernel, ...], seconds: tuple[np.ndarray, ...], ranks: tuple[int, ...],
                  eager_floor_s: float, host_s: float) -> np.ndarray:
    """Per-rank seconds of a compute op from its kernels' (`kernel_seconds`). Eager launches (prefill): the
    host queues kernels at its launch rate while the GPU runs them, so an op takes at least its launches at
    the measured eager launch time."""
    total = np.zeros(ranks)
    eager_launches = np.zeros(ranks)
    for k, t in zip(kernels, seconds, strict=True):
        total = total + t
        if k.eager:
            eager_launches = eager_launches + np.where(t > 0, k.launches, 0)
    return np.maximum(total, eager_launches * eager_floor_s) + host_s


# Kernel classes that stream memory: `efficiency { hbm }` scales them, `compute` the others.
MEMORY_BOUND = frozenset({KernelClass.ATTN_DECODE, KernelClass.MLA_DECODE, KernelClass.MEMORY})
