"""The time of one engine step of a strategy at any load, from dagc's cost model, for `dagc.serve.load`.

Input: a `Plan`, one of its strategies and its `Layout`. Output: `StepPrices` — the decode step at `n`
requests in flight per replica, the mixed step with `p` prompt tokens of chunks beside them, each at a
prefix of `ell` prompt tokens (the workload's `prompt` by default), a static batch's prefill and decode
step, and dagc's in-flight steady state at `n` — each priced once by the schedule's recurrence
(`dagc.schedule.recurrence.Recurrence`, exact for `overlap = none`), as `dagc.serve.estimate` prices the
steady state. `dagc.serve.surrogate` interpolates between such prices.
"""

from __future__ import annotations

from ..ir.dag import Phase
from ..ir.op_shapes import graph_size
from ..layout.layout import Layout, resolve
from ..layout.mix import inflight_ttft_tpot, shares
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Workload
from ..schedule.recurrence import Recurrence, fast_tpot, fast_ttft
from ..schedule.timer import Timer, shared_timer

__all__ = ["StepPrices"]


class StepPrices:
    """The time of a step of a replica with `n` requests in flight, split over its attention-DP ranks as
    evenly as they go (as dagc splits a batch, and as `dagc.serve.load` admits them), and `p` prompt
    tokens of a chunk, from dagc's cost model, each priced once.

    `ell` is the prompt the step is priced at (None: the workload's): its decode tokens attend to
    `ell + generate / 2` tokens (`dagc.layout.window.decode_context`), its chunk to a prefix of `ell`."""

    def __init__(self, plan: Plan, strategy: Strategy, lay: Layout, timer: Timer | None = None) -> None:
        self.plan, self.strategy, self.lay, self.dp, self.adp = plan, strategy, lay, lay.dp, lay.adp
        self.timer = timer or shared_timer(plan)
        self.terms = plan.cluster.engine.terms
        self._eager: StepPrices | None = None   # the same with every mixed step eager (`mixed`)
        self._every: StepPrices | None = None   # the same with every attention-DP rank's chunk (`every_rank`)
        self.cache: dict[tuple[int, int, int], float] = {}
        self.static_cache: dict[int, tuple[float, float]] = {}
        self._layouts: dict[int, Layout] = {}      # `_layout`
        self.priced = 0                     # how many steps the recurrence priced here (`exact_evaluations`)
        # `dagc.serve.surrogate.surface_for`'s StepSurfaces by their arguments (held, not read, here: the surrogate
        # reads the prices)
        self.surfaces: dict[tuple[int, int, int, int, int], object] = {}

    @property
    def exact_evaluations(self) -> int:
        """How many steps the recurrence priced (the surrogate's cost), the eager mixed steps' too (`_eager_prices`)."""
        return self.priced + (self._eager.priced if self._eager is not None else 0)

    def _at(self, n: int, chunk: int | None = None, ell: int | None = None,
            planned: bool = False) -> tuple[Workload, Layout]:
        """The workload and layout of `n` requests in flight, at `chunk` and `ell`: a step to price takes its
        prompt tokens as they come (chunked prefill on: a step of `p` tokens is what it costs, whole prompts
        or not), the steady state (`planned`) as the plan's engine schedules them."""
        update: dict[str, int | bool] = {"batch": n * self.dp, "batch_max": False}
        if not planned:
            update["chunked_prefill"] = True
        if chunk is not None:
            update["chunk"] = chunk
        if ell is not None:
            update["prompt"] = ell
        w = self.plan.workload.model_copy(update=update)
        return w, self._layout(n, w)

    def _layout(self, n: int, w: Workload) -> Layout:
        """The layout of `n` requests in flight on the replica, resolved once per `n`: a layout reads of its
        workload the batch (`n` × dp), the micro-batches and the draft, not the chunk nor the prompt a step is
        priced at."""
        lay = self._layouts.get(n)
        if lay is None:
            lay = self._layouts[n] = resolve(self.plan.model, self.plan.cluster, w, self.strategy)
        return lay

    def decode(self, n: int, ell: int | None = None) -> float:
        """The decode step with `n` requests in flight on the replica."""
        ell = self.plan.workload.prompt if ell is None else ell
        key = (n, 0, ell)
        if key not in self.cache:
            w, lay = self._at(n, ell=ell)
            self.priced += 1
            self.cache[key] = Recurrence(self.plan, lay, w, self.timer).decode_step()
        return self.cache[key]

    def mixed(self, n: int, p: int, ell: int | None = None) -> float:
        """The mixed step: `n` requests in flight on the replica, and `p` prompt tokens of a chunk on its
        busiest rank. The mixed step dagc prices carries a chunk of the budget's room; a budget of d·q + p
        tokens (d the busiest rank's requests) leaves room for exactly `p`. Where dagc's chunk cannot be
        `p` (more than a prompt when the requests need less), the chunk's cost is extrapolated from a whole
        prompt's: without CUDA graphs (`pytorch`) from the decode step and a whole prompt's mixed step, else
        from a whole prompt's and half a prompt's mixed steps run as `p`'s is (`_as_run`), never across
        the jump between a graphed step and an eager one."""
        ell = self.plan.workload.prompt if ell is None else ell
        key = (n, p, ell)
        if key not in self.cache:
            chunk = -(-n // self.adp) * self.plan.workload.step_positions + p
            w, lay = self._at(n, chunk, ell)
            if shares(w, lay).chunk_prompt_tokens == p:
                self.priced += 1
                self.cache[key] = Recurrence(self.plan, lay, w, self.timer).mixed_step()
            elif not self.terms.graph_sizes:
                whole, dec = self.mixed(n, ell, ell), self.decode(n, ell)
                self.cache[key] = dec + (whole - dec) * p / ell
            else:
                half = max(1, ell // 2)
                whole, part = (self._as_run(n, x, p).mixed(n, x, ell) for x in (ell, half))
                self.cache[key] = whole + (whole - part) * (p - ell) / max(1, ell - half)
        return self.cache[key]

    def mixed_eager(self, n: int, p: int) -> bool:
        """Whether the mixed step of `n` requests and `p` prompt tokens runs eagerly (`graph_size`)."""
        busiest = -(-n // self.adp) * self.plan.workload.step_positions + p
        return graph_size(busiest / self.lay.cp, Phase.MIXED, self.terms)[1]

    def _as_run(self, n: int, x: int, p: int) -> StepPrices:
        """Prices whose mixed step of `n` requests and `x` prompt tokens runs as the one of `p` does: these,
        unless `p`'s is eager and `x`'s graphed (then `_eager_prices`)."""
        return self._eager_prices() if self.mixed_eager(n, p) and not self.mixed_eager(n, x) else self

    def _eager_prices(self) -> StepPrices:
        """These prices on an engine that runs every mixed step eagerly: an eager step's chunk cost
        beyond a prompt, where the engine would graph that chunk's mixed step at a prompt or half one."""
        if not self.terms.mixed_graphs:
            return self
        if self._eager is None:
            c = self.plan.cluster
            engine = c.engine.model_copy(update={"terms": self.terms.model_copy(update={"mixed_graphs": False})})
            plan = self.plan.model_copy(update={"cluster": c.model_copy(update={"engine": engine})})
            self._eager = StepPrices(plan, self.strategy, self.lay)
        return self._eager

    def every_rank(self) -> StepPrices:
        """These prices with a mixed step's chunk on every attention-DP rank of the replica, not on its busiest
        alone (`Workload.chunk_ranks`): the step in which each rank prefills `p` prompt tokens, whose experts —
        an EP group spanning the ranks — run them all. Its decode steps are these prices' own."""
        if self._every is None:
            w = self.plan.workload.model_copy(update={"chunk_ranks": self.adp})
            self._every = StepPrices(self.plan.model_copy(update={"workload": w}), self.strategy, self.lay, self.timer)
        return self._every

    def step(self, n: int, p: int, ell: int | None = None) -> float:
        """The decode step (`p` = 0) or the mixed step."""
        return self.mixed(n, p, ell) if p else self.decode(n, ell)

    def static(self, b: int) -> tuple[float, float]:
        """A static batch of `b` requests (the whole deployment's): its prefill and its decode step."""
        if b not in self.static_cache:
            w = self.plan.workload.model_copy(update={"batch": b, "batch_max": False})
            lay = resolve(self.plan.model, self.plan.cluster, w, self.strategy)
            self.static_cache[b] = (fast_ttft(self.plan, lay, w, self.timer), fast_tpot(self.plan, lay, w, self.timer))
        return self.static_cache[b]

    def steady(self, n: int) -> tuple[float, float]:
        """dagc's in-flight steady state at `n` requests in flight on the replica: TTFT and TPOT."""
        w, lay = self._at(n, planned=True)
        return inflight_ttft_tpot(self.decode(n), self.mixed_steady(n), w, lay)

    def mixed_steady(self, n: int) -> float:
        w, lay = self._at(n, planned=True)
        return self.mixed(n, shares(w, lay).chunk_prompt_tokens)
