"""Rules about the GPUs a strategy uses: how many, their memory, which nodes its groups span and what
their units compute: E401, E402, W502, W505, W508, W516, W517, W520, N601–N603."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..diagnostics import Diagnostic, Severity, code
from ..ir.ops import experts_inside_tp
from ..kernels.series import moe_a2a
from ..layout.shards import fused_moe_shape
from ..memory.admission import admission, over_ranks, share_words
from ..memory.memory import StageMemory
from ..memory.resident import admits_by_kv
from ..units import count_text, format_bytes, said_list
from .base import Reads, RuleContext, diag, make_rule
from .gpu_fit import fit_hint, tp_within_node_hint
from .kv_shards import kv_shard_hint, limit_words
from .unused_hint import unused_hint
from .weights_fit import e402_hint

__all__ = ["RULES"]


def _crossing(size: int, gpus_per_node: int, group: str, of: str = "") -> str:
    """Which aligned groups of `size` ranks span nodes, given that one does, as the subject of a
    sentence: every group when it is larger than a node (`every EP group of 32 GPUs spans nodes …:
    its`), else only some (`some EP groups of 4 GPUs span nodes …: their`); the first group sits in
    node 0."""
    if size > gpus_per_node:
        return f"every {group}{of} spans nodes of {count_text(gpus_per_node, 'GPU')}: its"
    return f"some {group}s{of} span nodes of {count_text(gpus_per_node, 'GPU')}: their"


def check_gpus(ctx: RuleContext) -> Iterator[Diagnostic]:
    """GPUs used must not exceed GPUs available.

    GPUs used = dp × pp × G, where G = max(tp·cp, ep·etp) is the stage group: the attention and expert
    domains share the GPUs of a stage. It is never the product of every degree. The hint names what
    fits (fewer replicas or stages, or a smaller stage group that splits the heads and experts evenly), each only
    when a replica's GPUs could hold the model's weights (else E402 would refuse it in turn).

    Bad:
        cluster { gpus = 16 … }
        strategy dp 2 < pp 4 < tp 2 ; ep 8 > >      # 2 × 4 × 8 = 64 GPUs
    Fixed:
        strategy dp 2 < pp 1 < tp 2 ; ep 8 > >      # 16 GPUs
    """
    lay, c = ctx.layout, ctx.plan.cluster
    if lay.gpus_used > ctx.plan.cluster.gpus:
        yield diag("E401", Severity.ERROR,
                   f"the strategy uses {count_text(lay.gpus_used, 'GPU')} (dp {lay.dp} × pp {lay.pp} × stage group "
                   f"{lay.group_size}); the cluster has {ctx.plan.cluster.gpus}",
                   ctx.strategy.span_of("strategy"), fit_hint(ctx.plan.model, ctx.plan.cluster.gpus, lay,
                                                              c.gpu.memory_bytes - c.reserve_bytes))


def check_memory(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A rank's memory (weights + KV cache + activations + reserve) must fit in the GPU: the engine
    could not start.

    What a rank holds of the weights and of the KV cache is computed as docs/cost-model.md
    ("Parameters and memory") describes; activations are the largest working set of one op for
    one micro-batch. The reserve is what the runtime keeps outside them (CUDA context, NCCL
    buffers, allocator slack): 4 GiB per GPU unless the plan sets `cluster { reserve = … }`.
    The capacity is the memory the device reports (an "80 GB" H100 SXM: 81,559 MiB). With
    several stages over the capacity, the message gives the largest figure, "up to", and its
    stage.

    In flight (`serving = inflight`, and a disaggregated strategy's decode instances) `batch` is
    the cap on requests in flight, not a reservation: the KV cache counted is one full-length
    request's (prompt + generate) at least, and what the rest leaves at most; a KV cache that holds
    fewer requests than the cap is W520, not this. Statically the whole batch runs to full length
    together, so its KV cache must fit whole.

    The hint spreads the weights (more pp or ep) only while the cluster's GPUs, less each one's
    reserve, could hold them all; past that no strategy fits, and it says how many GPUs of the
    kind the weights alone need and how many 8-bit weights would.

    On a plan that chose its engine, what that engine refuses of the strategy's degrees (E7xx) is
    said beside this error, not after it is fixed: the engine reads the degrees, not the memory.
    A disaggregated strategy's pools alike: a pool over memory and a pool (the same or the other)
    whose strategy the engine cannot express are both said, each named by its pool.

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
    activations = (f"activations {format_bytes(worst.activation_bytes)}" if worst.activations_counted else
                   "activations (not counted: the rest alone does not fit)")
    w = ctx.plan.workload
    kv = (f"KV cache of one full-length request ({w.prompt + w.generate:,} tokens: the engine cannot start without it)"
          if admits_by_kv(w) else "KV cache")
    breakdown = (f"weights {format_bytes(worst.weights_bytes)} + {kv} {format_bytes(worst.kv_cache_bytes)} "
                 f"+ {activations} + reserve {format_bytes(worst.reserve_bytes)}")
    capacity, total = format_bytes(worst.capacity_bytes), format_bytes(worst.total_bytes)
    if ctx.layout.pp == 1:
        message = f"every rank needs {total} ({breakdown}) of the GPU's {capacity}"
    elif len(over) == 1:
        message = (f"each rank of stage {worst.stage} (ranks {ranks.start}–{ranks.stop - 1}{replicas}) needs "
                   f"{total} ({breakdown}) of the GPU's {capacity}")
    else:
        message = (f"each rank of {_stages(over, ctx.layout.pp)} needs more than the GPU's {capacity}: up to {total} "
                   f"in stage {worst.stage} (ranks {ranks.start}–{ranks.stop - 1}{replicas}): {breakdown}")
    yield diag("E402", Severity.ERROR, message, ctx.strategy.span_of("strategy"), e402_hint(ctx.plan, worst))


def check_admission(ctx: RuleContext) -> Iterator[Diagnostic]:
    """In flight, the KV cache holds fewer requests than `batch`: the engine runs fewer at once.

    `batch` is the most requests in flight (vLLM `--max-num-seqs`, SGLang `--max-running-requests`,
    TensorRT-LLM `max_batch_size`); the engine admits a request while KV blocks for it are free. When
    the memory the weights, activations and reserve leave holds fewer than a rank's share of the
    batch at their mean context (prompt + generate/2: a request's context grows over its life), the
    engine runs n = floor(KV tokens / mean context) per rank — on an engine that never preempts
    (TensorRT-LLM's GUARANTEED_NO_EVICT), which reserves each request's full length, n = floor(KV
    tokens / (prompt + generate)), and on SGLang, which reserves 0.098 of each running request's output to come
    once busy, n = floor(KV tokens / (prompt + generate/2 + 0.098 · generate/2)) —: dagc judges TTFT, TPOT and the
    throughputs at that concurrency (report.json `metrics.concurrency_effective`); a memory requirement's limit,
    when lower, is the memory (`limit_words`), and a calibration's `kv_cache_share` that share of what the rest
    leaves (`dagc.memory.memory.kv_room`). The message says how many requests it holds at full length and
    how many run at their mean context; the hint, the GPU memory that would run the whole cap, what an 8-bit KV
    cache would run, and what shards this model's KV cache (`dagc.rules.kv_shards`: tp up to its KV heads).

    Bad:
        model "qwen2.5-14b" { … }   cluster { gpus = 1  gpu "l40s" { memory = 48 GB … } }
        workload { batch = 128  prompt = 2000  generate = 500  serving = inflight }
        strategy tp 1                       # KV for 28 at full length: the engine runs ≈ 31, not 128
    Fixed:
        cluster { gpus = 8 … }   strategy dp 8     # 16 a GPU; or `batch = 31`, what one GPU runs anyway
    """
    mem, w, lay = ctx.memory, ctx.plan.workload, ctx.layout
    if mem is None or not admits_by_kv(w) or not all(s.fits for s in mem.stages):
        return
    a = ctx.admission or admission(w, lay, mem, ctx.plan.cluster.engine.terms)   # made by `analyse`
    if not a.limited:
        return
    where = _spread(lay.dp, lay.adp, a.per_rank)
    full = over_ranks(w.batch, lay, a.full_length)
    under, lift = limit_words(ctx.plan, a.memory_to_lift_bytes, a.cap)
    under += share_words(a.kv_share) + ("," if a.kv_share != 1.0 else "")
    message = (f"the KV cache{under} holds {full:,} of the {a.cap:,} requests of `batch` at full length "
               f"({a.context_tokens:,} tokens; {a.kv_tokens:,} tokens a rank); in flight the engine runs ≈ "
               f"{a.effective:,} {a.running_words}{where}: TTFT, TPOT and "
               f"the throughputs are judged at {count_text(a.effective, 'request')} in flight")
    if full == 0:           # not one at full length: an engine given this share may not start (E732)
        message += ("; with none at full length vLLM does not start (E732 in `dagc launch`): these are the figures "
                    "of a cache that held one")
    kv = ctx.plan.model.kv_cache
    if kv.bytes > 1 and (n8 := over_ranks(w.batch, lay, a.per_rank_with(1 / kv.bytes))) > a.effective:
        lift += f"; an 8-bit KV cache (`model {{ kv_cache = fp8 }}`) would run ≈ {n8:,}"
    span = ctx.plan.span_of("workload.batch") or ctx.strategy.span_of("strategy")
    yield diag("W520", Severity.WARNING, message, span,
               f"{lift}; {kv_shard_hint(ctx.plan, lay)}; a `batch` of {a.effective:,} states what runs")


def _spread(dp: int, adp: int, per_rank: int) -> str:
    """Where W520's requests run, in the words of the strategy: whole replicas (`dp`), attention-DP ranks, or both.

    Example:
        >>> _spread(2, 1, 97), _spread(1, 8, 12), _spread(1, 1, 5)
        (' (over 2 replicas (dp 2): 97 each)', ' (over 8 attention-DP ranks: 12 each)', '')
        >>> _spread(2, 8, 6)
        ' (over 2 replicas (dp 2) × 8 attention-DP ranks = 16: 6 each)'
    """
    if dp == 1 and adp == 1:
        return ""
    replicas, ranks = f"{dp:,} replicas (dp {dp:,})", f"{adp:,} attention-DP ranks"
    over = replicas if adp == 1 else ranks if dp == 1 else f"{replicas} × {ranks} = {dp * adp:,}"
    return f" (over {over}: {per_rank:,} each)"


def _stages(over: Sequence[StageMemory], pp: int) -> str:
    """`stages 0 and 1`, `stages 0, 1 and 3`, or `12 of the 16 stages` for many."""
    ids = [str(s.stage) for s in over]
    if len(ids) == pp:
        return "both stages" if pp == 2 else f"all {pp} stages"
    if len(ids) > 4:
        return f"{len(ids)} of the {pp} stages"
    return f"stages {said_list(ids)}"


def check_tp_nodes(ctx: RuleContext) -> Iterator[Diagnostic]:
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
                   ctx.strategy.span_of("tp"), tp_within_node_hint(lay.gpus_per_node))


def check_unused(ctx: RuleContext) -> Iterator[Diagnostic]:
    """GPUs available but unused. Legal (a smaller plan may be the better one), but say so.

    The hint suggests replicas (`dp`) only of a strategy that passes the rules: replicas of one that breaks
    them (too little memory, a tp that does not divide the heads) would break them too; and never more GPUs
    than a `gpus` requirement of the plan allows (`dagc.rules.unused_hint`).

    Bad:
        cluster { gpus = 16 … }   strategy tp 8
    Fixed:
        strategy dp 2 < tp 8 >
    """
    used, avail = ctx.layout.gpus_used, ctx.plan.cluster.gpus
    if used < avail:
        hint = unused_hint(ctx.plan, used, bool(ctx.errors), ctx.strategy.dp)   # within the plan's `gpus` requirements
        yield diag("W505", Severity.WARNING,
                   f"{avail - used:,} of {avail:,} GPUs {'is' if avail - used == 1 else 'are'} unused "
                   f"(the strategy uses {used:,})",
                   ctx.plan.span_of("cluster.gpus") or ctx.strategy.span_of("strategy"), hint)


def check_kv_replication(ctx: RuleContext) -> Iterator[Diagnostic]:
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


def check_experts_per_gpu(ctx: RuleContext) -> Iterator[Diagnostic]:
    """How many experts each GPU holds per MoE layer (one is the strict EP layout; more is legal).

    Example:
        strategy tp 2 ; ep 4          # 8 experts: 2 per GPU, each whole (etp 1)
    """
    m, lay = ctx.plan.model, ctx.layout
    slots = m.moe.experts + lay.redundant
    if not m.has_experts or slots % lay.ep or lay.ep > slots or not any(map(m.is_moe_layer, range(m.layers))):
        return          # (a model of dense layers alone was told it held routed experts until 2026-12-03)
    per = lay.experts_per_ep_rank
    if lay.redundant:
        yield diag("N602", Severity.NOTE, f"each GPU holds {per} expert slots of every MoE layer ({m.moe.experts:,} "
                   f"routed experts and {lay.redundant:,} redundant slots over ep {lay.ep})",
                   ctx.strategy.span_of("redundant"))
        return
    shard = f", each split {lay.etp}-way" if lay.etp > 1 else ""
    rep = f"; each expert on {lay.edp * lay.etp} GPUs of a stage" if lay.edp * lay.etp > 1 else ""
    yield diag("N602", Severity.NOTE,
               f"each GPU holds {per} routed expert{'s' if per > 1 else ''} of every MoE layer{shard}{rep}",
               ctx.strategy.span_of("ep") or ctx.strategy.span_of("tp"))


def check_ep_nodes(ctx: RuleContext) -> Iterator[Diagnostic]:
    """The EP all-to-all crosses nodes: dispatch and combine go over the network.

    Legal and usual for large EP (DeepSeek-V3 serves with EP across nodes); its cost is the
    network bandwidth, which the cost model charges. An EP group that is the TP group (`tp 16 ; ep 16`)
    has no all-to-all: every rank holds the group's tokens and the TP all-reduce sums the experts'
    outputs (docs/cost-model.md); the note names that all-reduce, which crosses the network instead.

    Example:
        cluster { gpus = 32  gpus_per_node = 8 … }
        strategy tp 4 ; ep 32
    """
    m, lay = ctx.plan.model, ctx.layout
    if m.has_experts and lay.ep > 1 and lay.group_crosses_nodes(lay.ep * lay.etp):
        size = lay.ep * lay.etp
        subject = _crossing(size, lay.gpus_per_node, 'EP group', f' of {size} GPUs')
        what = ("all-to-all uses the inter-node network" if not experts_inside_tp(lay) else
                f"experts run inside the tp {lay.tp} group without an all-to-all, and the TP all-reduce that sums "
                "their outputs uses the inter-node network")
        yield diag("N603", Severity.NOTE, f"{subject} {what}", ctx.strategy.span_of("ep"))


def check_sp_without_tp(ctx: RuleContext) -> Iterator[Diagnostic]:
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


def check_redundant_gains(ctx: RuleContext) -> Iterator[Diagnostic]:
    """EPLB (`with redundant R`) that can gain nothing: no loads are measured, or one EP rank holds
    every expert.

    EPLB replicates the experts that measured routing shows to be hot, so that the busiest EP rank
    carries less. With `routing = random`, `uniform` or `imbalance X`, nothing says which experts are
    hot: dagc costs the slots (each holds a whole expert's weights, read when it takes tokens) and no
    rank carries less. With ep 1
    every rank already holds every expert. Give the loads an engine recorded (`routing from
    "expert_load.json"`), or drop the option.

    Bad:
        workload { batch = 256  prompt = 2048  generate = 256 }
        strategy tp 4 ; ep 32 with redundant 32
    Fixed:
        workload { batch = 256  prompt = 2048  generate = 256  routing from "expert_load.json" }
        strategy tp 4 ; ep 32 with redundant 32
    """
    lay, w = ctx.layout, ctx.plan.workload
    if not lay.eplb or not ctx.plan.model.has_experts:
        return
    if lay.ep == 1:
        yield diag("W516", Severity.WARNING, f"EPLB with {lay.redundant:,} redundant expert slots and ep 1: every GPU "
                   "already holds every expert, the slots only cost memory", ctx.strategy.span_of("redundant"),
                   "spread the experts with `ep`, or remove `redundant`")
    elif w.expert_load is None:
        how = "random" if w.routing_imbalance is None else f"imbalance {w.routing_imbalance:g}"
        yield diag("W516", Severity.WARNING, f"EPLB with {lay.redundant:,} redundant expert slots under "
                   f"`routing = {how}`: "
                   "no measured load says which experts to replicate, so no rank carries less: dagc counts what "
                   "the slots cost (memory, weight reads) and nothing they save", ctx.strategy.span_of("redundant"),
                   'give the loads an engine recorded: `routing from "expert_load.json"` (docs/language.md)')


def check_engine_coverage(ctx: RuleContext) -> Iterator[Diagnostic]:
    """The plan's engine kernel profile measured no fused MoE layer at the strategy's shape.

    An engine profile (`dagc kernels import`) prices the routed experts by the engine's own fused MoE
    layer, measured at given shapes: the experts' dtype, hidden size, expert ffn, top-k, experts, and
    how the strategy splits them (expert tp `etp`, `ep`). At a shape it did not measure, dagc prices
    the experts by its own unfused kernels (routing, permutation, grouped GEMMs, activation, each a
    launch), which no engine runs: at decode that can double the experts' time. The hint lists the
    splits the profile measured for this model's layer; a strategy with one of them is priced by the
    engine's kernel.

    Example:
        cluster { gpus = 8  gpu preset "b200"  kernels from "b200-sglang.json" }
        strategy tp 8 ; ep 8 etp 1     # priced by the engine's layer where `tp 8` (etp 8, ep 1) is not
    """
    prof, m, lay = ctx.plan.cluster.kernels, ctx.plan.model, ctx.layout
    if prof is None or not m.has_experts or not (measured := prof.fused_moe_measured()):
        return
    shape = fused_moe_shape(m, lay.ep, lay.etp)
    if prof.fused_moe_covers(shape, a2a=moe_a2a(lay.ep, lay.etp, lay.adp)):
        return
    dtype, hidden, ffn, top_k, experts = shape.dtype, shape.hidden, shape.inter, shape.topk, shape.experts
    splits = sorted({(k[5], k[6]) for k in measured if k[:5] == (dtype.value, hidden, ffn, top_k, experts)},
                    key=lambda x: (x[1], x[0]))
    hint = ("splits it measured for this layer: " + ", ".join(f"ep {ep} etp {etp}" for etp, ep in splits[:12])
            + (" …" if len(splits) > 12 else "") if splits else
            f"it measured no {dtype.value} layer of {experts} experts of hidden {hidden} and ffn {ffn} at any split: "
            "import a profile of another engine or release (`dagc kernels list`)")
    yield diag("W517", Severity.WARNING,
               f"the kernel profile {code(prof.name)} measured its engine's fused MoE layer, but not at this "
               f"strategy's shape ({dtype.value} experts, hidden {hidden}, ffn {ffn}, top-{top_k} of {experts}, "
               f"ep {lay.ep} etp {lay.etp}): dagc prices these experts by its own unfused kernels, which the engine "
               "does not run",
               ctx.strategy.span_of("strategy"), hint)


RULES = (
    make_rule("E401", Severity.ERROR, "GPUs used exceed GPUs available", check_gpus),
    make_rule("E402", Severity.ERROR, "a rank's memory exceeds the GPU's memory", check_memory, reads=Reads.MEMORY),
    make_rule("W502", Severity.WARNING, "TP group spans nodes", check_tp_nodes),
    make_rule("W505", Severity.WARNING, "GPUs available but unused", check_unused, reads=Reads.SCHEDULE),
    make_rule("W508", Severity.WARNING, "sp without tp does nothing", check_sp_without_tp),
    make_rule("W516", Severity.WARNING, "EPLB and redundant expert slots that gain nothing", check_redundant_gains),
    make_rule("W517", Severity.WARNING, "the engine profile did not measure the fused MoE layer at this shape",
              check_engine_coverage),
    make_rule("W520", Severity.WARNING, "in flight, the KV cache holds fewer requests than `batch`", check_admission,
              reads=Reads.MEMORY),
    make_rule("N601", Severity.NOTE, "kv_heads < tp: KV heads replicated", check_kv_replication),
    make_rule("N602", Severity.NOTE, "experts per GPU", check_experts_per_gpu),
    make_rule("N603", Severity.NOTE, "the EP all-to-all crosses nodes", check_ep_nodes),
)
