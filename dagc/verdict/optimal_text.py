"""The optimal verdict's figures in words: a strategy's figure under an objective, and how much better the
search's best is than a checked strategy ("gives 1.27× the decode throughput per GPU (…)").

Input: figures (`Metrics.to_json()`) and GPU counts. Output: text and the figures a reader compares.
"""

from __future__ import annotations

from typing import Any

from ..units import Dimension, format_figure, format_si

__all__ = ["figures", "gain", "objective_text", "times", "TOLERANCE"]

TOLERANCE = 0.05        # within 5 % of the best is optimal (`dagc.verdict.optimal.OPTIMAL_TOLERANCE`)


def figures(metrics: dict, gpus: int, memory_fraction: float | None) -> dict:
    """The figures a reader compares two strategies by."""
    return {"gpus": gpus, "ttft_s": metrics["ttft_s"], "tpot_s": metrics["tpot_s"],
            "decode_tokens_per_s_per_gpu": metrics["decode_tokens_per_s"] / gpus,
            "throughput_tokens_per_s": metrics["throughput_tokens_per_s"], "memory_fraction": memory_fraction}


def objective_text(objective: str, metrics: dict, gpus: int) -> str:
    """A strategy's figure under an objective, with its unit."""
    match objective:
        case "ttft":
            return f"TTFT {format_si(metrics['ttft_s'], Dimension.TIME)}"
        case "tpot":
            return f"TPOT {format_si(metrics['tpot_s'], Dimension.TIME)}"
        case "throughput":
            return f"{format_figure(metrics['throughput_tokens_per_s'])} tokens/s end to end"
        case "min-gpus":
            return f"{gpus} GPU{'s' if gpus > 1 else ''}"
        case "cost":
            return f"{gpus / metrics['throughput_tokens_per_s'] * 1e6 / 3600:,.4g} GPU-hours per million tokens"
    return f"{format_figure(metrics['decode_tokens_per_s'] / gpus)} tokens/s per GPU"


def times(ratio: float) -> str:
    """A ratio of two figures, '1.85×': with two decimals, three below 1.1 (a strategy within 5 % of the
    best is optimal: 1.054× is not '1.05×'), more where three would still read as 1.050.

    Example:
        >>> times(1.8512), times(1.0536), times(1.05004)
        ('1.85×', '1.054×', '1.05004×')
    """
    digits, edge = (2 if ratio >= 1.1 else 3), 1 + TOLERANCE
    while digits < 6 and ratio != edge and f"{ratio:.{digits}f}" == f"{edge:.{digits}f}":
        digits += 1
    return f"{ratio:.{digits}f}×"


def gain(objective: str, best: Any, result: Any) -> str:
    """How much better the best candidate is than `result`, in the objective's own terms."""
    b, o, og = best.metrics, result.metrics, result.gpus_used or 1
    mine = o["decode_tokens_per_s"] / og
    theirs = b["decode_tokens_per_s"] / best.gpus
    match objective:
        case "ttft":
            return (f"has a {times(o['ttft_s'] / b['ttft_s'])} shorter TTFT ({objective_text('ttft', b, best.gpus)} "
                    f"vs {format_si(o['ttft_s'], Dimension.TIME)})")
        case "tpot":
            return (f"has a {times(o['tpot_s'] / b['tpot_s'])} shorter TPOT ({objective_text('tpot', b, best.gpus)} "
                    f"vs {format_si(o['tpot_s'], Dimension.TIME)})")
        case "throughput":
            return (f"gives {times(b['throughput_tokens_per_s'] / o['throughput_tokens_per_s'])} the end-to-end "
                    f"throughput ({format_figure(b['throughput_tokens_per_s'])} vs "
                    f"{format_figure(o['throughput_tokens_per_s'])} tokens/s)")
        case "min-gpus":
            return (f"needs fewer GPUs ({best.gpus} vs {og}), decoding {format_figure(theirs)} vs "
                    f"{format_figure(mine)} tokens/s per GPU")
        case "cost":
            own_cost, best_cost = og / o["throughput_tokens_per_s"], best.gpus / b["throughput_tokens_per_s"]
            return (f"costs {times(own_cost / best_cost)} less GPU time per token "
                    f"({objective_text('cost', b, best.gpus)} vs {objective_text('cost', o, og)})")
    return (f"gives {times(theirs / mine)} the decode throughput per GPU ({format_figure(theirs)} vs "
            f"{format_figure(mine)} tokens/s per "
            f"GPU)")
