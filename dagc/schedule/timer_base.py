"""The core of the search's timer: its caches, and each op's template made and priced once.

Input: a `Plan`. Output: `TimerCore`, what `dagc.schedule.floors` and `dagc.schedule.timer` share: the
tables their figures are remembered in (by everything a figure depends on, so candidates share
them), where a layout's stages sit, its micro-batches' requests and units, and an op's template at
a pass's shapes (`OpShapes`) made, priced by `dagc.cost.cost` and let go, once per key of what it
reads (`OpShapes.reads`).
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from ..cost.compute import glued_kernels, kernel_raw_s, kernels_max_s
from ..cost.cost import compute_cost_key, template_max_s
from ..cost.cost_model import CostModel
from ..ir.dag import OpTemplate, Phase
from ..ir.op_attention import attention_context_kernels, attention_fixed_kernels
from ..ir.op_shapes import phase_chunk
from ..ir.ops import Op, OpShapes, layer_ops, rank_dims
from ..layout.layout import Layout
from ..layout.shards import stage_layer_counts
from ..layout.sketch import LayoutSketch
from ..memory.activations import template_activation_peak
from ..plan.model import Model
from ..plan.plan import Plan
from ..plan.workload import Workload

__all__ = ["TIMER_CACHE_MAX", "TimerCore", "context_free_key", "op_parts", "shape_key", "split_shapes"]

TIMER_CACHE_MAX = 50_000     # cached stage passes (a few hundred bytes each); the cache restarts beyond


class TimerCore:
    """The timer's caches and op templates, shared by its passes (`dagc.schedule.timer.Timer`) and their
    lower bounds (`dagc.schedule.floors.FloorTimes`)."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.cm = CostModel.from_cluster(plan.cluster)
        self.cache: dict[tuple, dict] = {}
        self.op_costs: dict[tuple, float] = {}       # `_op_cost` by `dagc.cost.cost.compute_cost_key`
        self.op_info: dict[tuple, tuple[float, bool, float]] = {}   # `ATTENTION_SPLIT_OPS` by their key
        self.figures: dict[tuple, dict[str, float]] = {}                   # `figures_of`
        self.layouts: dict[tuple, tuple] = {}        # `placements`, `request_rows`, `stage_kinds` of layouts
        self.peaks: dict[tuple, float] = {}          # `working_set_floor`
        self.made: dict[tuple, tuple] = {}           # `_made` and `_lower` by what the op reads
        self._split_last: tuple | None = None        # the last pass's shapes, split key and split shapes
        # the figures of a pass's ops that read no context (all but `Op.ATTENTION`), by `context_free_key`:
        # the same pass at another prompt prices its attention alone (`dagc.schedule.timer.Timer`)
        self.context_free: dict[tuple, dict] = {}
        # an attention's kernels that read no context, priced, and its working set, by what it reads but the
        # context (`_attention_at`)
        self.attention_fixed: dict[tuple, tuple] = {}
        # a decode or mixed pass's figures, and its layers' ops with theirs, by `context_free_key`: the same pass at
        # another context is summed again with its new attention alone (`dagc.schedule.timer.Timer`)
        self.bodies: dict[tuple, tuple[dict, dict]] = {}

    reuse_context_free = True       # False: every pass looks each of its ops up (what tests compare the reuse with)

    @staticmethod
    def _remember(table: dict, key, make: Callable[[], Any]) -> Any:
        """`table[key]`, made by `make()` the first time; a table restarts at `TIMER_CACHE_MAX` entries."""
        hit = table.get(key)
        if hit is None:
            if len(table) >= TIMER_CACHE_MAX:
                table.clear()
            hit = table[key] = make()
        return hit

    def remember(self, key: tuple, make: Callable[[], Any]) -> Any:
        """A figure of the recurrence's (`dagc.schedule.recurrence`), made once under `key` (what it reads)."""
        return self._remember(self.cache, key, make)

    def placements(self, lay: Layout) -> tuple[tuple[int, bool, bool], ...]:
        """Per stage, what its costs read of where it sits: its group's offset in its node
        (`Layout.node_offset`), whether its send crosses nodes, whether it is the last."""
        return self._remember(self.layouts, ("placements", lay.group_size, lay.gpus_per_node, lay.pp), lambda: tuple(
            (lay.node_offset(stage), lay.send_crosses_nodes(stage), stage == lay.pp - 1) for stage in range(lay.pp)))

    def request_rows(self, lay: Layout) -> tuple[tuple[float, ...], ...]:
        """`Layout.requests()` as tuples, one per micro-batch (what the recurrence keys its passes by)."""
        return self._remember(self.layouts, ("requests", lay.batch, lay.dp, lay.adp, lay.microbatches),
                              lambda: tuple(tuple(row) for row in lay.requests().tolist()))

    def units(self, lay: Layout, pair: bool) -> tuple[tuple[tuple[int, ...], ...], collections.Counter]:
        """The units of micro-batches the static schedule runs together (pairs with `overlap =
        microbatch`), and how many units of each (requests, micro-batches) there are."""
        def make() -> tuple:
            reqs, w = self.request_rows(lay), 2 if pair else 1
            units = tuple(tuple(range(k, min(k + w, lay.microbatches))) for k in range(0, lay.microbatches, w))
            return units, collections.Counter((reqs[unit[0]], len(unit)) for unit in units)

        return self._remember(self.layouts, ("units", lay.batch, lay.dp, lay.adp, lay.microbatches, pair), make)

    def mixed_units(self, lay: Layout, pair: bool) -> tuple[tuple[tuple, int], collections.Counter]:
        """In a mixed step, the first unit's (requests, micro-batches) — it carries the chunk — and how
        many units of each (requests, micro-batches) decode beside it (`units`)."""
        def make() -> tuple:
            reqs = self.request_rows(lay)
            units = self.units(lay, pair)[0]
            return ((reqs[units[0][0]], len(units[0])),
                    collections.Counter((reqs[unit[0]], len(unit)) for unit in units[1:]))

        return self._remember(self.layouts, ("mixed units", lay.batch, lay.dp, lay.adp, lay.microbatches, pair), make)

    def stage_kinds(self, lay: Layout) -> tuple[tuple[int, int, bool, bool], ...]:
        """Per stage: its dense and MoE layer counts, whether it is the first, whether the last."""
        return self._remember(self.layouts, ("kinds", lay.stage_layers), lambda: tuple(
            (*stage_layer_counts(self.plan.model, a, b), stage == 0, stage == lay.pp - 1)
            for stage, (a, b) in enumerate(lay.stage_layers)))

    def _op_cost(self, tpl: OpTemplate) -> float:
        """The slowest rank's seconds of a template; a compute template's are priced once per
        `dagc.cost.cost.compute_cost_key` (the same kernels recur across stage shapes: the attention ops
        of one attention split beside every expert split)."""
        def price() -> float:
            return template_max_s(tpl, self.cm)

        key = compute_cost_key(tpl, self.cm)
        return price() if key is None else self._remember(self.op_costs, key, price)

    def _shapes(self, workload: Workload, lay: Layout, phase: Phase, req: tuple, stage: int,
                chunk: int | None = None) -> OpShapes:
        m = self.plan.model
        dims = self._remember(self.layouts, ("dims", lay.tp, lay.cp, lay.sp), lambda: rank_dims(m, lay))
        return OpShapes(m, workload, lay, dims, phase, np.array(req), stage, chunk, self.plan.cluster.engine.terms)

    def _made(self, shapes: OpShapes, op: Op) -> tuple[float, bool, float]:
        """An op's template at `shapes`, made, priced and let go: its slowest rank's seconds, whether it is
        a collective and its activation peak. Once per key of what the template reads
        (`OpShapes.reads`: stage shapes of other degrees often give an op the same per-rank
        tokens, e.g. the expert domain's ops beside every attention split)."""
        w = shapes.w
        # the prompt and output lengths reach an op's template through its tokens (`reads`), but for the
        # attention's, which reads the context they make: another length prices the other ops again for nothing
        lengths = (w.prompt, w.generate) if op is Op.ATTENTION else ()
        key = (op, shapes.reads(op), *lengths, w.routing, w.dispatch)
        if lengths and shapes.phase is not Phase.PREFILL and self.reuse_context_free:
            return self._remember(self.made, key, lambda: self._attention_at(shapes, (key[1], *key[4:])))
        return self._remember(self.made, key, lambda: self._make(shapes, op))

    def _attention_at(self, shapes: OpShapes, free: tuple) -> tuple[float, bool, float]:
        """`_make` of a decode or mixed step's attention at its context (the prompt and generate): its kernels
        but the context's (`dagc.ir.op_attention.attention_context_kernels`) and its working set read none, so
        they are made and priced once per `free` (what it reads but the context) and a new context prices
        its context's kernels alone, summed with the others' in the template's order (`kernels_max_s`)."""
        cm, profile = self.cm, self.cm.profile
        if profile is None or cm.compute_time_scale != cm.memory_time_scale:
            return self._make(shapes, Op.ATTENTION)      # the op's time reads its context's FLOPs and bytes
        fixed = self.attention_fixed.get(free)
        if fixed is None:
            before, after = (glued_kernels(ks, profile, cm.glue) for ks in attention_fixed_kernels(shapes))
            tpl = shapes.make(Op.ATTENTION)
            fixed = self._remember(self.attention_fixed, free, lambda: (
                before, [kernel_raw_s(k, profile) for k in before], after, [kernel_raw_s(k, profile) for k in after],
                np.shape(tpl.flops), template_activation_peak(tpl)))
        before, raw_before, after, raw_after, ranks, peak = fixed
        context = glued_kernels(attention_context_kernels(shapes), profile, cm.glue)
        raw = [*raw_before, *(kernel_raw_s(k, profile) for k in context), *raw_after]
        return kernels_max_s((*before, *context, *after), raw, cm, cm.compute_time_scale, ranks, 0.0), False, peak

    def _make(self, shapes: OpShapes, op: Op) -> tuple[float, bool, float]:
        tpl = shapes.make(op)
        return self._op_cost(tpl), tpl.kind.is_comm, template_activation_peak(tpl)

    def _split_op(self, shapes: OpShapes, op: Op, split: tuple) -> tuple[float, bool, float]:
        """`_made` of an op of `ATTENTION_SPLIT_OPS`, once per attention split: its figures are the
        largest per-rank ones (`attention_split_peak_key`)."""
        return self._remember(self.op_info, (op, split), lambda: self._made(self._split_shapes_once(shapes, split), op))

    def _split_shapes_once(self, shapes: OpShapes, split: tuple) -> OpShapes:
        """`split_shapes` of a pass's shapes, made once for all the ops of its attention split that miss."""
        last = self._split_last
        if last is not None and last[0] is shapes and last[1] == split:
            return last[2]
        out = split_shapes(shapes, split)
        self._split_last = (shapes, split, out)
        return out


def split_shapes(shapes: OpShapes, split: tuple) -> OpShapes:
    """The shapes an attention split's ops are priced on. A mixed step whose attention-DP groups have
    the same requests (its split key leaves out how many: `attention_split_peak_key`) is priced on two
    groups — the first with the chunk, one without — whatever the candidate's count, so that every
    candidate sharing the key gets the very figures a fresh timer makes (the largest per-rank ones
    are the same; summing per-rank vectors of other lengths could differ in the last bit)."""
    lay = shapes.lay
    if shapes.phase is not Phase.MIXED or split[5] is not None or lay.adp == 2:
        return shapes
    d, attention = lay.requests_per_rank, lay.tp * lay.cp
    two = LayoutSketch(1, lay.pp, lay.tp, lay.cp, lay.sp, 1, lay.tp, 2 * attention, 2, lay.stage_layers,
                       lay.microbatches, 2 * d, lay.gpus_per_node, _no_layout)
    return OpShapes(shapes.m, shapes.w, cast(Layout, two), shapes.d, Phase.MIXED,
                    np.array(shapes.n_seq[:1].tolist() * 2), shapes.stage, chunk=shapes.chunk, engine=shapes.engine)


def _no_layout() -> Layout:
    raise AssertionError("an attention split's ops read only the sketch's fields")


def shape_key(workload: Workload, lay: Layout, phase: Phase, req: tuple) -> tuple:
    """What a pass's op figures depend on, but where its stage sits: the structure and the shape."""
    # the phase by its value: a str hashes once, an enum member in Python on every look-up
    return (phase.value, req, lay.tp, lay.cp, lay.sp, lay.ep, lay.etp, lay.redundant, lay.eplb, lay.group_size,
            lay.gpus_per_node, workload.prompt, workload.generate, workload.routing, phase_chunk(workload, lay, phase),
            workload.speculative)


def context_free_key(shape: tuple, where: int | bool) -> tuple:
    """What the figures of a pass's ops but its attention depend on (`shape_key`, and where its stage sits: its
    group's offset in its node for its layers, whether it crosses nodes for its send): the shape but the prompt
    and output lengths, which reach those ops through their tokens alone — a decode or mixed pass's tokens are
    its requests' positions and its chunk (both in the key), a prefill's are its prompt (kept)."""
    if shape[0] == Phase.PREFILL.value:
        return (shape, where)
    return (shape[:11], shape[13:], where)


def op_parts(m: Model, lay: Layout, value: Callable[[Op], float]) -> dict[str, float]:
    """A pass's parts from a figure of each op, `value(op)`: per layer of each kind (`dense`, `moe`:
    its ops in turn; none for a kind the model does not have), the embedding (`embed`), the final
    norm and LM head (`head`)."""
    out = {("dense" if dense else "moe"): sum(value(lop.op) for lop in layer_ops(lay, m, dense)[0])
           if dense in m.layer_kinds else 0.0 for dense in (True, False)}
    return {**out, "embed": value(Op.EMBED), "head": value(Op.FINAL_NORM) + value(Op.LM_HEAD)}
