"""The series a simulated load is drawn and traced from: its run, each latency's CDF, and the timeline cut
to a bounded number of points.

Input: a `StrategyResult` (its `load`, the run `dagc.verdict.under_load` simulated) or a `Load`. Output:
numpy arrays — the points of a CDF (`cdf_points`), a step series reduced to at most two points per
interval (`envelope`) — that load_cdf.svg, load_timeline.svg and the trace's counters share, so that a
run of a million requests draws and traces a few thousand points.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..serve.load import Load

if TYPE_CHECKING:
    from ..verdict.check import StrategyResult

__all__ = ["CDF_POINTS", "SERIES_INTERVALS", "cdf_points", "envelope", "load_run"]

CDF_POINTS = 2000          # points of a latency's CDF drawn: every request up to this many, else quantiles
SERIES_INTERVALS = 1000    # intervals a timeline series is cut into past this many samples (two points each)


def load_run(result: StrategyResult) -> Load | None:
    """The simulated run of a strategy (`StrategyResult.load`), None when it was not simulated (no
    traffic, a strategy that is not correct, a load past its work budget)."""
    held = getattr(result, "load", None)
    return getattr(held, "load", None)


def cdf_points(x: np.ndarray, limit: int = CDF_POINTS) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The empirical CDF of `x`: its values sorted and, for each, the share of values at most it. Past
    `limit` values, `limit` of them evenly spaced in rank (the least and the largest always kept).

    Example:
        >>> xs, ys = cdf_points(np.array([3.0, 1.0, 2.0, 2.5]))
        >>> xs.tolist(), ys.tolist()
        ([1.0, 2.0, 2.5, 3.0], [0.25, 0.5, 0.75, 1.0])
        >>> len(cdf_points(np.arange(10_000.0), 100)[0])
        100
    """
    xs = np.sort(np.asarray(x, dtype=float))
    n = len(xs)
    ys = np.arange(1, n + 1) / max(n, 1)
    if n > limit:
        keep = np.unique(np.round(np.linspace(0, n - 1, limit)).astype(int))
        xs, ys = xs[keep], ys[keep]
    return xs, ys


def envelope(t: np.ndarray, v: np.ndarray, intervals: int = SERIES_INTERVALS
             ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """A step series (value `v[i]` from time `t[i]`, `t` ascending) with at most 2 × `intervals` points:
    up to `intervals` samples it is returned as is; past that, the run is cut into `intervals` equal
    stretches of time, and each stretch with samples gives its largest value (at its first sample's
    time) and then its last value (at its last sample's time), so peaks survive and the value a stretch
    ends with carries on.

    Example:
        >>> t, v = envelope(np.arange(8.0), np.array([0, 5, 1, 1, 2, 9, 3, 0.0]), 2)
        >>> t.tolist(), v.tolist()
        ([0.0, 3.0, 4.0, 7.0], [5.0, 1.0, 9.0, 0.0])
    """
    t, v = np.asarray(t, dtype=float), np.asarray(v, dtype=float)
    n = len(t)
    if n <= intervals:
        return t, v
    edges = np.linspace(t[0], t[-1], intervals + 1)
    bins = np.minimum(np.searchsorted(edges, t, side="right") - 1, intervals - 1)
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    ends = np.r_[starts[1:], n] - 1
    times = np.column_stack([t[starts], t[ends]]).ravel()
    values = np.column_stack([np.maximum.reduceat(v, starts), v[ends]]).ravel()
    keep = np.ones(len(times), dtype=bool)
    keep[1::2] = t[ends] > t[starts]           # a stretch with one time gives one point
    return times[keep], values[keep]
