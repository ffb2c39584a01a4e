"""The work split (SPEC 3.5): how a batch's requests fall on replicas, attention-DP groups and micro-batches.

Input: request counts and degrees (the batch, dp, the attention data parallelism adp, the
micro-batches). Output: request counts per part, as tuples or a float64 matrix of (micro-batch,
group). A request belongs to one attention-DP group for its whole life: the batch is split over
replicas, each replica's requests over its attention-DP groups, and each group's requests over
the micro-batches, as even as possible, the first parts one more. `dagc.layout.layout.Layout`
reads them for its own degrees.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["even_split", "request_matrix", "request_rows", "distinct_rows", "busiest_group_requests",
           "microbatch_requests", "effective_microbatches"]


def even_split(n: int, parts: int) -> tuple[int, ...]:
    """`n` as `parts` counts, as even as possible, the first (n mod parts) one more.

    Example:
        >>> even_split(5, 4), even_split(2, 4)
        ((2, 1, 1, 1), (1, 1, 0, 0))
    """
    base, extra = divmod(n, parts)
    return (base + 1,) * extra + (base,) * (parts - extra)


def request_matrix(groups: Sequence[int], microbatches: int) -> npt.NDArray[np.float64]:
    """Requests per (micro-batch, group): each group's requests split over the micro-batches.

    Example:
        >>> request_matrix((5, 5), 4).tolist()
        [[2.0, 2.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    """
    cols = [even_split(n, microbatches) for n in groups]
    return np.array(cols, dtype=np.float64).reshape(len(groups), microbatches).T


@functools.lru_cache(maxsize=4096)
def request_rows(batch: int, dp: int, adp: int, microbatches: int) -> tuple[tuple[float, ...], ...]:
    """`request_matrix` of the first replica of `batch` requests over `dp` replicas of `adp` groups, a tuple per
    micro-batch (`dagc.layout.layout.Layout.request_rows`; the search asks of the same again and again).

    Example:
        >>> request_rows(10, 1, 2, 4)
        ((2.0, 2.0), (1.0, 1.0), (1.0, 1.0), (1.0, 1.0))
    """
    groups = even_split(even_split(batch, dp)[0], adp)
    return tuple(tuple(row) for row in request_matrix(groups, microbatches).tolist())


def distinct_rows(groups: Sequence[int], microbatches: int) -> list[tuple[float, ...]]:
    """The distinct rows of `request_matrix(groups, microbatches)`, in order of first appearance,
    without one row per micro-batch: a row changes only where a group's extra requests run out."""
    m = microbatches
    starts = sorted({0} | {n % m for n in groups})
    rows = [tuple(float(n // m + (j < n % m)) for n in groups) for j in starts if j < m]
    return list(dict.fromkeys(rows))


@functools.lru_cache(maxsize=4096)
def replica_rows(requests: int, adp: int, microbatches: int) -> tuple[tuple[float, ...], ...]:
    """`distinct_rows` of a replica of `requests` requests over `adp` groups (the search asks again
    and again)."""
    return tuple(distinct_rows(even_split(requests, adp), microbatches))


def busiest_group_requests(batch: int, dp: int, adp: int) -> int:
    """Requests of the busiest attention-DP group (of the first replica): ceil(batch / (dp·adp)).

    The batch is split over replicas, then each replica's requests over its attention-DP groups,
    the first ones taking one more; ceil(ceil(b/dp)/adp) = ceil(b/(dp·adp)).
    """
    return -(-batch // (dp * adp))


def microbatch_requests(requests: int, adp: int, microbatches: int) -> tuple[int, ...]:
    """Requests of each micro-batch of a replica of `requests` requests, all its `adp` attention-DP
    groups together: the row sums of `request_matrix`, from the at most two distinct group sizes of
    the even split (no row per group).

    Example:
        >>> microbatch_requests(10, 4, 2)      # groups of 3, 3, 2, 2
        (6, 4)
    """
    out = [0] * microbatches
    for n, groups in collections.Counter(even_split(requests, adp)).items():
        for j, share in enumerate(even_split(n, microbatches)):
            out[j] += groups * share
    return tuple(out)


def effective_microbatches(requested: int, batch: int, dp: int, adp: int) -> int:
    """Micro-batches that carry requests: at most the requests of one attention-DP group,
    ceil(batch / (dp·adp)), and at least one.

    A replica's requests are split over its attention-DP groups, and each group's requests over
    the micro-batches; a micro-batch beyond the busiest group's requests would be empty while
    still costing its latencies.

    Example:
        >>> effective_microbatches(64, batch=8, dp=1, adp=1)
        8
        >>> effective_microbatches(4, batch=8, dp=1, adp=4)
        2
    """
    return max(1, min(requested, busiest_group_requests(batch, dp, adp)))
