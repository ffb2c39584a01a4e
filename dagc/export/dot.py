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
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass

from ..ir.dag import Category, Dag, OpKind, Phase
from ..layout.layout import Layout
from ..units import Dimension, format_si
from ..verdict.compiled import Compiled

# Rendering moved to render.py; these names stay importable from here.
from .render import DOT_TIMEOUT_MAX_S, DOT_TIMEOUT_S, check_dot_timeout, render_svg

__all__ = ["Detail", "DotGraph", "dag_dot", "render_svg", "check_dot_timeout", "NODE_BUDGET_DOT", "KIND_COLOURS",
           "DOT_TIMEOUT_S", "DOT_TIMEOUT_MAX_S"]

NODE_BUDGET_DOT = 3000

# Compute kinds in cool colours, communication in warm ones, one hue per parallelism.
KIND_COLOURS = {
    OpKind.EMBED: "#cfe8fc", OpKind.NORM: "#e8f1fa", OpKind.QKV_PROJ: "#9ecae1", OpKind.ATTENTION: "#6baed6",
    OpKind.O_PROJ: "#9ecae1", OpKind.ROUTER: "#c7e9c0", OpKind.EXPERT_FFN: "#74c476",
    OpKind.SHARED_EXPERT: "#a1d99b", OpKind.DENSE_FFN: "#41ab5d", OpKind.LM_HEAD: "#bcbddc",
    OpKind.ALL_REDUCE: "#fdae6b", OpKind.REDUCE_SCATTER: "#fdd0a2", OpKind.ALL_GATHER: "#fdd0a2",
    OpKind.ALL_TO_ALL_DISPATCH: "#fc9272", OpKind.ALL_TO_ALL_COMBINE: "#fc9272",
    OpKind.SEND: "#dadaeb", OpKind.RECV: "#dadaeb",
}
EDGE_COLOURS = {Category.TP_COMM: "#e6550d", Category.EP_COMM: "#de2d26", Category.PP_COMM: "#756bb1"}


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


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape(kind: OpKind) -> str:
    if kind in (OpKind.SEND, OpKind.RECV):
        return "cds"
    return "hexagon" if kind.is_comm else "box"


Key = tuple[int, float]      # (stage, position in the pass): the same op in every micro-batch


def _key(dag: Dag, i: int) -> Key:
    return (dag.stage[i], dag.pos[i])


def _critical_steps(c: Compiled) -> frozenset[tuple[Key, Key]]:
    """Consecutive ops of the prefill critical path as pairs of keys, so that micro-batch 0's picture
    shows the path whichever micro-batches it runs through. A send and its recv are one transfer,
    drawn send → recv: the path reaches a recv through its send."""
    dag, path = c.dag, c.schedule.prefill_path.nodes
    steps = set()
    for a, b in itertools.pairwise(path):
        send = dag.pair[b]
        if dag.kind[b] is OpKind.RECV and send >= 0 and a != send:
            steps.add((_key(dag, a), _key(dag, send)))
            a = send
        steps.add((_key(dag, a), _key(dag, b)))
    return frozenset(steps)


def _op_label(c: Compiled, i: int) -> str:
    dag = c.dag
    t = dag.template[i]
    kind = dag.kind[i]
    extra = f"\n{format_si(float(c.costs.node_s[i]), Dimension.TIME)}"
    if kind.is_comm and t.group is not None and kind not in (OpKind.SEND, OpKind.RECV):
        extra += f" · {t.group.value} {t.group_size}"
    return kind.value + extra


def _op_tooltip(c: Compiled, i: int, run: list[int]) -> str:
    """What an op is and where: its layer (ops outside the layers have none), the stages it stands for."""
    dag = c.dag
    parts = [dag.kind[i].value]
    if dag.layer[i] >= 0:
        parts.append(f"layer {dag.layer[i]}")
    match dag.kind[i]:
        case OpKind.SEND:
            parts.append(f"stage {dag.stage[i]} → {dag.stage[i] + 1}")
        case OpKind.RECV:
            parts.append(f"stage {dag.stage[i] - 1} → {dag.stage[i]}")
        case OpKind.EMBED | OpKind.LM_HEAD:
            pass
        case _ if dag.layer[i] < 0:
            parts.append("head" if dag.pos[i] > 0 else "embedding")
    if len(run) > 1:
        parts.append(f"the same in stages {run[0]}–{run[-1]}")
    parts.append(format_si(float(c.costs.node_s[i]), Dimension.TIME))
    return " · ".join(parts)


def _attrs(**kw) -> str:
    return ", ".join(f"{k}={v if isinstance(v, (int, float)) else _q(str(v))}" for k, v in kw.items() if v is not None)


class _Writer:
    def __init__(self, c: Compiled, detail: Detail, note: str | None):
        self.c = c
        self.dag = c.dag
        self.lay = c.layout
        self.steps = _critical_steps(c)
        path = c.schedule.prefill_path.nodes
        self.critical_keys = frozenset(k for step in self.steps for k in step) | {_key(c.dag, i) for i in path[:1]}
        self.lines: list[str] = []
        self.count = 0
        self.indent = "    "
        self.detail = detail
        self.note = note

    def crit(self, ids) -> bool:
        """Whether any of these ops is on the prefill critical path in any micro-batch (the picture
        shows micro-batch 0; the path usually runs through the last one)."""
        return any(_key(self.dag, i) in self.critical_keys for i in ids)

    def crit_edge(self, p: int, i: int) -> bool:
        """Whether the critical path goes from op `p` straight to op `i`, in any micro-batch."""
        return (_key(self.dag, p), _key(self.dag, i)) in self.steps

    def node(self, nid: str, label: str, kind: OpKind | None, crit: bool, shape: str | None = None,
             tooltip: str | None = None) -> None:
        self.count += 1
        if shape is None:
            assert kind is not None, "a collapsed box names its shape"
            shape = _shape(kind)
        fill = KIND_COLOURS.get(kind, "#f0f0f0") if kind else "#f0f0f0"
        cls = " ".join(x for x in (kind.value if kind else "collapsed", "comm" if kind and kind.is_comm else None,
                                   "crit" if crit else None) if x)
        attrs = _attrs(label=label, shape=shape, fillcolor=fill, id=nid, tooltip=tooltip, **{"class": cls})
        self.lines.append(f"{self.indent}{nid} [{attrs}" + (', penwidth=3, color="#cb181d"' if crit else "") + "];")

    def edge(self, a: str, b: str, category: Category | None, crit: bool, label: str | None = None) -> None:
        """A data edge; `category` None: a critical-path step that is not a data edge (the op waited for its
        stream, busy with an earlier op), drawn dotted."""
        if category is None:
            style, colour, width, cls = "dotted", "#cb181d", 3, "crit stream"
        else:
            style = "dashed" if category is not Category.COMPUTE else "solid"
            colour = "#cb181d" if crit else EDGE_COLOURS.get(category, "#555555")
            width = 3 if crit else 1
            cls = "crit" if crit else category.value
        tooltip = "critical path: waits for its stream" if category is None else None
        attrs = _attrs(style=style, color=colour, penwidth=width, label=label, tooltip=tooltip, **{"class": cls})
        self.lines.append(f"  {a} -> {b} [{attrs}];")

    def header(self) -> None:
        c, lay = self.c, self.lay
        title = (f"{c.plan.name} · strategy {c.strategy.text} · {lay.gpus_used} GPUs · "
                 f"TTFT {format_si(c.metrics.ttft_s, Dimension.TIME)} · "
                 f"TPOT {format_si(c.metrics.tpot_s, Dimension.TIME)}")
        sub = f"prefill, micro-batch 0 of {lay.microbatches}; detail: {self.detail.value}"
        if self.note:
            sub += f" ({self.note})"
        big = self.count > 1000
        graph = _attrs(label=title + chr(10) + sub, labelloc="t", fontname="Helvetica", fontsize=16, rankdir="TB",
                       newrank="true", compound="true", nslimit=0.05 if big else None,
                       nslimit1=0.05 if big else None)
        self.lines[:0] = [
            "digraph dag {",
            f"  graph [{graph}];",
            '  node [fontname="Helvetica", fontsize=10, style="filled,rounded"];',
            '  edge [fontname="Helvetica", fontsize=8];',
        ]

    def legend(self) -> None:
        self.lines.append("  subgraph cluster_legend {")
        self.lines.append(f"    graph [{_attrs(label='legend', style='dashed', color='#999999')}];")
        prev = None
        for kind in (OpKind.QKV_PROJ, OpKind.ATTENTION, OpKind.EXPERT_FFN, OpKind.DENSE_FFN, OpKind.ALL_REDUCE,
                     OpKind.ALL_TO_ALL_DISPATCH, OpKind.SEND):
            nid = f"legend_{kind.value}"
            label = {OpKind.QKV_PROJ: "compute", OpKind.ALL_REDUCE: "TP collective",
                     OpKind.ALL_TO_ALL_DISPATCH: "EP all-to-all", OpKind.SEND: "PP send/recv"}.get(kind, kind.value)
            attrs = _attrs(label=label, shape=_shape(kind), fillcolor=KIND_COLOURS[kind], id=nid)
            self.lines.append(f"    {nid} [{attrs}];")
            if prev:
                self.lines.append(f"    {prev} -> {nid} [style=invis];")
            prev = nid
        crit_attrs = _attrs(label="critical path\n(dotted: waits\nfor its stream)", shape="box", fillcolor="#ffffff",
                            id="legend_crit")
        self.lines.append(f'    legend_crit [{crit_attrs}, penwidth=3, color="#cb181d"];')
        self.lines.append(f"    {prev} -> legend_crit [style=invis];")
        self.lines.append('    legend_collapsed [label="collapsed layers", shape=box3d, fillcolor="#f0f0f0", '
                          'id="legend_collapsed"];')
        self.lines.append("    legend_crit -> legend_collapsed [style=invis];")
        self.lines.append("  }")

    def text(self) -> str:
        self.header()
        self.legend()
        return "\n".join(self.lines) + "\n}\n"


@dataclass(frozen=True)
class _Picture:
    """What a level draws of micro-batch 0: runs of identical consecutive stages (each drawn once, as
    its first stage), the layers shown op by op, the collapsed layers with the same ops as a shown one."""

    runs: list[list[int]]
    expanded: frozenset[int]
    like: dict[int, int]
    box_per_layer: bool          # collapse each layer into its own box (else each run of layers)


def _mb0_prefill(dag: Dag) -> list[int]:
    return [i for i in range(len(dag)) if dag.phase[i] is Phase.PREFILL and dag.mb[i] == 0]


def _by_stage(dag: Dag, ids: list[int]) -> dict[int, list[int]]:
    """Ops per stage in pass order."""
    out: dict[int, list[int]] = {}
    for i in sorted(ids, key=lambda i: (dag.pos[i], i)):
        out.setdefault(dag.stage[i], []).append(i)
    return out


def _signature(c: Compiled, ops: list[int], base: float) -> tuple:
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


def _summary(c: Compiled, by_stage: dict[int, list[int]]) -> _Picture:
    """Identical stages drawn once; in each drawn stage its first MoE layer (else its first layer) shown
    op by op, unless a layer with the same ops is already shown."""
    runs = _stage_runs(c, by_stage, merge=True)
    layers: dict[int, list[int]] = {}
    for run in runs:
        for i in by_stage[run[0]]:
            if c.dag.layer[i] >= 0:
                layers.setdefault(c.dag.layer[i], []).append(i)
    sig = {layer: _signature(c, ops, layer) for layer, ops in layers.items()}
    shown: dict[tuple, int] = {}
    for run in runs:
        layer = _representative_layer(c, run[0])
        if layer in sig:
            shown.setdefault(sig[layer], layer)
    like = {layer: shown[s] for layer, s in sig.items() if s in shown and shown[s] != layer}
    return _Picture(runs, frozenset(shown.values()), like, box_per_layer=False)


def _run_label(lay: Layout, run: list[int]) -> str:
    first, last = run[0], run[-1]
    rep = f" (+{lay.dp - 1} DP replicas)" if lay.dp > 1 else ""
    a, b = lay.stage_layers[first][0], lay.stage_layers[last][1]
    gpus = f"GPUs {lay.stage_ranks(0, first).start}–{lay.stage_ranks(0, last).stop - 1}{rep}"
    layers = f"layer {a}" if b - a == 1 else f"layers {a}–{b - 1}"
    if len(run) == 1:
        return f"stage {first} · {gpus} · {layers}"
    return f"stages {first}–{last}: {len(run)} identical stages, drawn once (as stage {first})\n{gpus} · {layers}"


def _draw_ops(w: _Writer, ids: list[int], pic: _Picture) -> None:
    """Draw micro-batch 0 of prefill: one cluster per run of stages, then the edges between drawn boxes."""
    by_stage = _by_stage(w.dag, ids)
    rep: dict[int, str] = {}                 # dag node → dot node id
    run_of: dict[int, int] = {}              # stage → the stage drawn for it
    for run in pic.runs:
        drawn = by_stage[run[0]]
        alias = {j: [j] for j in drawn}      # a drawn op and the ops of the other stages it stands for
        for stage in run:
            run_of[stage] = run[0]
            for j, i in zip(drawn, by_stage[stage], strict=True):
                if i != j:
                    alias[j].append(i)
        w.lines.append(f"  subgraph cluster_stage{run[0]} {{")
        graph = _attrs(label=_run_label(w.lay, run), style="rounded", color="#6a51a3", fontsize=12,
                       id=f"stage{run[0]}")
        w.lines.append(f"    graph [{graph}];")
        _draw_stage(w, run, drawn, alias, pic, rep)
        w.lines.append("  }")
        for j, same in alias.items():
            for i in same:
                rep[i] = rep[j]
    _draw_edges(w, ids, rep, run_of)


def _segments(dag: Dag, ops: list[int], pic: _Picture) -> list[tuple[tuple, list[int]]]:
    """A stage's ops in pass order, cut into single ops (outside the layers), shown layers and collapsed runs."""
    out: list[tuple[tuple, list[int]]] = []
    for i in ops:
        layer = dag.layer[i]
        if layer < 0:
            key: tuple = ("op", i)
        elif layer in pic.expanded:
            key = ("layer", layer)
        else:
            key = ("box", layer if pic.box_per_layer else None)
        if out and out[-1][0] == key:
            out[-1][1].append(i)
        else:
            out.append((key, [i]))
    return out


def _draw_stage(w: _Writer, run: list[int], ops: list[int], alias: dict[int, list[int]], pic: _Picture,
                rep: dict[int, str]) -> None:
    """One stage's ops: shown layers op by op in a cluster of their own, the others collapsed, one box per run."""
    dag, c = w.dag, w.c
    for (what, layer), group in _segments(dag, ops, pic):
        if what == "box":
            _collapsed_box(w, group, alias, pic, rep, run)
            continue
        if what == "layer":
            moe = "MoE" if c.plan.model.is_moe_layer(layer) else "dense"
            w.lines.append(f"    subgraph cluster_layer{layer} {{")
            graph = _attrs(label=f"layer {layer} ({moe}), op by op", style="dashed", color="#9e9ac8", fontsize=11,
                           id=f"layer{layer}")
            w.lines.append(f"      graph [{graph}];")
            w.indent = "      "
        for i in group:
            rep[i] = f"n{i}"
            w.node(rep[i], _op_label(c, i), dag.kind[i], w.crit(alias[i]), tooltip=_op_tooltip(c, i, run))
        if what == "layer":
            w.lines.append("    }")
            w.indent = "    "


def _collapsed_box(w: _Writer, group: list[int], alias: dict[int, list[int]], pic: _Picture,
                   rep: dict[int, str], run: list[int]) -> None:
    dag, c = w.dag, w.c
    layers = sorted({dag.layer[i] for i in group})
    nid = f"c{dag.stage[group[0]]}_{layers[0]}"
    moe = sum(1 for L in layers if c.plan.model.is_moe_layer(L))
    total = format_si(float(sum(c.costs.node_s[i] for i in group)), Dimension.TIME)
    likes = {pic.like.get(L) for L in layers}
    like = likes.pop() if len(likes) == 1 else None
    if len(layers) > 1:
        same = f"each like layer {like}\n" if like is not None else ""
        mix = " · ".join(f"{n} {what}" for n, what in ((moe, "MoE"), (len(layers) - moe, "dense")) if n)
        label = f"layers {layers[0]}–{layers[-1]}\n{mix} · {len(group)} ops\n{same}{total}"
    else:
        same = f", like layer {like}" if like is not None else ""
        label = f"layer {layers[0]} ({'MoE' if moe else 'dense'}){same}\n{len(group)} ops · {total}"
    if len(run) > 1:
        label += f"\nlikewise in stages {run[1]}–{run[-1]}"
    kinds = len({dag.kind[i] for i in group})
    w.node(nid, label, None, w.crit([j for i in group for j in alias[i]]), shape="box3d",
           tooltip=f"{len(layers)} layer{'s' if len(layers) > 1 else ''} collapsed: {len(group)} ops of {kinds} kinds")
    for i in group:
        rep[i] = nid


def _draw_edges(w: _Writer, ids: list[int], rep: dict[int, str], run_of: dict[int, int]) -> None:
    """The data edges between drawn boxes, each once (a recv is fed by its send, the transfer), then the
    critical-path steps that are no data edge: the op waited for its stream."""
    dag = w.dag
    edges: dict[tuple[str, str], list] = {}          # (tail, head) → [category, crit, label]
    for i in ids:
        for p in [dag.pair[i]] if dag.kind[i] is OpKind.RECV else dag.preds[i]:
            a, b = rep.get(p), rep.get(i)
            if a is None or b is None or a == b or _inside_run(dag, p, i, run_of):
                continue
            cat = dag.kind[i].category if dag.kind[i].is_comm else dag.kind[p].category
            label = format_si(dag.template[i].comm_bytes_total, Dimension.SIZE) if dag.kind[i] is OpKind.RECV else None
            edge = edges.setdefault((a, b), [cat, False, label])
            edge[1] = edge[1] or w.crit_edge(p, i)
    drawn = {_key(dag, i): i for i in ids}
    for ka, kb in sorted(w.steps):
        if ka not in drawn or kb not in drawn or ka[1] >= kb[1] or _inside_run(dag, drawn[ka], drawn[kb], run_of):
            continue          # a step back in the pass: the path moves on to another micro-batch
        a, b = rep.get(drawn[ka]), rep.get(drawn[kb])
        if a is None or b is None or a == b:
            continue
        if (a, b) in edges:
            edges[(a, b)][1] = True      # into or out of a collapsed box: the path passes along this edge
        else:
            edges[(a, b)] = [None, True, None]
    for (a, b), (cat, crit, label) in edges.items():
        w.edge(a, b, cat, crit, label)


def _inside_run(dag: Dag, p: int, i: int, run_of: dict[int, int]) -> bool:
    """An edge between two stages drawn as one (a run of identical stages): not drawn."""
    return dag.stage[p] != dag.stage[i] and run_of.get(dag.stage[p]) == run_of.get(dag.stage[i])


def _draw_ranks(w: _Writer, ids: list[int]) -> None:
    dag, lay = w.dag, w.lay
    for stage in sorted({dag.stage[i] for i in ids}):
        for rank in lay.stage_ranks(0, stage):
            w.lines.append(f"  subgraph cluster_gpu{rank} {{")
            graph = _attrs(label=f"GPU {rank} · stage {stage}", style="rounded", color="#6a51a3")
            w.lines.append(f"    graph [{graph}];")
            for i in ids:
                if dag.stage[i] == stage:
                    nid = f"n{i}_r{rank}"
                    w.node(nid, _op_label(w.c, i), dag.kind[i], w.crit([i]), tooltip=_op_tooltip(w.c, i, [stage]))
            w.lines.append("  }")
    for i in ids:
        for p in [dag.pair[i]] if dag.kind[i] is OpKind.RECV else dag.preds[i]:
            if p in ids:
                for local in range(lay.group_size):
                    a = f"n{p}_r{dag.stage[p] * lay.group_size + local}"
                    b = f"n{i}_r{dag.stage[i] * lay.group_size + local}"
                    cat = dag.kind[i].category if dag.kind[i].is_comm else dag.kind[p].category
                    w.edge(a, b, cat, w.crit_edge(p, i))


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
    w = _Writer(c, detail, note)
    by_stage = _by_stage(dag, ids)
    every = _stage_runs(c, by_stage, merge=False)
    match detail:
        case Detail.RANKS:
            _draw_ranks(w, ids)
        case Detail.FULL:
            _draw_ops(w, ids, _Picture(every, frozenset(range(c.plan.model.layers)), {}, box_per_layer=True))
        case Detail.LAYERS:
            _draw_ops(w, ids, _Picture(every, frozenset(), {}, box_per_layer=True))
        case Detail.SUMMARY:
            _draw_ops(w, ids, _summary(c, by_stage))
    return DotGraph(w.text(), detail, w.count, note)
