"""Lower bounds of a candidate's stage passes that time no pass of its own, for the search's branch and bound.

Input: a `Plan` (through `dagc.schedule.timer_base.TimerCore`), then a `Layout`, a workload, a phase
and a micro-batch's requests. Output: per stage, lower bounds of the parts of `Timer.pass_times`
(per layer of each kind, alone and as a pair of micro-batches; the embedding; the final norm and
LM head; the send): from the attention split's ops alone (`split_times`), from each op by itself
at its lower seconds (`op_floor_times`, `lower_times`), and for a mixed pass in flight from its
decode pass's and its chunk's alone (`mixed_split_times`, `mixed_floor_times`); and lower bounds
of an op's working set (`working_set_floor`). `dagc.schedule.recurrence` turns them into floors
of TPOT and TTFT.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from ..cost.cost import template_lower_s
from ..ir.dag import Phase
from ..ir.op_shapes import phase_chunk
from ..ir.ops import ATTENTION_SPLIT_OPS, LayerOp, Op, OpShapes, attention_split_peak_key, layer_ops, model_layers
from ..layout.layout import Layout
from ..plan.model import Model
from ..plan.workload import Workload
from .timer_base import Key, Parts, Requests, StageCosts, StageTimes, TimerCore, op_parts, shape_key, split_shapes

__all__ = ["SPLIT_COLLECTIVES", "FloorTimes", "chunk_floor_tokens", "mixed_bounds", "mixed_times"]


# The collectives of the attention split: they read its degrees (tp, cp, sp) and where the stage sits,
# not the expert domain (`dagc.ir.ops.layer_ops`).
SPLIT_COLLECTIVES = frozenset({Op.TP_GATHER, Op.CP_GATHER, Op.TP_REDUCE})


@dataclass(frozen=True, slots=True)
class _Pass:
    """A pass whose stages' ops are bounded: of `req` in `phase` of `workload` on `lay`, `shape` its
    `shape_key`; with `chunk`, a mixed pass's chunk of that many prompt tokens (`OpShapes`; `shape` says so)."""

    workload: Workload
    lay: Layout
    phase: Phase
    req: Requests
    shape: Key
    chunk: int | None = None


class FloorTimes:
    """Lower bounds of stage passes' times and working sets, from the op templates of `core` (a timer's:
    `Timer.floors`), whose tables they are remembered in."""

    def __init__(self, core: TimerCore):
        self.core, self.plan = core, core.plan

    def split_times(self, workload: Workload, lay: Layout, phase: Phase, req: Requests) -> StageTimes:
        """Lower bounds of a pass's compute parts (`pass_times`: per layer of each kind, alone and as a
        pair of micro-batches; the embedding; the final norm and LM head) from the ops of its attention
        split alone (`ATTENTION_SPLIT_OPS`, all compute), each at its exact time, the others — the
        expert domain's ops and the collectives — at none: a layer's ops run one after the other, and
        a pair's compute stream runs the compute ops of both. Shared by every expert split of the
        attention split, so no op of the expert domain is made or priced."""
        split = attention_split_peak_key(lay, workload, phase, req)

        def make() -> StageTimes:
            shapes = self.core.shapes(workload, lay, phase, req, 0)
            out = op_parts(model_layers(lay, self.plan.model), lambda op: self.core.split_op(shapes, op, split)[0]
                           if op in ATTENTION_SPLIT_OPS else 0.0)
            return {**out, "pair_dense": 2 * out["dense"], "pair_moe": 2 * out["moe"]}

        return self.core.remember(self.core.stage_times, ("split", split), make)

    def op_floor_times(self, workload: Workload, lay: Layout, phase: Phase, req: Requests) -> list[StageCosts]:
        """Per stage, lower bounds of `pass_times`' parts that price each op of a layer and of the
        stage's ends by itself, no pass of this shape timed: the ops of the attention split at their
        times (`split_times`), every other op at its own lower bound (`lower_times`). A layer's ops
        run one after the other; a pair of micro-batches runs the compute ops of both on one stream
        and the collectives on the other."""
        shape = shape_key(workload, lay, phase, req)

        def make() -> list[StageCosts]:
            split = self.split_times(workload, lay, phase, req)
            at_pass = _Pass(workload, lay, phase, req, shape)

            def at(stage: int, where: tuple[int, bool, bool]) -> StageCosts:
                rest, send = self.lower_times(at_pass, stage, where)
                return _stage_bounds(split, rest, send)

            return self._by_placement(lay, at)

        # and where the stages sit: `Layout.placements` reads no more of the layout than the shape and pp
        return self.core.remember(self.core.stage_bounds, ("ops", shape, lay.pp), make)

    def chunk_split_times(self, workload: Workload, lay: Layout) -> StageTimes:
        """Lower bounds of a mixed pass's parts (`split_times`' keys) from its chunk alone: the ops of the
        attention split and its collectives (`SPLIT_COLLECTIVES`) at the mixed shape with no decode
        request and the chunk rounded down (`chunk_floor_tokens`), each at its lower bound (`_lower`;
        the collectives with the stage group at the start of a node, where they cross the fewest
        nodes). Lower seconds grow with the shape, so each bounds the op at the mixed shape of any
        requests; shared by every candidate of the attention split and rounded chunk, whatever its
        expert domain, batch split and micro-batches (`mixed_split_times`). A pair of micro-batches
        runs the compute ops of both on one stream and the collectives on the other."""
        req = self._no_requests(lay)
        chunk = chunk_floor_tokens(phase_chunk(workload, lay, Phase.MIXED))
        split = attention_split_peak_key(lay, workload, Phase.MIXED, req)[:-1] + (chunk,)

        def make() -> StageTimes:
            shapes = split_shapes(self.core.shapes(workload, lay, Phase.MIXED, req, 0, chunk), split)
            layers = model_layers(lay, self.plan.model)
            compute = op_parts(layers, lambda op: self._lower(shapes, op)[0] if op in ATTENTION_SPLIT_OPS else 0.0)
            comm = op_parts(layers, lambda op: self._lower(shapes, op)[0] if op in SPLIT_COLLECTIVES else 0.0)
            out: Parts = {"dense": compute["dense"] + comm["dense"], "moe": compute["moe"] + comm["moe"],
                          "embed": compute["embed"] + comm["embed"], "head": compute["head"] + comm["head"]}
            return {**out, "pair_dense": 2 * max(compute["dense"], comm["dense"]),
                    "pair_moe": 2 * max(compute["moe"], comm["moe"])}

        return self.core.remember(self.core.stage_times, ("chunk split", split), make)

    def chunk_floor_times(self, workload: Workload, lay: Layout) -> list[StageCosts]:
        """Per stage, lower bounds of a mixed pass's parts (`op_floor_times`' keys) from its chunk alone:
        every op at the mixed shape with no decode request and the chunk rounded down
        (`chunk_floor_tokens`), at its lower bound (`_lower`: the attention split's too). Shared by
        every candidate of the same structure and rounded chunk, whatever its batch split and
        micro-batches (`mixed_floor_times`)."""
        req = self._no_requests(lay)
        chunk = chunk_floor_tokens(phase_chunk(workload, lay, Phase.MIXED))
        shape = shape_key(workload, lay, Phase.MIXED, req)[:-1] + (chunk,)
        at_pass = _Pass(workload, lay, Phase.MIXED, req, shape, chunk)

        def at(stage: int, where: tuple[int, bool, bool]) -> StageCosts:
            rest, send = self.lower_times(at_pass, stage, where, every=True)
            shapes = self.core.shapes(workload, lay, Phase.MIXED, req, stage, chunk)
            ends: Parts = {"dense": 0.0, "moe": 0.0, "embed": self._lower(shapes, Op.EMBED)[0],
                    "head": self._lower(shapes, Op.FINAL_NORM)[0] + self._lower(shapes, Op.LM_HEAD)[0]}
            return _stage_bounds(ends, rest, send)

        def make() -> list[StageCosts]:
            return self._by_placement(lay, at)

        return self.core.remember(self.core.stage_bounds, ("chunk ops", shape, lay.pp), make)

    def _by_placement(self, lay: Layout, at: Callable[[int, tuple[int, bool, bool]], StageCosts]
                      ) -> list[StageCosts]:
        """`at(stage, where)` of every stage, made once for the stages that sit alike (`Layout.placements`)."""
        alike: dict[tuple[int, bool, bool], StageCosts] = {}
        out = []
        for stage, where in enumerate(lay.placements):
            if where not in alike:
                alike[where] = at(stage, where)
            out.append(alike[where])
        return out

    def mixed_split_times(self, workload: Workload, lay: Layout, req: Requests) -> StageTimes:
        """Lower bounds of `split_times` of a mixed pass of `req`: those of its decode pass and of its
        chunk alone (`chunk_split_times`), part by part the larger (`mixed_times`)."""
        split = attention_split_peak_key(lay, workload, Phase.MIXED, req)
        return self.core.remember(self.core.stage_times, ("mixed split", split), lambda: mixed_times(
            self.split_times(workload, lay, Phase.DECODE, req), self.chunk_split_times(workload, lay)))

    def mixed_floor_times(self, workload: Workload, lay: Layout, req: Requests) -> list[StageCosts]:
        """Per stage, lower bounds of `op_floor_times` of a mixed pass of `req`: those of its decode pass
        and of its chunk alone (`chunk_floor_times`), part by part the larger (`mixed_bounds`). Its
        decode pass's are the decode step's and its chunk's shared by every candidate of its
        structure and chunk, so no op is made at the mixed pass's own shape."""
        shape = shape_key(workload, lay, Phase.MIXED, req)
        return self.core.remember(self.core.stage_bounds, ("mixed ops", shape, lay.pp), lambda: [
            mixed_bounds(d, c) for d, c in zip(self.op_floor_times(workload, lay, Phase.DECODE, req),
                                              self.chunk_floor_times(workload, lay), strict=True)])

    def _no_requests(self, lay: Layout) -> Requests:
        """A micro-batch's row of requests (`Layout.request_rows`) with none: a mixed pass's chunk alone."""
        return (0.0,) * len(lay.request_rows[0])

    def lower_times(self, at: _Pass, stage: int, where: tuple[int, bool, bool], every: bool = False
                    ) -> tuple[dict[str, float], float]:
        """Lower bounds of the times of the ops of a stage's layers outside the attention split — the
        expert domain's and the collectives — summed per layer of each kind (`dense`, `moe`) and, for
        a pair of micro-batches, per stream (`pair_…_compute`, `pair_…_comm`); and the send's (none
        after the last stage), in the pass `at`; with `every`, the attention split's ops too. Each op at its
        `OpShapes.lower_template` priced by
        `dagc.cost.cost.template_lower_s` — a collective at its time, a compute op's kernels at their
        lower seconds (no table interpolated), the routed experts and the ETP reduce at their EP
        group's mean rows (no routing statistics) — once per key of what its template reads.
        The dict returned is shared: read it only."""
        m, lay, shape = self.plan.model, at.lay, at.shape
        made: list[OpShapes] = []

        def shapes() -> OpShapes:                               # one for the layers and the send
            if not made:
                made.append(self.core.shapes(at.workload, lay, at.phase, at.req, stage, at.chunk))
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
        rest = self.core.remember(self.core.lower_parts, (every, shape, offset), make)
        if last:
            return rest, 0.0
        return rest, self.core.remember(self.core.lower_sends, (shape, cross),
                                        lambda: self._lower(shapes(), Op.SEND)[0])

    def _lower(self, shapes: OpShapes, op: Op) -> tuple[float, bool]:
        """`op`'s lower bound at `shapes` (its `OpShapes.lower_template` priced by
        `dagc.cost.cost.template_lower_s`) and whether it is a collective, once per key of what it reads."""
        def price() -> tuple[float, bool]:
            tpl = shapes.lower_template(op)
            return template_lower_s(tpl, self.core.cm), tpl.kind.is_comm

        w = shapes.w
        return self.core.remember(self.core.lowers, (op, shapes.reads(op), w.prompt, w.generate, w.routing,
                                          w.dispatch), price)

    def working_set_floor(self, workload: Workload, lay: Layout, phase: Phase, req: Requests, op: Op) -> float:
        """A lower bound of the activation peak of `op`'s template at this shape (the same on every stage:
        `OpShapes.working_set_floor`; the template's own peak but for the routed experts, whose
        floor needs no routing statistics), no other op made, no kernel priced, and remembered (an
        op of `ATTENTION_SPLIT_OPS` once per attention split)."""
        split = op in ATTENTION_SPLIT_OPS
        shape = attention_split_peak_key(lay, workload, phase, req) if split else shape_key(workload, lay, phase, req)
        return self.core.remember(self.core.peaks, (op, shape),
                              lambda: self.core.shapes(workload, lay, phase, req, 0).working_set_floor(op))


def _stage_bounds(split: Parts, rest: dict[str, float], send: float) -> StageCosts:
    """A stage's bounds (`op_floor_times`' keys) from its attention split's parts (`split_times`' keys;
    zeros where its ops are in `rest`), the other ops' per layer and per stream (`lower_times`) and its
    send: a layer's ops one after the other; a pair runs the compute ops of both on one stream and
    the collectives on the other."""
    dense, moe = split["dense"], split["moe"]
    return {"dense": dense + rest["dense"], "moe": moe + rest["moe"], "embed": split["embed"], "head": split["head"],
            "send": send, "pair_dense": 2 * max(dense + rest["pair_dense_compute"], rest["pair_dense_comm"]),
            "pair_moe": 2 * max(moe + rest["pair_moe_compute"], rest["pair_moe_comm"])}


def chunk_floor_tokens(chunk: int) -> int:
    """`chunk` rounded down to its three leading binary digits (8,128 → 7,168; 4,096 and 6,144 stay): the
    chunks of candidates that differ only in their requests per rank share one lower bound, at most
    an eighth below their own."""
    drop = max(0, chunk.bit_length() - 3)
    return chunk >> drop << drop


def mixed_times(decode: StageTimes, chunk: StageTimes) -> StageTimes:
    """Lower bounds of a mixed pass's parts from lower bounds of its decode pass's (`decode`) and of its
    chunk's alone (`chunk`: `Timer.chunk_split_times`), part by part the larger.
    A mixed pass runs each op of the decode pass on the decode tokens and the chunk's, so each op
    takes at least as long as with either alone (its time grows with its shape), and so does every
    sum of ops (a layer, a stream of a pair)."""
    return {"dense": max(decode["dense"], chunk["dense"]), "moe": max(decode["moe"], chunk["moe"]),
            "embed": max(decode["embed"], chunk["embed"]), "head": max(decode["head"], chunk["head"]),
            "pair_dense": max(decode["pair_dense"], chunk["pair_dense"]),
            "pair_moe": max(decode["pair_moe"], chunk["pair_moe"])}


def mixed_bounds(decode: StageCosts, chunk: StageCosts) -> StageCosts:
    """`mixed_times` of a stage's bounds (`chunk`: `Timer.chunk_floor_times`), its send's the larger too."""
    return {**mixed_times(decode, chunk), "send": max(decode["send"], chunk["send"])}


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
