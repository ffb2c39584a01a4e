"""Rules about the serving engine a plan names (`cluster { engine = … }`): W530.

The engine's own refusals — what its launcher cannot express (E701–E726) — are `dagc.rules.launch`'s,
emitted by the launch mapping (`dagc.launch`).
"""

from __future__ import annotations

from ..diagnostics import Severity
from ..kernels.engine_import import profile_engine
from ..kernels.kernels import KernelProfile
from .base import RuleContext, diag, make_rule

__all__ = ["RULES"]

_SAID = {"vllm": "vLLM", "sglang": "SGLang", "trtllm": "TensorRT-LLM", "pytorch": "pytorch"}


def check_profile_engine(ctx: RuleContext):
    """The kernel times were measured in one engine and the plan serves with another.

    A kernel profile imported from an engine's tables (`kernels = "sglang:h200_sxm"`, or a file
    `dagc kernels import` wrote) holds the times of that engine's kernels: its fused MoE layer, its
    attention backend, its all-reduce. A plan that names another `engine` prices those kernels as the
    profile's engine runs them and everything else (glue, CUDA graphs, step and front-end time) as its
    own engine does: a mix no engine runs. Import the tables of the plan's engine, or name the
    profile's engine; a plan that names no engine serves with its profile's.

    Bad:
        cluster { gpus = 8  gpu preset "h200"  kernels = "trtllm:h200_sxm"  engine = vllm }
    Fixed:
        cluster { gpus = 8  gpu preset "h200"  kernels = "vllm:h200_sxm"  engine = vllm }
        cluster { gpus = 8  gpu preset "h200"  kernels = "trtllm:h200_sxm" }     # serves with trtllm
    """
    cluster, profile = ctx.plan.cluster, ctx.plan.cluster.kernels
    if not isinstance(profile, KernelProfile):
        return
    measured = profile_engine(profile.provenance.source)
    if measured is None or measured == cluster.engine.name:
        return
    engine = _SAID[cluster.engine.name]
    yield diag("W530", Severity.WARNING,
               f"the kernel profile `{profile.name}` was measured in {_SAID[measured]}, but the plan "
               f"serves with {engine}: its kernel times are {_SAID[measured]}'s, the rest of the figures {engine}'s",
               ctx.plan.span_of("cluster.engine"),
               (f"import {engine}'s tables (`kernels = \"{cluster.engine.name}:SYSTEM\"`, `dagc kernels list` shows "
                f"them), or write `engine = {measured}`") if cluster.engine.name != "pytorch" else
               f"pytorch's kernel times are dagc's own profiles' (`kernels = \"h200\"`); or `engine = {measured}`")


RULES = (
    make_rule("W530", Severity.WARNING, "the kernel profile was measured in another engine than the plan's",
              check_profile_engine, plan_level=True),
)
