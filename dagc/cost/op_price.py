"""A template's price with the engine's terms left open: its kernels priced once, the terms applied on top.

Input: an `OpTemplate` and a `CostModel`. Output: `OpPrice` — everything `dagc.cost.cost.template_max_s` reads of
the template under the cost model but the engine's terms (`step_s`, `compute_time_scale`, `memory_time_scale`):
a collective's seconds (no term reaches them); a compute op's kernels' seconds at the profile (or its roofline's)
and their efficiencies, its share of compute in its roofline time (which blends the two scales,
`CostModel.time_scale`) and whether it carries the step's host time (`host_step_s`, its embedding) — and
`OpPrice.seconds(cm)`, the slowest rank's seconds under a cost model of any terms: the same operations in the
same order as `template_time_s(tpl, cm).max()` makes them, so the very float.

The templates of timers whose plans differ only in those terms — a calibration's simulations, one a set of terms
(`dagc.calibrate.solve`) — are made and priced once (`dagc.schedule.timer_base.OpTables`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import cast

import numpy as np

from ..ir.dag import Kernel, OpKind, OpTemplate
from ..plan.cluster import KernelTimes
from ..plan.model import DType
from .comm import comm_time_s
from .compute import compute_time_s, kernel_efficiency, kernel_raw_s, priced_kernels
from .cost_model import LAYER_OP, CostModel

__all__ = ["OpPrice", "kernels_price", "op_price"]

# Beyond this many ranks a template's per-rank seconds are kept once per distinct rank (the slowest is the same).
_FEW_RANKS = 16


@dataclass(frozen=True, eq=False, slots=True)
class OpPrice:
    """A template's slowest rank's seconds but for the engine's terms (module docstring). Exactly one of
    `fixed_s` (a collective), `alike` (every rank of every kernel alike: per kernel its seconds, efficiency and
    eager launches), `ranks` (per kernel a row of seconds per rank, `effs` and `launches` beside) and `roofline`
    (per rank, without a profile) says how it is priced."""

    fixed_s: float | None = None
    alike: tuple[tuple[float, float, int], ...] | None = None
    ranks: np.ndarray | None = None             # kernels × ranks
    effs: tuple[float, ...] = ()
    launches: tuple[int, ...] = ()              # each kernel's eager launches (0: not eager)
    roofline: np.ndarray | None = None
    # its FLOPs, HBM bytes and peak's dtype: its share of compute in its roofline time (`CostModel.compute_share`)
    # blends the two scales; None: all compute
    totals: tuple[float, float, DType] | None = None
    embed: bool = False                         # carries the step's host time
    eager_floor_s: float = 0.0
    requests: float = 0.0                       # the embedding's requests (`OpTemplate.requests`)
    layer: bool = False                         # carries the engine's time per layer (a QKV projection)

    def with_totals(self, totals: tuple[float, float, DType]) -> OpPrice:
        """This price for a template of other totals (the same kernels: `compute_cost_key`)."""
        return OpPrice(self.fixed_s, self.alike, self.ranks, self.effs, self.launches, self.roofline, totals,
                       self.embed, self.eager_floor_s, self.requests, self.layer)

    def carrying(self, requests: float, layer: bool) -> OpPrice:
        """This price carrying the host time of `requests` (an embedding's) and whether the engine's time per
        layer (`dataclasses.replace`'s, made directly: a step's templates are priced by the thousand)."""
        return OpPrice(self.fixed_s, self.alike, self.ranks, self.effs, self.launches, self.roofline, self.totals,
                       self.embed, self.eager_floor_s, requests, layer)

    def seconds(self, cm: CostModel) -> float:
        """The template's slowest rank's seconds under `cm` (`template_max_s`, the same float).

        Example:
            >>> from dagc.plan.cluster import Cluster
            >>> from dagc.plan.model import DType
            >>> from dagc.plan.presets import GPU_PRESETS
            >>> import dataclasses
            >>> cm = CostModel.from_cluster(Cluster(gpus=8, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9))
            >>> cm = dataclasses.replace(cm, compute_time_scale=2.0, memory_time_scale=0.5)
            >>> gemm = OpPrice(alike=((2e-3, 1.0, 0), (1e-3, 1.0, 0)), totals=(1e12, 0.0, DType.BF16))
            >>> read = OpPrice(alike=((2e-3, 1.0, 0),), totals=(0.0, 1e9, DType.BF16))
            >>> round(gemm.seconds(cm), 9), round(read.seconds(cm), 9)        # 3 ms × 2, 2 ms × 0.5
            (0.006, 0.001)
        """
        if self.fixed_s is not None:
            return self.fixed_s
        c, m = cm.compute_time_scale, cm.memory_time_scale
        if c == m:
            scale = c
        else:
            f = cm.compute_share(*self.totals) if self.totals is not None else 1.0
            scale = c * f + m * (1.0 - f)
        host = cm.host_s(self.requests) if self.embed else cm.layer_s if self.layer else 0.0
        if self.alike is not None:
            total, eager = 0.0, 0.0
            for t, eff, launches in self.alike:
                x = t * scale / eff
                total = total + x
                if launches and x > 0:
                    eager = eager + launches
            return max(total, eager * self.eager_floor_s) + host
        if self.roofline is not None:
            return float((self.roofline * scale + host).max(initial=0.0))
        assert self.ranks is not None
        rank_s = np.zeros(self.ranks.shape[1])
        eager_ranks = np.zeros(self.ranks.shape[1])
        for raw, eff, launches in zip(self.ranks, self.effs, self.launches, strict=True):
            t = raw * (scale / eff)
            rank_s = rank_s + t
            if launches:
                eager_ranks = eager_ranks + np.where(t > 0, launches, 0)
        return float(np.maximum.reduce(np.maximum(rank_s, eager_ranks * self.eager_floor_s) + host, axis=None,
                                       initial=0.0))


def op_price(tpl: OpTemplate, cm: CostModel, lower: bool = False,
             raws: tuple[RawSeconds, tuple[Hashable, ...]] | None = None) -> OpPrice:
    """The template's `OpPrice` under `cm`'s profile, links and efficiencies (its terms are read by `seconds`
    alone); `lower`: its kernels at their lower seconds (`template_lower_s`). `raws`: a table of kernels' raw seconds
    kept by the caller and the keys of the template's priced kernels in it (`dagc.cost.cost.compute_cost_key`'s, what
    `kernel_raw_s` reads of each: a timer's, `dagc.schedule.timer_base.TimerCore`), each kernel looked up once."""
    if tpl.kind.is_comm:
        return OpPrice(fixed_s=float(comm_time_s(tpl, cm).max(initial=0.0)))
    totals = (tpl.flops_total, tpl.hbm_bytes_total, tpl.peak_dtype)
    embed = tpl.kind is OpKind.EMBED
    profile = cm.profile
    if profile is None:
        peak = cm.peak_flops(tpl.peak_dtype) * cm.compute_efficiency
        rank_s = np.asarray(compute_time_s(tpl.flops, tpl.hbm_bytes, peak, cm.hbm_bytes_per_s * cm.hbm_efficiency),
                            dtype=np.float64)
        return OpPrice(roofline=np.unique(rank_s), totals=totals, embed=embed, requests=tpl.requests,
                       layer=tpl.kind is LAYER_OP)
    kernels = priced_kernels(tpl, profile, cm.glue)
    raw = [kernel_raw_s(k, profile, lower) for k in kernels] if raws is None else \
        [_remembered_raw(raws[0], key, k, profile, lower) for key, k in zip(raws[1], kernels, strict=True)]
    price = kernels_price(kernels, raw, np.shape(tpl.flops), cm, totals, embed)
    if tpl.kind is LAYER_OP:
        return price.carrying(price.requests, True)
    return price.carrying(tpl.requests, price.layer) if tpl.requests else price


# Kernels' raw seconds (`kernel_raw_s`) by what it reads of them, at one profile (`op_price`'s `raws`); read-only
RawSeconds = dict[Hashable, float | np.ndarray]
_RAWS_MAX = 1 << 16


def _remembered_raw(raws: RawSeconds, key: Hashable, k: Kernel, profile: KernelTimes, lower: bool
                    ) -> float | np.ndarray:
    """`kernel_raw_s` of kernel `k` under `key` in `raws`: the same kernels recur in the ops of other shapes (the
    decode ranks' beside each chunk of a mixed step), each looked up once."""
    key = (key, lower)
    hit = raws.get(key)
    if hit is None:
        if len(raws) >= _RAWS_MAX:
            raws.clear()
        hit = raws[key] = kernel_raw_s(k, profile, lower)
        if isinstance(hit, np.ndarray):
            hit.setflags(write=False)
    return hit


def kernels_price(kernels: tuple[Kernel, ...], raw: list[float | np.ndarray], ranks: tuple[int, ...], cm: CostModel,
                  totals: tuple[float, float, DType] | None = None, embed: bool = False) -> OpPrice:
    """The `OpPrice` of a compute op priced by `kernels` (`priced_kernels`) from their `raw` seconds
    (`kernel_raw_s`: one float for a kernel whose every rank has the same shape), its ranks' shape, its `totals`
    (None: all compute, for a cost model of one scale) and whether it carries the step's host time: summed as
    floats, kernel by kernel, when every kernel is one float; else per rank (`dagc.cost.cost.template_time_s`).
    `op_price`'s, and that of an attention at a new context from its kernels that read none
    (`dagc.schedule.timer_base.TimerCore.attention_at`)."""
    profile = cm.profile
    assert profile is not None
    effs = tuple(kernel_efficiency(k.cls, cm) for k in kernels)
    launches = tuple(k.launches if k.eager else 0 for k in kernels)
    size = math.prod(ranks)
    if size and all(isinstance(u, float) for u in raw):
        alike = tuple((cast(float, u), eff, n) for u, eff, n in zip(raw, effs, launches, strict=True))
        return OpPrice(alike=alike, totals=totals, embed=embed, eager_floor_s=profile.eager_floor_s)
    arrays = [np.asarray(u, dtype=np.float64) for u in raw]
    # the ranks' shape and the kernels' (each the ranks' or a number's, the usual case) need no broadcasting rules
    shape = ranks if all(a.shape == ranks or not a.ndim for a in arrays) else \
        np.broadcast_shapes(ranks, *(a.shape for a in arrays))
    size = math.prod(shape)
    if not arrays:
        rows = np.zeros((0, min(size, 1)))
    elif all(a.shape == shape for a in arrays):      # nothing to broadcast (a mixed step's ranks, each kernel's)
        rows = np.array(arrays, dtype=np.float64).reshape(len(arrays), size)
    else:                                            # each row filled by broadcasting (`np.broadcast_to`'s values)
        rows = np.empty((len(arrays), *shape), dtype=np.float64)
        for row, a in zip(rows, arrays, strict=True):
            row[...] = a
        rows = rows.reshape(len(arrays), size)
    if arrays and size > _FEW_RANKS:       # its distinct ranks, in any order: `seconds` takes the slowest
        rows = np.array(list(dict.fromkeys(map(tuple, rows.T.tolist()))), dtype=np.float64).T
    return OpPrice(ranks=rows, effs=effs, launches=launches, totals=totals, embed=embed,
                   eager_floor_s=profile.eager_floor_s)
