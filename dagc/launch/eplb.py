"""`dagc launch` and expert-parallel load balancing (`with redundant R`): the engine-neutral part.

Input: a `Plan` whose strategy turns EPLB on (`Layout.eplb`), and each engine's table of the model
architectures its EPLB runs. Output: the checkpoint's architecture as the engines see it
(`architecture`), the reason an engine cannot balance the strategy's experts (E707, `refusal`) and
the notes every engine's commands carry (`notes`). Each engine table (`dagc.launch.vllm`, `.sglang`,
`.trtllm`) writes its own flags or YAML from `Degrees.redundant`.

The engines balance from their own runtime statistics of the routing: none of them reads dagc's
expert-load file (`routing from "expert_load.json"`). dagc's figures assume the placement EPLB
reaches from the plan's measured loads, which is what the notes say.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Protocol

from ..diagnostics import quote
from ..plan.plan import Plan
from ..plan.presets import MODEL_PRESETS
from .speculative import config_written

__all__ = ["ARCHITECTURES", "Balanced", "EplbSupport", "architecture", "notes", "refusal"]

# The architecture in each preset's published config.json (`architectures[0]`): the class every
# engine picks its model code by. Kimi-K2's checkpoint names DeepSeek-V3's.
ARCHITECTURES = {
    "mixtral-8x7b": "MixtralForCausalLM",
    "mixtral-8x22b": "MixtralForCausalLM",
    "qwen3-30b-a3b": "Qwen3MoeForCausalLM",
    "qwen3-235b-a22b": "Qwen3MoeForCausalLM",
    "qwen3-coder-480b-a35b": "Qwen3MoeForCausalLM",
    "deepseek-v3": "DeepseekV3ForCausalLM",
    "kimi-k2": "DeepseekV3ForCausalLM",
    "gpt-oss-120b": "GptOssForCausalLM",
    "gpt-oss-20b": "GptOssForCausalLM",
    "llama-4-maverick": "Llama4ForConditionalGeneration",
    "llama-4-scout": "Llama4ForConditionalGeneration",
    "glm-4.5": "Glm4MoeForCausalLM",
}


class Balanced(Protocol):
    """What this module reads of a strategy's degrees (`dagc.launch.degrees.Degrees`, which imports it)."""

    @property
    def eplb(self) -> bool: ...
    @property
    def ep(self) -> int: ...
    @property
    def experts(self) -> int: ...
    @property
    def redundant(self) -> int: ...
    @property
    def architecture(self) -> str | None: ...
    @property
    def expert_load(self) -> str | None: ...


@dataclass(frozen=True)
class EplbSupport:
    """Which architectures an engine's EPLB runs, as read in its source (`where`): `supported` and
    `unsupported` name the ones checked; with `exhaustive` every other one is unsupported too (the
    engine keeps an explicit list), else dagc cannot tell."""

    supported: frozenset[str]
    unsupported: frozenset[str]
    where: str
    exhaustive: bool = False

    def runs(self, arch: str | None) -> bool | None:
        """True when the engine's EPLB runs `arch`, False when it does not, None when dagc cannot tell."""
        if arch in self.supported:
            return True
        if arch in self.unsupported or (self.exhaustive and arch is not None):
            return False
        return None


@functools.lru_cache(maxsize=64)
def _architecture_in(path: str) -> str | None:
    try:
        cfg = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    archs = cfg.get("architectures") if isinstance(cfg, dict) else None
    return archs[0] if isinstance(archs, list) and archs and isinstance(archs[0], str) else None


def architecture(plan: Plan) -> str | None:
    """The model's architecture as the engines pick its code: `architectures[0]` of a `model from`
    config.json, a preset's (`ARCHITECTURES`), else None (a model dagc knows no checkpoint of).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "kimi-k2" cluster { gpus = 64 gpu preset "h200" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 1 ; ep 64')
        >>> architecture(p)
        'DeepseekV3ForCausalLM'
    """
    written, span = config_written(plan), plan.span_of("model")
    if written is not None and span is not None:
        return _architecture_in(str(PurePath(span.source.path).parent / written))
    name = plan.model.name
    return ARCHITECTURES.get(name) if name in MODEL_PRESETS else None


def refusal(d: Balanced, name: str, support: EplbSupport, ep_rule: str) -> str | None:
    """E707's message when the engine cannot balance the strategy's experts: EPLB moves experts
    between EP ranks, so every engine needs EP above 1 (`ep_rule` says where it requires it), and
    its EPLB runs only for the architectures its model code implements it for. None otherwise."""
    if not d.eplb:
        return None
    if d.ep == 1:
        return (f"{name}: EPLB moves experts between EP ranks, and with ep 1 each GPU holds every expert; "
                f"{ep_rule}")
    if support.runs(d.architecture) is False:
        return (f"{name}: its EPLB does not run for {quote(str(d.architecture))} (it runs for "
                f"{', '.join(sorted(support.supported))}: {support.where}); here `with redundant {d.redundant}`")
    return None


def notes(d: Balanced, name: str, flags: str, how: str, support: EplbSupport) -> list[str]:
    """The notes under a command that balances its experts: what the engine's EPLB does, and what
    dagc's figures assume (the placement reached from the plan's measured loads)."""
    if not d.eplb:
        return []
    slots = d.experts + d.redundant
    if d.expert_load is not None:
        assumes = (f"dagc's figures assume the placement EPLB reaches from the plan's measured loads (`routing from "
                   f"\"{quote(d.expert_load)}\"`), a file {name} never reads")
    else:
        assumes = ("the plan measures no loads (no `routing from`), so dagc's figures count the slots' memory and "
                   "weight reads and no EP rank carrying less (W516)")
    out = [f"EPLB ({flags}): {name} holds {slots:,} expert slots per MoE layer ({d.experts:,} experts and "
           f"{d.redundant:,} redundant, {slots // d.ep:,} per EP rank) and rebalances them from its own runtime "
           f"statistics of the routing ({how}); {assumes}"]
    if support.runs(d.architecture) is None:
        model = "this model's architecture" if d.architecture is None else quote(d.architecture)
        out.append(f"EPLB: dagc cannot tell whether {name}'s EPLB runs for {model}; it runs for "
                   f"{', '.join(sorted(support.supported))} ({support.where})")
    return out
