"""Round tick values for the axes of dagc's charts (pareto.svg, load_cdf.svg, load_timeline.svg).

Input: an axis's range. Output: `ticks`, the values to mark on it.
"""

from __future__ import annotations

import math

__all__ = ["ticks"]


def ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """Round tick values from `lo` to `hi` — steps of 1, 2 or 5 times a power of ten — at most about `n`.

    Example:
        >>> ticks(0.0, 1.0), ticks(3.0, 3.0)
        ([0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0], [3.0])
    """
    if hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for mult in (1, 2, 5, 10):
        if (hi - lo) / (step * mult) <= n:
            step *= mult
            break
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]
