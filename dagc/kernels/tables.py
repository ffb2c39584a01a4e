"""Kernel profile interpolation tables: measured points → time at any shape (SPEC 6.4).

Input: measured points of one kernel class — (shape, outer tokens, inner tokens, seconds,
roofline seconds) — and queries of shapes and token counts as numpy arrays. Output: a `Table`
(`make_table`) and, for queries, seconds (`evaluate`). The method — log efficiency interpolated
on the monotone envelope, the nearest measured shapes blended, the roofline outside the measured
range — is described in `dagc.kernels.kernels`. `PeakSet` and `roofline_s` are the rooflines shared by
the measured points and the queries.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from ..plan.model import DType

__all__ = ["KV_BYTES", "Floats", "PeakSet", "Roofline", "Table", "by_cache", "dtype_name", "evaluate", "make_table",
           "past_batch", "roofline_s"]

Floats = npt.NDArray[np.float64]

_NEIGHBOURS = 2                    # measured shapes blended for a shape that was not measured


# ---------------------------------------------------------------- rooflines (the same formulas for rows and queries)

# Bytes per element, block scales included for nvfp4 and mxfp4 (the same figures as `DType.bytes`,
# which this stage does not import: a test keeps the two equal).
_ELEM_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5,
               "nvfp4": 0.5 + 1 / 16, "mxfp4": 0.5 + 1 / 32}
_FP4 = ("nvfp4", "mxfp4")


def dtype_name(dtype: DType | str) -> str:
    """The table name of `dtype` (a `DType` or its value); a ValueError for an unknown one."""
    name = str(getattr(dtype, "value", dtype))
    if name not in _ELEM_BYTES:
        raise ValueError(f"unknown dtype {name!r}; one of {', '.join(_ELEM_BYTES)}")
    return name


@dataclass(frozen=True)
class PeakSet:
    """The datasheet peaks the rooflines use: bf16, fp8 and fp4 FLOP/s, HBM bytes/s."""

    bf16: float
    fp8: float | None
    hbm: float
    fp4: float | None = None

    def matmul(self, dtype: str) -> tuple[str, float, float, float]:
        """(table dtype, peak FLOP/s, input bytes per element, output bytes per element).

        fp4 (nvfp4, mxfp4) runs at the fp4 peak with the fp8 tables' efficiencies (no profile
        measures fp4 kernels) when the GPU has fp4 units, else weight-only: dequantised to bf16, at
        the bf16 peak with the bf16 tables, its bytes still 4-bit (docs/kernels.md)."""
        eb = _ELEM_BYTES[dtype]
        if dtype in _FP4:
            return ("fp8", self.fp4, eb, 2.0) if self.fp4 else ("bf16", self.bf16, eb, 2.0)
        if eb <= 1.0:
            return ("fp8", self.fp8, eb, 2.0) if self.fp8 else ("bf16", self.bf16, eb, 2.0)
        if dtype == "fp32":
            return "bf16", self.bf16 / 2, 4.0, 4.0
        return "bf16", self.bf16, 2.0, 2.0


def roofline_s(flops: npt.ArrayLike, nbytes: npt.ArrayLike, peak: float, hbm: float) -> Floats:
    """Seconds at the roofline: the larger of the compute time and the HBM time."""
    return np.maximum(np.asarray(flops, dtype=np.float64) / peak, np.asarray(nbytes, dtype=np.float64) / hbm)


# ---------------------------------------------------------------- interpolation tables


@dataclass(frozen=True, eq=False)
class _Series:
    """One measured shape: log efficiency over (outer, inner) token coordinates, as rows of the outer one."""

    outer: Floats                             # log outer token values, sorted (one 0.0 when there is none)
    rows: tuple[tuple[Floats, Floats], ...]   # per outer value: (log inner sorted, log efficiency)

    def log_eff(self, lo: Floats, li: Floats) -> Floats:
        if len(self.rows) == 1:
            return np.interp(li, *self.rows[0])
        vals = np.stack([np.interp(li, xs, ys) for xs, ys in self.rows])
        j = np.clip(np.searchsorted(self.outer, lo, side="right") - 1, 0, len(self.outer) - 2)
        lam = np.clip((lo - self.outer[j]) / (self.outer[j + 1] - self.outer[j]), 0.0, 1.0)
        if j.shape == vals.shape[1:]:      # `np.take_along_axis`'s elements, gathered directly (the usual query)
            flat, at, rows = vals.reshape(len(vals), -1), np.arange(j.size), j.reshape(-1)
            lower, upper = flat[rows, at].reshape(j.shape), flat[rows + 1, at].reshape(j.shape)
        else:
            lower = np.take_along_axis(vals, j[None], 0)[0]
            upper = np.take_along_axis(vals, (j + 1)[None], 0)[0]
        blended: Floats = lower * (1.0 - lam) + upper * lam
        return blended


@dataclass(frozen=True, eq=False)
class Table:
    """The measured series of one kernel class, and where their efficiencies bend."""

    shapes: Floats               # (S, d) log shape coordinates of the series
    series: tuple[_Series, ...]
    outer_breaks: Floats         # raw token values where some series' efficiency bends
    inner_breaks: Floats
    max_log_eff: float = 0.0     # the largest log efficiency of any series: `evaluate`'s lower bound divides by it


def make_table(points: Sequence[tuple[tuple[float, ...], float, float, float, float]]) -> Table:
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
        for ov in _unique(o):
            sel = o == ov
            iv, first = np.unique(i[sel], return_index=True)
            rows.append((np.log(iv), np.log(r[sel][first] / env[sel][first])))
        shapes.append(np.log(np.array(shape, dtype=np.float64)))
        series.append(_Series(np.log(np.maximum(_unique(o), 1e-300)), tuple(rows)))
    pts_all = np.array([(p[1], p[2]) for p in points], dtype=np.float64)
    outer = _unique(pts_all[:, 0])
    top = max(float(ys.max()) for s in series for _, ys in s.rows)
    return Table(np.array(shapes).reshape(len(shapes), -1), tuple(series),
                  outer if len(outer) > 1 else np.empty(0), _unique(pts_all[:, 1]), top)


def _unique(values: Floats) -> Floats:
    """`np.unique(values)` of a float vector without NaN (a validated profile's): numpy's own, asked
    for no indices, imports `numpy.ma` to ask whether the vector is masked, a quarter of the time
    numpy takes to import, on every run."""
    return np.array(sorted(set(values.tolist())), dtype=np.float64)


def _weights(table: Table, shape: Floats) -> tuple[Floats, Sequence[int]]:
    """(Q, S) blend weights — (1, S) when every query has the same shape, which broadcasts — and the series
    any query weighs: an exact shape alone, else the nearest ones by inverse squared log distance."""
    if len(shape) == 1 or (len(shape) and bool((shape == shape[0]).all())):   # the usual query: one shape
        return _weights_of(table, tuple(shape[0].tolist()))
    w = _blend(table, shape)
    return w, np.flatnonzero(w.any(axis=0)).tolist()


@functools.lru_cache(maxsize=4096)
def _weights_of(table: Table, shape: tuple[float, ...]) -> tuple[Floats, tuple[int, ...]]:
    """`_weights` of one shape, (1, S), remembered: a model's ops ask the same few shapes again and
    again (read-only: it is shared)."""
    w = _blend(table, np.array([shape], dtype=np.float64).reshape(1, -1))
    w.setflags(write=False)
    return w, tuple(np.flatnonzero(w.any(axis=0)).tolist())


def _blend(table: Table, shape: Floats) -> Floats:
    """`_weights`, computed."""
    d2 = ((shape[:, None, :] - table.shapes[None, :, :]) ** 2).sum(axis=-1)
    k = min(_NEIGHBOURS, d2.shape[1])
    idx = np.argsort(d2, axis=1, kind="stable")[:, :k]
    near = np.take_along_axis(d2, idx, axis=1)
    exact = near[:, 0] <= 1e-18
    w = 1.0 / np.maximum(near, 1e-300)
    w[exact] = 0.0
    w[exact, 0] = 1.0
    w /= w.sum(axis=1, keepdims=True)
    out: Floats = np.zeros_like(d2)
    np.put_along_axis(out, idx, w, axis=1)
    return out


Roofline = Callable[[Floats, Floats], Floats]


def evaluate(table: Table, shape: Floats, outer: Floats, inner: Floats, roof: Roofline,
              floor_s: float, lower: bool = False) -> Floats:
    """Seconds for Q queries: shape (Q, d) in log space, raw outer/inner tokens (Q,); `roof(O, I)` gives
    the roofline at token arrays of shape (Q, A, B) broadcast from (Q, A, 1) and (Q, 1, B).

    `lower`: instead, a lower bound of those seconds that interpolates nothing: the roofline at the
    query over the table's largest efficiency (`Table.max_log_eff`), at least `floor_s`. The seconds
    are the largest of the roofline over the interpolated efficiency at several points, the query
    among them, and that efficiency blends the measured ones with weights that sum to one, each
    clamped to its measured range, so it is at most the largest measured."""
    if lower:
        at = roof(outer[:, None, None], inner[:, None, None]).reshape(len(outer), -1)[:, 0]
        bound: Floats = np.maximum(at / np.exp(table.max_log_eff), floor_s)
        return bound
    w, weighed = _weights(table, shape)
    cand_o = np.concatenate([outer[:, None], np.minimum(table.outer_breaks[None, :], outer[:, None])], axis=1)
    cand_i = np.concatenate([inner[:, None], np.minimum(table.inner_breaks[None, :], inner[:, None])], axis=1)
    # the candidates on their own axes, broadcast by each operation (Q, A, 1) against (Q, 1, B): the same
    # operations on the same values as on the (Q, A, B) grid, without making it
    big_o, big_i = cand_o[:, :, None], cand_i[:, None, :]
    # at least 1e-300 each: no logarithm of zero to warn of (numpy's `errstate` costs a query more than its logs)
    lo, li = np.log(np.maximum(big_o, 1e-300)), np.log(np.maximum(big_i, 1e-300))
    if any(len(table.series[s].rows) > 1 for s in weighed):      # a series blended across outer tokens: the grid
        lo, li = np.broadcast_arrays(lo, li)
    log_eff: Floats | float = 0.0
    for s in weighed:
        log_eff = log_eff + w[:, s, None, None] * table.series[s].log_eff(lo, li)
    t = roof(big_o, big_i) / np.exp(log_eff)      # (Q, A or 1, B): its largest is the grid's
    # the largest of each query's (A or 1, B) candidates: `t.max(axis=(1, 2))`'s, of the same elements
    seconds: Floats = np.maximum(t.reshape(t.shape[0], t.shape[1] * t.shape[2]).max(axis=1), floor_s)
    return seconds


def past_batch(table: Table, coords: Floats, b: Floats, c: Floats, roof: Roofline, floor_s: float,
               lower: bool) -> Floats:
    """`evaluate` of a decode table whose outer coordinate is the batch, except past its largest measured
    batch B1 (the one before it B0): t(B) = t(B1) + (B − B1) · (t(B1) − t(B0)) / (B1 − B0), the last
    measured per-request slope at the query's context and shape, at least the roofline at the datasheet
    peaks. `lower`: a lower bound of that — the roofline at the table's best efficiency, taken at B1 at
    most (t(B) ≥ t(B1) there: the envelope's slope is not negative)."""
    slope = len(table.outer_breaks) >= 2
    if lower:
        return evaluate(table, coords, np.minimum(b, table.outer_breaks[-1]) if slope else b, c, roof, floor_s,
                        lower=True)
    t = evaluate(table, coords, b, c, roof, floor_s)
    if not slope or not (over := b > table.outer_breaks[-1]).any():
        return t
    b0, b1 = (float(x) for x in table.outer_breaks[-2:])
    t0, t1 = (evaluate(table, coords, np.full_like(b, x), c, roof, floor_s) for x in (b0, b1))
    grown = t1 + (b - b1) * (t1 - t0) / (b1 - b0)
    at_peak = roof(b[:, None, None], c[:, None, None]).reshape(len(b), -1)[:, 0]
    return np.where(over, np.maximum(grown, at_peak), t)


KV_BYTES = {"bf16": 2.0, "fp8": 1.0}      # bytes an element of the KV cache a decode row read


class _CacheRow(Protocol):
    """A decode row of a kernel profile: the KV cache it read."""

    @property
    def kv(self) -> str: ...


_Row = TypeVar("_Row", bound=_CacheRow)


def by_cache(rows: list[_Row], name: str) -> dict[str, list[_Row]]:
    """Decode rows by the cache they read: `name` (bf16; an 8-bit table's rows when there is no bf16 one)
    and `name.fp8`."""
    bf16 = [r for r in rows if r.kv == "bf16"]
    fp8 = [r for r in rows if r.kv == "fp8"]
    out = {name: bf16 or fp8} if rows else {}
    if bf16 and fp8:
        out[f"{name}.fp8"] = fp8
    return out
