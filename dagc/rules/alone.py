"""The requirements the physical bounds judge (W506, N604), and the workload a percentile's bound is taken at.

A percentile of TTFT or TPOT on the simulated load (`ttft_p99`, `tpot_p90`) is bounded as the steady state's
figure is, but at one request alone: each request's TTFT and TPOT is at least what it would be with the GPUs to
itself, so when even that is past the target, no percentile of any load can meet it. The request is the
shortest the traffic sends: its `prompt` less the shared `prefix` and its `generate` when the lengths are fixed,
else one token of each (lengths drawn or replayed from a log may be as short as that).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..plan.model import Model
from ..plan.plan import Plan
from ..plan.workload import Requirement, RequirementKind, Workload

__all__ = ["ALONE_KINDS", "alone_text", "any_load_text", "bounded_requirements", "one_request_alone", "precision_text"]

ALONE_KINDS = (RequirementKind.TTFT, RequirementKind.TPOT)


def bounded_requirements(plan: Plan) -> Iterator[Requirement]:
    """The steady state's requirements, and each percentile of TTFT or TPOT (bounded at one request alone)."""
    for req in plan.requirements:
        if not req.on_load or (req.percentile is not None and req.kind in ALONE_KINDS):
            yield req


def alone_text(req: Requirement) -> str:
    """How a bound of `req` is taken, said after "at 100 % efficiency": for a percentile, at one request alone."""
    return " for one request alone" if req.percentile else ""


def any_load_text(req: Requirement) -> str:
    """What a percentile's bound says of the load, said after the bound."""
    return ": every request's is at least that, whatever the load" if req.percentile else ""


def precision_text(model: Model) -> str:
    """The precision a bound is taken at, said beside it: the plan's own weights and KV cache, which the bound reads
    (the bytes each pass reads, the peak each matmul runs at). A next step's other precision has another bound: until
    2026-12-02 N604 said of a bf16 plan that "no strategy on this cluster" reaches past 0.627 tokens/ms/gpu where the
    next step just below reached 0.6509 with fp8 weights and KV cache.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> from dagc.plan.model import DType
        >>> precision_text(p.model), precision_text(p.model.model_copy(update={"kv_cache": DType.FP8}))
        ("the plan's bf16 weights and KV cache", "the plan's bf16 weights and fp8 KV cache")
    """
    w = model.weights.value
    experts = f" ({model.expert_weights.value} experts)" if model.expert_weights != model.weights else ""
    kv = "KV cache" if model.kv_cache == model.weights else f"{model.kv_cache.value} KV cache"
    return f"the plan's {w} weights{experts} and {kv}"


def one_request_alone(workload: Workload) -> Workload:
    """`workload` as one request alone, the shortest its traffic sends (module docstring).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...     'workload { batch = 64 prompt = 2048 generate = 256 serving = inflight rate = 2 requests/s '
        ...     'requests = 100 prefix = 48 } strategy tp 8')
        >>> w = one_request_alone(p.workload)
        >>> w.batch, w.prompt, w.generate
        (1, 2000, 256)
    """
    tr = workload.traffic
    if tr is None or (tr.log is None and tr.lengths == "fixed"):
        prompt = max(1, workload.prompt - (tr.prefix if tr is not None else 0))
        generate = workload.generate
    else:
        prompt = generate = 1
    return workload.model_copy(update={"batch": 1, "batch_max": False, "prompt": prompt, "generate": generate})
