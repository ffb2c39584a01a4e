"""What a load simulation's replicas fill (`dagc.serve.replica`): the run's per-request arrays and per-step
series, and the state of a request while it is on a replica.

Input: the traffic's `Requests`. Output: `Run` (per request, in id order: arrival, first token, end,
preemptions, prompt tokens found cached; per step: its gap and decode tokens; each replica's timeline;
the requests' lengths and prompt hash ids as Python lists, which the replicas read one request at a time)
and `Req`, whose `phase` is a `RequestPhase`.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from .requests import Requests

__all__ = ["DECODING", "ENDING", "PREFILLING", "Req", "RequestPhase", "Run"]


class RequestPhase(IntEnum):
    """Where a request on a replica is (`Req.phase`)."""

    PREFILLING = 0     # admitted, its prompt (or, after a preemption, its prompt and output so far) to prefill;
    #                    also waiting, before its admission
    DECODING = 1       # its first token out, one token a decode step until its end
    ENDING = 2         # its first token was its last: it ends as its prompt is in


# the replica's hot loop compares by identity with these (`req.phase is DECODING`)
PREFILLING, DECODING, ENDING = RequestPhase.PREFILLING, RequestPhase.DECODING, RequestPhase.ENDING


@dataclass
class Run:
    """What every replica of a run fills (per request, in id order; per step). The per-request figures are Python
    lists, read and written one request at a time in the replica's hot loop (a numpy array's element is a boxed
    scalar each time, and its arithmetic slower); `arrays` gives them as the `Load` holds them."""

    requests: Requests
    arrive: list[float]
    first: list[float]               # NaN until its first token
    finish: list[float]
    preemptions: list[int]
    cached: list[int]
    itl: array[float] = field(default_factory=lambda: array("d"))
    weight: array[float] = field(default_factory=lambda: array("d"))
    area: float = 0.0
    done: int = 0
    series: list[tuple[np.ndarray, ...]] = field(default_factory=list)   # per replica: (t, running, waiting, kv share)
    # `requests`' prompt and output tokens, hash ids and their offsets as lists (empty without hash ids)
    prompt: list[int] = field(default_factory=list)
    output: list[int] = field(default_factory=list)
    hash_ids: list[int] = field(default_factory=list)
    hash_offsets: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, requests: Requests) -> Run:
        n = len(requests)
        ids, offsets = requests.hash_ids, requests.hash_offsets
        hashed = ids is not None and offsets is not None
        return cls(requests, [0.0] * n, [math.nan] * n, [0.0] * n, [0] * n, [0] * n,
                   prompt=requests.prompt.astype(np.int64).tolist(), output=requests.output.astype(np.int64).tolist(),
                   hash_ids=ids.tolist() if ids is not None and hashed else [],
                   hash_offsets=offsets.tolist() if offsets is not None and hashed else [])

    def prompt_ids(self, i: int, most: int) -> list[int]:
        """Request `i`'s prompt block hash ids, at most `most` of them (none without hash ids)."""
        if not self.hash_offsets:
            return []
        lo = self.hash_offsets[i]
        return self.hash_ids[lo:min(self.hash_offsets[i + 1], lo + most)]

    def warm_ids(self) -> list[int]:
        """The hashed blocks of the first `warm` prompts, in their order: in the prefix cache before the run."""
        w = self.requests.warm
        return self.hash_ids[self.hash_offsets[0]:self.hash_offsets[w]] if w and self.hash_offsets else []

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """arrive, first, finish (float64), preemptions (int32) and cached (int64) as arrays."""
        return (np.array(self.arrive, dtype=np.float64), np.array(self.first, dtype=np.float64),
                np.array(self.finish, dtype=np.float64), np.array(self.preemptions, dtype=np.int32),
                np.array(self.cached, dtype=np.int64))


class Req:
    """A request on its way through a replica (only those arrived and not ended exist): its rank `r`;
    `tokens` of context it holds once prefilled (its prompt, and after a preemption the tokens it had
    generated), `cached` of them found in the prefix cache (`nheld` hashed blocks of `ids`), `left` still
    to prefill; its `phase`; the KV blocks of its own it holds while prefilling (`own_blocks`; while
    decoding they grow with its steps, `own_blocks` + (`block_phase` + step) // P: `DecodeBlocks.blocks_now`) and,
    while decoding, the step of each block's cycle at which it takes its next block (`block_phase`); the step it
    started decoding at, its decode steps in all and done before its last preemption; `epoch`, which a preemption
    moves on so that its old end is ignored."""

    __slots__ = ("block_phase", "cached", "epoch", "i", "ids", "left", "nheld", "own_blocks", "phase", "r", "start",
                 "steps_done", "steps_total", "tokens")
    # set as it is admitted (`Replica._place`), and as it starts decoding (`start`, `block_phase`): a request is made
    # once for each of a run's, as it is first tried, and these are read only after
    r: int
    cached: int
    nheld: int
    left: int
    own_blocks: int
    start: int
    block_phase: int

    def __init__(self, i: int, steps_total: int, tokens: int, ids: list[int]) -> None:
        self.i, self.steps_total, self.tokens, self.ids = i, steps_total, tokens, ids
        self.steps_done = self.epoch = 0
        self.phase = PREFILLING
