"""The search's timer: the times of a candidate's stage passes from shared op templates, no DAG built.

Input: a `Plan`, then a `Layout`, a workload, a phase, a micro-batch's requests and a stage. Output:
the durations of the stage's pass of that micro-batch (per layer of each kind, alone and as a pair of
micro-batches; the embedding, the final norm and LM head; the send) and its activation peaks, from the
op templates of `dagc.ir.ops` costed by `dagc.cost.cost`, cached between candidates (`Timer`); and lower
bounds of them that time no pass of the candidate's (`Timer.split_times`, `op_floor_times`,
`working_set_floor`). A stage's pass of one micro-batch is the sum of its ops (one stream); with
`overlap = microbatch` a pair of micro-batches is timed by scheduling one layer of both on a compute
and a communication stream (an estimate). `dagc.schedule.recurrence` schedules the passes.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from ..cost.cost import compute_cost_key, template_lower_s, template_max_s
from ..cost.cost_model import CostModel
from ..ir.dag import OpTemplate, Phase
from ..ir.op_shapes import phase_chunk
from ..ir.ops import ATTENTION_SPLIT_OPS, LayerOp, Op, OpShapes, attention_split_peak_key, layer_ops, rank_dims
from ..layout.layout import Layout
from ..layout.shards import stage_layer_counts
from ..layout.sketch import LayoutSketch
from ..memory.activations import shape_activation_peaks, stage_activation_bytes, template_activation_peak
from ..plan.model import Model
from ..plan.plan import Plan
from ..plan.workload import Workload

__all__ = ["TIMER_CACHE_MAX", "Timer", "mixed_times"]

TIMER_CACHE_MAX = 50_000     # cached stage passes (a few hundred bytes each); the cache restarts beyond


class Timer:
    """Per-op durations and activation peaks of one layout, cached by everything they depend on."""

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

    def pass_times(self, workload: Workload, lay: Layout, phase: Phase, req: tuple, stage: int) -> dict:
        """Durations of a micro-batch's pass on a stage: per-layer (dense, MoE), the extras and the send;
        `act`: the activation peaks of the stage's ops (`dagc.memory.activations.shape_activation_peaks`).

        Cached in two parts: the layers and the extras (embedding, final norm and LM head) by the
        structure, the shape and where the stage group sits in its node — only when that can
        change a node crossing (`Layout.node_offset`) — and the send by whether it crosses nodes. The
        dict returned is shared: read it, never change it.
        """
        return self._pass(workload, lay, phase, req, stage, _shape_key(workload, lay, phase, req),
                          self.placements(lay)[stage])

    def stage_passes(self, workload: Workload, lay: Layout, phase: Phase, req: tuple) -> list[dict]:
        """`pass_times` of every stage, in order."""
        shape = _shape_key(workload, lay, phase, req)
        return [self._pass(workload, lay, phase, req, stage, shape, where)
                for stage, where in enumerate(self.placements(lay))]

    def _pass(self, workload: Workload, lay: Layout, phase: Phase, req: tuple, stage: int, shape: tuple,
              where: tuple[int, bool, bool]) -> dict:
        whole_key = (shape, *where)
        whole = self.cache.get(whole_key)
        if whole is not None:
            return whole
        offset, cross, last = where
        body = self._remember(self.cache, (shape, offset), lambda: self._body(workload, lay, phase, req, stage))
        send = self._remember(self.cache, (shape, "send", cross), lambda: self._send(workload, lay, phase, req, stage))
        out = dict(body)
        out["send"] = 0.0 if last else send[0]
        out["act"] = {**body["act"], "boundary": send[1]}
        return self._remember(self.cache, whole_key, lambda: out)

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

    def figures_of(self, lay: Layout, workload: Workload) -> dict[str, float]:
        """The schedule's figures of one candidate (`Recurrence` fills it: TPOT, TTFT, the floors),
        kept between searches of this plan (`dagc.search.search.objective_picks` runs one per objective).
        Keyed by what they depend on beside the plan: the layout's degrees (the expert domain's as
        scheduled) and stages, the micro-batches scheduled and the workload's fields."""
        w = workload
        key = (lay.dp, lay.pp, lay.tp, lay.cp, lay.sp, lay.ep, lay.etp, lay.group_size, lay.stage_layers,
               lay.microbatches, w.batch, w.prompt, w.generate, w.overlap, w.routing_imbalance, w.dispatch,
               w.serving, w.chunk)
        return self._remember(self.figures, key, dict)

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
        return OpShapes(m, workload, lay, dims, phase, np.array(req), stage, chunk)

    def _send(self, workload: Workload, lay: Layout, phase: Phase, req: tuple, stage: int) -> tuple[float, float]:
        """The send after a stage: its duration and activation peak (`_made`'s figures but whether it is
        a collective)."""
        time_s, _, peak = self._made(self._shapes(workload, lay, phase, req, stage), Op.SEND)
        return time_s, peak

    def _body(self, workload: Workload, lay: Layout, phase: Phase, req: tuple, stage: int) -> dict:
        m = self.plan.model
        shapes = self._shapes(workload, lay, phase, req, stage)

        # One template at a time, kept only as floats: a stage group of many ranks holds one op's vectors.
        ops_info: dict[Op, tuple[float, bool, float]] = {}

        split = attention_split_peak_key(lay, workload, phase, req)

        def info(op: Op) -> tuple[float, bool, float]:
            if op not in ops_info:
                ops_info[op] = (self._split_op(shapes, op, split) if op in ATTENTION_SPLIT_OPS
                                else self._made(shapes, op))
            return ops_info[op]

        out: dict = _parts(m, lay, lambda op: info(op)[0])
        for dense in (True, False):       # two micro-batches through a layer
            name = "pair_" + ("dense" if dense else "moe")
            if dense not in m.layer_kinds:
                out[name] = 0.0
                continue
            ops, _ = layer_ops(lay, m, dense)
            out[name] = _pair_layer_time([(lop, *info(lop.op)[:2]) for lop in ops])
        # the send's peak ("boundary") is added by `pass_times`
        acts = shape_activation_peaks(shapes, m, lambda op: 0.0 if op is Op.SEND else info(op)[2])
        out["act"] = {k: v for k, v in acts.items() if k != "boundary"}
        return out

    def _made(self, shapes: OpShapes, op: Op) -> tuple[float, bool, float]:
        """An op's template at `shapes`, made, priced and let go: its slowest rank's seconds, whether it is
        a collective and its activation peak. Once per key of what the template reads
        (`OpShapes.reads`: stage shapes of other degrees often give an op the same per-rank
        tokens, e.g. the expert domain's ops beside every attention split)."""
        w = shapes.w
        key = (op, shapes.reads(op), w.prompt, w.generate, w.routing_imbalance, w.dispatch)
        return self._remember(self.made, key, lambda: self._make(shapes, op))

    def _make(self, shapes: OpShapes, op: Op) -> tuple[float, bool, float]:
        tpl = shapes.make(op)
        return self._op_cost(tpl), tpl.kind.is_comm, template_activation_peak(tpl)

    def _split_op(self, shapes: OpShapes, op: Op, split: tuple) -> tuple[float, bool, float]:
        """`_made` of an op of `ATTENTION_SPLIT_OPS`, once per attention split: its figures are the
        largest per-rank ones (`attention_split_peak_key`)."""
        return self._remember(self.op_info, (op, split), lambda: self._made(_split_shapes(shapes, split), op))

    def split_times(self, workload: Workload, lay: Layout, phase: Phase, req: tuple) -> dict:
        """Lower bounds of a pass's compute parts (`pass_times`: per layer of each kind, alone and as a
        pair of micro-batches; the embedding; the final norm and LM head) from the ops of its attention
        split alone (`ATTENTION_SPLIT_OPS`, all compute), each at its exact time, the others — the
        expert domain's ops and the collectives — at none: a layer's ops run one after the other, and
        a pair's compute stream runs the compute ops of both. Shared by every expert split of the
        attention split, so no op of the expert domain is made or priced."""
        split = attention_split_peak_key(lay, workload, phase, req)

        def make() -> dict:
            shapes = self._shapes(workload, lay, phase, req, 0)
            out = _parts(self.plan.model, lay, lambda op: self._split_op(shapes, op, split)[0]
                         if op in ATTENTION_SPLIT_OPS else 0.0)
            return {**out, "pair_dense": 2 * out["dense"], "pair_moe": 2 * out["moe"]}

        return self._remember(self.cache, ("split", split), make)

    def op_floor_times(self, workload: Workload, lay: Layout, phase: Phase, req: tuple) -> list[dict]:
        """Per stage, lower bounds of `pass_times`' parts that price each op of a layer and of the
        stage's ends by itself, no pass of this shape timed: the ops of the attention split at their
        times (`split_times`), every other op at its own lower bound (`lower_times`). A layer's ops
        run one after the other; a pair of micro-batches runs the compute ops of both on one stream
        and the collectives on the other."""
        shape = _shape_key(workload, lay, phase, req)

        def make() -> list[dict]:
            split = self.split_times(workload, lay, phase, req)
            dense, moe = split["dense"], split["moe"]
            alike: dict[tuple[int, bool, bool], dict] = {}       # stages that sit alike: the same bounds
            out = []
            for stage, where in enumerate(self.placements(lay)):
                times = alike.get(where)
                if times is None:
                    rest, send = self.lower_times(workload, lay, phase, req, stage, where, shape)
                    times = alike[where] = {
                        "dense": dense + rest["dense"], "moe": moe + rest["moe"], "embed": split["embed"],
                        "head": split["head"], "send": send,
                        "pair_dense": 2 * max(dense + rest["pair_dense_compute"], rest["pair_dense_comm"]),
                        "pair_moe": 2 * max(moe + rest["pair_moe_compute"], rest["pair_moe_comm"])}
                out.append(times)
            return out

        # and where the stages sit: `placements` reads no more of the layout than the shape and pp
        return self._remember(self.cache, ("ops", shape, lay.pp), make)

    def chunk_split_times(self, workload: Workload, lay: Layout) -> dict:
        """Lower bounds of a mixed pass's compute parts (`split_times`' keys) from its chunk alone: the ops
        of the attention split at the mixed shape with no decode request and the chunk rounded down
        (`chunk_floor_tokens`), each at its lower bound (`_lower`). Lower seconds grow with the shape,
        so each bounds the op at the mixed shape of any requests; shared by every candidate of the
        attention split and rounded chunk, whatever its expert domain, batch split and micro-batches
        (`mixed_split_times`)."""
        req = self._no_requests(lay)
        chunk = chunk_floor_tokens(phase_chunk(workload, lay, Phase.MIXED))
        split = attention_split_peak_key(lay, workload, Phase.MIXED, req)[:-1] + (chunk,)

        def make() -> dict:
            shapes = _split_shapes(self._shapes(workload, lay, Phase.MIXED, req, 0, chunk), split)
            out = _parts(self.plan.model, lay, lambda op: self._lower(shapes, op)[0]
                         if op in ATTENTION_SPLIT_OPS else 0.0)
            return {**out, "pair_dense": 2 * out["dense"], "pair_moe": 2 * out["moe"]}

        return self._remember(self.cache, ("chunk split", split), make)

    def chunk_floor_times(self, workload: Workload, lay: Layout) -> list[dict]:
        """Per stage, lower bounds of a mixed pass's parts (`op_floor_times`' keys) from its chunk alone:
        every op at the mixed shape with no decode request and the chunk rounded down
        (`chunk_floor_tokens`), at its lower bound (`_lower`: the attention split's too). Shared by
        every candidate of the same structure and rounded chunk, whatever its batch split and
        micro-batches (`mixed_floor_times`)."""
        req = self._no_requests(lay)
        chunk = chunk_floor_tokens(phase_chunk(workload, lay, Phase.MIXED))
        shape = _shape_key(workload, lay, Phase.MIXED, req)[:-1] + (chunk,)

        def make() -> list[dict]:
            alike: dict[tuple[int, bool, bool], dict] = {}
            out = []
            for stage, where in enumerate(self.placements(lay)):
                times = alike.get(where)
                if times is None:
                    rest, send = self.lower_times(workload, lay, Phase.MIXED, req, stage, where, shape, every=True,
                                                  chunk=chunk)
                    shapes = self._shapes(workload, lay, Phase.MIXED, req, stage, chunk)
                    times = alike[where] = {
                        "dense": rest["dense"], "moe": rest["moe"], "embed": self._lower(shapes, Op.EMBED)[0],
                        "head": self._lower(shapes, Op.FINAL_NORM)[0] + self._lower(shapes, Op.LM_HEAD)[0],
                        "send": send,
                        "pair_dense": 2 * max(rest["pair_dense_compute"], rest["pair_dense_comm"]),
                        "pair_moe": 2 * max(rest["pair_moe_compute"], rest["pair_moe_comm"])}
                out.append(times)
            return out

        return self._remember(self.cache, ("chunk ops", shape, lay.pp), make)

    def mixed_split_times(self, workload: Workload, lay: Layout, req: tuple) -> dict:
        """Lower bounds of `split_times` of a mixed pass of `req`: those of its decode pass and of its
        chunk alone (`chunk_split_times`), part by part the larger (`mixed_times`)."""
        split = attention_split_peak_key(lay, workload, Phase.MIXED, req)
        return self._remember(self.cache, ("mixed split", split), lambda: mixed_times(
            self.split_times(workload, lay, Phase.DECODE, req), self.chunk_split_times(workload, lay)))

    def mixed_floor_times(self, workload: Workload, lay: Layout, req: tuple) -> list[dict]:
        """Per stage, lower bounds of `op_floor_times` of a mixed pass of `req`: those of its decode pass
        and of its chunk alone (`chunk_floor_times`), part by part the larger (`mixed_times`). Its
        decode pass's are the decode step's and its chunk's shared by every candidate of its
        structure and chunk, so no op is made at the mixed pass's own shape."""
        shape = _shape_key(workload, lay, Phase.MIXED, req)
        return self._remember(self.cache, ("mixed ops", shape, lay.pp), lambda: [
            mixed_times(d, c) for d, c in zip(self.op_floor_times(workload, lay, Phase.DECODE, req),
                                              self.chunk_floor_times(workload, lay), strict=True)])

    def _no_requests(self, lay: Layout) -> tuple[float, ...]:
        """A micro-batch's row of requests (`request_rows`) with none: a mixed pass's chunk alone."""
        return (0.0,) * len(self.request_rows(lay)[0])

    def lower_times(self, workload: Workload, lay: Layout, phase: Phase, req: tuple, stage: int,
                    where: tuple[int, bool, bool], shape: tuple, every: bool = False, chunk: int | None = None
                    ) -> tuple[dict[str, float], float]:
        """Lower bounds of the times of the ops of a stage's layers outside the attention split — the
        expert domain's and the collectives — summed per layer of each kind (`dense`, `moe`) and, for
        a pair of micro-batches, per stream (`pair_…_compute`, `pair_…_comm`); and the send's (none
        after the last stage); with `every`, the attention split's ops too; `chunk`: a mixed pass's chunk
        of that many prompt tokens (`OpShapes`; `shape` must say so). Each op at its
        `OpShapes.lower_template` priced by
        `dagc.cost.cost.template_lower_s` — a collective at its time, a compute op's kernels at their
        lower seconds (no table interpolated), the routed experts and the ETP reduce at their EP
        group's mean rows (no routing statistics) — once per key of what its template reads.
        `shape`: the pass's `_shape_key`. The dict returned is shared: read it only."""
        m = self.plan.model
        made: list[OpShapes] = []

        def shapes() -> OpShapes:                               # one for the layers and the send
            if not made:
                made.append(self._shapes(workload, lay, phase, req, stage, chunk))
            return made[0]

        def make() -> dict[str, float]:
            known: dict[Op, tuple[float, bool]] = {}            # an op of both kinds of layer: once

            def lower_of(op: Op) -> tuple[float, bool]:
                hit = known.get(op)
                if hit is None:
                    hit = known[op] = self._lower(shapes(), op)
                return hit

            rest: dict[str, float] = {}
            for dense in (True, False):
                kind = "dense" if dense else "moe"
                ops = _layer_op_list(lay, m, dense) if every else _outside_split(lay, m, dense)
                figures = [lower_of(op) for op in ops]
                rest[kind] = sum(f for f, _ in figures)
                rest["pair_" + kind + "_compute"] = sum(f for f, comm in figures if not comm)
                rest["pair_" + kind + "_comm"] = sum(f for f, comm in figures if comm)
            return rest

        # the layers read of where the stage sits its offset in its node, the send whether it crosses nodes
        offset, cross, last = where
        rest = self._remember(self.cache, ("lower", every, shape, offset), make)
        if last:
            return rest, 0.0
        return rest, self._remember(self.cache, ("lower send", shape, cross), lambda: self._lower(shapes(), Op.SEND)[0])

    def _lower(self, shapes: OpShapes, op: Op) -> tuple[float, bool]:
        """`op`'s lower bound at `shapes` (its `OpShapes.lower_template` priced by
        `dagc.cost.cost.template_lower_s`) and whether it is a collective, once per key of what it reads."""
        def price() -> tuple[float, bool]:
            tpl = shapes.lower_template(op)
            return template_lower_s(tpl, self.cm), tpl.kind.is_comm

        w = shapes.w
        return self._remember(self.made, (op, "lower", shapes.reads(op), w.prompt, w.generate, w.routing_imbalance,
                                          w.dispatch), price)

    def working_set_floor(self, workload: Workload, lay: Layout, phase: Phase, req: tuple, op: Op) -> float:
        """A lower bound of the activation peak of `op`'s template at this shape (the same on every stage:
        `OpShapes.working_set_floor`; the template's own peak but for the routed experts, whose
        floor needs no routing statistics), no other op made, no kernel priced, and remembered (an
        op of `ATTENTION_SPLIT_OPS` once per attention split)."""
        split = op in ATTENTION_SPLIT_OPS
        shape = attention_split_peak_key(lay, workload, phase, req) if split else _shape_key(workload, lay, phase, req)
        return self._remember(self.peaks, (op, shape),
                              lambda: self._shapes(workload, lay, phase, req, 0).working_set_floor(op))

    def activations(self, workload: Workload, lay: Layout) -> dict[int, float]:
        """The DAG's activation working set per stage (`dagc.memory.activations.stage_activation_bytes`)."""
        def act(phase, req, stage):
            return self.pass_times(workload, lay, phase, req, stage)["act"]

        return stage_activation_bytes(self.plan.model, workload, lay, act)


def chunk_floor_tokens(chunk: int) -> int:
    """`chunk` rounded down to its three leading binary digits (8,128 → 7,168; 4,096 and 6,144 stay): the
    chunks of candidates that differ only in their requests per rank share one lower bound, at most
    an eighth below their own."""
    drop = max(0, chunk.bit_length() - 3)
    return chunk >> drop << drop


def mixed_times(decode: dict, chunk: dict) -> dict:
    """Lower bounds of a mixed pass's parts from lower bounds of its decode pass's (`decode`) and of its
    chunk's alone (`chunk`: `Timer.chunk_split_times`, `chunk_floor_times`), part by part the larger.
    A mixed pass runs each op of the decode pass on the decode tokens and the chunk's, so each op
    takes at least as long as with either alone (its time grows with its shape), and so does every
    sum of ops (a layer, a stream of a pair)."""
    return {key: max(value, chunk[key]) for key, value in decode.items()}


def _split_shapes(shapes: OpShapes, split: tuple) -> OpShapes:
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
                    np.array(shapes.n_seq[:1].tolist() * 2), shapes.stage)


def _no_layout() -> Layout:
    raise AssertionError("an attention split's ops read only the sketch's fields")


def _outside_split(lay: Layout, m: Model, dense: bool) -> tuple[Op, ...]:
    """The ops of a layer of this kind outside `ATTENTION_SPLIT_OPS`, in order (none for a kind the model
    does not have)."""
    if dense not in m.layer_kinds:
        return ()
    return _outside(layer_ops(lay, m, dense)[0])


def _layer_op_list(lay: Layout, m: Model, dense: bool) -> tuple[Op, ...]:
    """Every op of a layer of this kind, in order (none for a kind the model does not have)."""
    if dense not in m.layer_kinds:
        return ()
    return tuple(lop.op for lop in layer_ops(lay, m, dense)[0])


@functools.lru_cache(maxsize=256)
def _outside(ops: tuple[LayerOp, ...]) -> tuple[Op, ...]:
    return tuple(lop.op for lop in ops if lop.op not in ATTENTION_SPLIT_OPS)


def _shape_key(workload: Workload, lay: Layout, phase: Phase, req: tuple) -> tuple:
    """What a pass's op figures depend on, but where its stage sits: the structure and the shape."""
    # the phase by its value: a str hashes once, an enum member in Python on every look-up
    return (phase.value, req, lay.tp, lay.cp, lay.sp, lay.ep, lay.etp, lay.group_size, lay.gpus_per_node,
            workload.prompt, workload.generate, workload.routing_imbalance, phase_chunk(workload, lay, phase))


def _parts(m: Model, lay: Layout, value: Callable[[Op], float]) -> dict[str, float]:
    """A pass's parts from a figure of each op, `value(op)`: per layer of each kind (`dense`, `moe`:
    its ops in turn; none for a kind the model does not have), the embedding (`embed`), the final
    norm and LM head (`head`)."""
    out = {("dense" if dense else "moe"): sum(value(lop.op) for lop in layer_ops(lay, m, dense)[0])
           if dense in m.layer_kinds else 0.0 for dense in (True, False)}
    return {**out, "embed": value(Op.EMBED), "head": value(Op.FINAL_NORM) + value(Op.LM_HEAD)}


def _pair_layer_time(ops: list[tuple[LayerOp, float, bool]]) -> float:
    """Two micro-batches through one layer, interleaved op by op on a compute and a comm stream."""
    free = [0.0, 0.0]                               # the compute and the communication stream
    fin: list[tuple[float, float]] = []             # per op, the end of each micro-batch's
    for lop, d, comm in ops:
        ends = []
        for mb in (0, 1):
            ready = max((fin[p][mb] for p in lop.preds if p >= 0), default=0.0)
            end = max(ready, free[comm]) + d
            free[comm] = end
            ends.append(end)
        fin.append((ends[0], ends[1]))
    return max(max(e) for e in fin)
