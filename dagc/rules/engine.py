"""Rules about the serving engine a plan names (`cluster { engine = … }`) and how it schedules: W526 (whole
prompts longer than a step's budget), W530, W531 (its front end deciding a TTFT requirement), W532 (TensorRT-LLM's
decode step priced without the graph `dagc launch` would capture). Those on its calibration (W540–W542) are
`dagc.rules.calibration`'s; `calibration_range` and `calibration_worse` are re-exported here for their callers.

The engine's own refusals — what its launcher cannot express (E701–E729) — are `dagc.rules.launch`'s,
emitted by the launch mapping (`dagc.launch`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from ..ir.dag import Phase
from ..ir.op_shapes import graph_size
from ..ir.step_tokens import decode_tokens_per_rank
from ..kernels.engine_import import profile_engine
from ..kernels.kernels import KernelProfile
from ..lang.engine import engine_chosen
from ..plan.engines import ENGINE_SAID
from ..plan.plan import Plan
from ..plan.workload import RequirementKind
from ..units import Dimension, count_text, format_si
from .base import Reads, RuleContext, diag, make_rule, pass_rule
from .calibration import calibration_range, calibration_worse
from .graphed import graphed_batches

__all__ = ["RULES", "calibration_range", "calibration_worse", "prompts_over_chunk"]


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
    engine, by = ENGINE_SAID[cluster.engine.name], ENGINE_SAID[measured]
    yield diag("W530", Severity.WARNING,
               f"the kernel profile `{profile.name}` was measured in {by}, but the plan "
               f"serves with {engine}: its kernel times are {by}'s, the rest of the figures {engine}'s",
               ctx.plan.span_of("cluster.engine"),
               (f"import {engine}'s tables (`kernels = \"{cluster.engine.name}:SYSTEM\"`, `dagc kernels list` shows "
                f"them), or write `engine = {measured}`") if cluster.engine.name != "pytorch" else
               f"pytorch's kernel times are dagc's own profiles' (`kernels = \"h200\"`); or `engine = {measured}`")



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
    frontend = plan.cluster.engine.terms.frontend_alone_s
    if m is None or frontend <= 0 or plan.calibration is not None:
        return
    server, client = m.ttft_server_s, m.ttft_s
    for req in plan.requirements:
        if req.kind is RequirementKind.TTFT and req.op in ("<=", "<") and req.holds(server) and not req.holds(client):
            name, t = ENGINE_SAID[plan.cluster.engine.name], Dimension.TIME
            yield diag("W531", Severity.WARNING,
                       f"{name}'s front end decides `{req.text}`: the steady state's TTFT is {format_si(server, t)} "
                       f"at the server and {format_si(client, t)} as a client sees it, the front end's "
                       f"{format_si(frontend, t)} per request added (constants fitted on the public corpus's runs, "
                       "docs/cost-model.md)",
                       req.span or plan.span_of("require"),
                       "measure your engine's front end: `dagc calibrate` fits it on your own benchmark runs "
                       "(`calibration from \"FILE\"`)")


# The decode batches TensorRT-LLM captures as `dagc launch` starts it (`cuda_graph_config: {enable_padding: true,
# max_batch_size: B}`): 1, 2, 4, 8–128 by 8, then powers of two (and B itself), a batch padded up to the next
TRTLLM_LAUNCHED_SIZES = (1, 2, 4, *range(8, 129, 8), 256, 512, 1024, 2048, 4096, 8192)


def check_trtllm_graphs(ctx: RuleContext) -> Iterator[Diagnostic]:
    """TensorRT-LLM's decode step is priced without the CUDA graph `dagc launch` would start it with.

    dagc prices `engine = trtllm` with TensorRT-LLM's default CUDA graphs — 1 to 31, 32, 64 and 128 requests, not
    padded — as the public runs it is checked against mostly ran (docs/cost-model.md, "The engine"): a decode step
    of another size runs without a graph, each kernel at least its launch. `dagc launch` starts the engine with
    padded graphs (`cuda_graph_config: {enable_padding: true}`), under which that step runs in the graph of the next
    captured size, nearer the step of that size: the figures then are slower than the deployment `dagc launch`
    writes. A batch whose busiest rank decodes 32, 64 or 128 requests is priced as launched: the hint names the
    nearest batches below and above the plan's whose every rank's step a default graph holds.

    Bad:
        cluster { gpus = 4  gpu preset "b200"  engine = trtllm }
        workload { batch = 40  prompt = 1024  generate = 1024  serving = inflight }     # strategy tp 4
    Fixed:
        workload { batch = 32  prompt = 1024  generate = 1024  serving = inflight }     # or 64
    """
    plan = ctx.plan
    terms = plan.cluster.engine.terms
    if plan.cluster.engine.name != "trtllm" or not engine_chosen(plan) or not terms.graph_sizes \
            or terms.graph_padding:
        return
    w = ctx.run_workload
    most = decode_tokens_per_rank(w, ctx.run_layout)      # the DAG's decode step's, at its busiest rank
    _, eager = graph_size(most, Phase.DECODE, terms, w.step_positions)
    requests = most / w.step_positions                    # TensorRT-LLM's graphs count a step's requests
    launched = next((s for s in TRTLLM_LAUNCHED_SIZES if s >= math.ceil(requests - 1e-9)), None)
    if not eager or launched is None:
        return
    each = f" ({most:g} tokens: {w.step_positions} positions each)" if w.step_positions > 1 else ""
    yield diag("W532", Severity.WARNING,
               f"TensorRT-LLM's default CUDA graphs (1–32, 64 and 128 requests a step, not padded) hold no decode "
               f"step of {requests:g} requests a rank{each}: dagc prices it without a graph, as that default runs it, "
               f"where `dagc launch` starts the engine with padded graphs (`cuda_graph_config: {{enable_padding: "
               f"true}}`) and it runs in its graph of {launched} requests",
               plan.span_of("workload.batch") or plan.span_of("cluster.engine"),
               f"{graphed_batches(w, ctx.run_layout, terms)} is priced in a default graph, as "
               "launched; the figures here are slower than that deployment's by about a launch a kernel "
               "(docs/cost-model.md, \"The engine\")")


# What the engine does with a prompt longer than a step's whole budget with chunked prefill off (W526).
_LONGER = {"trtllm": "TensorRT-LLM refuses such a prompt (longer than max_num_tokens)",
           "sglang": "SGLang runs such a prompt alone (--max-prefill-tokens lets a lone longer prompt through)",
           "vllm": "vLLM does not start with a budget below its length limit (E730)"}


def prompts_over_chunk(plan: Plan, count: int, total: int, longest: int) -> Diagnostic:
    """With chunked prefill off, the traffic sends prompts longer than a step's whole token budget.

    With `chunked_prefill = off` a step takes whole prompts only, and `chunk` (TensorRT-LLM's
    `max_num_tokens`, vLLM's `--max-num-batched-tokens`) bounds the prompt tokens of a step: an engine
    refuses a prompt longer than it (TensorRT-LLM: "the sum of prompt length … should not exceed
    max_num_tokens"; vLLM does not start with a budget below its length limit). Drawn lengths (`lengths`
    other than `fixed`) or a request log can send such prompts. dagc still simulates them: once such a
    prompt heads its rank's queue it is a step's only prompt, whole, beside the rank's decode tokens (as
    SGLang runs it alone in a prefill batch between decode batches) — a step longer than the budget, and
    requests a deployment that refuses them would not serve. Raise `chunk` to the longest prompt, or turn
    chunked prefill on.

    Bad:
        workload { batch = 64  prompt = 2000  generate = 400  serving = inflight  chunk = 8192
                   chunked_prefill = off  rate = 6 requests/s  requests = 1000  lengths = lognormal }
    Fixed:
        workload { batch = 64  prompt = 2000  generate = 400  serving = inflight  chunk = 8192
                   rate = 6 requests/s  requests = 1000  lengths = lognormal }
    """
    chunk = plan.workload.chunk_tokens
    return diag("W526", Severity.WARNING,
                f"{count_text(count, 'request')} of the {total:,} simulated send{'s' if count == 1 else ''} a prompt "
                f"longer than `chunk = {chunk}` (the longest {longest:,} tokens) with chunked prefill off: "
                f"{_LONGER.get(plan.cluster.engine.name, _LONGER['trtllm'])}; dagc runs each whole as a step's only "
                "prompt, beside the rank's decode tokens",
                plan.span_of("workload.chunked_prefill") or plan.span_of("workload"),
                f"write a `chunk` of at least {longest:,} tokens and the decode tokens of the rank's other requests "
                "beside them (a budget of the longest prompt alone holds it only while its rank decodes nothing, "
                "and every prompt behind it waits), shorten the prompts the traffic sends, or `chunked_prefill = on`")


RULES = (
    pass_rule("W526", Severity.WARNING, "with chunked prefill off, the traffic sends prompts longer than chunk",
              doc=prompts_over_chunk.__doc__, passes=(prompts_over_chunk,)),
    make_rule("W530", Severity.WARNING, "the kernel profile was measured in another engine than the plan's",
              check_profile_engine, plan_level=True),
    make_rule("W531", Severity.WARNING, "the engine's front end alone decides a TTFT requirement",
              check_frontend_decides, reads=Reads.SCHEDULE),
    make_rule("W532", Severity.WARNING, "TensorRT-LLM's decode step is priced without the graph dagc launch "
              "would start it with", check_trtllm_graphs, reads=Reads.SCHEDULE),
)
