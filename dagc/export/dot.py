"""dag.dot: the DAG as a Graphviz picture, at a chosen level of detail (SPEC 8).

Input: a scheduled `StrategyResult`. Output: DOT text. Levels:

- `summary` (default): one cluster per pipeline stage labelled with its GPU range and
  layers; the stage's first layer expanded into its ops, the other layers collapsed into one
  box; micro-batches counted in the title (the picture is micro-batch 0 of prefill).
- `layers`: every layer a box, per stage.
- `full`: every op of micro-batch 0 of prefill, under a node budget.
- `ranks`: every op of micro-batch 0 on every rank of replica 0, under a node budget.

Above the budget a level falls back to the next coarser one and says so in the title.
Shapes by category (compute box, collective hexagon, send/recv cds, collapsed box3d), fill
colour by kind, communication edges dashed, the critical path thick and red (class
"crit"), stable ids `n<dag node id>` so tools can find nodes in the SVG, and a legend.

This module picks the level and what it shows; dot_draw.py draws it, dot_graph.py holds the
styles and builds the DOT through the `graphviz` package, which quotes every name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..ir.dag import Dag, OpKind, Phase
from ..plan.strategy import Axis
from ..verdict.compiled import Compiled
from .dot_draw import Picture, draw_ops, draw_ranks, ops_by_stage
from .dot_graph import Writer

# Rendering moved to render.py; these names stay importable from here.
from .render import DOT_TIMEOUT_MAX_S, DOT_TIMEOUT_S, check_dot_timeout, render_svg

__all__ = ["Detail", "DotGraph", "dag_dot", "render_svg", "check_dot_timeout", "NODE_BUDGET_DOT",
           "DOT_TIMEOUT_S", "DOT_TIMEOUT_MAX_S"]

NODE_BUDGET_DOT = 3000


class Detail(enum.Enum):
    SUMMARY = "summary"
    LAYERS = "layers"
    FULL = "full"
    RANKS = "ranks"


@dataclass(frozen=True)
class DotGraph:
    text: str
    detail: Detail           # the level drawn (after any fall-back)
    nodes: int
    note: str | None         # why the level fell back, if it did


def _mb0_prefill(dag: Dag) -> list[int]:
    """The ops drawn: micro-batch 0's prefill; in flight (no prefill) its first mixed step, the one
    with a prompt's chunk; a disaggregated decode instance (neither) its first decode step."""
    phases = set(dag.phase)
    phase = next((p for p in (Phase.PREFILL, Phase.MIXED) if p in phases), Phase.DECODE)
    return [i for i in range(len(dag)) if dag.phase[i] is phase and dag.mb[i] == 0 and dag.step[i] == 0]


# An op as drawn: its place in the pass, kind, seconds, FLOPs, bytes, collective axis and group size.
_OpSignature = tuple[float, OpKind, float, float, float, Axis | None, int]


def _signature(c: Compiled, ops: list[int], base: float) -> tuple[_OpSignature, ...]:
    """What makes two stages or two layers draw the same: each op's kind, place, cost and sizes."""
    dag = c.dag
    return tuple((round(dag.pos[i] - base, 6), dag.kind[i], float(c.costs.node_s[i]), dag.template[i].flops_total,
                  dag.template[i].comm_bytes_total, dag.template[i].group, dag.template[i].group_size) for i in ops)


def _stage_runs(c: Compiled, by_stage: dict[int, list[int]], merge: bool) -> list[list[int]]:
    runs: list[list[int]] = []
    last = None
    for stage, ops in sorted(by_stage.items()):
        sig = _signature(c, ops, c.layout.stage_layers[stage][0]) if merge else stage
        if runs and sig == last:
            runs[-1].append(stage)
        else:
            runs.append([stage])
        last = sig
    return runs


def _summary(c: Compiled, by_stage: dict[int, list[int]]) -> Picture:
    """Identical stages drawn once; in each drawn stage its first MoE layer (else its first layer) shown
    op by op, unless a layer with the same ops is already shown."""
    runs = _stage_runs(c, by_stage, merge=True)
    layers: dict[int, list[int]] = {}
    for run in runs:
        for i in by_stage[run[0]]:
            if c.dag.layer[i] >= 0:
                layers.setdefault(c.dag.layer[i], []).append(i)
    sig = {layer: _signature(c, ops, layer) for layer, ops in layers.items()}
    shown: dict[tuple[_OpSignature, ...], int] = {}
    for run in runs:
        layer = _representative_layer(c, run[0])
        if layer in sig:
            shown.setdefault(sig[layer], layer)
    like = {layer: shown[s] for layer, s in sig.items() if s in shown and shown[s] != layer}
    return Picture(runs, frozenset(shown.values()), like, box_per_layer=False)


def _representative_layer(c: Compiled, stage: int) -> int:
    """The layer a summary expands: the stage's first MoE layer, else its first layer."""
    a, b = c.layout.stage_layers[stage]
    return next((layer for layer in range(a, b) if c.plan.model.is_moe_layer(layer)), a)


def dag_dot(c: Compiled, detail: Detail = Detail.SUMMARY, budget: int = NODE_BUDGET_DOT) -> DotGraph:
    """DOT text of a compiled strategy at `detail`, falling back to coarser levels over `budget` nodes."""
    dag, lay = c.dag, c.layout
    ids = _mb0_prefill(dag)
    note = None
    g = lay.group_size
    if detail is Detail.RANKS and len(ids) * g > budget:
        note = f"per-rank view would have {len(ids) * g:,} nodes, over the budget of {budget:,}"
        detail = Detail.FULL
    if detail is Detail.FULL and len(ids) > budget:
        note = f"full view would have {len(ids):,} nodes, over the budget of {budget:,}"
        detail = Detail.LAYERS
    w = Writer(c, detail.value, note)
    by_stage = ops_by_stage(dag, ids)
    every = _stage_runs(c, by_stage, merge=False)
    match detail:
        case Detail.RANKS:
            draw_ranks(w, ids)
        case Detail.FULL:
            draw_ops(w, ids, Picture(every, frozenset(range(c.plan.model.layers)), {}, box_per_layer=True))
        case Detail.LAYERS:
            draw_ops(w, ids, Picture(every, frozenset(), {}, box_per_layer=True))
        case Detail.SUMMARY:
            draw_ops(w, ids, _summary(c, by_stage))
    return DotGraph(w.text(), detail, w.count, note)
