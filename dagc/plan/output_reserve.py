"""SGLang's reservation of running requests' output at admission: its constants and the ratios they make.

Input: an engine's `output_reserve` (`EngineTerms`: SGLang's initial `new_token_ratio`) and the attention-DP ranks
of a replica. Output: `ratios` — the ratio a running request's output still to come is reserved at when the
scheduler starts, its floor and its decay per decode step — and `steady_ratio`, the floor a busy engine's ratio
decays to, at which the steady state counts each running request (`dagc.memory.admission`). The load simulation
follows the ratio step by step (`dagc.serve.reserve`). Each constant's source: docs/cost-model.md, "SGLang's
admission".
"""

from __future__ import annotations

__all__ = ["SGLANG_CLIP_MAX_NEW_TOKENS", "SGLANG_DP_ATTENTION_CONSERVATIVENESS", "SGLANG_NEW_TOKEN_RATIO_DECAY_STEPS",
           "SGLANG_NEW_TOKEN_RATIO_FLOOR_FACTOR", "SGLANG_NEW_TOKEN_RATIO_INIT", "SGLANG_RETRACT_DECODE_STEPS",
           "ratios", "steady_ratio"]

SGLANG_NEW_TOKEN_RATIO_INIT = 0.7             # SGLANG_INIT_NEW_TOKEN_RATIO
SGLANG_NEW_TOKEN_RATIO_FLOOR_FACTOR = 0.14    # SGLANG_MIN_NEW_TOKEN_RATIO_FACTOR
SGLANG_NEW_TOKEN_RATIO_DECAY_STEPS = 600      # SGLANG_NEW_TOKEN_RATIO_DECAY_STEPS
SGLANG_DP_ATTENTION_CONSERVATIVENESS = 0.3    # schedule_conservativeness × this with --enable-dp-attention
SGLANG_CLIP_MAX_NEW_TOKENS = 4096             # SGLANG_CLIP_MAX_NEW_TOKENS_ESTIMATION
SGLANG_RETRACT_DECODE_STEPS = 20              # retract_decode_steps / SGLANG_RETRACT_DECODE_STEPS


def ratios(init: float, adp: int) -> tuple[float, float, float]:
    """(start, floor, decay a decode step) of the ratio for an engine whose `output_reserve` is `init`, on a replica
    of `adp` attention-DP ranks (SGLang's scheduler: `init_new_token_ratio`, `min_new_token_ratio`,
    `new_token_ratio_decay`).

    Example:
        >>> [round(x, 6) for x in ratios(0.7, 1)], [round(x, 6) for x in ratios(0.7, 8)]
        ([0.7, 0.098, 0.001003], [0.21, 0.0294, 0.000301])
    """
    start = min(1.0, init * (SGLANG_DP_ATTENTION_CONSERVATIVENESS if adp > 1 else 1.0))
    floor = min(1.0, start * SGLANG_NEW_TOKEN_RATIO_FLOOR_FACTOR)
    return start, floor, (start - floor) / SGLANG_NEW_TOKEN_RATIO_DECAY_STEPS


def steady_ratio(init: float, adp: int) -> float:
    """The ratio a busy engine's decode steps take it to (its floor): 0 for an engine that reserves nothing."""
    return ratios(init, adp)[1] if init else 0.0
