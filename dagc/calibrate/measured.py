"""A measured run (`MeasuredRun`) and where its fields are: the type `dagc.calibrate.runs` reads run files into.

Input: nothing (types and the E110 helper). Output: `MeasuredRun`, `run_error`, `locate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..diagnostics import PlanError
from ..rules.syntax import run_refusal
from ..source import SourceFile, Span

__all__ = ["MAX_RUN_BYTES", "MAX_RUNS_PER_FILE", "RUN_CODE", "RUN_HINT", "TIMES_MS", "MeasuredRun", "locate",
           "run_error"]

RUN_CODE = "E110"
MAX_RUN_BYTES = 256 * 1024 * 1024       # a detailed vLLM result of 10,000 requests with their texts: ~50 MB
MAX_RUNS_PER_FILE = 10_000
TIMES_MS = {"ms": 1.0, "s": 1e3, "sec": 1e3, "us": 1e-3, "ns": 1e-6}     # → ms
RUN_HINT = "dagc reads vLLM's `--save-result` JSON, SGLang's bench_serving JSON lines and AIPerf / genai-perf " \
        "profile exports (docs/calibrate.md)"


@dataclass(frozen=True)
class MeasuredRun:
    """One measured run: its traffic, its figures, and where in its file each came from."""

    id: str                              # the file's name, `#k` after it for the k-th run of a file of several
    path: str
    tool: str                            # vllm | sglang | aiperf
    src: SourceFile = field(repr=False)
    start: int = 0                       # the run's object in `src`: [start, end)
    end: int = 0
    requests: int = 0
    rate: float | None = None            # requests/s; None: every request at once, or a closed loop
    concurrency: int | None = None       # the client's cap on requests in flight (None: none)
    prompt: float = 0.0                  # mean input tokens
    generate: float = 0.0                # mean output tokens
    measured: Mapping[str, float] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)     # measured key or traffic name → the file's field
    model: str | None = None             # the model the run names (vLLM's and SGLang's `model_id`), None: none
    backend: str | None = None           # the server the client named (vLLM's and SGLang's `backend`), None: none
    gpu: str | None = None               # the GPU its telemetry names (AIPerf's `telemetry_data`), None: none
    arrival: str | None = None           # at a rate: `poisson` or `uniform` when the file says (AIPerf's mode)
    peak: float | None = None            # the most requests in flight the file says (vLLM's `max_concurrent_requests`)

    @property
    def in_flight(self) -> float | None:
        """The most requests the run held in flight: the peak its file says, else a closed loop's clients or a
        burst's requests (never more than it sent); None: a run at a rate whose file says no peak."""
        if self.peak is not None:
            return self.peak
        return float(min(self.concurrency or self.requests, self.requests)) if self.rate is None else None

    def span(self, name: str) -> Span:
        """Where the field behind `name` (a measured key, `requests`, `rate`, `concurrency`, `prompt`,
        `generate`, or a field of the file) is written in the run's object (its start when not found)."""
        return locate(self.src, self.start, self.fields.get(name, name), self.end)


def run_error(src: SourceFile, at: int, message: str, hint: str | None = RUN_HINT) -> PlanError:
    """E110 at offset `at` of the run file `src` (its line and column; never its content)."""
    return PlanError([run_refusal(message, src.span(at, at), hint)])


def locate(src: SourceFile, start: int, dotted: str, end: int) -> Span:
    """The key `dotted` (`time_to_first_token.avg`: `avg` after `time_to_first_token`) in [start, end) of `src`,
    else `start`."""
    at = start
    for part in dotted.split("."):
        found = src.text.find(f'"{part}"', at, end)
        if found < 0:
            return src.span(start, start)
        at = found
    return src.span(at, at + len(dotted.split(".")[-1]) + 2)
