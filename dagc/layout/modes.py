"""Serving modes: one object per way a deployment serves its requests, behind one small protocol.

Input: a `Workload` (`mode_of`: its `serving`, and a disaggregated pool's instance its `role`). Output: its
`ServingMode` — `STATIC` (the batch prefilled together, then decoded together), `IN_FLIGHT` (continuous batching
with chunked prefill, `dagc.layout.mix`), and the two pools of a disaggregated strategy, `PREFILL_POOL` (an
instance's prefill alone) and `DECODE_POOL` (an instance's decode steps alone, its requests' KV arriving made).
What a stage needs to know of the mode it asks of this object, not of the workload's flags:

- its steps: the DAG's passes (`steps`, `dagc.ir.build`) and the pass its first token is made of (`first`);
- its TTFT and TPOT from the prices of its steps (`ttft`, `tpot`), and lower bounds of them from lower bounds
  of the steps (`ttft_floor`, `tpot_floor`): the DAG's schedule (`dagc.serve.metrics`), the search's
  recurrence (`dagc.schedule.recurrence`) and its screens pass their own prices, a step priced when asked;
- its throughputs from TTFT and TPOT (`throughputs`, `dagc.serve.rates.rate_metrics`);
- its memory: whether the engine admits requests while KV blocks allow, `batch` then a cap (`admits_by_kv`,
  `dagc.memory.admission`);
- its load scheduler: requests joining and leaving a running batch step by step (`continuous`,
  `dagc.serve.replica`), or whole batches (`dagc.serve.static_load`) — and so whether the chunk budget shapes its
  steps (the chunk's rules, figures and engine flags read `continuous`);
- whether a step takes whole prompts only (`whole_prompts`: in flight with chunked prefill off);
- its launch role and the tokens an engine step carries (`role`, `step_tokens`, `dagc.launch.serving`);
- which of TTFT and TPOT are its own (`owns`, `own_figure`): a pool's instance sets one, the other is the other
  pool's — the figure the search weighs an instance by (`dagc.search.pairs`), the step a pool binds on
  (`dagc.verdict.check`), the figures a trace or a drawing of an instance shows; and whether its steps decode
  (`decodes`: a prefill pool's instance generates its requests' first token alone, `dagc.verdict.pools`).

A mode's TTFT and TPOT are the server's, per step: `dagc.serve.rates` adds the engine's front end to the TTFT
and divides the TPOT by the tokens a decode step emits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

from ..plan.workload import Phase, PoolRole, Workload
from .layout import Layout
from .mix import inflight_ttft_tpot, shares

__all__ = ["DECODE_POOL", "IN_FLIGHT", "PREFILL_POOL", "STATIC", "ServingMode", "StepPrice", "StepTokens",
           "inflight_floors", "mode_of", "pool_mode"]

# The price of one step of a phase (seconds): a DAG's step gap, the recurrence's step, or a lower bound of it.
StepPrice = Callable[[Phase], float]


class StepTokens(NamedTuple):
    """The tokens one engine step of a rank carries (`dagc.launch.serving`): its budget (`chunk`), the room
    it leaves for prompts after the decode tokens, and the prompt tokens dagc's mixed step carries."""

    chunk: int
    room: int
    prompt_tokens: int


class ServingMode(Protocol):
    """What every stage asks of a serving mode (module docstring)."""

    @property
    def name(self) -> str:
        """The mode in a word: static, inflight, prefill, decode (a pool's instance by its role)."""

    @property
    def role(self) -> PoolRole | None:
        """The pool a disaggregated strategy's instance serves (its engine's role at launch); None: a whole
        deployment."""

    @property
    def steps(self) -> tuple[tuple[Phase, int], ...]:
        """The passes the mode's DAG holds, in order, as (phase, step)."""

    @property
    def first(self) -> Phase:
        """The pass a request's first token is made of (its TTFT, the bubble reported)."""

    @property
    def admits_by_kv(self) -> bool:
        """Whether the engine admits requests while KV blocks allow rather than a whole batch together."""

    @property
    def continuous(self) -> bool:
        """Whether requests join and leave the running batch step by step under load."""

    @property
    def decodes(self) -> bool:
        """Whether the mode's steps decode: a prefill pool's instance makes its requests' first token alone (one
        token generated), every other mode decodes its requests' tokens."""

    @property
    def owns(self) -> tuple[bool, bool]:
        """Which of (TTFT, TPOT) are the mode's own figures: a whole deployment's both; a pool's instance its
        own alone (the prefill pool's TTFT, the decode pool's TPOT), the other the other pool's."""

    def own_figure(self, ttft_s: float, tpot_s: float) -> float:
        """The figure of `ttft_s` and `tpot_s` the mode's instance is weighed by: a pool's instance its own (the
        prefill pool's TTFT, the decode pool's TPOT), a whole deployment its TPOT."""

    def whole_prompts(self, chunked_prefill: bool) -> bool:
        """Whether a step takes whole prompts only, as many as fit its budget beside the decode tokens, given the
        plan's `chunked_prefill` (in flight with it off); a static batch and a pool's instance chunk nothing."""

    def ttft(self, step: StepPrice, workload: Workload, lay: Layout) -> float:
        """The server's TTFT from the prices of the mode's steps (a pool's instance: its static schedule's
        prefill)."""

    def tpot(self, step: StepPrice, workload: Workload, lay: Layout) -> float:
        """The time per output step (before speculative decoding's tokens per step) from the steps' prices (a
        pool's instance: its static schedule's decode step)."""

    def figures(self, step: StepPrice, workload: Workload, lay: Layout) -> tuple[float, float]:
        """The mode's own TTFT and TPOT (as `ttft`, `tpot`), each step priced once: a pool's instance its own
        figure alone, the other pool's 0."""

    def ttft_floor(self, step: StepPrice, workload: Workload, lay: Layout) -> float:
        """A lower bound of `ttft` from lower bounds of the steps."""

    def tpot_floor(self, step: StepPrice, workload: Workload, lay: Layout) -> float:
        """A lower bound of `tpot` from lower bounds of the steps."""

    def throughputs(self, batch: int, workload: Workload, ttft_s: float, tpot_s: float) -> tuple[float, float]:
        """The prompt tokens/s and the end-to-end tokens/s of `batch` requests at this TTFT and TPOT (per token)."""

    def step_tokens(self, workload: Workload, lay: Layout, longest: int) -> StepTokens:
        """The tokens one step of a rank carries; `longest`: the longest request the workload sends."""

    def keeps_up(self, workload: Workload, lay: Layout) -> bool:
        """Whether the steady state keeps up with its admissions (in flight: every prompt prefilled by the
        chunk as fast as requests end, W513)."""


class Static:
    """The batch prefilled together, then decoded together: a prefill and two decode steps."""

    name: str = "static"
    role: PoolRole | None = None
    steps: tuple[tuple[Phase, int], ...] = ((Phase.PREFILL, 0), (Phase.DECODE, 0), (Phase.DECODE, 1))
    first: Phase = Phase.PREFILL
    admits_by_kv: bool = False
    continuous = False
    decodes = True
    owns = (True, True)
    __slots__ = ()          # stateless: one shared instance per mode, nothing set on it

    def whole_prompts(self, chunked_prefill: bool) -> bool:
        return False

    def own_figure(self, ttft_s: float, tpot_s: float) -> float:
        return tpot_s

    def ttft(self, step: StepPrice, workload: Workload, lay: Layout) -> float:
        return step(Phase.PREFILL)

    def tpot(self, step: StepPrice, workload: Workload, lay: Layout) -> float:
        return step(Phase.DECODE)

    def figures(self, step: StepPrice, workload: Workload, lay: Layout) -> tuple[float, float]:
        tpot = step(Phase.DECODE)
        return step(Phase.PREFILL), tpot

    ttft_floor = ttft
    tpot_floor = tpot

    def throughputs(self, batch: int, workload: Workload, ttft_s: float, tpot_s: float) -> tuple[float, float]:
        """A batch prefilled in TTFT, then decoded a token per TPOT (SPEC 7)."""
        s, g = workload.prompt, workload.generate
        return batch * s / ttft_s, batch * (s + g) / (ttft_s + g * tpot_s)

    def step_tokens(self, workload: Workload, lay: Layout, longest: int) -> StepTokens:
        requests = lay.requests_per_rank
        return StepTokens(max(requests * workload.prompt, requests), 0, 0)

    def keeps_up(self, workload: Workload, lay: Layout) -> bool:
        return True


class InFlight:
    """Continuous batching with chunked prefill: two decode steps and two mixed steps, whose shares of the
    steady state are `dagc.layout.mix`'s."""

    name = "inflight"
    role = None
    steps = ((Phase.DECODE, 0), (Phase.DECODE, 1), (Phase.MIXED, 0), (Phase.MIXED, 1))
    first = Phase.MIXED
    admits_by_kv = True
    continuous = True
    decodes = True
    owns = (True, True)
    __slots__ = ()

    def whole_prompts(self, chunked_prefill: bool) -> bool:
        return not chunked_prefill

    def own_figure(self, ttft_s: float, tpot_s: float) -> float:
        return tpot_s

    def ttft(self, step: StepPrice, workload: Workload, lay: Layout) -> float:
        return inflight_ttft_tpot(step(Phase.DECODE), step(Phase.MIXED), workload, lay)[0]

    def tpot(self, step: StepPrice, workload: Workload, lay: Layout) -> float:
        return inflight_ttft_tpot(step(Phase.DECODE), step(Phase.MIXED), workload, lay)[1]

    def figures(self, step: StepPrice, workload: Workload, lay: Layout) -> tuple[float, float]:
        return inflight_ttft_tpot(step(Phase.DECODE), step(Phase.MIXED), workload, lay)

    def ttft_floor(self, step: StepPrice, workload: Workload, lay: Layout) -> float:
        return inflight_floors(workload, lay, step(Phase.DECODE), step(Phase.MIXED))[0]

    def tpot_floor(self, step: StepPrice, workload: Workload, lay: Layout) -> float:
        return inflight_floors(workload, lay, step(Phase.DECODE), step(Phase.MIXED))[1]

    def throughputs(self, batch: int, workload: Workload, ttft_s: float, tpot_s: float) -> tuple[float, float]:
        """Every step decodes every request in flight while prompts are chunked in: the rates follow from
        TPOT alone."""
        s, g = workload.prompt, workload.generate
        decode = batch / tpot_s
        return decode * s / g, decode * (s + g) / g

    def step_tokens(self, workload: Workload, lay: Layout, longest: int) -> StepTokens:
        mix = shares(workload, lay)
        return StepTokens(workload.chunk_tokens, mix.room, mix.chunk_prompt_tokens)

    def keeps_up(self, workload: Workload, lay: Layout) -> bool:
        return shares(workload, lay).keeps_up


class PrefillPool(Static):
    """A disaggregated strategy's prefill instance: its requests' static prefill alone, its own figure the
    TTFT (its static schedule's, as `Static`'s, otherwise)."""

    name = "prefill"
    role = PoolRole.PREFILL
    __slots__ = ()
    steps = ((Phase.PREFILL, 0),)
    decodes = False
    owns = (True, False)

    def own_figure(self, ttft_s: float, tpot_s: float) -> float:
        return ttft_s

    def figures(self, step: StepPrice, workload: Workload, lay: Layout) -> tuple[float, float]:
        return step(Phase.PREFILL), 0.0         # its TPOT is the decode pool's


class DecodePool(Static):
    """A disaggregated strategy's decode instance: its decode steps alone, its own figure the TPOT, its
    requests' KV cache arriving made from the prefill pool and admitted while KV blocks allow (its static
    schedule's, as `Static`'s, otherwise)."""

    name = "decode"
    role = PoolRole.DECODE
    __slots__ = ()
    steps = ((Phase.DECODE, 0), (Phase.DECODE, 1))
    first = Phase.DECODE
    admits_by_kv = True
    owns = (False, True)

    def figures(self, step: StepPrice, workload: Workload, lay: Layout) -> tuple[float, float]:
        return 0.0, step(Phase.DECODE)          # its TTFT is the prefill pool's

    def step_tokens(self, workload: Workload, lay: Layout, longest: int) -> StepTokens:
        """Decode steps only: the longest request whole, every request's token (and its drafted ones)."""
        spec = workload.speculative.tokens if workload.speculative is not None else 0
        return StepTokens(max(lay.requests_per_rank * (1 + spec), longest), 0, 0)


STATIC: ServingMode = Static()
IN_FLIGHT: ServingMode = InFlight()
PREFILL_POOL: ServingMode = PrefillPool()
DECODE_POOL: ServingMode = DecodePool()


def mode_of(workload: Workload) -> ServingMode:
    """The serving mode a workload runs in: a pool's instance by its role, else by `serving`.

    Example:
        >>> from dagc.plan.workload import Workload
        >>> mode_of(Workload(batch=8, prompt=100, generate=10, serving="inflight")).steps[-1]
        (<Phase.MIXED: 'mixed'>, 1)
    """
    if workload.role is not None:
        return pool_mode(workload.role)
    return IN_FLIGHT if workload.inflight else STATIC


def pool_mode(role: PoolRole) -> ServingMode:
    """The serving mode of a disaggregated strategy's pool's instance, by the pool's `role`."""
    return PREFILL_POOL if role == PoolRole.PREFILL else DECODE_POOL


def inflight_floors(workload: Workload, lay: Layout, decode_floor: float, mixed: float) -> tuple[float, float]:
    """In flight, lower bounds of TTFT and TPOT from lower bounds of the decode and mixed steps:
    TTFT's steps each at least the mixed step's, TPOT the steps' mixture (`dagc.layout.mix`)."""
    mixed = max(mixed, decode_floor)
    s = shares(workload, lay)
    return s.first_token_steps * mixed, s.group_share * mixed + (1.0 - s.group_share) * decode_floor

