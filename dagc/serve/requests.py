"""The requests a traffic sends: when each arrives and how long its prompt and output are.

Input: a `Traffic` and the `Workload` it belongs to. Output: `Requests` — per request, in arrival order,
its arrival time (None for a closed loop, whose clients send when their last request ends), prompt and
output tokens, and the hash ids of its prompt's blocks where the traffic has them (a shared `prefix`, or
a Mooncake log's) — for `dagc.serve.load`. Drawn from the traffic's seed: the same traffic, the same
requests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..plan.workload import Traffic, Workload

__all__ = ["Requests", "requests_of"]


@dataclass(frozen=True)
class Requests:
    """Per request (arrays of one length, arrival order): arrival s (None: closed loop), prompt and output
    tokens; the prompt's block hash ids, request i's `hash_ids[hash_offsets[i]:hash_offsets[i+1]]`, each
    `block_tokens` long (None: no request shares a prefix)."""

    arrival: np.ndarray | None
    prompt: np.ndarray
    output: np.ndarray
    block_tokens: int = 512
    hash_ids: np.ndarray | None = None
    hash_offsets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.prompt)


def requests_of(traffic: Traffic, workload: Workload) -> Requests:
    """The requests `traffic` sends (module docstring)."""
    n = traffic.requests
    arrival = None
    if traffic.rate is not None:
        gap = 1.0 / traffic.rate
        if traffic.arrival == "uniform":
            arrival = np.arange(n, dtype=float) * gap
        else:
            arrival = np.cumsum(np.random.default_rng(traffic.seed).exponential(gap, n))
    return Requests(arrival, np.full(n, workload.prompt, dtype=np.int64),
                    np.full(n, workload.generate, dtype=np.int64))
