"""`sp` (sequence-parallel activations inside a TP group) on each engine: E709 where the engine has no setting
for it among the flags checked against its release's parser (docs/launch.md).

dagc's `tp T sp` shards the activations a TP group holds between its collectives (norms, residuals): each
all-reduce becomes a reduce-scatter and an all-gather, and dagc prices those. None of the three engines'
parallel flags says that (checked against their parsers): a command without it would run the
all-reduces dagc did not price, a silent reinterpretation; so `dagc launch` refuses it and names the nearest
strategy the engine runs (the same without `sp`), and the search leaves `sp` out on a plan whose engine is
chosen. What each engine has near it, not mapped until it is checked against the release's parser:
vLLM's sequence-parallelism compilation pass (`--compilation-config`, a torch.compile fusion it applies to
the shapes it compiles), SGLang's `--enable-attn-tp-input-scattered` (in its parser; its models' use not checked).
"""

from __future__ import annotations

from .degrees import Degrees

__all__ = ["SP_WHY", "sp_refusal"]

# Per engine key: what it has for `sp`, and why that is not mapped.
SP_WHY = {
    "vllm": "vLLM 0.33 has no parallel flag for it; its sequence-parallelism compilation pass (--compilation-config "
            "pass_config) is a torch.compile fusion applied to the shapes it compiles, not a setting dagc has "
            "checked against its parser",
    "sglang": "SGLang 0.5.23 has no flag for it (--attn-dp-size is attention DP, not sp; "
              "--enable-attn-tp-input-scattered is in its parser, but what its models run with it is not checked)",
    "trtllm": "TensorRT-LLM 1.2 has no flag nor extra-options key for it",
}


def sp_refusal(d: Degrees, key: str, name: str) -> str | None:
    """E709's message for `sp` with tp > 1 on the engine of `key`, None otherwise (`sp` with tp 1 shards nothing
    and changes no command).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.launch.degrees import degrees
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8 sp')
        >>> sp_refusal(degrees(p, check(p)[0].strategy), "trtllm", "TensorRT-LLM")[:61]
        'TensorRT-LLM: `sp` (sequence-parallel activations in the tp 8'
    """
    if not d.sp or d.tp == 1 or key not in SP_WHY:
        return None
    return (f"{name}: `sp` (sequence-parallel activations in the tp {d.tp} group, whose reduce-scatters and "
            f"all-gathers dagc prices in place of all-reduces): {SP_WHY[key]}")
