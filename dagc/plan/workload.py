"""What a plan serves and what it requires: the workload and the `require` lines.

Input: nothing (these are the types). Output: `Workload` (batch, prompt, generated tokens and
how they are executed: micro-batches, overlap) and `Requirement`s with their `RequirementKind`.
Targets are SI (seconds, tokens/s, bytes or a fraction of memory, GPUs).
"""

from __future__ import annotations

from enum import StrEnum
from typing import overload

import numpy as np
import numpy.typing as npt
from pydantic import Field

from ..enums import FastEnum
from ..source import Span
from .base import Frozen
from .model import DType

__all__ = ["CHUNK_DEFAULT", "ExpertLoad", "Overlap", "Phase", "PoolRole", "RequestLog", "Serving", "Speculative",
           "Traffic", "Workload",
           "RequirementKind", "Requirement", "PERCENTILES", "PERCENTILE_KINDS"]

CHUNK_DEFAULT = 8192       # `chunk` unwritten, before the plan's engine and GPU choose it (dagc.plan.step_budget)


class Overlap(FastEnum):
    NONE = "none"
    MICROBATCH = "microbatch"


class Serving(FastEnum):
    """How the deployment runs requests (`workload { serving = … }`)."""

    STATIC = "static"          # the batch prefilled together, then decoded together
    INFLIGHT = "inflight"      # continuous batching with chunked prefill (dagc.serve.inflight)


class Phase(FastEnum):
    """A kind of engine step (a pass of the DAG): what a serving mode's steps are made of
    (`dagc.layout.modes`)."""

    PREFILL = "prefill"
    DECODE = "decode"
    MIXED = "mixed"            # in flight: the decode tokens plus one prompt's chunk (dagc.serve.inflight)


class PoolRole(StrEnum):
    """What one pool of a disaggregated strategy serves (`prefill 2 < … > decode 1 < … >`): its requests'
    prefill, or their decode steps. Its value is the word the plan and report.json write; a `StrEnum`, so a
    JSON key or a plan's word compares equal to it."""

    PREFILL = "prefill"
    DECODE = "decode"


class Speculative(Frozen):
    """Speculative decoding (`workload { speculative { … } }`, SPEC 12): each decode step drafts `tokens`
    tokens per request — by `method`: `mtp` the model's multi-token-prediction module, `eagle` one
    decoder layer of the model's width, `ngram` a lookup with no model — and the model verifies them
    with the next, `tokens + 1` positions per request. Drafts are accepted with probability
    `acceptance` each (until the first rejected), or `accept_length` tokens come out per step as engines
    report it."""

    method: str
    tokens: int
    acceptance: float | None = None
    accept_length: float | None = None

    @property
    def tokens_per_step(self) -> float:
        """Tokens one decode step emits per request: (1 − a^(k+1)) / (1 − a) for acceptance a of k drafted
        tokens (k + 1 when every draft is accepted), or the accept length given.

        Example:
            >>> Speculative(method="mtp", tokens=1, acceptance=0.8).tokens_per_step
            1.8
            >>> round(Speculative(method="eagle", tokens=3, acceptance=0.7).tokens_per_step, 4)
            2.533
        """
        if self.accept_length is not None:
            return self.accept_length
        a, k = self.acceptance or 0.0, self.tokens
        return float(sum(a ** i for i in range(k + 1)))        # = (1 − a^(k+1)) / (1 − a), exact at a = 1


class ExpertLoad(Frozen):
    """Measured routing (`routing from "expert_load.json"`, SPEC 12): the tokens routed to each expert of
    each MoE layer, as an engine's expert-distribution recorder counts them. `digest` names the counts
    (equal counts, equal digest): the timer's tables key on it rather than on the counts."""

    file: str                                   # the file's name, as the report shows it
    layers: tuple[tuple[float, ...], ...]       # per MoE layer, per expert: tokens routed
    digest: str

    def __hash__(self) -> int:
        return hash(self.digest)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExpertLoad) and other.digest == self.digest


class RequestLog(Frozen):
    """A request log replayed as traffic (`requests from "FILE"`, read by `dagc.lang.request_log`): per
    request, in arrival order, its arrival (seconds after the log's first), prompt and output tokens, and
    — for a Mooncake log — the hash ids of its prompt's blocks of `block_tokens` tokens (requests sharing
    leading ids share that prefix), flattened: request i's are `hash_ids[hash_offsets[i]:hash_offsets[i+1]]`.
    `digest` names the contents (equal contents, equal digest): a log is compared and hashed by it."""

    file: str                            # the file's name, as reports show it
    format: str                          # "azure" | "mooncake"
    arrival: np.ndarray                  # float64, s, non-decreasing, the first 0
    prompt: np.ndarray                   # int64, ≥ 1
    output: np.ndarray                   # int64, ≥ 1
    block_tokens: int = 512
    hash_ids: np.ndarray | None = None   # int64, flattened (Mooncake only)
    hash_offsets: np.ndarray | None = None   # int64, len(arrival) + 1
    first_line: int = 1                  # the file's line of the first request (2 under a CSV header)
    digest: str

    def __hash__(self) -> int:
        return hash(self.digest)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RequestLog) and other.digest == self.digest

    @property
    def requests(self) -> int:
        return len(self.arrival)


class Traffic(Frozen):
    """Requests arriving at the deployment (`workload { rate = 12 requests/s  requests = 2000 }`, or
    `concurrency = 64`, or `requests from "FILE"`), simulated by `dagc.serve.load`: open loop at `rate`
    requests/s (`arrival` poisson or uniform, drawn from `seed`), or closed loop with `concurrency`
    clients each sending its next request when the last one ends, their first starts spread over `ramp`
    seconds (None: one request's expected lifetime), or a request log replayed at its own times (at `rate`
    when one is written: the log's times scaled to that mean rate). Prompt and output lengths are the
    workload's `prompt` and `generate`, fixed or — with `lengths` — drawn around them (`length_cv`: the
    spread as a coefficient of variation), or the log's. `prefix`: the leading prompt tokens every
    request shares (a system prompt), prefilled once while cached. `warm`: the first requests whose prompts
    the prefix cache holds when the run starts (a server that served them before)."""

    requests: int
    rate: float | None = None            # requests/s (open loop); None: closed loop, or the log's own times
    arrival: str = "poisson"             # poisson | uniform
    seed: int = 0
    concurrency: int | None = None       # clients in a closed loop
    ramp: float | None = None            # seconds over which the clients' first requests start
    log: RequestLog | None = None        # `requests from "FILE"`
    lengths: str = "fixed"               # fixed | uniform | exponential | lognormal (docs/language.md)
    length_cv: float | None = None       # None: the distribution's default spread
    prefix: int = 0                      # tokens of a prompt shared by every request
    warm: int = 0                        # the first requests whose prompts are cached when the run starts

    def at_rate(self, rate: float) -> Traffic:
        """The same traffic arriving at `rate` requests/s (capacity bisection, `dagc search --rate`)."""
        return self.model_copy(update={"rate": rate, "concurrency": None, "ramp": None})


class Workload(Frozen):
    batch: int                           # with `batch_max`: the chosen batch, or BATCH_LIMIT before the choice
    prompt: int
    generate: int
    microbatches: int | None = None      # None: one per pipeline stage
    routing_imbalance: float | None = None   # busiest EP rank's tokens / mean; None: `routing = random`
    overlap: Overlap = Overlap.NONE
    dispatch: DType | None = None        # EP dispatch payload; None: fp8 for 8-bit weights, else bf16
    batch_max: bool = False              # `batch = max`: the largest batch each strategy serves (verdict.batch_max)
    batch_note: str | None = None        # once chosen: how (what one more request would break), for N605
    batch_breaks: str | None = None      # once chosen: what one more request would break (a requirement, memory)
    serving: Serving = Serving.STATIC
    chunk: int | None = None             # in flight: most tokens one engine step runs; None: chunk_default
    chunk_default: int = Field(default=CHUNK_DEFAULT, exclude=True)     # the engine's on the GPU (`engine_chunk`)
    # in flight: whether a prompt may be split over steps (`chunked_prefill = on`, the default) or each step
    # takes whole prompts only, as an engine with chunked prefill off schedules them (`dagc.layout.mix`)
    chunked_prefill: bool = Field(default=True, exclude=True)    # reported under `serving`
    # Disaggregated (`dagc.verdict.pools`; reported in `serving.pools`, not here): the requests a prefill
    # instance prefills at once (None: as many as fill a chunk) and when their KV moves ("after" the
    # prefill, or "layerwise" with it).
    prefill_batch: int | None = Field(default=None, exclude=True)
    kv_transfer: str = Field(default="after", exclude=True)
    # A pool's instance of a disaggregated strategy: "prefill" runs the static prefill alone, "decode" the
    # decode steps alone (`dagc.ir.dag.step_passes`); None: the whole workload.
    role: PoolRole | None = Field(default=None, exclude=True)
    # In flight, a mixed step priced by the load simulation (`dagc.serve.step_prices.StepPrices.every_rank`): on how
    # many attention-DP groups of a stage the chunk's prompt tokens sit, from the first (1: the busiest alone, as the
    # steady state's mixed step has them; `dagc.ir.op_shapes`). The experts of an EP group spanning them see them all.
    chunk_ranks: int = Field(default=1, exclude=True)
    speculative: Speculative | None = Field(default=None, exclude=True)   # reported under `speculative`
    expert_load: ExpertLoad | None = Field(default=None, exclude=True)    # reported under `eplb`
    traffic: Traffic | None = Field(default=None, exclude=True)           # simulated, reported under `load`

    @property
    def routing(self) -> float | ExpertLoad | None:
        """How tokens spread over the experts, as the cost model reads it (and its tables key on it): the
        measured loads, else the written imbalance, else None (`routing = random`)."""
        return self.expert_load if self.expert_load is not None else self.routing_imbalance

    @property
    def tokens_per_step(self) -> float:
        """Tokens a decode step emits per request: 1, or with speculative decoding its expected count — at most the
        `generate − 1` a request has left after its first token (until 2026-12-03 `generate = 4` drafting 5 at 0.9
        was credited 4.69 a step, its TPOT the step over 4.69 where one step emits the 3 it has left).

        Example:
            >>> spec = Speculative(method="eagle", tokens=5, acceptance=0.9)
            >>> round(Workload(batch=1, prompt=8, generate=500, speculative=spec).tokens_per_step, 4)
            4.6856
            >>> Workload(batch=1, prompt=8, generate=4, speculative=spec).tokens_per_step
            3.0
        """
        if self.speculative is None:
            return 1.0
        return min(self.speculative.tokens_per_step, max(1.0, float(self.generate - 1)))

    @property
    def step_positions(self) -> int:
        """Positions a decode step runs per request: 1, or the drafted tokens and the next one."""
        return 1 if self.speculative is None else self.speculative.tokens + 1

    @property
    def inflight(self) -> bool:
        return self.serving is Serving.INFLIGHT

    @property
    def chunk_tokens(self) -> int:
        """The token budget of one engine step in flight (`chunk`, or the plan's engine's default on its GPU)."""
        return self.chunk_default if self.chunk is None else self.chunk

    @property
    def chunk_text(self) -> str:
        """The step budget as a message names it: '`chunk = 256`' as written, else the engine's default it took.

        Example:
            >>> Workload(batch=8, prompt=100, generate=10, chunk=256).chunk_text
            '`chunk = 256`'
            >>> Workload(batch=8, prompt=100, generate=10, chunk_default=2048).chunk_text
            "the engine's default step budget on this GPU, 2,048 tokens (no `chunk` written)"
        """
        if self.chunk is not None:
            return f"`chunk = {self.chunk}`"
        return f"the engine's default step budget on this GPU, {self.chunk_default:,} tokens (no `chunk` written)"

    def microbatches_for(self, pp: int) -> int:
        return self.microbatches if self.microbatches is not None else pp

    @property
    def batch_text(self) -> str:
        """The batch as a report states it: '128', '171 (batch = max)' once chosen for a strategy,
        'max (chosen per strategy)' before."""
        if not self.batch_max:
            return f"{self.batch:,}"
        return "max (chosen per strategy)" if self.batch_note is None else f"{self.batch:,} (batch = max)"


class RequirementKind(FastEnum):
    TTFT = "ttft"
    TPOT = "tpot"
    DECODE_THROUGHPUT = "decode_throughput"
    PREFILL_THROUGHPUT = "prefill_throughput"
    THROUGHPUT = "throughput"
    MEMORY = "memory"
    GPUS = "gpus"
    # judged on the simulated load only (`ttft_p99`, `e2e_p90`, `goodput`): `Requirement.on_load`
    E2E = "e2e"
    ITL = "itl"
    GOODPUT = "goodput"

    @property
    def is_floor(self) -> bool:
        """Whether more is better, so that a target is a floor (`>=`): the throughputs and goodput."""
        return self in _FLOORS


_FLOORS = frozenset((RequirementKind.DECODE_THROUGHPUT, RequirementKind.PREFILL_THROUGHPUT,
                     RequirementKind.THROUGHPUT, RequirementKind.GOODPUT))
PERCENTILES = (50, 90, 95, 99)                      # the percentiles a load reports and a requirement may bound
PERCENTILE_KINDS = ("ttft", "tpot", "itl", "e2e")   # the latencies written `ttft_p99`


class Requirement(Frozen):
    kind: RequirementKind
    op: str                  # one of <= >= < > ==
    target: float            # SI: seconds, tokens/s, fraction of memory or bytes, GPUs
    per_gpu: bool = False    # throughput targets written with /gpu
    memory_is_fraction: bool = True
    percentile: int | None = None   # `ttft_p99 <= 2 s`: the 99th percentile of the simulated load's TTFT
    text: str                # the line as written, for reports
    span: Span | None = Field(default=None, exclude=True)

    @property
    def on_load(self) -> bool:
        """Whether it is judged on the simulated load (a percentile, or goodput) rather than the steady state."""
        return self.percentile is not None or self.kind in (RequirementKind.E2E, RequirementKind.ITL,
                                                            RequirementKind.GOODPUT)

    @property
    def name(self) -> str:
        """The name as report.json states it: `ttft`, `ttft_p99`, `decode_throughput_per_gpu`."""
        return self.written_name + ("_per_gpu" if self.per_gpu else "")

    @property
    def written_name(self) -> str:
        """The name as a plan writes it: `ttft_p99`, `decode_throughput` (per GPU is its unit's `/gpu`)."""
        return self.kind.value + (f"_p{self.percentile}" if self.percentile is not None else "")

    @overload
    def holds(self, value: float) -> bool: ...
    @overload
    def holds(self, value: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]: ...

    def holds(self, value: float | npt.NDArray[np.float64]) -> bool | npt.NDArray[np.bool_]:
        """Whether `value` meets the requirement: a float, or a numpy array judged elementwise. `==`, and the
        equality of `<=` and `>=`, hold within a relative 1e-9 of the target (a KV cache sized to fill
        `memory <= 47 %` comes to 0.4700000000000001 of the GPU in floating point: it meets it).

        Example:
            >>> import numpy as np
            >>> r = Requirement(kind=RequirementKind.GPUS, op="==", target=8.0, text="gpus == 8")
            >>> r.holds(8.0), r.holds(8.0 + 1e-12), r.holds(np.array([8.0, 9.0])).tolist()
            (True, True, [True, False])
            >>> m = Requirement(kind=RequirementKind.MEMORY, op="<=", target=0.47, text="memory <= 47 %")
            >>> m.holds(0.4700000000000001), m.holds(0.4700001)
            (True, False)
        """
        match self.op:
            case "<=":
                return value <= self.target + 1e-9 * abs(self.target)
            case ">=":
                return value >= self.target - 1e-9 * abs(self.target)
            case "<":
                return value < self.target
            case ">":
                return value > self.target
            case _ if isinstance(value, np.ndarray):
                spread = (np.abs(value) + abs(self.target) + np.abs(np.abs(value) - abs(self.target))) / 2
                return np.abs(value - self.target) <= 1e-9 * spread
            case _:
                larger = (abs(value) + abs(self.target) + abs(abs(value) - abs(self.target))) / 2
                return abs(value - self.target) <= 1e-9 * larger
