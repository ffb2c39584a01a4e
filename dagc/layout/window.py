"""Windowed attention (`model { window { … } }`, SPEC 12): what a windowed layer holds and computes.

Input: a `Model` with a `Window` and the workload's lengths. Output, for one windowed layer: the
tokens of a request's KV cache it holds (at most the window), the share of a full causal prefill's
query-key pairs it computes, the context a decode step attends to; and, for the op templates, the
model's mean over its layers — full and windowed — of the last two (`prefill_factor`,
`decode_context_mean`). Every figure here is derived once; the KV cache (`dagc.memory.resident`),
the attention op (`dagc.ir.op_attention`), the KV transfer (`dagc.serve.disagg`) and the bounds
(`dagc.rules.bounds`) read them.

The attention op of a layer is costed at the model's mean of full and windowed layers: a stage's
attention time is exact when its layers mix windowed and full ones as the whole model does (its
layer count a multiple of `full_every`), the KV cache exact per stage always (docs/cost-model.md).
"""

from __future__ import annotations

from ..plan.model import Model, Window
from ..plan.workload import Workload

__all__ = ["causal_pairs", "decode_context", "decode_context_mean", "kv_tokens", "prefill_factor", "window_pairs",
           "windowed_decode_context"]


def decode_context(workload: Workload) -> int:
    """Context length a full-attention decode step attends to: the mean over the generation."""
    return workload.prompt + workload.generate // 2


def kv_tokens(window: Window | None, tokens: int) -> int:
    """Tokens of a request's context a layer keeps in its KV cache: all of them, or at most the
    window (a sliding window's last `size`, a chunk's at most `size`)."""
    return tokens if window is None else min(tokens, window.size)


def causal_pairs(n: int) -> int:
    """Query-key pairs of a causal prefill of `n` tokens (each attends to itself and those before)."""
    return n * (n + 1) // 2


def window_pairs(window: Window, n: int) -> int:
    """Query-key pairs of a windowed causal prefill of `n` tokens.

    Example:
        >>> window_pairs(Window(size=4), 10), window_pairs(Window(size=4, kind="chunked"), 10), causal_pairs(10)
        (34, 23, 55)
    """
    w = window.size
    if window.kind == "chunked":
        q, r = divmod(n, w)
        return q * causal_pairs(w) + causal_pairs(r)
    return causal_pairs(n) if n <= w else causal_pairs(w) + (n - w) * w


def prefill_factor(model: Model, prompt: int) -> float:
    """The model's mean over its layers of the share of a full causal prefill's work a layer does: 1
    without a window; a windowed layer does `window_pairs / causal_pairs`."""
    w = model.window
    if w is None or prompt <= 0:
        return 1.0
    share = model.window_share
    return 1.0 - share + share * window_pairs(w, prompt) / causal_pairs(prompt)


def windowed_decode_context(window: Window, workload: Workload) -> float:
    """The context a windowed layer's decode step attends to, at most the full layers'
    (`decode_context`): a sliding window's `size`; in a chunk, the mean over the generation of the
    tokens of the current chunk so far.

    Example:
        >>> from dagc.plan.workload import Workload
        >>> w = Workload(batch=1, prompt=1000, generate=100)
        >>> windowed_decode_context(Window(size=128), w), windowed_decode_context(Window(size=8192), w)
        (128, 1050)
        >>> # positions 1000–1023 end a chunk (489–512 tokens in it), 1024–1099 start the next (1–76)
        >>> round(windowed_decode_context(Window(size=512, kind="chunked"), w), 1)
        149.4
    """
    full = decode_context(workload)
    if window.kind != "chunked":
        return min(full, window.size)
    lo, hi, c = workload.prompt, workload.prompt + workload.generate, window.size

    def below(n: int) -> int:                       # Σ over p < n of (p mod c) + 1
        q, r = divmod(n, c)
        return q * causal_pairs(c) + causal_pairs(r)

    return min(full, (below(hi) - below(lo)) / max(1, hi - lo))


def decode_context_mean(model: Model, workload: Workload) -> float:
    """The model's mean over its layers of the context a decode step attends to (`decode_context`
    for a full layer, `windowed_decode_context` for a windowed one)."""
    full = decode_context(workload)
    if model.window is None:
        return full
    share = model.window_share
    return (1.0 - share) * full + share * windowed_decode_context(model.window, workload)
