"""vLLM's dual-batch overlap thresholds: the flags that make `--enable-dbo` split the steps dagc priced split.

vLLM splits a step into two micro-batches only when the step has enough tokens (vllm/v1/worker/ubatch_utils.py,
`check_ubatch_thresholds`): a decode-only step at `--dbo-decode-token-threshold` tokens or more (32 by default), a
step with prompt tokens at `--dbo-prefill-token-threshold` (512 by default), and all data-parallel ranks together or
none. dagc's `overlap microbatch` prices every step of a rank split in two. A rank that decodes d requests of k + 1
positions runs d·(k + 1) tokens a decode step: below 32, vLLM would run the step whole, where dagc's TPOT is of the
overlapped step (DeepSeek-V3, 256 requests over 16 attention-DP ranks: 16 tokens a step). So dagc writes each
threshold down to the step's tokens when they are below vLLM's default, and says so; a step of one token cannot be
split, and is left to the default. (Until 2026-11-30 `--enable-dbo` was written alone.)
"""

from __future__ import annotations

from ..plan.workload import Overlap
from .degrees import Degrees
from .serving import Serving

__all__ = ["DECODE_DEFAULT", "PREFILL_DEFAULT", "dbo_flags", "dbo_notes"]

DECODE_DEFAULT = 32      # ParallelConfig.dbo_decode_token_threshold
PREFILL_DEFAULT = 512    # ParallelConfig.dbo_prefill_token_threshold


def _steps(d: Degrees, v: Serving | None) -> tuple[int, int] | None:
    """A rank's tokens in a decode step and in a step with prompt tokens (a static prefill of its prompts, or an
    in-flight mixed step: the decode tokens and the prompt tokens beside them); None without overlap or figures."""
    if d.overlap is not Overlap.MICROBATCH or v is None:
        return None
    decode = v.requests * v.query_len
    prefill = decode + v.prompt_tokens if v.mode.continuous and v.prompt_tokens else v.chunk
    return decode, prefill


def dbo_flags(d: Degrees, v: Serving | None) -> list[str]:
    """`--dbo-decode-token-threshold` / `--dbo-prefill-token-threshold` where a step dagc priced split has fewer
    tokens than vLLM's default threshold (and at least two, which a split needs).

    Example:
        >>> from types import SimpleNamespace as S
        >>> v = S(requests=16, query_len=1, prompt_tokens=8176, chunk=8192, mode=S(continuous=True))
        >>> dbo_flags(S(overlap=Overlap.MICROBATCH), v), dbo_flags(S(overlap=Overlap.NONE), v)
        (['--dbo-decode-token-threshold', '16'], [])
    """
    steps = _steps(d, v)
    if steps is None:
        return []
    decode, prefill = steps
    return ((["--dbo-decode-token-threshold", str(decode)] if 2 <= decode < DECODE_DEFAULT else [])
            + (["--dbo-prefill-token-threshold", str(prefill)] if 2 <= prefill < PREFILL_DEFAULT else []))


def dbo_notes(d: Degrees, v: Serving | None) -> list[str]:
    """What the thresholds written are for (none when the defaults split every step dagc priced split)."""
    flags = dbo_flags(d, v)
    if not flags:
        return []
    said = ", ".join(f"{flags[i]} {flags[i + 1]}" for i in range(0, len(flags), 2))
    return [f"{said}: vLLM splits a step for dual-batch overlap only from its threshold's tokens on (32 a decode "
            f"step, 512 with prompt tokens, by default: vllm/v1/worker/ubatch_utils.py), and dagc's figures split "
            "every step of a rank, as small as these"]
