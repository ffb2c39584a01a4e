"""What a load simulation's replicas fill (`dagc.serve.replica`): the run's per-request arrays and per-step
series, and the state of a request while it is on a replica.

Input: the traffic's `Requests`. Output: `Run` (per request, in id order: arrival, first token, end,
preemptions, prompt tokens found cached; per step: its gap and decode tokens; each replica's timeline)
and `Req`.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

from .requests import Requests

__all__ = ["Req", "Run"]


@dataclass
class Run:
    """What every replica of a run fills (per request, in id order; per step)."""

    requests: Requests
    arrive: np.ndarray
    first: np.ndarray
    finish: np.ndarray
    preemptions: np.ndarray
    cached: np.ndarray
    itl: array = field(default_factory=lambda: array("d"))
    weight: array = field(default_factory=lambda: array("d"))
    area: float = 0.0
    done: int = 0
    series: list = field(default_factory=list)        # per replica: (t, running, waiting, kv share) arrays

    @classmethod
    def of(cls, requests: Requests) -> Run:
        n = len(requests)
        return cls(requests, np.zeros(n), np.full(n, np.nan), np.zeros(n), np.zeros(n, np.int32), np.zeros(n, np.int64))


class Req:
    """A request on its way through a replica (only those arrived and not ended exist): its rank `r`;
    `tokens` of context it holds once prefilled (its prompt, and after a preemption the tokens it had
    generated), `cached` of them found in the prefix cache (`nheld` hashed blocks of `ids`), `left` still
    to prefill; its own KV blocks while prefilling or its block phase while decoding (`priv`); the step
    it started decoding at, its decode steps in all and done before its last preemption; `epoch`, which
    a preemption moves on so that its old end is ignored."""

    __slots__ = ("cached", "epoch", "i", "ids", "left", "nheld", "phase", "priv", "r", "start", "steps_done",
                 "steps_total", "tokens")

    def __init__(self, i: int, steps_total: int, tokens: int, ids: list[int]) -> None:
        self.i, self.steps_total, self.tokens, self.ids = i, steps_total, tokens, ids
        self.steps_done = self.epoch = self.start = self.left = self.nheld = self.priv = self.cached = 0
        self.r = -1
        self.phase = 0                 # 0 prefilling (or waiting), 1 decoding, 2 ending at its first token
