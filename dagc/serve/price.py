"""What a strategy's tokens cost: GPU-hours, and money at the plan's GPU price (`cluster { price = 2.5 $/h }`).

Input: a strategy's metrics (`dagc.serve.rates.rate_metrics`: the end-to-end throughput per GPU), the price
of one GPU-hour, or None, and the requests' prompt and output tokens. Output: `token_cost`, the figures
report.json's `cost` holds and the reports state.
Every token figure charges the GPUs' whole time: per million tokens, to the input and output tokens
together; per million output tokens, as serving benchmarks quote it, to the output tokens alone (and per
million input tokens, to the input alone), so those two do not add up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["token_cost"]

_MILLION_PER_HOUR = 1e6 / 3600.0      # a million tokens at one token/s take this many hours


def token_cost(metrics: Mapping[str, Any], price_per_gpu_hour: float | None, prompt: int, generate: int
               ) -> dict[str, float | None]:
    """GPU-hours per million tokens (all, output, input) and, with a price, their money, from the end-to-end
    throughput per GPU (over whole requests, in every serving mode) and the requests' `prompt` and
    `generate` tokens, whose shares of it are the input and output tokens.

    Example:
        >>> m = {"throughput_tokens_per_s_per_gpu": 1000.0}
        >>> c = token_cost(m, 2.0, 3000, 1000)       # 750 input and 250 output tokens/s per GPU
        >>> round(c["gpu_hours_per_million_tokens"], 4), round(c["per_million_output_tokens"], 4)
        (0.2778, 2.2222)
        >>> token_cost(m, None, 3000, 1000)["per_million_tokens"] is None
        True
    """
    per_gpu = metrics.get("throughput_tokens_per_s_per_gpu")
    total = prompt + generate
    shares = {"tokens": 1.0, "output_tokens": generate / total, "input_tokens": prompt / total}
    out: dict[str, float | None] = {"price_per_gpu_hour": price_per_gpu_hour}
    for kind, share in shares.items():
        h = _MILLION_PER_HOUR / (per_gpu * share) if per_gpu else None
        out[f"gpu_hours_per_million_{kind}"] = h
        out[f"per_million_{kind}"] = None if h is None or price_per_gpu_hour is None else h * price_per_gpu_hour
    return out
