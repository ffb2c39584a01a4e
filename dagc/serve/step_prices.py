"""The time of one engine step of a strategy at any load, from dagc's cost model, for `dagc.serve.load`.

Input: a `Plan`, one of its strategies and its `Layout`. Output: `StepPrices` — the decode step at `n`
requests in flight per attention-DP rank, the mixed step with `p` prompt tokens of a chunk beside them,
a static batch's prefill and decode step, and dagc's in-flight steady state at `n` — each priced once by
the schedule's recurrence (`dagc.schedule.recurrence.Recurrence`, exact for `overlap = none`), as
`dagc.serve.estimate` prices the steady state.
"""

from __future__ import annotations

from ..layout.layout import Layout, resolve
from ..layout.mix import inflight_ttft_tpot, shares
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Workload
from ..schedule.recurrence import Recurrence, fast_tpot, fast_ttft
from ..schedule.timer import Timer

__all__ = ["StepPrices"]


class StepPrices:
    """The time of a step of a replica with `m` requests in flight, split over its attention-DP ranks as
    evenly as they go (as dagc splits a batch, and as `dagc.serve.load` admits them), and `p` prompt
    tokens of a chunk, from dagc's cost model, each priced once."""

    def __init__(self, plan: Plan, strategy: Strategy, lay: Layout, timer: Timer | None = None) -> None:
        self.plan, self.strategy, self.dp, self.adp = plan, strategy, lay.dp, lay.adp
        self.timer = timer or Timer(plan)
        self.cache: dict[tuple[int, int], float] = {}
        self.static_cache: dict[int, tuple[float, float]] = {}

    def _at(self, n: int, chunk: int | None = None) -> tuple[Workload, Layout]:
        update: dict = {"batch": n * self.dp, "batch_max": False}
        if chunk is not None:
            update["chunk"] = chunk
        w = self.plan.workload.model_copy(update=update)
        return w, resolve(self.plan.model, self.plan.cluster, w, self.strategy)

    def decode(self, n: int) -> float:
        """The decode step with `n` requests in flight on the replica."""
        key = (n, 0)
        if key not in self.cache:
            w, lay = self._at(n)
            self.cache[key] = Recurrence(self.plan, lay, w, self.timer).decode_step()
        return self.cache[key]

    def mixed(self, n: int, p: int) -> float:
        """The mixed step: `n` requests in flight on the replica, one of which prefills `p` prompt tokens.
        The mixed step dagc prices carries a chunk of the budget's room; a budget of d·q + p tokens (d the
        busiest rank's requests) leaves room for exactly `p`. Where dagc's chunk cannot be `p` (more than
        a prompt when the requests need less), the chunk's cost is extrapolated from a whole prompt's."""
        key = (n, p)
        if key not in self.cache:
            w0 = self.plan.workload
            chunk = -(-n // self.adp) * w0.step_positions + p
            w, lay = self._at(n, chunk)
            if shares(w, lay).chunk_prompt_tokens == p:
                self.cache[key] = Recurrence(self.plan, lay, w, self.timer).mixed_step()
            else:
                whole, dec = self.mixed(n, w0.prompt), self.decode(n)
                self.cache[key] = dec + (whole - dec) * p / w0.prompt
        return self.cache[key]

    def static(self, b: int) -> tuple[float, float]:
        """A static batch of `b` requests (the whole deployment's): its prefill and its decode step."""
        if b not in self.static_cache:
            w = self.plan.workload.model_copy(update={"batch": b, "batch_max": False})
            lay = resolve(self.plan.model, self.plan.cluster, w, self.strategy)
            self.static_cache[b] = (fast_ttft(self.plan, lay, w, self.timer), fast_tpot(self.plan, lay, w, self.timer))
        return self.static_cache[b]

    def steady(self, n: int) -> tuple[float, float]:
        """dagc's in-flight steady state at `n` requests in flight on the replica: TTFT and TPOT."""
        w, lay = self._at(n)
        return inflight_ttft_tpot(self.decode(n), self.mixed_steady(n), w, lay)

    def mixed_steady(self, n: int) -> float:
        w, lay = self._at(n)
        return self.mixed(n, shares(w, lay).chunk_prompt_tokens)
