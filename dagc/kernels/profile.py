"""A measured kernel profile as time functions of op shapes (SPEC 6.4).

Input: a validated profile file (`dagc.kernels.format.ProfileFile`) and its digest, or a profile and
a GPU. Output: an immutable `KernelProfile` (`build_profile`; `for_gpu` for another GPU's peaks)
whose methods return seconds (float64, the shape of the broadcast inputs), each answer remembered per profile.
The interpolation is `dagc.kernels.tables`; the method is described in `dagc.kernels.kernels`.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Concatenate, ParamSpec

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

from ..plan.base import FrozenMap
from ..plan.cluster import FusedMoe, Gpu, KernelTimes, Seconds
from ..plan.model import DType
from .format import MEMORY_OPS, MemoryOp, ProfileFile, Provenance
from .series import (
    A2A_DEEPEP,
    A2A_FUSED,
    DEEPEP_LL_MAX_TOKENS_PER_RANK,
    FUSED,
    Floors,
    FusedShape,
    Measured,
    Series,
    all_reduce_series,
    fused_key,
    fused_moe_s,
    fused_series,
    moe_kernel,
    series_s,
)
from .tables import KV_BYTES, Floats, PeakSet, Table, by_cache, dtype_name, evaluate, make_table, past_batch, roofline_s

__all__ = ["KernelProfile", "build_profile", "for_gpu"]

P = ParamSpec("P")
TimeMethod = Callable[Concatenate["KernelProfile", P], Seconds]    # a profile's time function, of shapes
_MEMO_MAX = 1 << 16                # answers a profile remembers (the search asks the same shapes again and again)
_MEMO_MAX_ELEMENTS = 4096          # larger array arguments are computed afresh

def _flat(*xs: ArrayLike) -> tuple[tuple[int, ...], list[Floats]]:
    arrays: Sequence[Floats] = [np.asarray(x, dtype=np.float64) for x in xs]   # alike (the usual query): as they are
    arrays = arrays if all(a.shape == arrays[0].shape for a in arrays) else np.broadcast_arrays(*arrays)
    return arrays[0].shape, [a.reshape(-1) for a in arrays]


def _key(arg: object) -> Hashable:
    if isinstance(arg, np.ndarray):
        if arg.size > _MEMO_MAX_ELEMENTS:
            raise TypeError("too large to remember")
        return arg.dtype.str, arg.shape, arg.tobytes()
    if isinstance(arg, enum.Enum):
        value: Hashable = arg.value
        return value
    if isinstance(arg, (int, float, str, np.generic)):
        return arg
    raise TypeError("not remembered")


def _memoised(method: TimeMethod[P]) -> TimeMethod[P]:
    """Remember a time function's answers per profile: the cost model asks for the same shapes
    for every candidate strategy. Arrays are returned as copies, so callers may change them."""
    @functools.wraps(method)
    def wrapper(self: KernelProfile, /, *args: P.args, **kw: P.kwargs) -> Seconds:
        if kw.get("lower"):
            return method(self, *args, **kw)     # a roofline, no table interpolated: cheaper than its key
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


def _logs(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Shape coordinates in log space; a zero dimension (no work) is placed at 1."""
    finite = coords if np.isfinite(coords).all() else np.nan_to_num(coords, nan=1.0)   # all finite: as they are
    return np.log(np.maximum(finite, 1.0))


def _shape_logs(lower: bool, *coords: Floats) -> Floats:
    """`_logs` of the shape coordinates, one row per query (`np.stack(coords, axis=1)`'s array, made with less of
    numpy's overhead); an empty array for a `lower` query, whose roofline reads no measured shape."""
    return np.empty((0, 0)) if lower else _logs(np.array(coords, dtype=np.float64).T.copy())


def _out(shape: tuple[int, ...], t: Floats) -> Seconds:
    return np.float64(t[0]) if shape == () else t.reshape(shape)


class KernelProfile(KernelTimes):
    """Measured kernel times of one GPU, as time functions of op shapes (immutable).

    Example:
        >>> from dagc.kernels.kernels import builtin_profile
        >>> p = builtin_profile("h100-sxm")
        >>> p.name, p.floor_s > 0
        ('h100-sxm', True)
        >>> float(p.gemm_s(4096, 4096, 4096, "bf16")) > 2 * 4096**3 / 989e12
        True
    """

    __slots__ = ("name", "provenance", "floor_s", "eager_floor_s", "bf16_flops_per_s", "fp8_flops_per_s",
                 "fp4_flops_per_s", "hbm_bytes_per_s", "_tables", "_digest", "_memo", "_fused", "glue",
                 "_all_reduce")

    name: str
    provenance: Provenance
    floor_s: float
    eager_floor_s: float
    bf16_flops_per_s: float
    fp8_flops_per_s: float | None
    fp4_flops_per_s: float | None      # only a profile applied to a GPU with fp4 units has one (`for_gpu`)
    hbm_bytes_per_s: float
    _tables: Mapping[str, Table]
    _digest: str
    _memo: dict[tuple[object, ...], Seconds]
    _fused: Mapping[FusedShape, Mapping[str, Series]]  # MoE layer: shape key → kernel → (log tokens, log seconds)
    glue: Mapping[str, int]
    _all_reduce: Mapping[int, tuple[Floats, Floats]]  # gpus → (log bytes, log seconds)

    def __init__(self, name: str, provenance: Provenance, floors: Floors, peaks: PeakSet, measured: Measured,
                 digest: str, glue: Mapping[str, int] | None = None) -> None:
        floor_s = float(floors.kernel_s)
        eager = float(floors.eager_s) if floors.eager_s is not None else floor_s
        for key, value in (("name", name), ("provenance", provenance), ("floor_s", floor_s),
                           ("eager_floor_s", max(eager, floor_s)),
                           ("bf16_flops_per_s", peaks.bf16), ("fp8_flops_per_s", peaks.fp8),
                           ("fp4_flops_per_s", peaks.fp4),
                           ("hbm_bytes_per_s", peaks.hbm), ("_tables", dict(measured.tables)), ("_digest", digest),
                           ("_memo", {}), ("_fused", dict(measured.fused or {})), ("glue", FrozenMap(glue or {})),
                           ("_all_reduce", dict(measured.all_reduce or {}))):
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"KernelProfile is immutable: cannot set {key}")

    def __reduce__(self) -> tuple[object, ...]:
        return (KernelProfile, (self.name, self.provenance, Floors(self.floor_s, self.eager_floor_s), self._peaks,
                                Measured(self._tables, self._fused, self._all_reduce), self._digest, self.glue))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KernelProfile) and other._digest == self._digest

    def __hash__(self) -> int:
        return hash(self._digest)

    def __repr__(self) -> str:
        return f"KernelProfile({self.name!r})"

    @property
    def _peaks(self) -> PeakSet:
        return PeakSet(self.bf16_flops_per_s, self.fp8_flops_per_s, self.hbm_bytes_per_s, self.fp4_flops_per_s)

    def has_table(self, name: str) -> bool:
        """Whether the profile has measured points for an op class (`mla_decode` is optional)."""
        return name in self._tables

    @_memoised
    def gemm_s(self, m: ArrayLike, n: ArrayLike, k: ArrayLike, dtype: DType | str = DType.BF16, *,
               lower: bool = False) -> Seconds:
        """Seconds of `x[m, k] @ w[n, k]^T` with `dtype` inputs (bf16 out; fp32 in and out)."""
        table_dtype, peak, eb, ob = self._peaks.matmul(dtype_name(dtype))
        shape, (m, n, k) = _flat(m, n, k)
        table = self._tables[f"gemm.{table_dtype}"]
        n3, k3 = n[:, None, None], k[:, None, None]
        hbm = self.hbm_bytes_per_s

        def roof(_o: Floats, mm: Floats) -> Floats:
            return roofline_s(2.0 * mm * n3 * k3, eb * (mm * k3 + n3 * k3) + ob * mm * n3, peak, hbm)
        return _out(shape, evaluate(table, _shape_logs(lower, n, k), np.zeros_like(m), m, roof, self.floor_s,
                                     lower=lower))

    @_memoised
    def grouped_gemm_s(self, experts: ArrayLike, tokens_per_expert: ArrayLike, k: ArrayLike, n: ArrayLike,
                       dtype: DType | str = DType.BF16, *, lower: bool = False) -> Seconds:
        """Seconds of one grouped expert GEMM: `experts` experts that received tokens, each `[t, k] @ [k, n]`
        with `tokens_per_expert` rows (a mean may be fractional). With few tokens it streams the
        experts·k·n weights: memory-bound."""
        table_dtype, peak, eb, ob = self._peaks.matmul(dtype_name(dtype))
        shape, (e, t, k, n) = _flat(experts, tokens_per_expert, k, n)
        key = f"grouped_gemm.{table_dtype}"
        table = self._tables[key if key in self._tables else "grouped_gemm.bf16"]
        e3, k3, n3 = e[:, None, None], k[:, None, None], n[:, None, None]
        hbm = self.hbm_bytes_per_s

        def roof(_o: Floats, tt: Floats) -> Floats:
            return roofline_s(2.0 * e3 * tt * k3 * n3, eb * (e3 * k3 * n3 + e3 * tt * k3) + ob * e3 * tt * n3, peak,
                              hbm)
        return _out(shape, evaluate(table, _shape_logs(lower, e, k, n), np.zeros_like(t), t, roof,
                                     self.floor_s, lower=lower))

    @_memoised
    def attn_prefill_s(self, batch: ArrayLike, seq: ArrayLike, heads: ArrayLike, kv_heads: ArrayLike,
                       head_dim: ArrayLike, *, lower: bool = False) -> Seconds:
        """Seconds of causal flash attention over `batch` sequences of `seq` tokens (bf16)."""
        shape, (b, s, h, hkv, d) = _flat(batch, seq, heads, kv_heads, head_dim)
        b3, h3, hkv3, d3 = (x[:, None, None] for x in (b, h, hkv, d))
        peak, hbm = self.bf16_flops_per_s, self.hbm_bytes_per_s

        def roof(_o: Floats, ss: Floats) -> Floats:
            return roofline_s(2.0 * b3 * ss * ss * h3 * d3, 2.0 * b3 * ss * (2 * h3 + 2 * hkv3) * d3, peak, hbm)
        return _out(shape, evaluate(self._tables["attn_prefill"], _shape_logs(lower, h, hkv, d),
                                     np.zeros_like(s), s, roof, self.floor_s, lower=lower))

    @_memoised
    def attn_decode_s(self, batch: ArrayLike, ctx: ArrayLike, heads: ArrayLike, kv_heads: ArrayLike,
                      head_dim: ArrayLike, kv_bytes: ArrayLike = 2.0, *, lower: bool = False) -> Seconds:
        """Seconds of one decode step's attention: one query token per request against `ctx` cached
        tokens, K and V read once at `kv_bytes` an element (2: bf16, 1: an 8-bit cache). The kernel computes
        in bf16 whatever the cache holds: the flops are the full context's at the bf16 peak, the bytes the
        cache's; an 8-bit cache takes the efficiencies measured over an 8-bit cache where the profile has
        them (`kv` `fp8` rows), else the bf16 cache's."""
        shape, (b, c, h, hkv, d, kvb) = _flat(batch, ctx, heads, kv_heads, head_dim, kv_bytes)
        h3, hkv3, d3, kvb3 = (x[:, None, None] for x in (h, hkv, d, kvb))
        peak, hbm = self.bf16_flops_per_s, self.hbm_bytes_per_s

        def roof(bb: Floats, cc: Floats) -> Floats:
            return roofline_s(4.0 * bb * cc * h3 * d3, 2.0 * kvb3 * bb * cc * hkv3 * d3, peak, hbm)
        t = self._by_kv("attn_decode", kvb, lambda table: evaluate(
            table, _shape_logs(lower, h, hkv, d), b, c, roof, self.floor_s, lower=lower))
        return _out(shape, t)

    def _by_kv(self, name: str, kv_bytes: Floats, run: Callable[[Table], Floats]) -> Floats:
        """`run` over the table `name` measured over each query's KV cache: `name.fp8` (an 8-bit cache) for
        queries of at most one byte an element, when the profile has it; else `name` (a bf16 cache)."""
        eight = f"{name}.fp8"
        if eight not in self._tables or not (kv_bytes <= 1.0).any():
            return run(self._tables[name])
        if (kv_bytes <= 1.0).all():
            return run(self._tables[eight])
        return np.where(kv_bytes <= 1.0, run(self._tables[eight]), run(self._tables[name]))

    @_memoised
    def mla_decode_s(self, batch: ArrayLike, ctx: ArrayLike, heads: ArrayLike, kv_lora: ArrayLike = 512,
                     rope: ArrayLike = 64, kv_bytes: ArrayLike = 2.0, *, lower: bool = False) -> Seconds:
        """Seconds of absorbed MLA decode attention over a latent cache of `kv_lora + rope` per token,
        `kv_bytes` an element (the flops at the bf16 peak whatever the cache holds, as `attn_decode_s`).

        Past the `mla_decode` table's largest batch the time grows by the table's last measured
        per-request slope (`dagc.kernels.tables.past_batch`), not in proportion to the batch. Without an
        `mla_decode` table, the decode-attention efficiencies are used with the MLA roofline (shape:
        `heads` heads, one KV head of `kv_lora + rope`)."""
        shape, (b, c, h, lat, rp, kvb) = _flat(batch, ctx, heads, kv_lora, rope, kv_bytes)
        h3, lat3, rp3, kvb3 = (x[:, None, None] for x in (h, lat, rp, kvb))
        peak, hbm = self.bf16_flops_per_s, self.hbm_bytes_per_s

        def roof(bb: Floats, cc: Floats) -> Floats:
            return roofline_s(2.0 * bb * h3 * cc * (2 * lat3 + rp3), kvb3 * bb * cc * (lat3 + rp3), peak, hbm)
        if "mla_decode" in self._tables:
            coords = _logs(h[:, None])
            return _out(shape, self._by_kv("mla_decode", kvb, lambda table: past_batch(
                table, coords, b, c, roof, self.floor_s, lower)))
        coords = _logs(np.stack([h, np.ones_like(h), lat + rp], axis=1))
        return _out(shape, self._by_kv("attn_decode", kvb, lambda table: evaluate(
            table, coords, b, c, roof, self.floor_s, lower=lower)))

    def fused_moe_measured(self) -> tuple[FusedShape, ...]:
        return tuple(sorted(self._fused))

    def all_reduce_covers(self, gpus: int) -> bool:
        return gpus in self._all_reduce

    def all_reduce_s(self, gpus: int, nbytes: ArrayLike) -> Seconds:
        """Log-log in the bytes between measured sizes; below the least its time, above the largest that
        time × bytes / its bytes (bandwidth-bound there: the roofline at the last measured efficiency).
        Non-decreasing in the bytes."""
        return series_s(self._all_reduce[gpus], nbytes, self.floor_s)

    def fused_moe_covers(self, shape: FusedMoe, a2a: int = A2A_FUSED) -> bool:
        """Whether the kernel this deployment runs (`dagc.kernels.series.moe_kernel`; `a2a`: `A2A_DEEPEP`
        when its experts take DeepEP's all-to-all) was measured at this shape."""
        kernels = self._fused.get(fused_key(shape), {})
        return moe_kernel(kernels, a2a == A2A_DEEPEP, 1.0, shape.ep) is not None

    def fused_moe_s(self, tokens: ArrayLike, shape: FusedMoe, a2a: int = A2A_FUSED, *, lower: bool = False) -> Seconds:
        """The measured MoE kernel the deployment runs (`moe_kernel`: over a wide EP group DeepEP's
        low-latency or normal kernels by the tokens a rank dispatches, else the fused kernel), interpolated
        log-log in the tokens; below the least measured count its time, above the largest the roofline
        at the last measured efficiency (`dagc.kernels.series.fused_moe_s`). Non-decreasing in the tokens
        within one kernel, so its own lower bound but where DeepEP switches kernels: `lower` then gives
        the faster of its two."""
        key, ep = fused_key(shape), shape.ep
        kernels, wide = self._fused[key], a2a == A2A_DEEPEP
        # the kernel of a step of few tokens a rank, and of many: the same unless DeepEP's two modes are measured
        few, many = (moe_kernel(kernels, wide, x, ep) or FUSED for x in (0.0, math.inf))
        if few == many:
            return fused_moe_s(kernels[few], tokens, key, self._peaks, self.floor_s)
        dims, (t,) = _flat(tokens)
        ll, normal = (fused_moe_s(kernels[k], t, key, self._peaks, self.floor_s) for k in (few, many))
        # `lower`: the faster of the two, non-decreasing as each is, so at most either at any larger count
        out = np.minimum(ll, normal) if lower else np.where(t / ep <= DEEPEP_LL_MAX_TOKENS_PER_RANK, ll, normal)
        return _out(dims, out)

    @_memoised
    def memory_s(self, nbytes: ArrayLike, op: MemoryOp | str = "copy", *, lower: bool = False) -> Seconds:
        """Seconds of a memory-bound op moving `nbytes` (each input read once, each output written once)."""
        name = MemoryOp(op).value
        key = f"memory.{name}" if f"memory.{name}" in self._tables else "memory.copy"
        if key not in self._tables:
            key = min(k for k in self._tables if k.startswith("memory."))
        shape, (nb,) = _flat(nbytes)
        hbm = self.hbm_bytes_per_s

        def roof(_o: Floats, bb: Floats) -> Floats:
            return bb / hbm
        return _out(shape, evaluate(self._tables[key], np.zeros((len(nb), 0)), np.zeros_like(nb), nb, roof,
                                     self.floor_s, lower=lower))


def build_profile(f: ProfileFile, digest: str) -> KernelProfile:
    """The profile of a validated file: one interpolation table per kernel class and dtype."""
    peaks = PeakSet(f.peaks.bf16_flops_per_s, f.peaks.fp8_flops_per_s, f.peaks.hbm_bytes_per_s,
                    f.peaks.fp4_flops_per_s)
    t = f.tables
    tables: dict[str, Table] = {}
    for dt in ("bf16", "fp8"):
        rows = [r for r in t.gemm if r.dtype == dt]
        if rows:
            _, peak, eb, ob = PeakSet(peaks.bf16, peaks.fp8 or peaks.bf16, peaks.hbm).matmul(dt)
            tables[f"gemm.{dt}"] = make_table([((r.N, r.K), 0.0, r.M, r.seconds, float(roofline_s(
                2.0 * r.M * r.N * r.K, eb * (r.M * r.K + r.N * r.K) + ob * r.M * r.N, peak, peaks.hbm))) for r in rows])
        grouped = [r for r in t.grouped_gemm if r.dtype == dt]
        if grouped:
            _, peak, eb, ob = PeakSet(peaks.bf16, peaks.fp8 or peaks.bf16, peaks.hbm).matmul(dt)
            tables[f"grouped_gemm.{dt}"] = make_table([((r.E, r.K, r.N), 0.0, r.tokens_per_expert, r.seconds, float(
                roofline_s(2.0 * r.E * r.tokens_per_expert * r.K * r.N,
                           eb * (r.E * r.K * r.N + r.E * r.tokens_per_expert * r.K)
                           + ob * r.E * r.tokens_per_expert * r.N, peak, peaks.hbm))) for r in grouped])
    if "gemm.bf16" not in tables:       # fp8-only measurements still answer bf16 queries
        tables["gemm.bf16"] = tables["gemm.fp8"]
    if "grouped_gemm.bf16" not in tables:
        tables["grouped_gemm.bf16"] = tables["grouped_gemm.fp8"]
    tables["attn_prefill"] = make_table([((r.H, r.Hkv, r.D), 0.0, r.S, r.seconds, float(roofline_s(
        2.0 * r.B * r.S**2 * r.H * r.D, 2.0 * r.B * r.S * (2 * r.H + 2 * r.Hkv) * r.D, peaks.bf16, peaks.hbm)))
        for r in t.attn_prefill])
    for name, rows_d in by_cache(t.attn_decode, "attn_decode").items():
        tables[name] = make_table([((r.H, r.Hkv, r.D), r.B, r.ctx, r.seconds, float(roofline_s(
            4.0 * r.B * r.ctx * r.H * r.D, 2.0 * KV_BYTES[r.kv] * r.B * r.ctx * r.Hkv * r.D, peaks.bf16,
            peaks.hbm))) for r in rows_d])
    for name, rows_l in by_cache(t.mla_decode or [], "mla_decode").items():
        tables[name] = make_table([((r.heads,), r.B, r.ctx, r.seconds, float(roofline_s(
            2.0 * r.B * r.heads * r.ctx * (2 * r.kv_lora + r.rope),
            KV_BYTES[r.kv] * r.B * r.ctx * (r.kv_lora + r.rope), peaks.bf16, peaks.hbm))) for r in rows_l])
    for op in MEMORY_OPS:
        rows_m = [r for r in t.memory if r.op == op]
        if rows_m:
            tables[f"memory.{op}"] = make_table([((), 0.0, r.bytes, r.seconds, r.bytes / peaks.hbm) for r in rows_m])
    measured = Measured(tables, fused_series(f.tables.fused_moe or ()), all_reduce_series(f.tables.all_reduce or ()))
    return KernelProfile(f.name, f.provenance, Floors(f.floor.kernel_s, f.floor.eager_kernel_s), peaks, measured,
                         digest, f.glue_launches)


def for_gpu(profile: KernelProfile, gpu: Gpu) -> KernelProfile:
    """`profile`'s efficiencies applied to `gpu`'s own peaks: time = the GPU's roofline / the interpolated efficiency,
    the same per-kernel floor, the eager launch time × `gpu.host_time_scale` (its host's). The same profile when
    those agree; its name and fused MoE measurements when only `gpu`'s fp4 peak is new (a profile file records none).

    Example:
        >>> from dagc.kernels.kernels import builtin_profile
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> h100 = builtin_profile("h100-sxm")
        >>> for_gpu(h100, GPU_PRESETS["h100-sxm"]) is h100, for_gpu(h100, GPU_PRESETS["a100-80g"]).name
        (True, 'h100-sxm@a100-80g')
    """
    peaks = PeakSet(float(gpu.flops_16bit), float(gpu.flops_8bit) if gpu.flops_8bit else None,
                     float(gpu.hbm_bytes_per_s), float(gpu.flops_4bit) if gpu.flops_4bit else None)
    mine = profile._peaks
    # the measured chip; a profile file without an fp4 peak (older, or written by hand) is told by the others
    same_chip = (math.isclose(peaks.bf16, mine.bf16, rel_tol=1e-9) and math.isclose(peaks.hbm, mine.hbm, rel_tol=1e-9)
                 and _same_peak(peaks.fp8, mine.fp8) and (mine.fp4 is None or _same_peak(peaks.fp4, mine.fp4)))
    if (host := gpu.host_time_scale) == 1.0 and same_chip and _same_peak(peaks.fp4, mine.fp4):
        return profile
    digest = hashlib.sha256(f"{profile._digest}|{peaks}{'' if host == 1.0 else f'|host {host}'}".encode()).hexdigest()
    name = profile.name if same_chip else f"{profile.name}@{gpu.name}"
    # a fused layer and an all-reduce measured belong to their chip; how the engine runs its glue stays on any
    measured = Measured(profile._tables, *((profile._fused, profile._all_reduce) if same_chip else (None, None)))
    return KernelProfile(name, profile.provenance, Floors(profile.floor_s, profile.eager_floor_s * host), peaks,
                         measured, digest, profile.glue)


def _same_peak(a: float | None, b: float | None) -> bool:
    """Two optional peaks agree: both absent, or equal."""
    return (a is None) == (b is None) and (a is None or b is None or math.isclose(a, b, rel_tol=1e-9))
