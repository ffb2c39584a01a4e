"""The core of the search's timer: its caches, and each op's template made and priced once.

Input: a `Plan`. Output: `TimerCore`, what `dagc.schedule.floors` and `dagc.schedule.timer` share: the
tables their figures are remembered in (by everything a figure depends on, so candidates share
them), where a layout's stages sit, its micro-batches' requests and units, and an op's template at
a pass's shapes (`OpShapes`) made, priced by `dagc.cost.cost` and let go, once per key of what it
reads (`OpShapes.reads`); and `OpTables`, the op templates' prices with the engine's terms left open
(`dagc.cost.op_price.OpPrice`), which timers of plans that differ only in those terms share.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable
from typing import TypedDict, TypeVar, cast

import numpy as np

from ..cost.compute import glued_kernels, kernel_raw_s
from ..cost.cost import compute_cost_key
from ..cost.cost_model import CostModel
from ..cost.op_price import OpPrice, RawSeconds, kernels_price, op_price
from ..ir.dag import Kernel, OpTemplate, Phase, StagePass
from ..ir.op_attention import attention_context_kernels, attention_fixed_kernels
from ..ir.op_shapes import phase_chunk
from ..ir.ops import RECIPES, LayerOp, Layers, Op, OpShapes
from ..layout.layout import Layout, rank_figures
from ..layout.sketch import LayoutDegrees, LayoutSketch, StageGroup
from ..memory.activations import template_activation_peak
from ..plan.model import Model
from ..plan.plan import Plan
from ..plan.workload import Workload

__all__ = ["TIMER_CACHE_MAX", "BodyTimes", "Entry", "Key", "LayerTimes", "OpTables", "Parts", "PassTimes", "Requests",
           "StageCosts", "StageTimes", "TimerCore", "UnitKind", "context_free_key", "op_parts", "pass_ops",
           "shape_key", "split_shapes"]

TIMER_CACHE_MAX = 50_000     # cached stage passes (a few hundred bytes each); the cache restarts beyond


# What a timer keeps of an op's template: its price with the engine's terms open, whether a collective, its peak
Entry = tuple[OpPrice, bool, float]
# What a table is keyed by: what its figure reads (`shape_key`, `attention_split_peak_key`, …)
Key = tuple[Hashable, ...]
# A micro-batch's requests, per attention-DP group (`Layout.request_rows`)
Requests = tuple[float, ...]
# A kind of unit of micro-batches the static schedule runs together: its first micro-batch's requests and how
# many micro-batches it holds (`TimerCore.units`)
UnitKind = tuple[Requests, int]
# A kind of layer's ops in order, each with its seconds and whether a collective (`dagc.schedule.timer.Timer._body`)
LayerTimes = list[tuple[LayerOp, float, bool]]
# An attention's kernels that read no context, priced, and its working set (`TimerCore.attention_at`): the kernels
# before the context's and their raw seconds, those after and theirs, the ranks' shape and the activation peak
_AttentionFixed = tuple[tuple[Kernel, ...], list[float | np.ndarray], tuple[Kernel, ...], list[float | np.ndarray],
                        tuple[int, ...], float]
_V = TypeVar("_V")


class Parts(TypedDict):
    """A figure of a pass's parts (`op_parts`): per layer of each kind, the embedding, the final norm and LM head."""
    dense: float
    moe: float
    embed: float
    head: float


class StageTimes(Parts):
    """A pass's parts with two micro-batches through a layer of each kind (`overlap = microbatch`), or lower
    bounds of them (`dagc.schedule.floors.FloorTimes.split_times`)."""
    pair_dense: float
    pair_moe: float


class StageCosts(StageTimes):
    """`StageTimes` and the send after the stage (none after the last): what the recurrence reads of a stage's
    pass (`dagc.schedule.recurrence`), or lower bounds of it (`FloorTimes.op_floor_times`)."""
    send: float


class BodyTimes(StageTimes):
    """A pass's layers and extras (`dagc.schedule.timer.Timer._body`) and its ops' activation peaks by where
    the DAG places them but the send's (`dagc.memory.activations.shape_activation_peaks`)."""
    act: dict[str, float]


class PassTimes(StageCosts):
    """The durations of a micro-batch's pass on a stage (`dagc.schedule.timer.Timer.pass_times`) and its
    activation peaks, the send's (`boundary`) among them."""
    act: dict[str, float]


class OpTables:
    """Op templates priced with the engine's terms left open (`dagc.cost.op_price.OpPrice`): what timers whose
    plans differ only in those terms share (`dagc.schedule.timer.shared_timer`: a calibration's simulations, one
    a set of terms), each template made and its kernels priced once, the terms applied on top by each timer."""

    def __init__(self) -> None:
        self.made: dict[Key, Entry] = {}          # by what the op reads (`TimerCore.entry`)
        # … and by what it reads but the count its totals alone read (`Recipe.distinct`): another count's, other totals
        self.alike: dict[Key, Entry] = {}
        self.prices: dict[Key, OpPrice] = {}      # by `dagc.cost.cost.compute_cost_key` (`TimerCore._op_price`)
        self.split: dict[Key, Entry] = {}         # `ATTENTION_SPLIT_OPS` by their key (`TimerCore.split_entry`)
        # the entries of a pass's ops that read no context (all but `Op.ATTENTION`), by `context_free_key`:
        # the same pass at another prompt prices its attention alone (`dagc.schedule.timer.Timer`)
        self.context_free: dict[Key, dict[Op, Entry]] = {}
        self.bodies: dict[Key, tuple[dict[Op, Entry], dict[str, float]]] = {}   # entries and peaks (`Timer._body`)
        self.sends: dict[Key, tuple[float, float]] = {}    # a send's seconds and activation peak (`Timer._pass`)
        # an attention's kernels that read no context, priced, and its working set, by what it reads but the context
        # (`TimerCore.attention_at`; a new pass's attention keeps them, `TimerCore._make`)
        self.attention_fixed: dict[Key, _AttentionFixed] = {}
        # a decode or mixed step's attention priced at its context (`TimerCore.attention_at`), its terms open, and its
        # working set: by what it reads (`op_figures`) and by its attention split (`split_op`)
        self.at_context: dict[Key, tuple[OpPrice, float]] = {}


class TimerCore:
    """The timer's caches and op templates, shared by its passes (`dagc.schedule.timer.Timer`) and their
    lower bounds (`dagc.schedule.floors.FloorTimes`); `tables`, the op prices it shares with other timers
    (`OpTables`; its own by default)."""

    def __init__(self, plan: Plan, tables: OpTables | None = None):
        self.plan = plan
        self.cm = CostModel.from_cluster(plan.cluster)
        self.tables = tables if tables is not None else OpTables()
        # The figures of passes, each kind of figure in its own table, by what it reads:
        self.passes: dict[Key, PassTimes] = {}              # `Timer.pass_times`
        self.pass_bodies: dict[Key, BodyTimes] = {}         # their layers and extras (`Timer._body`)
        # `FloorTimes.split_times`, `chunk_split_times`, `mixed_split_times`
        self.stage_times: dict[Key, StageTimes] = {}
        # per stage, `FloorTimes.op_floor_times`, `chunk_floor_times`, `mixed_floor_times`
        self.stage_bounds: dict[Key, list[StageCosts]] = {}
        self.lower_parts: dict[Key, dict[str, float]] = {}  # `FloorTimes.lower_times`' layers
        self.lower_sends: dict[Key, float] = {}             # … and its send
        self.figures: dict[Key, dict[str, float]] = {}                   # `figures_of`
        # of layouts (beside what a layout carries: `Layout.placements`, `Layout.request_rows`): `units`,
        # `mixed_units`, `stage_kinds`
        self.unit_rows: dict[Key, tuple[tuple[tuple[int, ...], ...], collections.Counter[UnitKind]]] = {}
        self.mixed_unit_rows: dict[Key, tuple[UnitKind, collections.Counter[UnitKind]]] = {}
        self.kinds: dict[Key, tuple[tuple[int, int, bool, bool], ...]] = {}
        self.peaks: dict[Key, float] = {}          # `working_set_floor`
        self.made: dict[Key, tuple[float, bool, float]] = {}     # `op_figures` by what the op reads
        self.lowers: dict[Key, tuple[float, bool]] = {}          # `_lower` by what the op reads
        self.op_seconds: dict[OpPrice, float] = {}    # each op price's seconds at this timer's terms (`Timer._body`)
        self.raws: RawSeconds = {}                    # its kernels' raw seconds (`dagc.cost.op_price.op_price`)
        self._split_last: tuple[OpShapes, Key, OpShapes] | None = None   # the last pass's shapes and split
        # `split_op`'s figures of a decode or mixed step's attention priced at its context alone (`attention_at`)
        self.op_info: dict[Key, tuple[float, bool, float]] = {}
        # a decode or mixed pass's figures, and its layers' ops with theirs (by whether dense), by `context_free_key`:
        # the same pass at another context is summed again with its new attention alone (`dagc.schedule.timer.Timer`)
        self.bodies: dict[Key, tuple[dict[bool, LayerTimes], BodyTimes]] = {}

    reuse_context_free = True       # False: every pass looks each of its ops up (what tests compare the reuse with)

    @staticmethod
    def remember(table: dict[Key, _V], key: Key, make: Callable[[], _V]) -> _V:
        """`table[key]`, made by `make()` the first time; a table restarts at `TIMER_CACHE_MAX` entries."""
        hit = table.get(key)
        if hit is None:
            if len(table) >= TIMER_CACHE_MAX:
                table.clear()
            hit = table[key] = make()
        return hit

    def units(self, lay: Layout, pair: bool) -> tuple[tuple[tuple[int, ...], ...], collections.Counter[UnitKind]]:
        """The units of micro-batches the static schedule runs together (pairs with `overlap =
        microbatch`), and how many units of each (requests, micro-batches) there are."""
        def make() -> tuple[tuple[tuple[int, ...], ...], collections.Counter[UnitKind]]:
            reqs, w = lay.request_rows, 2 if pair else 1
            units = tuple(tuple(range(k, min(k + w, lay.microbatches))) for k in range(0, lay.microbatches, w))
            return units, collections.Counter((reqs[unit[0]], len(unit)) for unit in units)

        return self.remember(self.unit_rows, (lay.batch, lay.dp, lay.adp, lay.microbatches, pair), make)

    def mixed_units(self, lay: Layout, pair: bool) -> tuple[UnitKind, collections.Counter[UnitKind]]:
        """In a mixed step, the first unit's (requests, micro-batches) — it carries the chunk — and how
        many units of each (requests, micro-batches) decode beside it (`units`)."""
        def make() -> tuple[UnitKind, collections.Counter[UnitKind]]:
            reqs = lay.request_rows
            units = self.units(lay, pair)[0]
            return ((reqs[units[0][0]], len(units[0])),
                    collections.Counter((reqs[unit[0]], len(unit)) for unit in units[1:]))

        return self.remember(self.mixed_unit_rows, (lay.batch, lay.dp, lay.adp, lay.microbatches, pair), make)

    def stage_kinds(self, lay: Layout) -> tuple[tuple[int, int, bool, bool], ...]:
        """Per stage: its dense and MoE layer counts, whether it is the first, whether the last."""
        return self.remember(self.kinds, (lay.stage_layers,), lambda: tuple(
            (dense, moe, stage == 0, stage == lay.pp - 1) for stage, (dense, moe, _) in enumerate(lay.stage_counts)))

    def _op_price(self, tpl: OpTemplate) -> OpPrice:
        """A template's price, its terms open (`OpPrice`); a compute template's kernels priced once per key
        (`compute_cost_key`: the same kernels recur across stage shapes, the attention split's ops beside every expert
        split), its own totals (its share of compute) beside them; each kernel looked up once (`raws`)."""
        key = compute_cost_key(tpl, self.cm)
        if key is None:
            return op_price(tpl, self.cm)
        raws = self.raws, cast(tuple[Hashable, ...], key[1])
        price = self.remember(self.tables.prices, key, lambda: op_price(tpl, self.cm, raws=raws))
        totals = (tpl.flops_total, tpl.hbm_bytes_total, tpl.peak_dtype)
        return price if price.totals == totals else price.with_totals(totals)

    def shapes(self, workload: Workload, lay: Layout, phase: Phase, req: Requests, stage: int,
               chunk: int | None = None, model: Model | None = None) -> OpShapes:
        # the layout's own per-rank dimensions (a search candidate's sketch holds them too, made of its degrees);
        # `model`: another model's ops (an EAGLE draft's layer and LM head, `dagc.layout.speculative.draft_model`),
        # on its own per-rank dimensions at the layout's degrees
        dims = lay.dims if model is None or model is self.plan.model else rank_figures(model, lay.tp, lay.cp, lay.sp)[1]
        return OpShapes(model or self.plan.model, workload, lay, dims,
                        StagePass(phase, np.array(req), stage, chunk), self.plan.cluster.engine.terms)

    def op_figures(self, shapes: OpShapes, op: Op) -> tuple[float, bool, float]:
        """An op's figures at `shapes` at this timer's engine terms: its slowest rank's seconds, whether it is
        a collective and its activation peak (`entry`); a decode or mixed step's attention priced at its context
        alone where it can be (`attention_at`)."""
        key = _op_key(shapes, op)
        if op is Op.ATTENTION and self.at_context(shapes):
            return self.remember(self.made, key, lambda: self._at_terms(self.remember(
                self.tables.at_context, key, lambda: self.attention_at(shapes, (key[1], *key[4:])))))
        return self.remember(self.made, key, lambda: self.priced(self.entry(shapes, op)))

    def _at_terms(self, priced: tuple[OpPrice, float]) -> tuple[float, bool, float]:
        """An attention's figures at this timer's engine terms from its price at its context (`attention_at`)."""
        price, peak = priced
        return price.seconds(self.cm), False, peak

    def at_context(self, shapes: OpShapes) -> bool:
        """Whether an attention at `shapes` is priced at its context alone (`attention_at`): a decode or mixed
        step's, with a profile and one scale for compute and memory (else its time reads its context's FLOPs and
        bytes, its share of compute)."""
        return self.at_context_of(shapes.phase)

    def at_context_of(self, phase: Phase) -> bool:
        """`at_context` of a pass of `phase`."""
        cm = self.cm
        return (self.reuse_context_free and phase is not Phase.PREFILL and cm.profile is not None
                and cm.compute_time_scale == cm.memory_time_scale)

    def attention_at(self, shapes: OpShapes, free: Key) -> tuple[OpPrice, float]:
        """A decode or mixed step's attention at its context (the prompt and generate; `at_context`), priced with the
        engine's terms open, and its working set: its kernels but the context's
        (`dagc.ir.op_attention.attention_context_kernels`) and its working set read none, so they are made and priced
        once per `free` (what it reads but the context), for every timer that shares `tables` (neither reads the
        engine's priced terms), and a new context prices its context's kernels alone, summed with the others' in the
        template's order (`dagc.cost.op_price.kernels_price`, as `template_max_s` sums them). Made once for the
        timers that share `tables` (`OpTables.at_context`), each applying its terms (`op_figures`, `split_op`)."""
        cm, profile = self.cm, self.cm.profile
        assert profile is not None
        fixed = self.tables.attention_fixed.get(free) or self._fixed(shapes, free, shapes.make(Op.ATTENTION))
        before, raw_before, after, raw_after, ranks, peak = fixed
        context = glued_kernels(attention_context_kernels(shapes), profile, cm.glue)
        raw = [*raw_before, *(kernel_raw_s(k, profile) for k in context), *raw_after]
        return kernels_price((*before, *context, *after), raw, ranks, cm), peak

    def _fixed(self, shapes: OpShapes, free: Key, tpl: OpTemplate) -> _AttentionFixed:
        """`attention_at`'s kernels that read no context, priced, and its working set, of its template `tpl`."""
        profile, glue = self.cm.profile, self.cm.glue
        assert profile is not None
        before, after = (glued_kernels(ks, profile, glue) for ks in attention_fixed_kernels(shapes))
        return self.remember(self.tables.attention_fixed, free, lambda: (
            before, [kernel_raw_s(k, profile) for k in before], after, [kernel_raw_s(k, profile) for k in after],
            np.shape(tpl.flops), template_activation_peak(tpl)))

    def entry(self, shapes: OpShapes, op: Op) -> Entry:
        """An op's template at `shapes`, made, priced with the engine's terms open and let go (`Entry`). Once
        per key of what the template reads (`OpShapes.reads`: stage shapes of other degrees often give an op
        the same per-rank tokens, e.g. the expert domain's ops beside every attention split), for every timer
        that shares `tables`."""
        key = _op_key(shapes, op)
        return self.remember(self.tables.made, key, lambda: self._made(shapes, op, key))

    def priced(self, entry: Entry) -> tuple[float, bool, float]:
        """An op's figures at this timer's engine terms, from its `Entry`."""
        price, comm, peak = entry
        return price.seconds(self.cm), comm, peak

    def _made(self, shapes: OpShapes, op: Op, key: Key) -> Entry:
        """`entry`'s figures under `key` (`_op_key`): of an op whose totals alone read a count (`Recipe.distinct`),
        those of the template at another count, its totals at this one (`OpPrice.with_totals`, as `_op_price` makes
        them: the kernels and the working set read no count); else its template made and priced (`_make`)."""
        distinct = RECIPES[op].distinct
        if distinct is None:
            return self._make(shapes, op, key)
        alike_key = (op, cast(tuple[Hashable, float], key[1])[0], *key[2:])
        known = self.tables.alike.get(alike_key)
        if known is None:
            made = self._make(shapes, op, key)
            return self.remember(self.tables.alike, alike_key, lambda: made)
        price, comm, peak = known
        assert price.totals is not None         # a compute op's
        count, per = distinct(shapes)
        totals = (float(per * count), price.totals[1], price.totals[2])
        return price if price.totals == totals else price.with_totals(totals), comm, peak

    def _make(self, shapes: OpShapes, op: Op, key: Key) -> Entry:
        tpl = shapes.make(op)
        out = self._op_price(tpl), tpl.kind.is_comm, template_activation_peak(tpl)
        if op is Op.ATTENTION and self.at_context(shapes) and (key[1], *key[4:]) not in self.tables.attention_fixed:
            self._fixed(shapes, (key[1], *key[4:]), tpl)      # what `attention_at` reads at its next context
        return out

    def split_entry(self, shapes: OpShapes, op: Op, split: Key) -> Entry:
        """`entry` of an op of `ATTENTION_SPLIT_OPS`, once per attention split: its figures are the
        largest per-rank ones (`attention_split_peak_key`)."""
        return self.remember(self.tables.split, (op, split),
                              lambda: self.entry(self._split_shapes_once(shapes, split), op))

    def split_op(self, shapes: OpShapes, op: Op, split: Key) -> tuple[float, bool, float]:
        """`split_entry`'s figures at this timer's engine terms; a decode or mixed step's attention priced at its
        context alone where it can be (`op_figures`), once per attention split."""
        if op is Op.ATTENTION:
            return self.split_attention(shapes.phase, lambda: shapes, split)
        return self.priced(self.split_entry(shapes, op, split))

    def split_attention(self, phase: Phase, shapes_of: Callable[[], OpShapes], split: Key) -> tuple[float, bool, float]:
        """`split_op` of a pass's attention of `phase`, its shapes made (`shapes_of`) only when neither this timer nor
        another that shares `tables` has priced its attention split at its context."""
        if self.at_context_of(phase):
            return self.remember(self.op_info, (Op.ATTENTION, split), lambda: self._at_terms(self.remember(
                self.tables.at_context, ("split", split), lambda: self._split_attention(shapes_of(), split))))
        return self.priced(self.split_entry(shapes_of(), Op.ATTENTION, split))

    def _split_attention(self, shapes: OpShapes, split: Key) -> tuple[OpPrice, float]:
        """`attention_at` of a pass's attention split (`split_op`)."""
        split_at = self._split_shapes_once(shapes, split)
        key = _op_key(split_at, Op.ATTENTION)
        return self.remember(self.tables.at_context, key, lambda: self.attention_at(split_at, (key[1], *key[4:])))

    def _split_shapes_once(self, shapes: OpShapes, split: Key) -> OpShapes:
        """`split_shapes` of a pass's shapes, made once for all the ops of its attention split that miss."""
        last = self._split_last
        if last is not None and last[0] is shapes and last[1] == split:
            return last[2]
        out = split_shapes(shapes, split)
        self._split_last = (shapes, split, out)
        return out


def _op_key(shapes: OpShapes, op: Op) -> Key:
    """What an op's template at `shapes` reads (`OpShapes.reads`)."""
    w = shapes.w
    # the prompt and output lengths reach an op's template through its tokens (`reads`), but for the
    # attention's, which reads the context they make: another length prices the other ops again for nothing
    lengths = (w.prompt, w.generate) if op is Op.ATTENTION else ()
    return (op, shapes.reads(op), *lengths, w.routing, w.dispatch)


def split_shapes(shapes: OpShapes, split: Key) -> OpShapes:
    """The shapes an attention split's ops are priced on. A mixed step whose attention-DP groups have
    the same requests (its split key leaves out how many: `attention_split_peak_key`) is priced on two
    groups — the first with the chunk, one without — whatever the candidate's count, so that every
    candidate sharing the key gets the very figures a fresh timer makes (the largest per-rank ones
    are the same; summing per-rank vectors of other lengths could differ in the last bit)."""
    lay = shapes.lay
    if shapes.phase is not Phase.MIXED or split[5] is not None or lay.adp == 2:
        return shapes
    d, attention = lay.requests_per_rank, lay.tp * lay.cp
    two = LayoutSketch(LayoutDegrees(1, lay.pp, lay.tp, lay.cp, lay.sp, 1, lay.tp), lay.dims,
                       StageGroup(2 * attention, 2, lay.stage_layers, lay.stage_counts), lay.microbatches, 2 * d,
                       lay.gpus_per_node, _no_layout)
    at = StagePass(Phase.MIXED, np.array(shapes.n_seq[:1].tolist() * 2), shapes.stage, shapes.chunk)
    return OpShapes(shapes.m, shapes.w, cast(Layout, two), shapes.d, at, engine=shapes.engine)


def _no_layout() -> Layout:
    raise AssertionError("an attention split's ops read only the sketch's fields")


def shape_key(workload: Workload, lay: Layout, phase: Phase, req: Requests) -> Key:
    """What a pass's op figures depend on, but where its stage sits: the structure and the shape."""
    # the phase by its value: a str hashes once, an enum member in Python on every look-up
    return (phase.value, req, lay.tp, lay.cp, lay.sp, lay.ep, lay.etp, lay.redundant, lay.eplb, lay.group_size,
            lay.gpus_per_node, workload.prompt, workload.generate, workload.routing, phase_chunk(workload, lay, phase),
            workload.speculative, workload.chunk_ranks if phase is Phase.MIXED else 1)


def context_free_key(shape: Key, where: int | bool) -> Key:
    """What the figures of a pass's ops but its attention depend on (`shape_key`, and where its stage sits: its
    group's offset in its node for its layers, whether it crosses nodes for its send): the shape but the prompt
    and output lengths, which reach those ops through their tokens alone — a decode or mixed pass's tokens are
    its requests' positions and its chunk (both in the key), a prefill's are its prompt (kept)."""
    if shape[0] == Phase.PREFILL.value:
        return (shape, where)
    return (shape[:11], shape[13:], where)


def pass_ops(layers: Layers) -> list[Op]:
    """The ops whose figures a pass's parts read (`op_parts`), in its order."""
    return [*(lop.op for ops in layers.values() for lop in ops), Op.EMBED, Op.FINAL_NORM, Op.LM_HEAD]


def op_parts(layers: Layers, value: Callable[[Op], float]) -> Parts:
    """A pass's parts from a figure of each op, `value(op)`: per layer of each kind (`dense`, `moe`:
    its ops in turn, `layers`; none for a kind the model does not have), the embedding (`embed`), the final
    norm and LM head (`head`)."""
    def layer(dense: bool) -> float:
        ops = layers.get(dense)
        return sum(value(lop.op) for lop in ops) if ops is not None else 0.0

    return {"dense": layer(True), "moe": layer(False), "embed": value(Op.EMBED),
            "head": value(Op.FINAL_NORM) + value(Op.LM_HEAD)}
