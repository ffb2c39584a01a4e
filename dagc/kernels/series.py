"""Measured series of whole engine ops — a fused MoE layer, an all-reduce — as time functions (docs/kernels.md).

Input: measured points (a token count or a byte count → seconds) of one op at one shape, and for the MoE
layer the peaks of its GPU. Output: seconds at any count (numpy arrays). Between measured points the
time is interpolated log-log on the series' monotone envelope; past the largest measured count it is
never extrapolated as a line through the last point: an MoE layer follows its roofline at the last
measured efficiency (`fused_moe_s`), an all-reduce, whose roofline is linear in the bytes, the same
rule reduces to time × bytes / its bytes. Which of an engine's MoE kernels a deployment runs — the fused
Triton/CUTLASS layer, or DeepEP's all-to-all with DeepGEMM's grouped GEMMs over a wide EP group — is
`moe_kernel`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..plan.cluster import FusedMoe, Seconds
from .format import AllReduceRow, FusedMoeRow
from .tables import Floats, PeakSet, Table, dtype_name, roofline_s

__all__ = ["A2A_DEEPEP", "A2A_FUSED", "DEEPEP_LL_MAX_TOKENS_PER_RANK", "FUSED", "Floors", "FusedShape", "MOE_KERNELS",
           "Measured", "MOE_MATRICES", "WIDE_EP_MIN_RANKS", "Series", "all_reduce_series", "fused_moe_s",
           "fused_series", "moe_a2a", "fused_key", "moe_kernel", "moe_roofline_s", "monotone_series", "series_s",
           "wide_ep"]

Series = tuple[Floats, Floats]      # (log x ascending, log seconds non-decreasing)

FUSED = "fused"                              # the engine's fused MoE kernel (Triton, CUTLASS)
MOE_KERNELS = (FUSED, "deepep_ll", "deepep_normal")
# An EP group this wide across attention-DP ranks runs its experts behind DeepEP's all-to-all (SGLang
# `--moe-a2a-backend deepep`, vLLM `--all2all-backend deepep_*`, TensorRT-LLM's wide-EP MoE): the large
# expert-parallel deployments DeepEP was written for (DeepSeek's 8-GPU-per-node EP groups and wider).
WIDE_EP_MIN_RANKS = 8
# DeepEP's low-latency buffers hold at most this many tokens per rank: SGLang's default
# `SGLANG_DEEPEP_NUM_MAX_DISPATCH_TOKENS_PER_RANK` (python/sglang/srt/environ.py), the bound of its
# `--deepep-mode auto` choice of low-latency kernels for decode batches; larger steps (prefill) run the
# normal kernels.
DEEPEP_LL_MAX_TOKENS_PER_RANK = 128
# The all-to-all a deployment's experts run behind, as the fused MoE kernel's last shape coordinate (every
# coordinate of a kernel's shape is positive): the engine's default with its fused kernel, or DeepEP.
A2A_FUSED, A2A_DEEPEP = 1, 2
# Matrices of a gated expert (gate, up, down: SwiGLU, every MoE preset's): its roofline's flops and weights.
MOE_MATRICES = 3


def monotone_series(points: Mapping[float, float]) -> Series:
    """(log x, log seconds) of measured points, x ascending, each point's seconds the least measured at it or
    at any larger x (the monotone envelope of the kernel tables: a smaller call could run the larger one
    padded), so non-decreasing, as the search's bounds need.

    Example:
        >>> x, s = monotone_series({1: 3.0, 2: 2.0, 4: 5.0}); np.exp(s).round(6).tolist()
        [2.0, 2.0, 5.0]
    """
    x = np.array(sorted(points), dtype=np.float64)
    s = np.minimum.accumulate(np.array([points[v] for v in sorted(points)])[::-1])[::-1]
    return np.log(np.maximum(x, 1.0)), np.log(s)


def _flat(x: ArrayLike) -> tuple[tuple[int, ...], Floats]:
    a = np.asarray(x, dtype=np.float64)
    return a.shape, a.reshape(-1)


def _out(shape: tuple[int, ...], t: Floats) -> Seconds:
    return np.float64(t[0]) if shape == () else t.reshape(shape)


def series_s(series: Series, x: ArrayLike, floor_s: float) -> Seconds:
    """A measured series at `x`: log-log between points, below the first its time, above the last that
    time × x / its x (a roofline linear in x at the last measured efficiency: an all-reduce's bytes); at
    least `floor_s`.

    Example:
        >>> s = monotone_series({1024: 1e-5, 4096: 2e-5})
        >>> [round(float(series_s(s, b, 1e-6)) * 1e6, 3) for b in (512, 2048, 8192)]
        [10.0, 14.142, 40.0]
    """
    log_x, log_s = series
    shape, v = _flat(x)
    lv = np.log(np.maximum(v, 1.0))
    t = np.exp(np.interp(lv, log_x, log_s)) * np.exp(np.maximum(lv - log_x[-1], 0.0))
    return _out(shape, np.maximum(t, floor_s))


def moe_roofline_s(tokens: ArrayLike, key: FusedShape, peaks: PeakSet) -> Floats:
    """Seconds at the roofline of one rank's routed experts when `tokens` tokens enter its EP group routed
    evenly (`key`: the layer's shape, (dtype, hidden, inter, topk, experts, tp, ep)): r = tokens·topk/ep rows,
    each through `MOE_MATRICES` matrices of hidden × inter/tp
    (2·r·3·hidden·inter/tp flops), reading the weights of min(experts/ep, r) experts (every rank's experts
    once each has a row) and the rows in and out in bf16 (2·r·hidden·2 bytes).

    Example:
        >>> p = PeakSet(bf16=1e15, fp8=2e15, hbm=4e12)
        >>> float(moe_roofline_s(16, ("fp8", 1024, 512, 2, 8, 1, 2), p)) * 1e6     # 4 experts × 1.5 MiB: HBM-bound
        1.589248
    """
    dtype, hidden, inter, topk, experts, tp, ep = key
    _, peak, eb, _ = peaks.matmul(dtype_name(dtype))
    rows = np.asarray(tokens, dtype=np.float64) * topk / ep
    per_expert = MOE_MATRICES * hidden * inter / tp
    flops = 2.0 * rows * per_expert
    nbytes = eb * np.minimum(experts / ep, rows) * per_expert + 2.0 * rows * hidden * 2.0
    return roofline_s(flops, nbytes, peak, peaks.hbm)


def fused_moe_s(series: Series, tokens: ArrayLike, key: tuple[str, int, int, int, int, int, int], peaks: PeakSet,
                floor_s: float) -> Seconds:
    """A measured MoE series (the layer of shape `key` = (dtype, hidden, inter, topk, experts, tp, ep)) at
    `tokens` entering the EP group: log-log between measured counts, below the least its time (a launch
    takes no less), above the largest T its time t_T times the roofline's growth, roof(tokens) / roof(T):
    the roofline at the last measured efficiency roof(T) / t_T, never a line through the last point.
    Non-decreasing in the tokens (the roofline is), so also its own lower bound; at least `floor_s`.

    Example:
        >>> p = PeakSet(bf16=1e15, fp8=2e15, hbm=4e12)
        >>> s = monotone_series({64: 1e-4, 256: 2e-4})
        >>> key = ("fp8", 1024, 512, 2, 8, 1, 2)
        >>> t = float(fused_moe_s(s, 1024, key, p, 1e-6))
        >>> roof = moe_roofline_s(np.array([256.0, 1024.0]), key, p)
        >>> round(t / 2e-4, 6) == round(float(roof[1] / roof[0]), 6), t < 2e-4 * 1024 / 256
        (True, True)
    """
    log_x, log_s = series
    shape, v = _flat(tokens)
    lv = np.log(np.maximum(v, 1.0))
    t = np.exp(np.interp(lv, log_x, log_s))
    last = float(np.exp(log_x[-1]))
    over = v > last
    if over.any():
        roof = moe_roofline_s(np.append(v[over], last), key, peaks)
        t[over] = np.exp(log_s[-1]) * roof[:-1] / roof[-1]
    return _out(shape, np.maximum(t, floor_s))


def wide_ep(ep: int, etp: int, adp: int) -> bool:
    """Whether a deployment's experts run behind DeepEP's all-to-all: an EP group of at least
    `WIDE_EP_MIN_RANKS` ranks with whole experts (`etp` 1) across attention-DP ranks (`adp` > 1).

    Example:
        >>> wide_ep(8, 1, 8), wide_ep(8, 1, 1), wide_ep(4, 1, 4)
        (True, False, False)
    """
    return ep >= WIDE_EP_MIN_RANKS and etp == 1 and adp > 1


def moe_a2a(ep: int, etp: int, adp: int) -> int:
    """`A2A_DEEPEP` for a wide EP group (`wide_ep`), else `A2A_FUSED`.

    Example:
        >>> moe_a2a(16, 1, 16), moe_a2a(8, 1, 1)
        (2, 1)
    """
    return A2A_DEEPEP if wide_ep(ep, etp, adp) else A2A_FUSED


def moe_kernel(measured: Collection[str], wide: bool, tokens: float, ep: int) -> str | None:
    """Which measured MoE kernel prices a step of `tokens` tokens entering an EP group of `ep` ranks:
    over a wide EP group (`wide_ep`) the DeepEP kernels, low-latency while a rank dispatches at most
    `DEEPEP_LL_MAX_TOKENS_PER_RANK` tokens, normal above (either when only one was measured), else the
    engine's fused kernel; None when the one it needs was not measured.

    Example:
        >>> both = ("fused", "deepep_ll", "deepep_normal")
        >>> moe_kernel(both, True, 64 * 8, 8), moe_kernel(both, True, 4096 * 8, 8), moe_kernel(both, False, 64, 8)
        ('deepep_ll', 'deepep_normal', 'fused')
        >>> moe_kernel(("fused",), True, 64, 8), moe_kernel(("deepep_ll",), False, 64, 8)
        ('fused', None)
    """
    deepep = [k for k in MOE_KERNELS[1:] if k in measured]
    if wide and deepep:
        want = "deepep_ll" if tokens / ep <= DEEPEP_LL_MAX_TOKENS_PER_RANK else "deepep_normal"
        return want if want in deepep else deepep[0]
    return FUSED if FUSED in measured else None


def all_reduce_series(rows: Iterable[AllReduceRow]) -> dict[int, Series]:
    """A profile's all-reduce rows by GPU count, each as its monotone envelope."""
    by: dict[int, dict[float, float]] = {}
    for r in rows:
        by.setdefault(r.gpus, {})[r.bytes] = r.seconds
    return {gpus: monotone_series(points) for gpus, points in by.items()}


FusedShape = tuple[str, int, int, int, int, int, int]   # (dtype, hidden, inter, topk, experts, tp, ep)


@dataclass(frozen=True, slots=True)
class Floors:
    """The least a kernel takes: `kernel_s` inside a CUDA graph, `eager_s` launched outside one (host-bound;
    None: the same)."""

    kernel_s: float
    eager_s: float | None = None


@dataclass(frozen=True, slots=True)
class Measured:
    """A profile's measured kernels: its tables by name, its engine's MoE layers (shape key → kernel → series;
    None: none) and its all-reduces (GPUs → series of bytes; None: none)."""

    tables: Mapping[str, Table]
    fused: Mapping[FusedShape, Mapping[str, Series]] | None = None
    all_reduce: Mapping[int, Series] | None = None


def fused_key(shape: FusedMoe) -> FusedShape:
    """A fused MoE layer's shape as a profile keys its series: the dtype by its name."""
    return (dtype_name(shape.dtype), shape.hidden, shape.inter, shape.topk, shape.experts, shape.tp, shape.ep)


def fused_series(rows: Iterable[FusedMoeRow]) -> dict[FusedShape, dict[str, Series]]:
    """The MoE rows by shape and kernel, each series sorted by tokens (the last of equal counts kept), as its
    monotone envelope (`monotone_series`)."""
    by: dict[FusedShape, dict[str, dict[float, float]]] = {}
    for r in rows:
        key = (r.dtype, r.hidden, r.inter, r.topk, r.experts, r.tp, r.ep)
        by.setdefault(key, {}).setdefault(r.kernel, {})[r.tokens] = r.seconds
    return {key: {k: monotone_series(points) for k, points in kernels.items()} for key, kernels in by.items()}
