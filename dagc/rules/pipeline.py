"""Rules about how the batch flows through the pipeline: the layer split, the batch's parts, the
micro-batches and what overlaps them, and the size of the work dagc examines: W501, W503, W504,
W507, W510–W512."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..diagnostics import Diagnostic, Severity
from ..ir.dag import GROUP_BUDGET, NODE_BUDGET, STAGE_BUDGET, estimate_nodes, over_work_budget
from ..ir.ops import experts_inside_tp
from ..layout.layout import Layout
from ..layout.modes import DECODE_POOL, PREFILL_POOL, mode_of
from ..layout.stages import default_split
from ..plan.plan import Plan, overlap_span
from ..plan.workload import Overlap, Workload
from .base import Reads, RuleContext, diag, make_rule

__all__ = ["RULES"]


def _short_list(values: Sequence[int], limit: int = 8) -> str:
    if len(values) <= limit:
        return str(list(values))
    return "[" + ", ".join(map(str, values[:limit])) + f", …] ({len(values)} stages)"


def check_split_balance(ctx: RuleContext) -> Iterator[Diagnostic]:
    """An uneven layer split: the slowest stage sets the pipeline's pace.

    The stages are compared by their layer counts. The hint names what evens them: for a split the
    plan writes, the most even split of the layers over the same stages (`pp 2 [35, 1]` of 36 layers:
    `pp 2 [18, 18]`; `pp 4 [20, 20, 20, 1]` of 61: `pp 4 [16, 15, 15, 15]`, what `pp 4` without a
    split gives); for dagc's own split, already the most even, the pipeline degrees that divide the
    layers and whose stages the cluster holds (a GPU a stage at least: `pp 2 or pp 4` of 32 layers on
    4 GPUs; until 2026-12-02 `pp 8 or pp 16` too), or a split of your own that weighs the stages' time
    (dense and MoE layers, the embedding and the LM head differ; `dagc search` tries such a split for
    its best pipelined candidates); for a
    split the plan writes that is already as even as any (`pp 2 [31, 30]` of 61 layers), that it is, and
    the degrees that divide the layers, if any. A written split that is not one (E303: wrong sum, wrong count,
    an empty stage) gets no W501: the default split dagc lays out in its place is not the plan's.

    Bad:
        strategy pp 4 < tp 2 >        # 30 layers: 8, 8, 7, 7
        strategy pp 2 [35, 1] < tp 1 >
    Fixed:
        strategy pp 5 < tp 2 >        # 6 layers each, or accept the imbalance
        strategy pp 2 [18, 18] < tp 1 >
    """
    counts, split = ctx.layout.layers_per_stage, ctx.strategy.pp_split
    if not counts or (split is not None and (len(split) != ctx.strategy.pp or sum(split) != ctx.plan.model.layers
                                             or min(split) < 1)):
        return       # a written split that is not one (E303 says how to fix it): not the default split's balance
    lo, hi = min(counts), max(counts)
    if lo > 0 and hi != lo:
        yield diag("W501", Severity.WARNING,
                   f"uneven layer split {_short_list(counts)}: the largest stage has {(hi / lo - 1) * 100:.1f} % "
                   f"more layers than the smallest",
                   ctx.strategy.span_of("split") or ctx.strategy.span_of("pp"),
                   _split_hint(tuple(counts), written=ctx.strategy.pp_split is not None,
                               most=ctx.layout.gpus_available // ctx.layout.dp))      # stages of 1 GPU at least


def _split_hint(counts: tuple[int, ...], written: bool = False, most: int = 16) -> str:
    """W501's hint for a split of `counts` layers a stage: a split the plan wrote that is not the most
    even gets the most even one over the same stages; dagc's own (the most even already) the pipeline
    degrees that divide the layers evenly (none but 1 for a prime count), or an explicit split; a split the
    plan wrote (`written`) that is as even as any is said to be, with those degrees, and asked for nothing more. The
    degrees named are those the cluster holds stages of one GPU or more for, `most` at most (until 2026-12-02 `pp 8
    or pp 16` was named for a strategy on a cluster of 4 GPUs).

    Example:
        >>> _split_hint((35, 1))
        '`pp 2 [18, 18]` splits the 36 layers evenly, 18 a stage (what `pp 2` without a split gives)'
        >>> _split_hint((20, 20, 20, 1))
        '`pp 4 [16, 15, 15, 15]` is the most even split of 61 layers over 4 stages (what `pp 4` without a split gives)'
        >>> _split_hint((11, 11, 10))
        'pp 2 or pp 4 or pp 8 or pp 16 divides 32 layers evenly; or balance with an explicit split `pp 3 [a, b, …]`'
        >>> print(_split_hint((30, 31), written=True))  # doctest: +NORMALIZE_WHITESPACE
        [30, 31] is already the most even split of 61 layers over 2 stages, and no pipeline degree above 1
        divides 61 layers evenly: accept the imbalance (3.3 %)
        >>> _split_hint((11, 11, 10), most=4), _split_hint((9, 8, 8), most=4)[:84]
        ('pp 2 or pp 4 divides 32 layers evenly; or balance with an explicit split `pp 3 [a, b, …]`', \
'no pipeline degree from 2 to 4, the most stages the cluster holds, divides 25 layers')
    """
    layers, pp = sum(counts), len(counts)
    most_even = default_split(layers, pp)
    cap = max(1, min(16, most))                                             # the degrees the search tries
    even = [d for d in range(2, cap + 1) if layers % d == 0 and d != pp][:4]
    beyond = any(layers % d == 0 and d != pp for d in range(cap + 1, 17))
    none = f"no pipeline degree from 2 to {cap}, the most stages the cluster holds," if beyond else \
        "no pipeline degree above 1"
    if written and sorted(counts) == sorted(most_even):
        already = f"{_short_list(counts)} is already the most even split of {layers} layers over {pp} stages"
        if even:
            return f"{already}; {' or '.join(f'pp {d}' for d in even)} divides {layers} layers evenly"
        imbalance = (max(counts) / min(counts) - 1) * 100
        return (f"{already}, and {none} divides {layers} layers evenly: accept the imbalance "
                f"({imbalance:.1f} %)")
    if counts != most_even:
        said = f"`pp {pp} {_short_list(most_even)}`" if pp <= 8 else f"dagc's split of `pp {pp}`"
        alone = f"what `pp {pp}` without a split gives"
        if layers % pp == 0:
            return f"{said} splits the {layers} layers evenly, {layers // pp} a stage ({alone})"
        return f"{said} is the most even split of {layers} layers over {pp} stages ({alone})"
    if not even:
        return (f"{none} divides {layers} layers evenly: balance the stages with an explicit "
                f"split `pp {pp} [a, b, …]`, or accept the imbalance")
    return (f"{' or '.join(f'pp {d}' for d in even)} divides {layers} layers evenly; or balance with an explicit "
            f"split `pp {pp} [a, b, …]`")


def check_batch_split(ctx: RuleContext) -> Iterator[Diagnostic]:
    """The batch should divide by dp × attention DP × micro-batches, or work is uneven. A batch smaller than
    that leaves parts without a request, their GPUs idle: the warning counts them and hints, beside a larger
    batch, the replicas that give each part one.

    Not raised for a batch that `batch = max` chose: that batch is the largest the strategy
    serves, and its note (N605) says how it splits and which smaller batch would split evenly.
    Nor when the attention domain does not divide the stage group (E203): there is no attention
    DP to divide by. With disaggregated pools, the deployment's batch is shared by the decode
    instances, each running ⌈batch / instances⌉ (`decode_pool_split`): it should divide by the
    instances × each instance's parts, and the warning says what runs when it does not.

    Bad:
        workload { batch = 100 … }   strategy dp 8 < tp 1 >
    Fixed:
        workload { batch = 128 … }
    Bad (pools):
        workload { batch = 1024 … }   strategy prefill 1 < tp 8 ; ep 8 > decode 3 < tp 1 ; ep 8 >
    Fixed:
        workload { batch = 1032 … }   (a multiple of 3 instances × 8 attention-DP ranks = 24)
    """
    lay, batch = ctx.layout, ctx.plan.workload.batch
    parts = lay.work_parts
    if not lay.work_is_even and not ctx.plan.workload.batch_max and lay.attention_divides:
        idle = f": {parts - batch:,} of them get no request, their GPUs idle" if batch < parts else ""
        yield diag("W503", Severity.WARNING,
                   f"batch {batch} does not divide into dp {lay.dp} × attention DP {lay.adp} "
                   f"× {lay.microbatches} micro-batches = {parts} equal parts{idle}",
                   ctx.plan.span_of("workload.batch"), f"use a batch that is a multiple of {parts}"
                   + _fewer_replicas(lay, batch))


def _fewer_replicas(lay: Layout, batch: int) -> str:
    """Where the batch leaves replicas without a request (`dp` parts past it): the most replicas that give each part
    one, dividing the batch where one does (a million GPUs as `dp 131072 < tp 8 >` for 64 requests until 2026-12-03
    was told only to raise the batch to 131,072)."""
    per = lay.adp * lay.microbatches
    most = batch // per
    if lay.dp <= 1 or batch >= lay.work_parts or most < 1:
        return ""
    dp = next(d for d in range(most, 0, -1) if batch % (d * per) == 0 or d == 1)
    return f", or fewer replicas: `dp {dp}` gives each of its {dp * per:,} parts a request"


def decode_pool_split(plan: Plan, lay: Layout, instances: int) -> Diagnostic | None:
    """W503 for a decode pool of `instances` instances of layout `lay` (each analysed on its share,
    ⌈batch / instances⌉): the plan's batch should divide by instances × the instance's parts. None
    when it does, for one instance (its own W503 says it), for `batch = max` or without attention DP.

    Example (`lay` the decode instance's: attention DP 8, its share 342):
        `batch 1,024 does not divide into 3 decode instances × dp 1 × attention DP 8 × 1 micro-batches
        = 24 equal parts: each instance runs ⌈1,024 / 3⌉ = 342 requests (43 on its busiest part), 3 × 342
        = 1,026 in all, which the figures count` — help `use a batch that is a multiple of 24: 1,008 or 1,032`
    """
    w, parts = plan.workload, lay.work_parts
    need = instances * parts
    if instances == 1 or w.batch_max or not lay.attention_divides or w.batch % need == 0:
        return None
    each = -(-w.batch // instances)
    busiest = f" ({-(-each // parts):,} on its busiest part)" if each % parts else ""
    below, above = w.batch // need * need, (w.batch // need + 1) * need
    multiples = f"{below:,} or {above:,}" if below else f"{above:,}"
    return diag("W503", Severity.WARNING,
                f"batch {w.batch:,} does not divide into {instances:,} decode instances × dp {lay.dp} × attention "
                f"DP {lay.adp} × {lay.microbatches} micro-batches = {need:,} equal parts: each instance runs "
                f"⌈{w.batch:,} / {instances:,}⌉ = {each:,} requests{busiest}, {instances:,} × {each:,} = "
                f"{instances * each:,} in all, which the figures count",
                plan.span_of("workload.batch"), f"use a batch that is a multiple of {need:,}: {multiples}")


def check_bubble(ctx: RuleContext) -> Iterator[Diagnostic]:
    """Fewer micro-batches than stages: the pipeline idles (bubble (pp−1)/(m+pp−1)).

    With a schedule, the message also gives the measured idle share of the prefill. When more
    micro-batches were asked for than the requests can fill (W510), the hint is to raise the batch,
    not the micro-batches, and says where the count came from: the plan's `microbatches`, or the
    default of one per stage when the plan sets none.

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
        # where the count came from: the plan's `microbatches`, or the default of one per stage
        source = (f"{asked} micro-batches are asked for" if ctx.plan.workload.microbatches is not None else
                  f"the plan sets no `microbatches`, so the default of one per stage asks for {asked}")
        hint = (f"use at least {pp} micro-batches" if asked < pp else
                f"{source}, but the requests fill only {m} (W510): "
                f"{raise_batch(ctx.plan.workload, pp * lay.dp * lay.adp)} or more to fill {pp}")
        yield diag("W504", Severity.WARNING,
                   f"{m} micro-batch{'' if m == 1 else 'es'} for {pp} stages: about {bubble * 100:.0f} % of the "
                   f"pipeline's time is bubble{measured}",     # at the count that took effect (W510's place)
                   (ctx.strategy.span_of("microbatches") if ctx.strategy.microbatches is not None else None)
                   or ctx.plan.span_of("workload.microbatches") or ctx.strategy.span_of("pp"), hint)


def check_dag_size(ctx: RuleContext) -> Iterator[Diagnostic]:
    """The DAG would be too large to build and schedule quickly: metrics are not computed.

    The DAG has about 3 × micro-batches × (layers × ops per layer) nodes (prefill and two
    decode steps; in flight 4 ×, two decode and two mixed steps). Above the budget dagc reports
    everything else and leaves the metrics null.

    The hint names the cause: too many micro-batches (it says how many fit), or, when one
    micro-batch alone is over the budget, the model's layer count.

    Bad:
        workload { batch = 4096  prompt = 512  generate = 64  microbatches = 4096 }
    Fixed:
        workload { batch = 4096  prompt = 512  generate = 64  microbatches = 16 }
    """
    n = estimate_nodes(ctx.layout, ctx.plan.workload)
    if n <= NODE_BUDGET:
        return
    message = f"the DAG would have about {n:,} nodes (budget {NODE_BUDGET:,}): metrics are not computed"
    per_microbatch = n / ctx.layout.microbatches
    if per_microbatch <= NODE_BUDGET:
        most = int(NODE_BUDGET // per_microbatch)
        yield diag("W507", Severity.WARNING, message,
                   ctx.plan.span_of("workload.microbatches") or ctx.strategy.span_of("strategy"),
                   f"use fewer micro-batches: at most {most:,} (each adds about {per_microbatch:,.0f} nodes)")
        return
    layers = ctx.plan.model.layers      # one micro-batch is already too many nodes: the layer count is the cause
    yield diag("W507", Severity.WARNING, message,
               ctx.plan.span_of("model.layers") or ctx.strategy.span_of("strategy"),
               f"even one micro-batch makes about {per_microbatch:,.0f} nodes: the model's {layers:,} layers are what "
               f"exceed the budget (about {int(layers * NODE_BUDGET // per_microbatch):,} layers fit); check "
               "`layers`")


def check_work_budget(ctx: RuleContext) -> Iterator[Diagnostic]:
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


def raise_batch(w: Workload, n: int) -> str:
    """The words of a hint that raises the batch an instance runs to `n` requests: a prefill pool's instance runs
    `prefill_batch` of them, a decode pool's its share of `batch` (until 2026-12-01 both were told "raise the batch",
    which a prefill pool's instance does not run).

    Example:
        >>> from dagc.plan.workload import PoolRole, Workload
        >>> w = Workload(batch=256, prompt=4000, generate=500)
        >>> raise_batch(w, 1024), raise_batch(w.model_copy(update={"role": PoolRole.PREFILL}), 1024)
        ('raise the batch to 1,024', 'write `prefill_batch = 1024`')
    """
    if mode_of(w) is PREFILL_POOL:
        return f"write `prefill_batch = {n}`"
    return f"raise the {batch_said(w)} to {n:,}"


def batch_said(w: Workload) -> str:
    """The batch an instance runs, in words: a prefill pool's `prefill_batch`, a decode pool's its share."""
    mode = mode_of(w)
    return "prefill_batch" if mode is PREFILL_POOL else "decode instance's batch" if mode is DECODE_POOL else "batch"


def check_empty_microbatches(ctx: RuleContext) -> Iterator[Diagnostic]:
    """More micro-batches than an attention-DP group has requests: the rest would be empty.

    A replica's requests are split over the attention-DP groups of a stage, and each group's
    requests over the micro-batches. A micro-batch beyond ceil(batch / (dp · attention DP))
    would carry no request for a group — it would only add latency and pipeline steps — so
    dagc schedules that many micro-batches and says so. The hint sets that many where the count
    was written — the workload's `microbatches`, or the strategy's `with microbatches` — or raises
    the batch: a prefill pool's instance's `prefill_batch`, a decode instance's share of `batch`.

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
    # a prefill pool's instance runs `prefill_batch` requests, a decode pool's its share of the batch; the count is
    # the strategy's `with microbatches` where it writes one (until 2026-12-01 the hint was the workload's
    # `microbatches = k`, which that option overrides, and "raise the batch" for a prefill pool's `prefill_batch`)
    where = f"{batch_said(w)} {w.batch} / (dp {lay.dp} × attention DP {lay.adp})"
    option, written = ctx.strategy.microbatches is not None, w.microbatches is not None
    fill = raise_batch(w, n * lay.dp * lay.adp)
    yield diag("W510", Severity.WARNING,
               f"only {k} of the {n} micro-batches{'' if written else ' (one per stage)'} carry requests: "
               f"{per_group} request{'s' if per_group > 1 else ''} per attention-DP group ({where}); "
               f"dagc schedules {k}",
               ctx.strategy.span_of("microbatches") if option else
               ctx.plan.span_of("workload.microbatches") if written else ctx.strategy.span_of("pp"),
               f"{f'write `with microbatches {k}`' if option else f'set `microbatches = {k}`'}, or {fill} to fill "
               f"{n} micro-batches")


def check_overlap_single_microbatch(ctx: RuleContext) -> Iterator[Diagnostic]:
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
    make_rule("W501", Severity.WARNING, "uneven layer split", check_split_balance),
    make_rule("W503", Severity.WARNING, "batch not divisible by dp·adp·microbatches", check_batch_split),
    make_rule("W504", Severity.WARNING, "fewer microbatches than stages (pipeline bubble)", check_bubble,
              reads=Reads.SCHEDULE),
    make_rule("W507", Severity.WARNING, "DAG too large to build: metrics not computed", check_dag_size),
    make_rule("W510", Severity.WARNING, "micro-batches beyond the requests: not scheduled", check_empty_microbatches),
    make_rule("W511", Severity.WARNING, "too many stages or too large a stage group to examine: memory and metrics "
              "not computed", check_work_budget),
    make_rule("W512", Severity.WARNING, "overlap microbatch with a single micro-batch",
              check_overlap_single_microbatch),
)
