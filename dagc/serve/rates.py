"""The one formula from TTFT and TPOT to throughputs, for each serving mode.

Input: TTFT and TPOT (measured, estimated, or lower bounds of them), a `Workload` and a GPU
count. Output: `Rates` — `ttft_s`, `tpot_s`, the prefill, decode and end-to-end throughputs, each
also per GPU (report.json's `metrics` holds them under the fields' names). The serving mode
(`dagc.layout.modes`, `ServingMode.throughputs`) says how: statically (SPEC 7) the batch is prefilled in
TTFT, then decoded a token per TPOT. In flight (`dagc.serve.inflight`) every step decodes every request in
flight while prompts are chunked in, so the rates follow from TPOT alone: decode tokens/s = batch / TPOT,
prompt tokens/s = that × prompt / generate, end to end their sum. Either way lower bounds of TTFT and
TPOT give upper bounds of every rate (the search's bounds read it so). A disaggregated pool's instance
alone has only its own figure: `InstanceRates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from ..layout.modes import ServingMode, mode_of
from ..plan.workload import Workload

__all__ = ["F", "InstanceRates", "Rates", "per_token", "rate_metrics", "rates_in"]

# a figure: one deployment's, or a numpy column of many (`dagc.serve.disagg.pooled_rates` weighs many pairs at once)
F = TypeVar("F", float, npt.NDArray[np.float64])


@dataclass(frozen=True, slots=True)
class Rates(Generic[F]):
    """A deployment's TTFT (the client's, and the server's), TPOT and throughputs, total and per GPU. Field
    order is report.json's key order (`dagc.verdict.steady.SteadyMetrics`)."""

    ttft_s: F
    ttft_server_s: F
    tpot_s: F
    prefill_tokens_per_s: F
    decode_tokens_per_s: F
    throughput_tokens_per_s: F
    prefill_tokens_per_s_per_gpu: F
    decode_tokens_per_s_per_gpu: F
    throughput_tokens_per_s_per_gpu: F


@dataclass(frozen=True, slots=True)
class InstanceRates:
    """A disaggregated pool's instance alone (`Workload.role`): its own figure — a prefill instance's TTFT
    (its prefill's makespan), a decode instance's TPOT (its step per token) — the other 0; the
    deployment's throughputs are `dagc.serve.disagg`'s."""

    ttft_s: float
    tpot_s: float

    @property
    def ttft_server_s(self) -> float:
        """An instance's TTFT is the server's: the engine's front end is the deployment's to add."""
        return self.ttft_s


def per_token(step_s: float, workload: Workload) -> float:
    """TPOT from a decode step's time: the step, or with speculative decoding the step over the tokens
    it emits per request (`Workload.tokens_per_step`).

    Example:
        >>> from dagc.plan.workload import Speculative, Workload
        >>> spec = Speculative(method="mtp", tokens=1, acceptance=0.8)
        >>> round(per_token(0.018, Workload(batch=1, prompt=10, generate=10, speculative=spec)), 12)  # 18 ms / 1.8
        0.01
    """
    return step_s / workload.tokens_per_step


def rate_metrics(ttft_s: float, tpot_s: float, workload: Workload, gpus: int, batch: int | None = None,
                 frontend_s: float = 0.0) -> Rates[float]:
    """TTFT, TPOT and the throughputs they imply, total and per GPU, for the workload's batch or
    `batch` requests, in the workload's serving mode. `tpot_s` is a decode step's time: with
    speculative decoding the TPOT is that over the tokens a step emits (`per_token`).

    `ttft_s` is the server's (its first token out of the engine); the TTFT reported, `ttft_s`, is the
    client's — the server's plus the engine's per-request front-end time `frontend_s`
    (`dagc.plan.engines.EngineTerms.frontend_s`: HTTP, tokenisation, the first streamed chunk), the one
    place dagc adds it to a steady state — with the server's beside it, `ttft_server_s`. The throughputs
    are the server's: the front end runs beside the GPUs.

    Example:
        >>> from dagc.plan.workload import Workload
        >>> rate_metrics(2.0, 0.01, Workload(batch=10, prompt=100, generate=10), 5).decode_tokens_per_s_per_gpu
        200.0
        >>> rate_metrics(2.0, 0.01, Workload(batch=10, prompt=100, generate=10, serving="inflight"), 5
        ...              ).prefill_tokens_per_s
        10000.0
        >>> r = rate_metrics(2.0, 0.01, Workload(batch=10, prompt=100, generate=10), 5, frontend_s=0.01)
        >>> r.ttft_s, r.ttft_server_s, round(r.throughput_tokens_per_s, 6)   # 10 · 110 / (2 + 10 · 0.01)
        (2.01, 2.0, 523.809524)
    """
    return rates_in(mode_of(workload), ttft_s, tpot_s, workload, gpus, batch, frontend_s)


def rates_in(mode: ServingMode, ttft_s: float, tpot_s: float, workload: Workload, gpus: int,
             batch: int | None = None, frontend_s: float = 0.0) -> Rates[float]:
    """`rate_metrics` in the serving mode `mode`, handed by a caller that has it (the workload's)."""
    b = workload.batch if batch is None else batch
    tpot_s = per_token(tpot_s, workload)
    decode = b / tpot_s
    prefill, throughput = mode.throughputs(b, workload, ttft_s, tpot_s)
    return Rates(ttft_s=ttft_s + frontend_s, ttft_server_s=ttft_s, tpot_s=tpot_s, prefill_tokens_per_s=prefill,
                 decode_tokens_per_s=decode, throughput_tokens_per_s=throughput,
                 prefill_tokens_per_s_per_gpu=prefill / gpus, decode_tokens_per_s_per_gpu=decode / gpus,
                 throughput_tokens_per_s_per_gpu=throughput / gpus)
