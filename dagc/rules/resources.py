"""Rules about resources and efficiency: E401, E402, W501–W505, W507–W511, N601–N603."""

from __future__ import annotations

from ..diagnostics import Severity
from ..ir.dag import GROUP_BUDGET, NODE_BUDGET, STAGE_BUDGET, estimate_nodes, over_work_budget
from ..ir.ops import experts_inside_tp
from ..plan.plan import Overlap, overlap_span
from ..units import Dimension, format_bytes, format_si
from .base import RuleContext, diag, make_rule

__all__ = ["RULES"]


def _short_list(values, limit: int = 8) -> str:
    if len(values) <= limit:
        return str(list(values))
    return "[" + ", ".join(map(str, values[:limit])) + f", …] ({len(values)} stages)"


def _crossing(size: int, gpus_per_node: int, group: str, of: str = "") -> str:
    """Which aligned groups of `size` ranks span nodes, given that one does, as the subject of a
    sentence: every group when it is larger than a node (`every EP group of 32 GPUs spans nodes …:
    its`), else only some (`some EP groups of 4 GPUs span nodes …: their`); the first group sits in
    node 0."""
    if size > gpus_per_node:
        return f"every {group}{of} spans nodes of {gpus_per_node} GPUs: its"
    return f"some {group}s{of} span nodes of {gpus_per_node} GPUs: their"


def check_gpus(ctx: RuleContext):
    """GPUs used must not exceed GPUs available.

    GPUs used = dp × pp × G, where G = max(tp·cp, ep·etp) is the stage group: the attention
    and expert domains share the GPUs of a stage. It is never the product of every degree.

    Bad:
        cluster { gpus = 16 … }
        strategy dp 2 < pp 4 < tp 2 ; ep 8 > >      # 2 × 4 × 8 = 64 GPUs
    Fixed:
        strategy dp 2 < pp 1 < tp 2 ; ep 8 > >      # 16 GPUs
    """
    lay = ctx.layout
    if lay.gpus_used > ctx.plan.cluster.gpus:
        yield diag("E401", Severity.ERROR,
                   f"the strategy uses {lay.gpus_used} GPUs (dp {lay.dp} × pp {lay.pp} × stage group "
                   f"{lay.group_size}); the cluster has {ctx.plan.cluster.gpus}",
                   ctx.strategy.span_of("strategy"),
                   "lower dp or pp, or shrink the stage group; G = max(tp·cp, ep·etp), never their product")


def check_memory(ctx: RuleContext):
    """A rank's memory (weights + KV cache + activations + reserve) must fit in the GPU.

    What a rank holds of the weights and of the KV cache is computed as docs/cost-model.md
    ("Parameters and memory") describes; activations are the largest working set of one op for
    one micro-batch. The reserve is what the runtime keeps outside them (CUDA context, NCCL
    buffers, allocator slack): 4 GiB per GPU unless the plan sets `cluster { reserve = … }`.
    The capacity is the memory the device reports (an "80 GB" H100 SXM: 81,559 MiB). With
    several stages over the capacity, the message gives the largest figure, "up to", and its
    stage.

    Bad:
        model preset "deepseek-v3"   cluster { gpus = 8  gpu preset "h100-sxm" }
        strategy tp 8                                # 671 GB of weights on 8 × 80 GB
    Fixed:
        cluster { gpus = 32  gpu preset "h800" }
        strategy tp 4 sp ; ep 32
    """
    if ctx.memory is None:
        return
    over = [s for s in ctx.memory.stages if not s.fits]
    if not over:
        return
    worst = max(over, key=lambda s: s.total_bytes)
    ranks = ctx.layout.stage_ranks(0, worst.stage)
    dp = ctx.layout.dp
    replicas = "" if dp == 1 else f", and the same stage of the other replica{'' if dp == 2 else f's ({dp - 1})'}"
    breakdown = (f"weights {format_bytes(worst.weights_bytes)} + KV cache {format_bytes(worst.kv_cache_bytes)} "
                 f"+ activations {format_bytes(worst.activation_bytes)} + reserve "
                 f"{format_bytes(worst.reserve_bytes)}")
    capacity, total = format_bytes(worst.capacity_bytes), format_bytes(worst.total_bytes)
    if ctx.layout.pp == 1:
        message = f"every rank needs {total} ({breakdown}) of the GPU's {capacity}"
    elif len(over) == 1:
        message = (f"each rank of stage {worst.stage} (ranks {ranks.start}–{ranks.stop - 1}{replicas}) needs "
                   f"{total} ({breakdown}) of the GPU's {capacity}")
    else:
        message = (f"each rank of {_stages(over, ctx.layout.pp)} needs more than the GPU's {capacity}: up to {total} "
                   f"in stage {worst.stage} (ranks {ranks.start}–{ranks.stop - 1}{replicas}): {breakdown}")
    yield diag("E402", Severity.ERROR, message, ctx.strategy.span_of("strategy"),
               "spread the weights (more pp or ep), shard the KV cache (tp, cp), serve fewer requests per "
               "replica (more dp) or use a larger GPU")


def _stages(over, pp: int) -> str:
    """`stages 0 and 1`, `stages 0, 1 and 3`, or `12 of the 16 stages` for many."""
    ids = [str(s.stage) for s in over]
    if len(ids) == pp:
        return "both stages" if pp == 2 else f"all {pp} stages"
    if len(ids) > 4:
        return f"{len(ids)} of the {pp} stages"
    return f"stages {', '.join(ids[:-1])} and {ids[-1]}"


def check_split_balance(ctx: RuleContext):
    """An uneven layer split: the slowest stage sets the pipeline's pace.

    Bad:
        strategy pp 4 < tp 2 >        # 30 layers: 8, 8, 7, 7
    Fixed:
        strategy pp 5 < tp 2 >        # 6 layers each, or accept the imbalance
    """
    counts = ctx.layout.layers_per_stage
    if not counts:
        return
    lo, hi = min(counts), max(counts)
    if lo > 0 and hi != lo:
        yield diag("W501", Severity.WARNING,
                   f"uneven layer split {_short_list(counts)}: the largest stage has {(hi / lo - 1) * 100:.1f} % "
                   f"more layers than the smallest",
                   ctx.strategy.span_of("split") or ctx.strategy.span_of("pp"),
                   _split_hint(sum(counts), len(counts)))


def _split_hint(layers: int, pp: int) -> str:
    """W501's hint: the pipeline degrees that divide the layers evenly (none but 1 for a prime count),
    or an explicit split."""
    even = [d for d in range(2, 17) if layers % d == 0 and d != pp][:4]      # the degrees the search tries
    if not even:
        return (f"no pipeline degree above 1 divides {layers} layers evenly: balance the stages with an explicit "
                f"split `pp {pp} [a, b, …]`, or accept the imbalance")
    return (f"{' or '.join(f'pp {d}' for d in even)} divides {layers} layers evenly; or balance with an explicit "
            f"split `pp {pp} [a, b, …]`")


def check_tp_nodes(ctx: RuleContext):
    """A TP group spanning nodes: its all-reduce leaves NVLink for the network.

    Bad:
        cluster { gpus = 16  gpus_per_node = 8 … }
        strategy tp 16
    Fixed:
        strategy pp 2 < tp 8 >
    """
    lay = ctx.layout
    if lay.group_crosses_nodes(lay.tp):
        yield diag("W502", Severity.WARNING,
                   f"{_crossing(lay.tp, lay.gpus_per_node, f'tp {lay.tp} group')} TP all-reduces cross the network",
                   ctx.strategy.span_of("tp"), f"keep tp ≤ {lay.gpus_per_node} and use pp or ep across nodes")


def check_batch_split(ctx: RuleContext):
    """The batch should divide by dp × attention DP × micro-batches, or work is uneven.

    Not raised for a batch that `batch = max` chose: that batch is the largest the strategy
    serves, and its note (N605) says how it splits and which smaller batch would split evenly.
    Nor when the attention domain does not divide the stage group (E203): there is no attention
    DP to divide by.

    Bad:
        workload { batch = 100 … }   strategy dp 8 < tp 1 >
    Fixed:
        workload { batch = 128 … }
    """
    lay = ctx.layout
    parts = lay.work_parts
    if not lay.work_is_even and not ctx.plan.workload.batch_max and lay.attention_divides:
        yield diag("W503", Severity.WARNING,
                   f"batch {ctx.plan.workload.batch} does not divide into dp {lay.dp} × attention DP {lay.adp} "
                   f"× {lay.microbatches} micro-batches = {parts} equal parts",
                   ctx.plan.span_of("workload.batch"), f"use a batch that is a multiple of {parts}")


def check_bubble(ctx: RuleContext):
    """Fewer micro-batches than stages: the pipeline idles (bubble (pp−1)/(m+pp−1)).

    With a schedule, the message also gives the measured idle share of the prefill. When more
    micro-batches were asked for than the requests can fill (W510), the hint is to raise the batch,
    not the micro-batches.

    Bad:
        workload { microbatches = 1 … }   strategy pp 4 < tp 2 >
    Fixed:
        workload { microbatches = 8 … }
    """
    lay = ctx.layout
    m, pp = lay.microbatches, lay.pp
    if m < pp:
        bubble = (pp - 1) / (m + pp - 1)
        measured = ""
        if ctx.metrics is not None:
            measured = f" (scheduled: {ctx.metrics.bubble_fraction * 100:.0f} % of stage time idle in prefill)"
        asked = ctx.plan.workload.microbatches_for(pp)
        hint = (f"use at least {pp} micro-batches" if asked < pp else
                f"{asked} micro-batches are asked for, but the requests fill only {m} (W510): raise the batch to "
                f"{pp * lay.dp * lay.adp:,} or more to fill {pp}")
        yield diag("W504", Severity.WARNING,
                   f"{m} micro-batch{'' if m == 1 else 'es'} for {pp} stages: about {bubble * 100:.0f} % of the "
                   f"pipeline's time is bubble{measured}",
                   ctx.plan.span_of("workload.microbatches") or ctx.strategy.span_of("pp"), hint)


def check_unused(ctx: RuleContext):
    """GPUs available but unused. Legal (a smaller plan may be the better one), but say so.

    Bad:
        cluster { gpus = 16 … }   strategy tp 8
    Fixed:
        strategy dp 2 < tp 8 >
    """
    used, avail = ctx.layout.gpus_used, ctx.plan.cluster.gpus
    if used < avail:
        yield diag("W505", Severity.WARNING, f"{avail - used} of {avail} GPUs are unused (the strategy uses {used})",
                   ctx.plan.span_of("cluster.gpus") or ctx.strategy.span_of("strategy"),
                   f"dp {avail // used} would use {avail // used * used}" if avail // used > 1 else None)


def check_kv_replication(ctx: RuleContext):
    """kv_heads < tp: each KV head is held by tp/kv ranks (its weights and its KV cache).

    Legal, and common (Mixtral has 8 KV heads); the KV cache then does not shrink past tp = kv.
    A tp that is not a multiple of the KV heads is E302.

    Example:
        model preset "qwen3-30b-a3b"   # 4 KV heads
        strategy tp 8                  # each KV head on 2 ranks, one KV head per rank
    """
    m, tp = ctx.plan.model, ctx.layout.tp
    if m.attention.value == "gqa" and m.kv_heads < tp and tp % m.kv_heads == 0:
        yield diag("N601", Severity.NOTE,
                   f"{m.kv_heads} KV heads < tp {tp}: each KV head is replicated on {tp // m.kv_heads} ranks "
                   "(one KV head per rank)",
                   ctx.strategy.span_of("tp"))


def check_experts_per_gpu(ctx: RuleContext):
    """How many experts each GPU holds per MoE layer (one is the strict EP layout; more is legal).

    Example:
        strategy tp 2 ; ep 4          # 8 experts: 2 per GPU, each whole (etp 1)
    """
    m, lay = ctx.plan.model, ctx.layout
    if not m.has_experts or m.moe.experts % lay.ep or lay.ep > m.moe.experts:
        return
    per = m.moe.experts // lay.ep
    shard = f", each split {lay.etp}-way" if lay.etp > 1 else ""
    rep = f"; each expert on {lay.edp * lay.etp} GPUs of a stage" if lay.edp * lay.etp > 1 else ""
    yield diag("N602", Severity.NOTE,
               f"each GPU holds {per} routed expert{'s' if per > 1 else ''} of every MoE layer{shard}{rep}",
               ctx.strategy.span_of("ep") or ctx.strategy.span_of("tp"))


def check_ep_nodes(ctx: RuleContext):
    """The EP all-to-all crosses nodes: dispatch and combine go over the network.

    Legal and usual for large EP (DeepSeek-V3 serves with EP across nodes); its cost is the
    network bandwidth, which the cost model charges.

    Example:
        cluster { gpus = 32  gpus_per_node = 8 … }
        strategy tp 4 ; ep 32
    """
    m, lay = ctx.plan.model, ctx.layout
    if m.has_experts and lay.ep > 1 and lay.group_crosses_nodes(lay.ep * lay.etp):
        size = lay.ep * lay.etp
        yield diag("N603", Severity.NOTE,
                   f"{_crossing(size, lay.gpus_per_node, 'EP group', f' of {size} GPUs')} all-to-all uses the "
                   "inter-node network",
                   ctx.strategy.span_of("ep"))


def check_dag_size(ctx: RuleContext):
    """The DAG would be too large to build and schedule quickly: metrics are not computed.

    The DAG has about 3 × micro-batches × (layers × ops per layer) nodes (prefill and two
    decode steps). Above the budget dagc reports everything else and leaves the metrics null.

    Bad:
        workload { batch = 4096  prompt = 512  generate = 64  microbatches = 4096 }
    Fixed:
        workload { batch = 4096  prompt = 512  generate = 64  microbatches = 16 }
    """
    n = estimate_nodes(ctx.layout)
    if n > NODE_BUDGET:
        yield diag("W507", Severity.WARNING,
                   f"the DAG would have about {n:,} nodes (budget {NODE_BUDGET:,}): metrics are not computed",
                   ctx.plan.span_of("workload.microbatches") or ctx.strategy.span_of("strategy"),
                   "use fewer micro-batches")


def check_work_budget(ctx: RuleContext):
    """Too many pipeline stages, or too large a stage group, to examine: no memory, no metrics.

    dagc judges memory stage by stage and computes per-rank figures over a stage group. Both
    are bounded before any of that work starts: at most 4,096 pipeline stages
    (`dagc.ir.dag.STAGE_BUDGET`) and 65,536 GPUs in a stage group (`dagc.ir.dag.GROUP_BUDGET`).
    Beyond them dagc reports every other rule but computes neither per-stage memory (so E402
    is not judged) nor the DAG and its metrics, and leaves the requirements not judged. Real
    pipelines have at most a few hundred stages.

    Bad:
        model preset "mixtral-8x7b" { layers = 5000 }
        strategy pp 5000
    Fixed:
        strategy pp 50 < tp 8 >      # 100 layers per stage
    """
    lay = ctx.layout
    why = over_work_budget(lay)
    if why is None or lay.pp > ctx.plan.model.layers:      # more stages than layers is E303
        return
    stages = lay.pp > STAGE_BUDGET
    yield diag("W511", Severity.WARNING,
               f"{why}: per-stage memory (E402) and the metrics are not computed, and the requirements are "
               "not judged",
               ctx.strategy.span_of("pp") if stages else ctx.strategy.span_of("strategy"),
               f"use at most {STAGE_BUDGET:,} stages, each holding more layers" if stages
               else f"use a stage group of at most {GROUP_BUDGET:,} GPUs (smaller tp·cp and ep·etp), and dp or pp "
                    "for the rest")


def check_sp_without_tp(ctx: RuleContext):
    """`sp` without tensor parallelism does nothing.

    Sequence parallelism shards the activations a TP group holds between its all-reduces
    (norms and residuals), turning each all-reduce into a reduce-scatter and an all-gather.
    With tp 1 there is no TP group: nothing is sharded and dagc models no sp collective.

    Bad:
        strategy tp 1 sp ; ep 8
    Fixed:
        strategy tp 8 sp
    """
    lay = ctx.layout
    if lay.sp and lay.tp == 1:
        yield diag("W508", Severity.WARNING,
                   "`sp` with tp 1 does nothing: sequence parallelism shards the activations of a TP group, "
                   "and there is none",
                   ctx.strategy.span_of("sp"), "remove `sp`, or use it beside tp > 1 (e.g. `tp 4 sp`)")


def check_8bit_compute(ctx: RuleContext):
    """8-bit weights (or KV cache) on a GPU without fp8 compute run at the 16-bit peak.

    Memory counts the 8-bit bytes, but a GPU without fp8 tensor cores (A100, for instance)
    dequantises the weights and runs its matmuls at the 16-bit peak; dagc's cost model does
    the same, so the figures are right, and slower than the dtype suggests.

    Bad:
        model preset "deepseek-v3"                 # fp8 weights
        cluster { gpus = 32  gpu preset "a100-80g" }
    Fixed:
        cluster { gpus = 32  gpu preset "h800" }
    """
    m, gpu = ctx.plan.model, ctx.plan.cluster.gpu
    if gpu.flops_8bit:
        return
    parts = [f"{m.weights.value} weights"] if m.weights.is_8bit_or_less else []
    if m.kv_cache.is_8bit_or_less:
        parts.append(f"a {m.kv_cache.value} KV cache")
    if not parts:
        return
    yield diag("W509", Severity.WARNING,
               f"{' and '.join(parts)} on {gpu.name}, which has no fp8 compute: dagc prices them dequantised, "
               f"with the matmuls at the 16-bit peak ({format_si(gpu.flops_16bit, Dimension.COMPUTE)})",
               ctx.plan.span_of("model.weights" if m.weights.is_8bit_or_less else "model.kv_cache"),
               "expect 16-bit speed, or use a GPU with fp8 units (h100-sxm, h800, h200, b200)")


def check_empty_microbatches(ctx: RuleContext):
    """More micro-batches than an attention-DP group has requests: the rest would be empty.

    A replica's requests are split over the attention-DP groups of a stage, and each group's
    requests over the micro-batches. A micro-batch beyond ceil(batch / (dp · attention DP))
    would carry no request for a group — it would only add latency and pipeline steps — so
    dagc schedules that many micro-batches and says so.

    Bad:
        workload { batch = 8  prompt = 2048  generate = 256  microbatches = 64 }
    Fixed:
        workload { batch = 8  prompt = 2048  generate = 256  microbatches = 8 }
    """
    lay, w = ctx.layout, ctx.plan.workload
    if not lay.microbatches_dropped:
        return
    k, n = lay.microbatches, lay.microbatches_requested
    per_group = lay.requests_per_rank
    where = f"batch {w.batch} / (dp {lay.dp} × attention DP {lay.adp})"
    written = w.microbatches is not None
    yield diag("W510", Severity.WARNING,
               f"only {k} of the {n} micro-batches{'' if written else ' (one per stage)'} carry requests: "
               f"{per_group} request{'s' if per_group > 1 else ''} per attention-DP group ({where}); "
               f"dagc schedules {k}",
               ctx.plan.span_of("workload.microbatches") if written else ctx.strategy.span_of("pp"),
               f"set `microbatches = {k}`, or raise the batch to {n * lay.dp * lay.adp} to fill {n} micro-batches")


def check_overlap_single_microbatch(ctx: RuleContext):
    """`overlap = microbatch` with a single micro-batch has no other micro-batch to overlap.

    Micro-batch overlap hides one micro-batch's communication under another's compute. With one
    micro-batch (written, or all that carry requests) there is no other: only ops of the same
    micro-batch that do not wait for each other can run side by side on the compute and the
    communication streams — in a MoE layer, the shared experts beside the EP all-to-all. Without
    shared experts (or without an all-to-all) the schedule is that of `overlap = none`.

    Bad:
        workload { batch = 32  prompt = 512  generate = 64  microbatches = 1  overlap = microbatch }
    Fixed:
        workload { batch = 32  prompt = 512  generate = 64  microbatches = 2  overlap = microbatch }
    """
    lay, m = ctx.layout, ctx.plan.model
    if ctx.plan.workload.overlap is not Overlap.MICROBATCH or lay.microbatches != 1:
        return
    why = "a single micro-batch" if lay.microbatches_requested <= 1 else \
        f"a single micro-batch that carries requests (of {lay.microbatches_requested} written)"
    beside = m.has_experts and m.moe.shared > 0 and lay.ep > 1 and not experts_inside_tp(lay)
    what = ("only the shared experts' compute runs beside the EP all-to-all" if beside else
            "it runs (and is costed) as `overlap none`")
    own = ctx.strategy.overlap is not None         # the strategy's `with … overlap microbatch`, not the workload's
    fix = ("use 2 or more micro-batches (`with microbatches 2 overlap microbatch`), or write `overlap none`" if own
           else "use 2 or more micro-batches (`microbatches = 2`), or write `overlap = none`")
    yield diag("W512", Severity.WARNING,
               f"`overlap microbatch` with {why}: there is no other micro-batch whose compute could hide its "
               f"communication; {what}",
               overlap_span(ctx.plan, ctx.strategy), fix)


RULES = (
    make_rule("E401", Severity.ERROR, "GPUs used exceed GPUs available", check_gpus),
    make_rule("E402", Severity.ERROR, "a rank's memory exceeds the GPU's memory", check_memory),
    make_rule("W501", Severity.WARNING, "uneven layer split", check_split_balance),
    make_rule("W502", Severity.WARNING, "TP group spans nodes", check_tp_nodes),
    make_rule("W503", Severity.WARNING, "batch not divisible by dp·adp·microbatches", check_batch_split),
    make_rule("W504", Severity.WARNING, "fewer microbatches than stages (pipeline bubble)", check_bubble),
    make_rule("W505", Severity.WARNING, "GPUs available but unused", check_unused),
    make_rule("W507", Severity.WARNING, "DAG too large to build: metrics not computed", check_dag_size),
    make_rule("W508", Severity.WARNING, "sp without tp does nothing", check_sp_without_tp),
    make_rule("W509", Severity.WARNING, "8-bit weights on a GPU without fp8 compute", check_8bit_compute),
    make_rule("W510", Severity.WARNING, "micro-batches beyond the requests: not scheduled", check_empty_microbatches),
    make_rule("W511", Severity.WARNING, "too many stages or too large a stage group to examine: memory and metrics "
              "not computed", check_work_budget),
    make_rule("W512", Severity.WARNING, "overlap microbatch with a single micro-batch",
              check_overlap_single_microbatch),
    make_rule("N601", Severity.NOTE, "kv_heads < tp: KV heads replicated", check_kv_replication),
    make_rule("N602", Severity.NOTE, "experts per GPU", check_experts_per_gpu),
    make_rule("N603", Severity.NOTE, "the EP all-to-all crosses nodes", check_ep_nodes),
)
