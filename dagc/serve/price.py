"""What a strategy's tokens cost: GPU-hours, and money at the plan's GPU price (`cluster { price = 2.5 $/h }`).

Input: the tokens a deployment is charged for — its goodput under the plan's traffic, or without traffic its
steady state's end-to-end throughput per GPU (`dagc.serve.rates.rate_metrics`) —, the price of one GPU-hour,
or None, and the requests' prompt and output tokens. Output: `token_cost`, the figures report.json's `cost`
holds, `dagc check` and the reports state and `dagc fleet` ranks by, and `basis_text`, the basis in words.

The basis (docs/outputs.md, `cost`): a plan with traffic is charged for the tokens its deployment serves
within every target — its goodput (requests/s) times a request's prompt and generated tokens — for the whole
time of the GPUs it uses: what the deployment costs at the traffic the plan sends it (a deployment that
cannot carry that traffic is charged for what it serves within its targets, not for the steady state's
throughput, which it does not reach). Without traffic (or where the traffic was not simulated) the steady
state's throughput: what a deployment kept busy serves.
Every token figure charges the GPUs' whole time: per million tokens, to the input and output tokens
together; per million output tokens, as serving benchmarks quote it, to the output tokens alone (and per
million input tokens, to the input alone), so those two do not add up.
"""

from __future__ import annotations

from typing import Protocol, TypedDict

import numpy as np

__all__ = ["BASES", "RunLengths", "Throughputs", "TokenCost", "basis_text", "request_tokens", "token_cost"]

_MILLION_PER_HOUR = 1e6 / 3600.0      # a million tokens at one token/s take this many hours

# report.json's `cost.basis`: what the tokens charged are
BASES = ("goodput", "steady_state")


class Throughputs(Protocol):
    """What `token_cost` reads of a steady state (`dagc.verdict.steady.SteadyMetrics`): its end-to-end throughput,
    on every GPU and per GPU."""

    @property
    def throughput_tokens_per_s(self) -> float: ...

    @property
    def throughput_tokens_per_s_per_gpu(self) -> float: ...


class RunLengths(Protocol):
    """What `request_tokens` reads of a simulated run (`dagc.serve.load_result.Load`): each request's prompt tokens
    (None: the workload's) and output tokens."""

    @property
    def prompt(self) -> np.ndarray | None: ...

    @property
    def output_tokens(self) -> np.ndarray: ...


def request_tokens(run: RunLengths | None, prompt: int, generate: int) -> tuple[float, float]:
    """A request's prompt and output tokens as the goodput charged served them: the mean of the simulated run's own
    requests where it has lengths of its own — a request log's (`requests from`), or drawn ones, scaled to the
    workload's means —, else the workload's `prompt` and `generate`. Until 2026-11-29 a log's requests were charged
    at the workload's steady-state lengths: 1,000 Azure requests of 1,014 + 247 tokens on average, served at 4.624
    requests/s, read 48,538 tokens/s (× 10,240 + 256) and a million tokens 8.3× too cheap.

    Example:
        >>> from types import SimpleNamespace
        >>> log = SimpleNamespace(prompt=np.array([1000, 3000]), output_tokens=np.array([100, 300]))
        >>> request_tokens(log, 10240, 256), request_tokens(None, 10240, 256)
        ((2000.0, 200.0), (10240.0, 256.0))
    """
    if run is None or run.prompt is None or len(run.prompt) == 0:
        return float(prompt), float(generate)
    return float(np.mean(run.prompt)), float(np.mean(run.output_tokens))


class TokenCost(TypedDict):
    """report.json's `cost` (docs/outputs.md), in its key order."""

    price_per_gpu_hour: float | None
    gpu_hours_per_million_tokens: float | None
    per_million_tokens: float | None
    gpu_hours_per_million_output_tokens: float | None
    per_million_output_tokens: float | None
    gpu_hours_per_million_input_tokens: float | None
    per_million_input_tokens: float | None
    basis: str
    tokens_per_s: float | None
    goodput_requests_per_s: float | None


def token_cost(metrics: Throughputs | None, price_per_gpu_hour: float | None, prompt: float, generate: float,
               goodput_requests_per_s: float | None = None, gpus: int | None = None) -> TokenCost:
    """GPU-hours per million tokens (all, output, input) and, with a price, their money, charged to the tokens
    of the basis (module docstring): with `goodput_requests_per_s` (a plan's traffic simulated on `gpus`
    GPUs) its requests' `prompt` and `generate` tokens (their means, `request_tokens`), else the steady state's
    end-to-end throughput per GPU in `metrics` (over whole requests, in every serving mode), whose shares are the
    input and output tokens.
    Keys besides the figures: `basis` (`BASES`), `tokens_per_s` (all tokens charged, on every GPU; None
    without metrics) and `goodput_requests_per_s` (None on the steady state's basis).

    Example:
        >>> from types import SimpleNamespace
        >>> m = SimpleNamespace(throughput_tokens_per_s_per_gpu=1000.0, throughput_tokens_per_s=8000.0)
        >>> c = token_cost(m, 2.0, 3000, 1000)       # 750 input and 250 output tokens/s per GPU
        >>> round(c["gpu_hours_per_million_tokens"], 4), round(c["per_million_output_tokens"], 4), c["basis"]
        (0.2778, 2.2222, 'steady_state')
        >>> token_cost(m, None, 3000, 1000)["per_million_tokens"] is None
        True
        >>> g = token_cost(m, 2.0, 3000, 1000, goodput_requests_per_s=1.0, gpus=8)   # 4,000 tokens/s on 8 GPUs
        >>> g["basis"], g["tokens_per_s"], round(g["per_million_tokens"], 4)
        ('goodput', 4000.0, 1.1111)
    """
    total = prompt + generate
    tokens: float | None
    if goodput_requests_per_s is not None and gpus:
        basis, tokens, per = "goodput", goodput_requests_per_s * total, gpus
    else:
        basis, tokens, per = "steady_state", metrics.throughput_tokens_per_s_per_gpu if metrics is not None else None, 1

    def hours(share: float) -> float | None:
        return per * _MILLION_PER_HOUR / (tokens * share) if tokens else None

    def money(h: float | None) -> float | None:
        return None if h is None or price_per_gpu_hour is None else h * price_per_gpu_hour

    every, output, prompt_only = hours(1.0), hours(generate / total), hours(prompt / total)
    all_tokens = tokens if basis == "goodput" else metrics.throughput_tokens_per_s if metrics is not None else None
    return {"price_per_gpu_hour": price_per_gpu_hour,
            "gpu_hours_per_million_tokens": every, "per_million_tokens": money(every),
            "gpu_hours_per_million_output_tokens": output, "per_million_output_tokens": money(output),
            "gpu_hours_per_million_input_tokens": prompt_only, "per_million_input_tokens": money(prompt_only),
            "basis": basis, "tokens_per_s": all_tokens,
            "goodput_requests_per_s": goodput_requests_per_s if basis == "goodput" else None}


def basis_text(cost: TokenCost, traffic: bool = False, capped: tuple[str, float] | None = None) -> str:
    """What a cost is charged to, in words (`traffic`: the plan has traffic, whose run was not simulated; `capped`:
    what the goodput charged was brought down to — "its capacity", say — and the run's own goodput above it, for a
    deployment that does not carry its traffic: `dagc.export.cost_words.sustained_goodput`).

    Example:
        >>> basis_text({"basis": "goodput", "goodput_requests_per_s": 2.0, "tokens_per_s": 5000.0})
        "on its goodput under the plan's traffic (2 requests/s, 5,000 tokens/s, served within every target)"
        >>> basis_text({"basis": "goodput", "goodput_requests_per_s": 5.496, "tokens_per_s": 13190.0},
        ...            capped=("its capacity", 6.0))[:110]
        "on the goodput it sustains under the plan's traffic (5.496 requests/s, 13,190 tokens/s: its capacity, below th"
        >>> basis_text({"basis": "steady_state", "tokens_per_s": 9741.2})
        "on the steady state's throughput (9,741 tokens/s; the plan sends no traffic)"
    """
    if cost["basis"] == "goodput" and capped is not None:
        what, run = capped
        return (f"on the goodput it sustains under the plan's traffic ({cost['goodput_requests_per_s']:,.4g} "
                f"requests/s, {cost['tokens_per_s']:,.0f} tokens/s: {what}, below the {run:,.4g} requests/s its run "
                "served within every target, which a longer run does not keep)")
    if cost["basis"] == "goodput":
        return (f"on its goodput under the plan's traffic ({cost['goodput_requests_per_s']:,.4g} requests/s, "
                f"{cost['tokens_per_s']:,.0f} tokens/s, served within every target)")
    tokens = "" if cost["tokens_per_s"] is None else f"{cost['tokens_per_s']:,.0f} tokens/s; "
    why = "its traffic was not simulated" if traffic else "the plan sends no traffic"
    return f"on the steady state's throughput ({tokens}{why})"
