"""Requirements against the physical bounds of `dagc.rules.bounds`: W506 (one strategy) and N604 (the cluster); the
batch `batch = max` chose to meet them (N605); a latency written as a floor (W522), a throughput or goodput as a
ceiling (W523); a memory requirement above the GPU's memory (W524), or leaving nothing beyond the reserve (W527:
`dagc.rules.memory_requirements`).

Input: a `RuleContext`. Output: diagnostics that say a requirement cannot be met, each claiming no more than its
bound proves: W506 bounds its strategy (its GPUs, its replicas), N604 every strategy the cluster can run, pooled too
(all its GPUs in one replica, the loosest bound any has), a note about the plan. Bounds are in the requirement's unit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from ..lang.fields import BATCH_LIMIT
from ..plan.plan import Plan
from ..plan.workload import Requirement, RequirementKind
from ..units import Dimension, count_text, format_bytes, format_gpu_memory, format_si, lookup
from .alone import alone_text, any_load_text, bounded_requirements, one_request_alone, precision_text
from .base import Reads, RuleContext, diag, make_rule
from .bounds import Bounds, bounds, requirement_bound, unreachable
from .memory_requirements import (
    check_memory_above_gpu,
    check_memory_below_reserve,
    memory_above_gpu,
    memory_below_reserve,
)

__all__ = ["BROKEN_CHUNK", "BROKEN_KV", "BROKEN_MEMORY", "BROKEN_RULES", "RULES", "backwards_requirements",
           "bound_text", "broken_text", "cluster_bound_hint", "cluster_bound_notes", "cluster_bounds",
           "memory_above_gpu", "memory_below_reserve", "metric_name", "ruled_out", "written_backwards"]

_METRIC = {
    RequirementKind.TTFT: "TTFT", RequirementKind.TPOT: "TPOT",
    RequirementKind.PREFILL_THROUGHPUT: "prefill throughput", RequirementKind.DECODE_THROUGHPUT: "decode throughput",
    RequirementKind.THROUGHPUT: "end-to-end throughput", RequirementKind.GPUS: "GPU count",
    RequirementKind.MEMORY: "memory", RequirementKind.E2E: "end-to-end latency",
    RequirementKind.ITL: "inter-token latency", RequirementKind.GOODPUT: "goodput",
}


def metric_name(req: Requirement) -> str:
    """What a requirement bounds, in words ('TTFT', 'decode throughput per GPU')."""
    return _METRIC[req.kind] + (" per GPU" if req.per_gpu else "")


def bound_text(value: float, req: Requirement) -> str:
    """A bound in the requirement's own unit: a `tokens/ms/gpu` target gets tokens/ms/gpu.

    Example:
        >>> from dagc.plan.workload import Requirement, RequirementKind
        >>> r = Requirement(kind=RequirementKind.DECODE_THROUGHPUT, op=">=", target=1e5, per_gpu=True,
        ...                 text="decode_throughput >= 100 tokens/ms/gpu")
        >>> bound_text(627.0, r), bound_text(4780.6, r.model_copy(update={"text": "decode_throughput >= 1e5"}))
        ('0.627 tokens/ms/gpu', '4,780.6 tokens/s/gpu')
    """
    if req.kind is RequirementKind.GPUS:
        return count_text(math.ceil(value), "GPU")
    if req.kind in (RequirementKind.TTFT, RequirementKind.TPOT):
        return format_si(value, Dimension.TIME)
    words = req.text.split()
    unit = lookup(words[-1]) if words else None
    if unit is None or unit.dimension is not Dimension.THROUGHPUT:
        unit = lookup("tokens/s/gpu" if req.per_gpu else "tokens/s")
    assert unit is not None, "tokens/s is a unit"
    scaled = value / unit.factor
    return f"{scaled:,.1f} {unit.name}" if abs(scaled) >= 10 else f"{scaled:.3g} {unit.name}"


def ruled_out(req: Requirement, b: Bounds) -> tuple[float, bool] | None:
    """The bound (value, is a lower bound) when it rules `req` out, else None."""
    found = requirement_bound(req, b)
    if found is None or not unreachable(req, *found):
        return None
    return found


def cluster_bounds(p: Plan, req: Requirement) -> Bounds:
    """The bounds of every strategy the cluster can run, for `req`: all its GPUs in one replica, at the
    plan's batch — and with `batch = max`, where each strategy chooses its own, at the batch loosest
    for `req` (one request for a time, which grows with the batch; `BATCH_LIMIT` for a throughput),
    so that the note is the same whatever batch a strategy chose."""
    w = p.workload
    if req.percentile is not None:            # a percentile of the load: at one request alone (`one_request_alone`)
        w = one_request_alone(w)
    elif w.batch_max:
        w = w.model_copy(update={"batch": 1 if req.kind in _GROW_WITH_BATCH else BATCH_LIMIT})
    return bounds(p.model, w, p.cluster, gpus=p.cluster.gpus, dp=1)


_GROW_WITH_BATCH = (RequirementKind.TTFT, RequirementKind.TPOT, RequirementKind.GPUS)   # their bounds: lower ones


def cluster_bound_hint(p: Plan, req: Requirement, found: tuple[float, bool], otherwise: str) -> str:
    """W506's hint for `req`, which its strategy's bound `found` rules out: the whole cluster's bound, and that no
    strategy meets it either when that bound rules it out too (N604), else the remedy `otherwise`."""
    whole = cluster_bounds(p, req)
    cluster = (f"the bound of the whole cluster ({count_text(p.cluster.gpus, 'GPU')}, one replica) is "
               f"{bound_text((requirement_bound(req, whole) or found)[0], req)}")
    if ruled_out(req, whole) is not None:
        return f"no strategy on these GPUs can meet it either at {precision_text(p.model)}: {cluster} (N604); " \
               "relax the requirement or change the cluster or the precision"
    return f"{otherwise}: {cluster}"


def check_physical(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A requirement beyond the physical bound of this strategy: unreachable even at 100 % efficiency.

    The bound is the strategy's own (its GPUs and its replicas). It uses peak FLOPs (the
    weights' dtype for matmuls, the KV cache's for attention) and peak HBM bandwidth,
    ignoring communication: TTFT ≥ max(prefill FLOPs / peak, weights read / HBM), TPOT ≥
    max(decode FLOPs / peak, bytes read per step / HBM); throughputs ≤ their inverses, per
    GPU over the strategy's GPUs. With speculative decoding a decode step verifies the drafted tokens and the
    next for each request and runs the draft passes (their FLOPs and bytes counted), and emits the tokens the
    plan says it does (`speculative.tokens_per_step`, the count dagc's own TPOT divides the step by): TPOT is
    bounded by the step's bound over them, the decode throughput by the batch times them over it. The bounds are
    physics alone: no term of the engine's fitted on published runs (its host time per step, its front end) is in
    them. A `ttft` requirement judges the TTFT a client measures, the server's plus the engine's front end
    (`cluster { engine }`: 20.02 ms under vLLM and 4 ms of its one server's time, 24.02 ms in all; 202 ms in all
    under SGLang; a request alone); its bound is the server's,
    which bounds the client's too. A `ttft` line that the server's TTFT meets and the front end's time makes
    miss is W531's. A percentile of TTFT or TPOT on the load (`tpot_p90`) is bounded at one request alone, the
    shortest the traffic sends (`dagc.rules.alone`). In flight the bounds are at the requests the engine runs
    at once: fewer than `batch` when the KV cache admits fewer (W520), as the figures are. The direction counts: a
    lower bound on a time rules out `ttft <= 1 ms`, never `tpot >= 150 us`; an upper bound on a
    throughput rules out `>=` targets above it, never `<=` ones. Throughput bounds are quoted in the requirement's unit.

    A disaggregated strategy's TTFT is bounded on its prefill pool's instance, its TPOT on its decode pool's
    (`dagc.rules.pools_bound`). W506 speaks of this strategy only; the help line gives the bound of the whole cluster
    (every GPU in one replica, the loosest any strategy has). When that bound rules the
    target out too, the plan also gets N604. A `gpus` requirement is not judged here: the
    strategy's GPU count is exact, and the weights' lower bound is N604's.

    Bad:
        model preset "mixtral-8x7b"   cluster { gpus = 8  gpu preset "h100-sxm" }
        workload { batch = 64  prompt = 2048  generate = 256 }
        require { ttft <= 1 s }
        strategy tp 2 ; ep 2          # 2 of the 8 GPUs: TTFT at least 1.7 s
    Fixed:
        strategy tp 8                 # or relax the requirement
    """
    plan, lay = ctx.plan, ctx.layout
    # at the requests in flight the figures are for: in flight, those the KV cache admits (W520)
    mine = bounds(plan.model, ctx.run_workload, plan.cluster, gpus=lay.gpus_used, dp=lay.dp)
    for req in bounded_requirements(plan):
        if req.kind is RequirementKind.GPUS:
            continue
        own = mine if req.percentile is None else \
            bounds(plan.model, one_request_alone(ctx.run_workload), plan.cluster, gpus=lay.gpus_used, dp=lay.dp)
        found = ruled_out(req, own)
        if found is None:
            continue
        best, lower = found
        side = "at least" if lower else "at most"
        hint = cluster_bound_hint(plan, req, found, "relax the requirement or change the strategy")
        yield diag("W506", Severity.WARNING,
                   f"`{req.text}` is beyond the physical bound of strategy `{ctx.strategy.label}` "
                   f"({count_text(lay.gpus_used, 'GPU')}, dp {lay.dp}) on its {metric_name(req)}: for this strategy, "
                   f"even at 100 % efficiency{alone_text(req)} at {precision_text(plan.model)}, it is {side} "
                   f"{bound_text(best, req)}"
                   f"{any_load_text(req)}", req.span, hint)


def check_cluster_bound(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A requirement no strategy on the cluster can meet, even at 100 % efficiency.

    The bound is that of every strategy the cluster can run: all its GPUs in one replica
    (more GPUs only lower the times, more replicas only read the weights more often; a
    per-GPU throughput's bound does not depend on the GPU count). `gpus` is bounded below by
    the weights: ceil(weight bytes / GPU memory). This is a note about the plan — the same
    for each of its strategies; W506 gives each strategy its own, tighter bound. Both say they
    are taken at the plan's precision ("at the plan's bf16 weights and KV cache"): a next step's
    8-bit or fp4 weights read fewer bytes and may pass the bound.

    Bad:
        model preset "mixtral-8x7b"   cluster { gpus = 8  gpu preset "h100-sxm" }
        workload { batch = 64  prompt = 2048  generate = 256 }
        require { decode_throughput >= 10 tokens/ms/gpu }      # at most 1.92 tokens/ms/gpu
    Fixed:
        require { decode_throughput >= 1 tokens/ms/gpu }       # or a larger batch, or a faster GPU
    """
    return cluster_bound_notes(ctx.plan)


def cluster_bound_notes(plan: Plan) -> Iterator[Diagnostic]:
    """N604 of `plan` (`check_cluster_bound`), said of a disaggregated strategy too (`dagc.verdict.pools`)."""
    for req in bounded_requirements(plan):
        whole = cluster_bounds(plan, req)
        found = ruled_out(req, whole)
        if found is None:
            continue
        value, lower = found
        if req.kind is RequirementKind.GPUS:
            weights = format_bytes(whole.weights_bytes)
            message = (f"`{req.text}` cannot be met by any strategy that fits in memory: the weights alone "
                       f"({weights}) need at least {bound_text(value, req)} of "
                       f"{format_gpu_memory(plan.cluster.gpu.memory_bytes)} each")
        else:
            batch = ", at any batch," if plan.workload.batch_max else ""
            n = plan.cluster.gpus
            gpus = "its one GPU" if n == 1 else f"all {n:,} GPUs in one replica"        # not "all 1 GPU in one replica"
            message = (f"`{req.text}` cannot be met by any strategy on this cluster at {precision_text(plan.model)}: "
                       f"even at 100 % efficiency on {gpus}{batch}"
                       f"{alone_text(req)} the {metric_name(req)} is {'at least' if lower else 'at most'} "
                       f"{bound_text(value, req)}{any_load_text(req)}")
        yield diag("N604", Severity.NOTE, message, req.span,
                   "relax the requirement, or change the cluster (GPU type or count), the workload or the precision")


BROKEN_RULES = "the rules ("        # how `dagc.verdict.batch_max` names a batch that breaks a rule: "the rules (E401)"
BROKEN_MEMORY = "the GPU's memory (E402)"   # … and one that overflows a GPU: no requirement to relax
BROKEN_CHUNK = "the chunk's pace (W513)"     # … and, in flight, one whose prompts the chunk cannot keep up with
BROKEN_KV = "the KV cache's room (W520)"     # … and, in flight, one more than the KV cache admits at once


def broken_text(code: str) -> str:
    """What a batch or a change that the error rule `code` rejects breaks, in words: the GPU's memory for E402
    (no requirement to relax), else the rules, by code.

    Example:
        >>> broken_text("E402"), broken_text("E303")
        ("the GPU's memory (E402)", 'the rules (E303)')
    """
    return BROKEN_MEMORY if code == "E402" else f"{BROKEN_RULES}{code})"


def check_batch_max(ctx: RuleContext) -> Iterator[Diagnostic]:
    """N605: `batch = max` — the batch chosen for this strategy, the largest it serves: it fits in
    memory and meets the requirements' limits on TTFT, TPOT and memory; the note says what one more
    request would break (`dagc.verdict.batch_max`). Throughput floors are judged at that batch.

    Example: `workload { batch = max … }` with `require { tpot <= 50 ms }` → "batch = max: 37
    requests, the largest this strategy serves — 38 would break `tpot <= 50 ms`".

    The batch chosen is the largest served even when it does not divide into dp × attention DP ×
    micro-batches equal parts: the busiest part then carries one request more, which the figures
    include, and the extra requests usually still raise the throughput. W503 is then not raised;
    this note says so and names the largest batch below that splits evenly.
    """
    w, lay = ctx.plan.workload, ctx.layout
    if w.batch_max and w.batch_note is not None:
        uneven = ""
        if not lay.work_is_even:             # W503 is not raised for a chosen batch: said here instead
            parts = lay.work_parts
            uneven = (f"; it does not split evenly over dp {lay.dp} × attention DP {lay.adp} × {lay.microbatches} "
                      f"micro-batch{'es' if lay.microbatches > 1 else ''} = {parts} parts (some carry one request "
                      f"more; {w.batch - w.batch % parts:,} would split evenly)" if w.batch > parts else "")
        broken = w.batch_breaks or ""
        if broken.startswith(BROKEN_RULES):
            hint = "fix the error above: no batch serves a strategy the rules reject"
        elif broken == BROKEN_CHUNK:
            hint = ("write a number to fix the batch; a larger `chunk`, or more ranks, keep up with more requests in "
                    "flight")
        elif broken == BROKEN_KV:
            hint = ("write a number to fix the batch; past it the engine admits no more requests at once (their KV "
                    "cache does not fit): more GPUs, or an 8-bit KV cache, make room for more")
        elif broken == BROKEN_MEMORY:
            hint = ("write a number to fix the batch; the memory table shows what fills a GPU (weights, KV cache, "
                    "activations): more GPUs, or degrees that split them further, make room for more requests")
        else:
            hint = "write a number to fix the batch; relax the requirement named to serve more requests"
        yield diag("N605", Severity.NOTE, w.batch_note + uneven, ctx.plan.span_of("workload.batch"), hint)


_LATENCIES = (RequirementKind.TTFT, RequirementKind.TPOT, RequirementKind.ITL, RequirementKind.E2E)
_FLIPPED = {">=": "<=", ">": "<", "<=": ">=", "<": ">"}


def written_backwards(req: Requirement) -> bool:
    """Whether a requirement bounds its figure on the side no deployment wants: a latency from below (W522), a
    throughput or goodput from above (W523) — almost always a comparator mistyped. No change to a deployment is a
    step toward such a target (`dagc.verdict.next_steps` offers none while one is missed)."""
    return (req.kind in _LATENCIES and req.op in (">=", ">")) or (req.kind.is_floor and req.op in ("<=", "<"))


def _meant(req: Requirement) -> str:
    """The requirement with its comparator turned round, as almost surely meant: `ttft >= 2 s` → `ttft <= 2 s`."""
    return req.text.replace(req.op, _FLIPPED[req.op], 1)


def check_latency_floor(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A latency requirement written as a floor: `ttft_p99 >= 1 s` asks every answer to be at least that slow,
    which no deployment wants — almost always `<=` mistyped. dagc judges it as written (a fast deployment
    misses it) and warns; while a strategy misses it, it gets no next steps (each would make it slower).

    Bad:
        require { ttft_p99 >= 1 s }
    Fixed:
        require { ttft_p99 <= 1 s }
    """
    return backwards_requirements(ctx.plan, latencies=True)


def check_throughput_ceiling(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A throughput or goodput requirement written as a ceiling: `throughput <= 1000 tokens/s` asks the deployment
    to serve at most that much, which no deployment wants — almost always `>=` mistyped. dagc judges it as written
    (a faster deployment misses it) and warns; while a strategy misses it, it gets no next steps (each would make
    it slower).

    Bad:
        require { decode_throughput <= 2 tokens/ms/gpu }
    Fixed:
        require { decode_throughput >= 2 tokens/ms/gpu }
    """
    return backwards_requirements(ctx.plan, latencies=False)


def backwards_requirements(plan: Plan, latencies: bool) -> Iterator[Diagnostic]:
    """W522 (`latencies`) or W523 of `plan`: a strategy's, and a disaggregated deployment's (`dagc.verdict.pools`)."""
    for req in plan.requirements:
        if written_backwards(req) and (req.kind in _LATENCIES) == latencies:
            yield diag("W522" if latencies else "W523", Severity.WARNING,
                       f"`{req.text}` asks for its {metric_name(req)} to be at {'least' if latencies else 'most'} its "
                       "target: a faster deployment misses it", req.span or plan.span_of("require"),
                       f"did you mean `{_meant(req)}`? " + ("Latency targets are upper bounds" if latencies
                                                            else "Throughput and goodput targets are floors"))


RULES = (
    make_rule("W506", Severity.WARNING, "a requirement beyond the physical bound of the strategy", check_physical,
              reads=Reads.SCHEDULE),
    make_rule("N604", Severity.NOTE, "a requirement no strategy on the cluster can meet (physical bound)",
              check_cluster_bound, plan_level=True),
    make_rule("N605", Severity.NOTE, "the batch `batch = max` chose for the strategy", check_batch_max),
    make_rule("W522", Severity.WARNING, "a latency requirement written as a floor (`>=`)", check_latency_floor,
              plan_level=True),
    make_rule("W523", Severity.WARNING, "a throughput or goodput requirement written as a ceiling (`<=`)",
              check_throughput_ceiling, plan_level=True),
    make_rule("W524", Severity.WARNING, "a memory requirement above the GPU's memory", check_memory_above_gpu,
              plan_level=True),
    make_rule("W527", Severity.WARNING, "a memory requirement that leaves nothing beyond the runtime's reserve",
              check_memory_below_reserve, plan_level=True),
)
