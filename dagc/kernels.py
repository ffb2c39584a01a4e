"""Measured kernel profiles: the time of a GPU kernel at a shape (SPEC 6.4).

Input: a kernel profile (a built-in one from `dagc/data/kernels/`, or a JSON file in the same
format, see docs/kernels.md) and op shapes as floats or numpy arrays. Output: seconds (float64,
the shape of the broadcast inputs).

Method. Each measured point gives an efficiency `roofline / seconds`, where the roofline is
`max(flops / peak, bytes / hbm)` with the profile's datasheet peaks. The log efficiency is
interpolated piecewise-linearly in the log of the token coordinate (M, tokens per expert,
sequence, context, bytes; for decode attention also the batch), per measured shape; the
shapes nearest the query in log space (the two nearest, inverse-square-distance weighted; an
exact match alone) are blended. The time is `roofline(query) / efficiency`, never below the
profile's per-kernel floor. Outside the measured range the efficiency of the nearest measured
point is kept (clamped), so the time follows the roofline there.

Monotone in tokens. Measured series are not always monotone (a kernel for more rows may pick a
faster tile). A kernel for fewer tokens can always run the larger one padded, so the profile's
series is first replaced by its monotone envelope (each point takes the least time measured at
that point or any larger one in every token coordinate); the interpolation is exact at every
point of the envelope. Between points, the time is also raised to the largest time at the
smaller breakpoints of the query's own curve: inside a segment the log time is convex in the
log tokens (roofline convex, efficiency linear), so this keeps it non-decreasing everywhere.

Caveats: efficiencies are those of the PyTorch kernels measured (cuBLAS, CUTLASS grouped GEMM,
flash attention); production engines fuse more. `for_gpu` applies one GPU's efficiencies to
another GPU's peaks, which is an assumption, not a measurement.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import math
import os
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field as PydField, ValidationError

from .diagnostics import Diagnostic, PlanError, Severity, quote
from .plan import DType, Gpu, KernelTimes
from .source import Span

__all__ = ["BUILTIN_PROFILES", "FORMAT", "KERNELS_CODE", "MAX_PROFILE_BYTES", "MEMORY_OPS", "VERSION",
           "KernelProfile", "MemoryOp", "Provenance", "builtin_profile", "for_gpu", "load_profile_file",
           "nearest_profile", "parse_profile", "profile_names"]

FORMAT = "dagc-kernel-profile"
VERSION = 1
KERNELS_CODE = "E105"              # a kernel profile file that cannot be read or is not a valid profile
MAX_PROFILE_BYTES = 16 * 2**20     # the built-in profiles are ~80 KB
_NEIGHBOURS = 2                    # measured shapes blended for a shape that was not measured
_MEMO_MAX = 1 << 16                # answers a profile remembers (the search asks the same shapes again and again)
_MEMO_MAX_ELEMENTS = 4096          # larger array arguments are computed afresh


class MemoryOp(enum.Enum):
    """The memory-bound glue of an MoE layer, and a plain copy."""

    RMS_NORM = "rms_norm"
    SILU_MUL = "silu_mul"
    ROUTER_TOPK = "router_topk"
    PERMUTE = "permute"
    UNPERMUTE = "unpermute"
    COPY = "copy"


MEMORY_OPS = tuple(op.value for op in MemoryOp)


# ---------------------------------------------------------------- the file format (docs/kernels.md)

_Pos = Annotated[float, PydField(gt=0, allow_inf_nan=False)]
_NonNeg = Annotated[float, PydField(ge=0, allow_inf_nan=False)]
_Dim = Annotated[int, PydField(ge=1, le=2**40)]
_Text = Annotated[str, PydField(max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class _Row(_Strict):
    seconds: _Pos
    flops: _NonNeg = 0.0
    bytes: _NonNeg = 0.0


class _GemmRow(_Row):
    dtype: Literal["bf16", "fp8"]
    M: _Dim
    N: _Dim
    K: _Dim


class _GroupedRow(_Row):
    dtype: Literal["bf16", "fp8"]
    E: _Dim
    tokens_per_expert: _Pos
    K: _Dim
    N: _Dim


class _PrefillRow(_Row):
    B: _Dim
    S: _Dim
    H: _Dim
    Hkv: _Dim
    D: _Dim


class _DecodeRow(_Row):
    B: _Dim
    ctx: _Dim
    H: _Dim
    Hkv: _Dim
    D: _Dim


class _MlaRow(_Row):
    B: _Dim
    ctx: _Dim
    heads: _Dim
    kv_lora: _Dim = 512
    rope: Annotated[int, PydField(ge=0, le=2**20)] = 64


class _MemoryRow(_Strict):
    op: Literal["rms_norm", "silu_mul", "router_topk", "permute", "unpermute", "copy"]
    bytes: _Pos
    seconds: _Pos


class _Tables(_Strict):
    gemm: list[_GemmRow] = PydField(min_length=1)
    grouped_gemm: list[_GroupedRow] = PydField(min_length=1)
    attn_prefill: list[_PrefillRow] = PydField(min_length=1)
    attn_decode: list[_DecodeRow] = PydField(min_length=1)
    memory: list[_MemoryRow] = PydField(min_length=1)
    mla_decode: list[_MlaRow] | None = None


class Provenance(_Strict):
    """Where a profile's numbers come from."""

    gpu: _Text
    software: _Text
    date: _Text
    method: _Text
    source: _Text
    timing: dict[str, _Text] = {}


class _Peaks(_Strict):
    bf16_flops_per_s: _Pos
    fp8_flops_per_s: _Pos | None = None
    hbm_bytes_per_s: _Pos


class _Floor(_Strict):
    kernel_s: _Pos
    tiny_kernel_s: _Pos | None = None
    eager_kernel_s: _Pos | None = None     # one launch outside a CUDA graph (host-bound): eager prefill
    method: _Text = ""


class _File(_Strict):
    format: Literal["dagc-kernel-profile"]
    version: Literal[1]
    name: Annotated[str, PydField(min_length=1, max_length=64)]
    provenance: Provenance
    peaks: _Peaks
    floor: _Floor
    tables: _Tables


# ---------------------------------------------------------------- rooflines (the same formulas for rows and queries)

_ELEM_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}


def _dtype(dtype: Any) -> str:
    name = str(getattr(dtype, "value", dtype))
    if name not in _ELEM_BYTES:
        raise ValueError(f"unknown dtype {name!r}; one of {', '.join(_ELEM_BYTES)}")
    return name


@dataclass(frozen=True)
class _PeakSet:
    bf16: float
    fp8: float | None
    hbm: float

    def matmul(self, dtype: str) -> tuple[str, float, float, float]:
        """(table dtype, peak FLOP/s, input bytes per element, output bytes per element)."""
        eb = _ELEM_BYTES[dtype]
        if eb <= 1.0:
            return ("fp8", self.fp8, eb, 2.0) if self.fp8 else ("bf16", self.bf16, eb, 2.0)
        if dtype == "fp32":
            return "bf16", self.bf16 / 2, 4.0, 4.0
        return "bf16", self.bf16, 2.0, 2.0


def _roof(flops: Any, nbytes: Any, peak: float, hbm: float) -> np.ndarray:
    return np.maximum(np.asarray(flops, dtype=np.float64) / peak, np.asarray(nbytes, dtype=np.float64) / hbm)


# ---------------------------------------------------------------- interpolation tables


@dataclass(frozen=True, eq=False)
class _Series:
    """One measured shape: log efficiency over (outer, inner) token coordinates, as rows of the outer one."""

    outer: np.ndarray                                 # log outer token values, sorted (one 0.0 when there is none)
    rows: tuple[tuple[np.ndarray, np.ndarray], ...]   # per outer value: (log inner sorted, log efficiency)

    def log_eff(self, lo: np.ndarray, li: np.ndarray) -> np.ndarray:
        if len(self.rows) == 1:
            return np.interp(li, *self.rows[0])
        vals = np.stack([np.interp(li, xs, ys) for xs, ys in self.rows])
        j = np.clip(np.searchsorted(self.outer, lo, side="right") - 1, 0, len(self.outer) - 2)
        lam = np.clip((lo - self.outer[j]) / (self.outer[j + 1] - self.outer[j]), 0.0, 1.0)
        lower = np.take_along_axis(vals, j[None], 0)[0]
        upper = np.take_along_axis(vals, (j + 1)[None], 0)[0]
        return lower * (1.0 - lam) + upper * lam


@dataclass(frozen=True, eq=False)
class _Table:
    shapes: np.ndarray           # (S, d) log shape coordinates of the series
    series: tuple[_Series, ...]
    outer_breaks: np.ndarray     # raw token values where some series' efficiency bends
    inner_breaks: np.ndarray


def _table(points: Sequence[tuple[tuple[float, ...], float, float, float, float]]) -> _Table:
    """Build a table from (shape, outer, inner, seconds, roofline_s) points: envelope, then log efficiency."""
    by_shape: dict[tuple[float, ...], list[tuple[float, float, float, float]]] = {}
    for shape, o, i, s, r in points:
        by_shape.setdefault(shape, []).append((o, i, s, r))
    shapes, series = [], []
    for shape in sorted(by_shape):
        pts = np.array(by_shape[shape], dtype=np.float64)
        o, i, s, r = pts.T
        dominated = (o[None, :] >= o[:, None]) & (i[None, :] >= i[:, None])   # [p, q]: q is at least p everywhere
        env = np.where(dominated, s[None, :], np.inf).min(axis=1)
        rows = []
        for ov in np.unique(o):
            sel = o == ov
            iv, first = np.unique(i[sel], return_index=True)
            rows.append((np.log(iv), np.log(r[sel][first] / env[sel][first])))
        shapes.append(np.log(np.array(shape, dtype=np.float64)))
        series.append(_Series(np.log(np.maximum(np.unique(o), 1e-300)), tuple(rows)))
    pts_all = np.array([(p[1], p[2]) for p in points], dtype=np.float64)
    outer = np.unique(pts_all[:, 0])
    return _Table(np.array(shapes).reshape(len(shapes), -1), tuple(series),
                  outer if len(outer) > 1 else np.empty(0), np.unique(pts_all[:, 1]))


def _weights(table: _Table, shape: np.ndarray) -> np.ndarray:
    """(Q, S) blend weights: an exact shape alone, else the nearest ones by inverse squared log distance."""
    if len(shape) > 1 and bool((shape == shape[0]).all()):     # the usual query: one shape, many token counts
        return np.broadcast_to(_weights(table, shape[:1]), (len(shape), len(table.series)))
    d2 = ((shape[:, None, :] - table.shapes[None, :, :]) ** 2).sum(axis=-1)
    k = min(_NEIGHBOURS, d2.shape[1])
    idx = np.argsort(d2, axis=1, kind="stable")[:, :k]
    near = np.take_along_axis(d2, idx, axis=1)
    exact = near[:, 0] <= 1e-18
    w = 1.0 / np.maximum(near, 1e-300)
    w[exact] = 0.0
    w[exact, 0] = 1.0
    w /= w.sum(axis=1, keepdims=True)
    out = np.zeros_like(d2)
    np.put_along_axis(out, idx, w, axis=1)
    return out


Roofline = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _evaluate(table: _Table, shape: np.ndarray, outer: np.ndarray, inner: np.ndarray, roof: Roofline,
              floor_s: float) -> np.ndarray:
    """Seconds for Q queries: shape (Q, d) in log space, raw outer/inner tokens (Q,); `roof(O, I)` gives
    the roofline at token arrays of shape (Q, A, B) broadcast from (Q, A, 1) and (Q, 1, B)."""
    w = _weights(table, shape)
    cand_o = np.concatenate([outer[:, None], np.minimum(table.outer_breaks[None, :], outer[:, None])], axis=1)
    cand_i = np.concatenate([inner[:, None], np.minimum(table.inner_breaks[None, :], inner[:, None])], axis=1)
    big_o, big_i = np.broadcast_arrays(cand_o[:, :, None], cand_i[:, None, :])
    with np.errstate(divide="ignore"):
        lo, li = np.log(np.maximum(big_o, 1e-300)), np.log(np.maximum(big_i, 1e-300))
    log_eff = np.zeros(big_o.shape)
    for s in np.flatnonzero(w.any(axis=0)):
        log_eff += w[:, s, None, None] * table.series[s].log_eff(lo, li)
    t = roof(big_o, big_i) / np.exp(log_eff)
    return np.maximum(t.max(axis=(1, 2)), floor_s)


# ---------------------------------------------------------------- the profile


def _flat(*xs: Any) -> tuple[tuple[int, ...], list[np.ndarray]]:
    arrays = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in xs))
    return arrays[0].shape, [a.reshape(-1) for a in arrays]


def _key(arg: Any) -> Any:
    if isinstance(arg, np.ndarray):
        if arg.size > _MEMO_MAX_ELEMENTS:
            raise TypeError("too large to remember")
        return arg.dtype.str, arg.shape, arg.tobytes()
    if isinstance(arg, enum.Enum):
        return arg.value
    if isinstance(arg, (int, float, str, np.generic)):
        return arg
    raise TypeError("not remembered")


def _memoised(method: Callable[..., Any]) -> Callable[..., Any]:
    """Remember a time function's answers per profile: the cost model asks for the same shapes
    for every candidate strategy. Arrays are returned as copies, so callers may change them."""
    @functools.wraps(method)
    def wrapper(self: KernelProfile, *args: Any, **kw: Any) -> Any:
        try:
            key = (method.__name__, *map(_key, args), *((k, _key(v)) for k, v in sorted(kw.items())))
        except TypeError:
            return method(self, *args, **kw)
        memo = self._memo
        hit = memo.get(key)
        if hit is None:
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            hit = memo[key] = method(self, *args, **kw)
        return hit.copy() if isinstance(hit, np.ndarray) else hit
    return wrapper


def _logs(coords: np.ndarray) -> np.ndarray:
    """Shape coordinates in log space; a zero dimension (no work) is placed at 1."""
    return np.log(np.maximum(np.nan_to_num(coords, nan=1.0), 1.0))


def _out(shape: tuple[int, ...], t: np.ndarray) -> Any:
    return np.float64(t[0]) if shape == () else t.reshape(shape)


class KernelProfile(KernelTimes):
    """Measured kernel times of one GPU, as time functions of op shapes (immutable).

    Example:
        >>> p = builtin_profile("h100-sxm")
        >>> p.name, p.floor_s > 0
        ('h100-sxm', True)
        >>> float(p.gemm_s(4096, 4096, 4096, "bf16")) > 2 * 4096**3 / 989e12
        True
    """

    __slots__ = ("name", "provenance", "floor_s", "eager_floor_s", "bf16_flops_per_s", "fp8_flops_per_s",
                 "hbm_bytes_per_s", "_tables", "_digest", "_memo")

    name: str
    provenance: Provenance
    floor_s: float
    eager_floor_s: float
    bf16_flops_per_s: float
    fp8_flops_per_s: float | None
    hbm_bytes_per_s: float
    _tables: Mapping[str, _Table]
    _digest: str
    _memo: dict[tuple, Any]

    def __init__(self, name: str, provenance: Provenance, floor_s: float, peaks: _PeakSet,
                 tables: Mapping[str, _Table], digest: str, eager_floor_s: float | None = None) -> None:
        eager = float(eager_floor_s) if eager_floor_s is not None else float(floor_s)
        for key, value in (("name", name), ("provenance", provenance), ("floor_s", float(floor_s)),
                           ("eager_floor_s", max(eager, float(floor_s))),
                           ("bf16_flops_per_s", peaks.bf16), ("fp8_flops_per_s", peaks.fp8),
                           ("hbm_bytes_per_s", peaks.hbm), ("_tables", dict(tables)), ("_digest", digest),
                           ("_memo", {})):
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"KernelProfile is immutable: cannot set {key}")

    def __reduce__(self) -> tuple:
        return (KernelProfile, (self.name, self.provenance, self.floor_s, self._peaks, self._tables, self._digest,
                                self.eager_floor_s))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KernelProfile) and other._digest == self._digest

    def __hash__(self) -> int:
        return hash(self._digest)

    def __repr__(self) -> str:
        return f"KernelProfile({self.name!r})"

    @property
    def _peaks(self) -> _PeakSet:
        return _PeakSet(self.bf16_flops_per_s, self.fp8_flops_per_s, self.hbm_bytes_per_s)

    def has_table(self, name: str) -> bool:
        """Whether the profile has measured points for an op class (`mla_decode` is optional)."""
        return name in self._tables

    @_memoised
    def gemm_s(self, m: Any, n: Any, k: Any, dtype: DType | str = DType.BF16) -> Any:
        """Seconds of `x[m, k] @ w[n, k]^T` with `dtype` inputs (bf16 out; fp32 in and out)."""
        table_dtype, peak, eb, ob = self._peaks.matmul(_dtype(dtype))
        shape, (m, n, k) = _flat(m, n, k)
        table = self._tables[f"gemm.{table_dtype}"]
        n3, k3 = n[:, None, None], k[:, None, None]
        hbm = self.hbm_bytes_per_s

        def roof(_o: np.ndarray, mm: np.ndarray) -> np.ndarray:
            return _roof(2.0 * mm * n3 * k3, eb * (mm * k3 + n3 * k3) + ob * mm * n3, peak, hbm)
        return _out(shape, _evaluate(table, _logs(np.stack([n, k], axis=1)), np.zeros_like(m), m, roof, self.floor_s))

    @_memoised
    def grouped_gemm_s(self, experts: Any, tokens_per_expert: Any, k: Any, n: Any,
                       dtype: DType | str = DType.BF16) -> Any:
        """Seconds of one grouped expert GEMM: `experts` experts that received tokens, each `[t, k] @ [k, n]`
        with `tokens_per_expert` rows (a mean may be fractional). With few tokens it streams the
        experts·k·n weights: memory-bound."""
        table_dtype, peak, eb, ob = self._peaks.matmul(_dtype(dtype))
        shape, (e, t, k, n) = _flat(experts, tokens_per_expert, k, n)
        key = f"grouped_gemm.{table_dtype}"
        table = self._tables[key if key in self._tables else "grouped_gemm.bf16"]
        e3, k3, n3 = e[:, None, None], k[:, None, None], n[:, None, None]
        hbm = self.hbm_bytes_per_s

        def roof(_o: np.ndarray, tt: np.ndarray) -> np.ndarray:
            return _roof(2.0 * e3 * tt * k3 * n3, eb * (e3 * k3 * n3 + e3 * tt * k3) + ob * e3 * tt * n3, peak, hbm)
        return _out(shape, _evaluate(table, _logs(np.stack([e, k, n], axis=1)), np.zeros_like(t), t, roof,
                                     self.floor_s))

    @_memoised
    def attn_prefill_s(self, batch: Any, seq: Any, heads: Any, kv_heads: Any, head_dim: Any) -> Any:
        """Seconds of causal flash attention over `batch` sequences of `seq` tokens (bf16)."""
        shape, (b, s, h, hkv, d) = _flat(batch, seq, heads, kv_heads, head_dim)
        b3, h3, hkv3, d3 = (x[:, None, None] for x in (b, h, hkv, d))
        peak, hbm = self.bf16_flops_per_s, self.hbm_bytes_per_s

        def roof(_o: np.ndarray, ss: np.ndarray) -> np.ndarray:
            return _roof(2.0 * b3 * ss * ss * h3 * d3, 2.0 * b3 * ss * (2 * h3 + 2 * hkv3) * d3, peak, hbm)
        return _out(shape, _evaluate(self._tables["attn_prefill"], _logs(np.stack([h, hkv, d], axis=1)),
                                     np.zeros_like(s), s, roof, self.floor_s))

    @_memoised
    def attn_decode_s(self, batch: Any, ctx: Any, heads: Any, kv_heads: Any, head_dim: Any) -> Any:
        """Seconds of one decode step's attention: one query token per request against `ctx` cached
        tokens (bf16 K and V read once)."""
        shape, (b, c, h, hkv, d) = _flat(batch, ctx, heads, kv_heads, head_dim)
        h3, hkv3, d3 = (x[:, None, None] for x in (h, hkv, d))
        peak, hbm = self.bf16_flops_per_s, self.hbm_bytes_per_s

        def roof(bb: np.ndarray, cc: np.ndarray) -> np.ndarray:
            return _roof(4.0 * bb * cc * h3 * d3, 4.0 * bb * cc * hkv3 * d3, peak, hbm)
        return _out(shape, _evaluate(self._tables["attn_decode"], _logs(np.stack([h, hkv, d], axis=1)), b, c, roof,
                                     self.floor_s))

    @_memoised
    def mla_decode_s(self, batch: Any, ctx: Any, heads: Any, kv_lora: Any = 512, rope: Any = 64) -> Any:
        """Seconds of absorbed MLA decode attention over a latent cache of `kv_lora + rope` per token.

        Without an `mla_decode` table, the decode-attention efficiencies are used with the MLA roofline
        (shape: `heads` heads, one KV head of `kv_lora + rope`)."""
        shape, (b, c, h, lat, rp) = _flat(batch, ctx, heads, kv_lora, rope)
        h3, lat3, rp3 = (x[:, None, None] for x in (h, lat, rp))
        peak, hbm = self.bf16_flops_per_s, self.hbm_bytes_per_s

        def roof(bb: np.ndarray, cc: np.ndarray) -> np.ndarray:
            return _roof(2.0 * bb * h3 * cc * (2 * lat3 + rp3), 2.0 * bb * cc * (lat3 + rp3), peak, hbm)
        if "mla_decode" in self._tables:
            coords = _logs(h[:, None])
            return _out(shape, _evaluate(self._tables["mla_decode"], coords, b, c, roof, self.floor_s))
        coords = _logs(np.stack([h, np.ones_like(h), lat + rp], axis=1))
        return _out(shape, _evaluate(self._tables["attn_decode"], coords, b, c, roof, self.floor_s))

    @_memoised
    def memory_s(self, nbytes: Any, op: MemoryOp | str = "copy") -> Any:
        """Seconds of a memory-bound op moving `nbytes` (each input read once, each output written once)."""
        name = MemoryOp(op).value
        key = f"memory.{name}" if f"memory.{name}" in self._tables else "memory.copy"
        if key not in self._tables:
            key = min(k for k in self._tables if k.startswith("memory."))
        shape, (nb,) = _flat(nbytes)
        hbm = self.hbm_bytes_per_s

        def roof(_o: np.ndarray, bb: np.ndarray) -> np.ndarray:
            return bb / hbm
        return _out(shape, _evaluate(self._tables[key], np.zeros((len(nb), 0)), np.zeros_like(nb), nb, roof,
                                     self.floor_s))


def _build(f: _File, digest: str) -> KernelProfile:
    peaks = _PeakSet(f.peaks.bf16_flops_per_s, f.peaks.fp8_flops_per_s, f.peaks.hbm_bytes_per_s)
    t = f.tables
    tables: dict[str, _Table] = {}
    for dt in ("bf16", "fp8"):
        rows = [r for r in t.gemm if r.dtype == dt]
        if rows:
            _, peak, eb, ob = _PeakSet(peaks.bf16, peaks.fp8 or peaks.bf16, peaks.hbm).matmul(dt)
            tables[f"gemm.{dt}"] = _table([((r.N, r.K), 0.0, r.M, r.seconds, float(_roof(
                2.0 * r.M * r.N * r.K, eb * (r.M * r.K + r.N * r.K) + ob * r.M * r.N, peak, peaks.hbm))) for r in rows])
        grouped = [r for r in t.grouped_gemm if r.dtype == dt]
        if grouped:
            _, peak, eb, ob = _PeakSet(peaks.bf16, peaks.fp8 or peaks.bf16, peaks.hbm).matmul(dt)
            tables[f"grouped_gemm.{dt}"] = _table([((r.E, r.K, r.N), 0.0, r.tokens_per_expert, r.seconds, float(_roof(
                2.0 * r.E * r.tokens_per_expert * r.K * r.N,
                eb * (r.E * r.K * r.N + r.E * r.tokens_per_expert * r.K) + ob * r.E * r.tokens_per_expert * r.N,
                peak, peaks.hbm))) for r in grouped])
    if "gemm.bf16" not in tables:       # fp8-only measurements still answer bf16 queries
        tables["gemm.bf16"] = tables["gemm.fp8"]
    if "grouped_gemm.bf16" not in tables:
        tables["grouped_gemm.bf16"] = tables["grouped_gemm.fp8"]
    tables["attn_prefill"] = _table([((r.H, r.Hkv, r.D), 0.0, r.S, r.seconds, float(_roof(
        2.0 * r.B * r.S**2 * r.H * r.D, 2.0 * r.B * r.S * (2 * r.H + 2 * r.Hkv) * r.D, peaks.bf16, peaks.hbm)))
        for r in t.attn_prefill])
    tables["attn_decode"] = _table([((r.H, r.Hkv, r.D), r.B, r.ctx, r.seconds, float(_roof(
        4.0 * r.B * r.ctx * r.H * r.D, 4.0 * r.B * r.ctx * r.Hkv * r.D, peaks.bf16, peaks.hbm)))
        for r in t.attn_decode])
    if t.mla_decode:
        tables["mla_decode"] = _table([((r.heads,), r.B, r.ctx, r.seconds, float(_roof(
            2.0 * r.B * r.heads * r.ctx * (2 * r.kv_lora + r.rope), 2.0 * r.B * r.ctx * (r.kv_lora + r.rope),
            peaks.bf16, peaks.hbm))) for r in t.mla_decode])
    for op in MEMORY_OPS:
        rows_m = [r for r in t.memory if r.op == op]
        if rows_m:
            tables[f"memory.{op}"] = _table([((), 0.0, r.bytes, r.seconds, r.bytes / peaks.hbm) for r in rows_m])
    return KernelProfile(f.name, f.provenance, f.floor.kernel_s, peaks, tables, digest, f.floor.eager_kernel_s)


def for_gpu(profile: KernelProfile, gpu: Gpu) -> KernelProfile:
    """`profile`'s efficiencies applied to `gpu`'s own peaks: time = the GPU's roofline / the
    interpolated efficiency, with the same per-kernel floor. The same profile when the peaks agree.

    Example:
        >>> from dagc.presets import GPU_PRESETS
        >>> h100 = builtin_profile("h100-sxm")
        >>> for_gpu(h100, GPU_PRESETS["h100-sxm"]) is h100, for_gpu(h100, GPU_PRESETS["a100-80g"]).name
        (True, 'h100-sxm@a100-80g')
    """
    peaks = _PeakSet(float(gpu.flops_16bit), float(gpu.flops_8bit) if gpu.flops_8bit else None,
                     float(gpu.hbm_bytes_per_s))
    mine = profile._peaks
    same = (math.isclose(peaks.bf16, mine.bf16, rel_tol=1e-9) and math.isclose(peaks.hbm, mine.hbm, rel_tol=1e-9)
            and (peaks.fp8 is None) == (mine.fp8 is None)
            and (peaks.fp8 is None or mine.fp8 is None or math.isclose(peaks.fp8, mine.fp8, rel_tol=1e-9)))
    if same:
        return profile
    digest = hashlib.sha256(f"{profile._digest}|{peaks}".encode()).hexdigest()
    return KernelProfile(f"{profile.name}@{gpu.name}", profile.provenance, profile.floor_s, peaks, profile._tables,
                         digest, profile.eager_floor_s)


# ---------------------------------------------------------------- loading


def _fail(message: str, at: Span | None, hint: str | None = None) -> PlanError:
    return PlanError([Diagnostic(KERNELS_CODE, Severity.ERROR, message, at, hint)])


_HINT = "a kernel profile is the JSON bench/make_profiles.py writes (docs/kernels.md)"


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the top level"


def parse_profile(text: str, shown: str = "profile", at: Span | None = None) -> KernelProfile:
    """A profile from its JSON text; `shown` names it in messages, `at` locates them.

    Raises:
        PlanError: E105 when the text is not JSON or not a valid profile (never echoing its content).
    """
    shown = quote(shown)
    try:
        raw = json.loads(text)
    except RecursionError:
        raise _fail(f"kernel profile `{shown}` nests too deeply", at, _HINT) from None
    except ValueError as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "a number cannot be read"
        raise _fail(f"kernel profile `{shown}` is not valid JSON: {msg}", at, _HINT) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise _fail(f"`{shown}` is not a dagc kernel profile (its \"format\" is not \"{FORMAT}\")", at, _HINT)
    if raw.get("version") != VERSION:
        raise _fail(f"kernel profile `{shown}` has a version this dagc does not read (it reads version {VERSION})",
                    at, "convert the measurements again with this dagc's bench/make_profiles.py")
    try:
        f = _File.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise _fail(f"kernel profile `{shown}`: {_where(err['loc'])}: {err['msg']}{more}", at, _HINT) from None
    digest = hashlib.sha256(json.dumps(f.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    return _build(f, digest)


def load_profile_file(path: str | os.PathLike, at: Span | None = None) -> KernelProfile:
    """Read a kernel profile file: a regular file of at most `MAX_PROFILE_BYTES`, valid UTF-8 JSON.

    `at` is where the plan names it (`kernels from "…"`); every problem is reported there.

    Raises:
        PlanError: E105 for a missing, unreadable, special, oversized, broken or foreign file.
    """
    shown = quote(Path(path).name or os.fspath(path))
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise _fail(f"kernel profile `{shown}` is not a regular file", at, "give the path of a .json file")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise _fail(f"kernel profile `{shown}` is not a regular file", at, "give the path of a .json file")
            chunks, size = [], 0
            while size <= MAX_PROFILE_BYTES:
                chunk = os.read(fd, min(1 << 20, MAX_PROFILE_BYTES + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise _fail(f"kernel profile `{shown}` does not exist", at, "check the path (relative to the plan)") from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "invalid path"
        raise _fail(f"kernel profile `{shown}` cannot be read: {reason}", at) from None
    data = b"".join(chunks)
    if len(data) > MAX_PROFILE_BYTES:
        raise _fail(f"kernel profile `{shown}` is larger than {MAX_PROFILE_BYTES:,} bytes", at,
                    "is this the right file?")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(f"kernel profile `{shown}` is not UTF-8 text", at, _HINT) from None
    return parse_profile(text, Path(path).name, at)


@functools.cache
def profile_names() -> tuple[str, ...]:
    """The built-in profiles' names, sorted.

    Example:
        >>> profile_names()
        ('h100-sxm', 'h200')
    """
    folder = resources.files("dagc").joinpath("data", "kernels")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json")))


@functools.cache
def builtin_profile(name: str) -> KernelProfile:
    """A shipped profile, loaded on first use and cached.

    Raises:
        KeyError: `name` is not a built-in profile.
    """
    if name not in profile_names():
        raise KeyError(f"unknown kernel profile {name!r}; built-in: {', '.join(profile_names())}")
    text = resources.files("dagc").joinpath("data", "kernels", f"{name}.json").read_text(encoding="utf-8")
    return parse_profile(text, f"{name}.json")


class _Builtins(Mapping[str, KernelProfile]):
    """The shipped profiles by name, each loaded when first looked up."""

    def __getitem__(self, name: str) -> KernelProfile:
        return builtin_profile(name)

    def __iter__(self) -> Iterator[str]:
        return iter(profile_names())

    def __len__(self) -> int:
        return len(profile_names())

    def __contains__(self, name: object) -> bool:
        return name in profile_names()


BUILTIN_PROFILES: Mapping[str, KernelProfile] = _Builtins()


def nearest_profile(gpu: Gpu) -> KernelProfile:
    """The built-in profile for `gpu`: its own when there is one by name, else the profile whose
    datasheet HBM bandwidth is nearest in ratio (most MoE kernels are memory-bound).

    Example:
        >>> from dagc.presets import GPU_PRESETS
        >>> [nearest_profile(GPU_PRESETS[g]).name for g in ("h200", "h800", "b200", "mi300x")]
        ['h200', 'h100-sxm', 'h200', 'h200']
    """
    if gpu.name in profile_names():
        return builtin_profile(gpu.name)
    return min((builtin_profile(n) for n in profile_names()),
               key=lambda p: abs(math.log(p.hbm_bytes_per_s / float(gpu.hbm_bytes_per_s))))
