"""Rules about the serving engine a plan names (`cluster { engine = … }`): W530, W531 (its front end deciding a
TTFT requirement), and W540 on its calibration.

The engine's own refusals — what its launcher cannot express (E701–E726) — are `dagc.rules.launch`'s,
emitted by the launch mapping (`dagc.launch`).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from ..kernels.engine_import import profile_engine
from ..kernels.kernels import KernelProfile
from ..plan.workload import RequirementKind
from ..units import Dimension, format_si
from .base import Reads, RuleContext, diag, make_rule

__all__ = ["RULES"]

_SAID = {"vllm": "vLLM", "sglang": "SGLang", "trtllm": "TensorRT-LLM", "pytorch": "pytorch"}


def check_profile_engine(ctx: RuleContext) -> Iterator[Diagnostic]:
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


FAR = 2.0       # a plan's figure more than this factor outside the calibrated runs' range is far outside it


def _outside(value: float, span: tuple[float, float] | None) -> bool:
    return span is not None and not span[0] / FAR <= value <= span[1] * FAR


def _num(x: float) -> str:
    """A traffic figure: thousands whole with separators (`20,000`, never `2e+04`), others to 4 digits.

    Example:
        >>> _num(20000.0), _num(8192.0), _num(2.5)
        ('20,000', '8,192', '2.5')
    """
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def check_calibration_range(ctx: RuleContext) -> Iterator[Diagnostic]:
    """The plan is far outside the runs its calibration was fitted on.

    A calibration (`calibration from "cal.json"`, made by `dagc calibrate`) fits the engine's host time per step,
    front-end time and kernel-time multipliers on the runs it was given: their prompt and output lengths, their
    rate or clients, their GPUs. A plan more than twice past those ranges (or on another number of GPUs) runs the
    engine in a regime the fit never saw — other batches, other step shapes — where the fitted terms, and the bands
    their residuals give, may not hold. Calibrate on runs that cover the plan, or read the figures as extrapolated.

    Bad:
        workload { batch = 256  prompt = 8192  generate = 128  rate = 4 requests/s  requests = 200 }   # runs of 512
        calibration from "cal.json"
    Fixed:
        workload { batch = 256  prompt = 512  generate = 128  rate = 4 requests/s  requests = 200 }
        calibration from "cal.json"
    """
    plan = ctx.plan
    cal = plan.calibration
    if cal is None:
        return
    w, r = plan.workload, cal.range
    tr = w.traffic
    written: tuple[tuple[str, float | None, tuple[float, float] | None], ...] = (
        ("prompt", w.prompt, r.prompt), ("generate", w.generate, r.generate),
        ("rate", tr.rate if tr is not None else None, r.rate),
        ("concurrency", tr.concurrency if tr is not None else None, r.concurrency))
    far = [f"{name} {_num(value)} (runs {_num(span[0])}–{_num(span[1])})" for name, value, span in written
           if value is not None and span is not None and _outside(float(value), span)]
    if plan.cluster.gpus != cal.gpus:
        far.append(f"gpus {plan.cluster.gpus} (runs {cal.gpus})")
    if far:
        yield diag("W540", Severity.WARNING,
                   f"the plan is far outside the runs calibration `{cal.file}` was fitted on: " + "; ".join(far),
                   plan.span_of("calibration.file"),
                   "calibrate on runs that cover this traffic (`dagc calibrate`), or read its figures and bands as "
                   "extrapolated")


def check_frontend_decides(ctx: RuleContext) -> Iterator[Diagnostic]:
    """The engine's front end alone decides a TTFT requirement.

    A client's TTFT is the server's plus the engine's front end per request (HTTP, tokenisation, the first
    chunk's streaming: `frontend_s`, docs/cost-model.md, "The engine"), a constant dagc fitted on the public
    corpus's runs of that engine — SGLang's on large MoE deployments (DeepSeek-R1), which its dense and small
    models' runs do not confirm. When the steady state's TTFT meets a requirement at the server and misses it
    only by that constant, the verdict is the constant's: measure it on your own deployment (`dagc calibrate`
    fits it from a benchmark run), or read the server's TTFT. Silent with a calibration, whose front end is the
    user's own runs'.

    Bad:
        cluster { gpus = 1  gpu preset "h100-sxm"  engine = sglang }      # 31.7 ms at the server, 240.5 ms a client's
        require { ttft_p99 <= 150 ms }
    Fixed:
        cluster { gpus = 1  gpu preset "h100-sxm"  engine = sglang }
        calibration from "sglang-runs.json"                             # the front end your runs measured
    """
    plan, m = ctx.plan, ctx.metrics
    frontend = plan.cluster.engine.terms.frontend_s
    if m is None or frontend <= 0 or plan.calibration is not None:
        return
    server, client = m.ttft_server_s, m.ttft_s
    for req in plan.requirements:
        if req.kind is RequirementKind.TTFT and req.op in ("<=", "<") and req.holds(server) and not req.holds(client):
            name, t = _SAID[plan.cluster.engine.name], Dimension.TIME
            yield diag("W531", Severity.WARNING,
                       f"{name}'s front end decides `{req.text}`: the steady state's TTFT is {format_si(server, t)} "
                       f"at the server and {format_si(client, t)} as a client sees it, the front end's "
                       f"{format_si(frontend, t)} per request added (a constant fitted on the public corpus's runs, "
                       "docs/cost-model.md)",
                       req.span or plan.span_of("require"),
                       "measure your engine's front end: `dagc calibrate` fits it on your own benchmark runs "
                       "(`calibration from \"FILE\"`)")


RULES = (
    make_rule("W530", Severity.WARNING, "the kernel profile was measured in another engine than the plan's",
              check_profile_engine, plan_level=True),
    make_rule("W531", Severity.WARNING, "the engine's front end alone decides a TTFT requirement",
              check_frontend_decides, reads=Reads.SCHEDULE),
    make_rule("W540", Severity.WARNING, "the plan is far outside the runs its calibration was fitted on",
              check_calibration_range, plan_level=True),
)
