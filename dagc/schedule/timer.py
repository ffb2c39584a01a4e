"""The search's timer: the times of a candidate's stage passes from shared op templates, no DAG built.

Input: a `Plan`, then a `Layout`, a workload, a phase, a micro-batch's requests and a stage. Output:
the durations of the stage's pass of that micro-batch (per layer of each kind, alone and as a pair of
micro-batches; the embedding, the final norm and LM head; the send) and its activation peaks, from the
op templates of `dagc.ir.ops` costed by `dagc.cost.cost`, cached between candidates (`Timer`); and lower
bounds of them that time no pass of the candidate's (`Timer.floors.split_times`, `op_floor_times`,
`working_set_floor`). A stage's pass of one micro-batch is the sum of its ops (one stream); with
`overlap = microbatch` a pair of micro-batches is timed by scheduling one layer of both on a compute
and a communication stream (an estimate). `dagc.schedule.recurrence` schedules the passes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from weakref import WeakValueDictionary

from ..ir.dag import Phase
from ..ir.ops import (
    ATTENTION_SPLIT_OPS,
    Layers,
    Op,
    OpShapes,
    attention_split_peak_key,
    attention_split_ranks_key,
    layer_ops,
    model_layers,
)
from ..layout.layout import Layout
from ..layout.speculative import draft_layer_dense, draft_model, draft_passes, without_speculation
from ..memory.activations import shape_activation_peaks, stage_activation_bytes
from ..plan.cluster import hardware
from ..plan.plan import Plan
from ..plan.workload import Overlap, Workload
from .floors import FloorTimes
from .timer_base import (
    TIMER_CACHE_MAX,
    BodyTimes,
    Entry,
    Key,
    LayerTimes,
    OpTables,
    PassTimes,
    Requests,
    TimerCore,
    context_free_key,
    op_parts,
    pass_ops,
    shape_key,
)

__all__ = ["KEEP_TIMERS", "TIMER_CACHE_MAX", "Timer", "deployment_key", "priced_key", "shared_timer", "times_alike"]

KEEP_TIMERS = 8         # deployments whose timers `shared_timer` keeps (each table bounded by TIMER_CACHE_MAX)


class Timer:
    """Per-op durations and activation peaks of one layout, cached by everything they depend on: the stage
    passes' times (`pass_times`) made of its `core`'s op templates (`TimerCore`: the caches and the layouts'
    rows, units and stage kinds), and their lower bounds (`floors`, `FloorTimes`) made of the same.
    `tables`: the op prices shared with other timers (`OpTables`; its own by default)."""

    def __init__(self, plan: Plan, tables: OpTables | None = None):
        self.plan = plan
        self.core = TimerCore(plan, tables)
        self.floors = FloorTimes(self.core)
        # the last pass's shapes by its workload and layout (frozen: by identity), phase, requests and stage (`_shapes`)
        self._last: tuple[Workload, Layout, Phase, Requests, int, OpShapes] | None = None
        # one scale for compute and memory: an op's price reads no totals, so a decode pass's attention split is keyed
        # by its groups' distinct requests (`dagc.ir.ops.attention_split_ranks_key`); else by each group's
        cm = self.core.cm
        self.ranks_alike = cm.compute_time_scale == cm.memory_time_scale

    def pass_times(self, workload: Workload, lay: Layout, phase: Phase, req: Requests, stage: int) -> PassTimes:
        """Durations of a micro-batch's pass on a stage: per-layer (dense, MoE), the extras and the send;
        `act`: the activation peaks of the stage's ops (`dagc.memory.activations.shape_activation_peaks`).

        Cached in two parts: the layers and the extras (embedding, final norm and LM head) by the
        structure, the shape and where the stage group sits in its node — only when that can
        change a node crossing (`Layout.node_offset`) — and the send by whether it crosses nodes. The
        dict returned is shared: read it, never change it.
        """
        return self._pass(workload, lay, phase, req, stage, shape_key(workload, lay, phase, req),
                          lay.placements[stage])

    def stage_passes(self, workload: Workload, lay: Layout, phase: Phase, req: Requests) -> list[PassTimes]:
        """`pass_times` of every stage, in order."""
        shape = shape_key(workload, lay, phase, req)
        return [self._pass(workload, lay, phase, req, stage, shape, where)
                for stage, where in enumerate(lay.placements)]

    def _pass(self, workload: Workload, lay: Layout, phase: Phase, req: Requests, stage: int, shape: Key,
              where: tuple[int, bool, bool]) -> PassTimes:
        whole_key = (shape, *where)
        whole = self.core.passes.get(whole_key)
        if whole is not None:
            return whole
        offset, cross, last = where
        body = self.core.remember(self.core.pass_bodies, (shape, offset),
                              lambda: self._body(workload, lay, phase, req, stage, shape, offset))
        # the send reads no context: the same at another prompt (`context_free_key`); nor, a collective, the engine's
        # priced terms: the same for every timer that shares `tables`
        send_key = ("send", context_free_key(shape, cross)) if self.core.reuse_context_free else (shape, "send", cross)
        send = self.core.remember(self.core.tables.sends, send_key,
                                  lambda: self._send(workload, lay, phase, req, stage))
        out: PassTimes = {**body, "send": 0.0 if last else send[0], "act": {**body["act"], "boundary": send[1]}}
        return self.core.remember(self.core.passes, whole_key, lambda: out)

    def figures_of(self, lay: Layout, workload: Workload) -> dict[str, float]:
        """The schedule's figures of one candidate (`Recurrence` fills it: TPOT, TTFT, the floors),
        kept between searches of this plan (`dagc.search.search.objective_picks` runs one per objective).
        Keyed by what they depend on beside the plan: the layout's degrees (the expert domain's as
        scheduled) and stages, the micro-batches scheduled and the workload's fields (a mixed step's chunk ranks,
        `Workload.chunk_ranks`, among them)."""
        w = workload
        key = (lay.dp, lay.pp, lay.tp, lay.cp, lay.sp, lay.ep, lay.etp, lay.redundant, lay.eplb, lay.group_size,
               lay.stage_layers, lay.microbatches, w.batch, w.prompt, w.generate, w.overlap, w.routing, w.dispatch,
               w.serving, w.chunk, w.chunk_ranks)
        return self.core.remember(self.core.figures, key, dict)

    def _draft(self, workload: Workload, lay: Layout, req: Requests, stage: int) -> float:
        """Speculative decoding's draft passes after a decode step (`dagc.layout.speculative`), as the DAG
        builder appends them to the last stage: each a layer of the draft's kind (an EAGLE draft's dense layer with
        its own FFN and attention, on its own per-rank dimensions, `draft_model`), the final norm and the LM head
        (an EAGLE draft's own), on one position per request, in turn."""
        one, dense = without_speculation(workload), draft_layer_dense(self.plan.model, workload)
        drafted = draft_model(self.plan.model, workload)
        shapes = self.core.shapes(one, lay, Phase.DECODE, req, stage, model=drafted)
        parts = op_parts({dense: layer_ops(lay, drafted, dense)[0]}, lambda op: self.core.op_figures(shapes, op)[0])
        return draft_passes(workload) * (parts["dense" if dense else "moe"] + parts["head"])

    def _send(self, workload: Workload, lay: Layout, phase: Phase, req: Requests, stage: int) -> tuple[float, float]:
        """The send after a stage: its duration and activation peak (`_made`'s figures but whether it is
        a collective)."""
        time_s, _, peak = self.core.op_figures(self._shapes(workload, lay, phase, req, stage), Op.SEND)
        return time_s, peak

    def _body(self, workload: Workload, lay: Layout, phase: Phase, req: Requests, stage: int, shape: Key,
              offset: int) -> BodyTimes:
        """The layers and the extras of a pass (`_pass`) at this timer's engine terms, from its ops' entries
        (`_body_entries`: made once for the timers that share `tables`). A decode or mixed pass at another
        context (its `context_free_key` seen) is its remembered figures with its new attention's summed and
        paired in again, in the same order (`_with_attention`): the figures of a pass whose every op is looked up."""
        m = self.plan.model
        free = context_free_key(shape, offset)
        # the same pass at another context: its figures from the ones remembered and its attention's
        at_context = self.core.reuse_context_free and phase is not Phase.PREFILL and not draft_passes(workload)
        known = self.core.bodies.get(free) if at_context else None
        # what its ops read of the layout, made once for the pass: its attention split's key and its layers' ops
        split, layers = attention_split_peak_key(lay, workload, phase, req), model_layers(lay, m)
        if self.ranks_alike:        # a decode pass's split by its groups' distinct requests
            split = attention_split_ranks_key(split)
        if known is not None:
            return _with_attention(known, self.core.split_attention(
                phase, lambda: self._shapes(workload, lay, phase, req, stage), split))
        entries, acts = self.core.remember(self.core.tables.bodies, (shape, offset), lambda: self._body_entries(
            workload, lay, phase, req, stage, (free, split), layers))
        cm, seconds = self.core.cm, self.core.op_seconds
        if len(seconds) >= TIMER_CACHE_MAX:
            seconds.clear()
        info: dict[Op, tuple[float, bool]] = {}
        for op, (price, comm, _) in entries.items():
            s = seconds.get(price)
            if s is None:
                s = seconds[price] = price.seconds(cm)
            info[op] = (s, comm)
        parts = op_parts(layers, lambda op: info[op][0])
        if phase is not Phase.PREFILL and draft_passes(workload):
            parts["head"] += self._draft(workload, lay, req, stage)
        timed = {dense: [(lop, *info[lop.op]) for lop in ops] for dense, ops in layers.items()}
        # two micro-batches through a layer of each kind
        pair = {dense: _pair_layer_time(ops) for dense, ops in timed.items()}
        out: BodyTimes = {**parts, "pair_dense": pair.get(True, 0.0), "pair_moe": pair.get(False, 0.0),
                          "act": dict(acts)}
        if at_context:
            self.core.remember(self.core.bodies, free, lambda: (timed, out))
        return out

    def _body_entries(self, workload: Workload, lay: Layout, phase: Phase, req: Requests, stage: int,
                      keys: tuple[Key, Key], layers: Layers) -> tuple[dict[Op, Entry], dict[str, float]]:
        """The entries of a pass's ops (`pass_ops`) and its activation peaks but the send's ("boundary",
        added by `_pass`). Its ops but the attention read no context (`context_free_key` `free`): the same
        pass at another prompt looks up its attention alone and takes the others' entries as remembered, so
        its figures are those of a pass whose every op is looked up."""
        free, split = keys
        shapes = self._shapes(workload, lay, phase, req, stage)

        # One template at a time, kept only as its price: a stage group of many ranks holds one op's vectors.
        known: dict[Op, Entry] = (
            self.core.remember(self.core.tables.context_free, free, dict).copy()
            if self.core.reuse_context_free else {})
        used: dict[Op, Entry] = {}
        new: dict[Op, Entry] = {}

        def entry(op: Op) -> Entry:
            hit = used.get(op)
            if hit is None:
                hit = known.get(op)
                if hit is None:
                    hit = (self.core.split_entry(shapes, op, split) if op in ATTENTION_SPLIT_OPS
                           else self.core.entry(shapes, op))
                    if op is not Op.ATTENTION:
                        new[op] = hit
                used[op] = hit
            return hit

        for op in pass_ops(layers):
            entry(op)
        if new and self.core.reuse_context_free:
            self.core.remember(self.core.tables.context_free, free, dict).update(new)
        # every op it places is entered above: its working sets are read off the entries
        acts = shape_activation_peaks(shapes, layers, lambda op: 0.0 if op is Op.SEND else entry(op)[2])
        return used, {k: v for k, v in acts.items() if k != "boundary"}

    def _shapes(self, workload: Workload, lay: Layout, phase: Phase, req: Requests, stage: int) -> OpShapes:
        """`TimerCore.shapes` of a pass, made once for the pass's body and its send (a pass timed first times both),
        or its attention at another context: the last pass's kept."""
        last = self._last
        if last is not None and last[0] is workload and last[1] is lay and last[2] is phase and last[3] == req \
                and last[4] == stage:
            return last[5]
        shapes = self.core.shapes(workload, lay, phase, req, stage)
        self._last = (workload, lay, phase, req, stage, shapes)
        return shapes

    def activations(self, workload: Workload, lay: Layout) -> dict[int, float]:
        """The DAG's activation working set per stage (`dagc.memory.activations.stage_activation_bytes`)."""
        def act(phase: Phase, req: Requests, stage: int) -> dict[str, float]:
            return self.pass_times(workload, lay, phase, req, stage)["act"]

        return stage_activation_bytes(self.plan.model, workload, lay, act)


# The workload's fields that a timer's figures read only through a layout or the keys that hold them (the
# requests of the layout's micro-batches, `Timer.figures_of`), as the search times its candidates of every batch,
# micro-batches and overlap on one timer: set aside by `deployment_key`, so that a check's strategies, its
# search's candidates and its next steps (another batch, `dagc.verdict.next_steps`) price each pass once
_PER_CANDIDATE: dict[str, object] = {"traffic": None, "batch": 0, "batch_max": False, "batch_note": None,
                                     "batch_breaks": None, "microbatches": None, "overlap": Overlap.NONE}


def deployment_key(plan: Plan) -> Hashable:
    """What a timer's figures depend on of its plan: the model, the cluster's hardware (`hardware`: not its
    count of GPUs nor its price) and the workload but its traffic, batch, micro-batches and overlap (each
    figure is keyed by the shapes it reads, `dagc.schedule.timer_base`, and the layout's requests)."""
    return plan.model, hardware(plan.cluster), plan.workload.model_copy(update=_PER_CANDIDATE)


def times_alike(a: Plan, b: Plan) -> bool:
    """Whether a timer of plan `a` times plan `b` as one of its own would (`deployment_key`)."""
    return a is b or deployment_key(a) == deployment_key(b)


def priced_key(plan: Plan) -> Hashable:
    """`deployment_key` but the engine's `PRICE_TERMS` (`EngineTerms.unpriced`): what an op's price with those terms
    open reads of its plan (`dagc.schedule.timer_base.OpTables`)."""
    engine = plan.cluster.engine
    cluster = plan.cluster.model_copy(update={"engine": engine.model_copy(update={"terms": engine.terms.unpriced()})})
    return deployment_key(plan.model_copy(update={"cluster": cluster}))


_TIMERS: OrderedDict[Hashable, Timer] = OrderedDict()
# The op prices of the timers alive, by `priced_key`: a calibration's timers, one a set of engine terms, make
# and price each op once; kept as long as a timer holds them (the timers kept here, the step prices of
# `dagc.serve.shared`)
_TABLES: WeakValueDictionary[Hashable, OpTables] = WeakValueDictionary()


def shared_timer(plan: Plan) -> Timer:
    """The timer this process keeps for the plan's deployment (`deployment_key`), made on first use: the step
    prices of every strategy checked on it (`dagc.serve.step_prices`) and a fleet's searches of one GPU type
    at each count (`dagc.fleet.cluster`) price each op once. The last `KEEP_TIMERS` are kept. Timers of plans
    that differ only in the engine's `PRICE_TERMS` (a calibration's) share their op prices (`OpTables`): each op
    is made and its kernels priced once, the terms applied by each timer."""
    key = deployment_key(plan)
    timer = _TIMERS.get(key)
    if timer is None:
        apart = priced_key(plan)
        tables = _TABLES.get(apart)
        if tables is None:
            tables = _TABLES[apart] = OpTables()
        timer = _TIMERS[key] = Timer(plan, tables)
        while len(_TIMERS) > KEEP_TIMERS:
            _TIMERS.popitem(last=False)
    _TIMERS.move_to_end(key)
    return timer


def _with_attention(known: tuple[dict[bool, LayerTimes], BodyTimes], attention: tuple[float, bool, float]
                    ) -> BodyTimes:
    """A pass's figures (`Timer._body`) from those of the same pass at another context (`known`: each kind of
    layer's ops with their seconds and whether a collective, by whether the layer is dense, and its figures)
    and its attention's: each layer summed and paired again in the same order; the rest (the extras, the
    working sets) as they were."""
    layers, base = known
    out = base.copy()
    for dense, ops in layers.items():
        ops = [(op[0], *attention[:2]) if op[0].op is Op.ATTENTION else op for op in ops]
        alone, paired = sum(time_s for _, time_s, _ in ops), _pair_layer_time(ops)
        if dense:
            out["dense"], out["pair_dense"] = alone, paired
        else:
            out["moe"], out["pair_moe"] = alone, paired
    return out


def _pair_layer_time(ops: LayerTimes) -> float:
    """Two micro-batches through one layer, interleaved op by op on a compute and a comm stream."""
    free = [0.0, 0.0]                               # the compute and the communication stream
    fin0: list[float] = []                          # per op, the end of the first micro-batch's
    fin1: list[float] = []                          # … and of the second's
    for lop, d, comm in ops:
        preds = lop.preds
        if len(preds) == 1 and preds[0] >= 0:       # the op before it alone (the usual case)
            ready0, ready1 = fin0[preds[0]], fin1[preds[0]]
        else:
            ready0 = max((fin0[p] for p in preds if p >= 0), default=0.0)
            ready1 = max((fin1[p] for p in preds if p >= 0), default=0.0)
        end = max(ready0, free[comm]) + d
        fin0.append(end)
        end = max(ready1, end) + d                  # the second after the first on the same stream
        free[comm] = end
        fin1.append(end)
    return max(max(a, b) for a, b in zip(fin0, fin1, strict=True))
