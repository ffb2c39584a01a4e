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
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..compiled import Compiled
from ..dag import Category, Dag, OpKind, Phase
from ..layout import Layout
from ..units import Dimension, format_si
from .write import check_target

__all__ = ["Detail", "DotGraph", "dag_dot", "render_svg", "check_dot_timeout", "NODE_BUDGET_DOT", "KIND_COLOURS",
           "DOT_TIMEOUT_S", "DOT_TIMEOUT_MAX_S"]

NODE_BUDGET_DOT = 3000
DOT_TIMEOUT_S = 60.0
DOT_TIMEOUT_MAX_S = 86_400.0      # a longer timeout is cut to a day (Python's timers overflow near 1e300 s)

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


def _op_label(c: Compiled, i: int) -> str:
    dag = c.dag
    t = dag.template[i]
    kind = dag.kind[i]
    extra = f"\n{format_si(float(c.costs.node_s[i]), Dimension.TIME)}"
    if kind.is_comm and t.group is not None and kind not in (OpKind.SEND, OpKind.RECV):
        extra += f" · {t.group.value} {t.group_size}"
    return kind.value + extra


def _attrs(**kw) -> str:
    return ", ".join(f"{k}={v if isinstance(v, (int, float)) else _q(str(v))}" for k, v in kw.items() if v is not None)


class _Writer:
    def __init__(self, c: Compiled, detail: Detail, note: str | None):
        self.c = c
        self.dag = c.dag
        self.lay = c.layout
        self.critical_keys = _critical_keys(c)
        self.lines: list[str] = []
        self.count = 0
        self.detail = detail
        self.note = note

    def crit(self, ids) -> bool:
        """Whether any of these ops is on the prefill critical path in any micro-batch (the picture
        shows micro-batch 0; the path usually runs through the last one)."""
        dag = self.dag
        return any((dag.stage[i], dag.pos[i]) in self.critical_keys for i in ids)

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
        self.lines.append(f"    {nid} [{attrs}" + (', penwidth=3, color="#cb181d"' if crit else "") + "];")

    def edge(self, a: str, b: str, category: Category, crit: bool, label: str | None = None) -> None:
        style = "dashed" if category is not Category.COMPUTE else "solid"
        colour = "#cb181d" if crit else EDGE_COLOURS.get(category, "#555555")
        width = 3 if crit else 1
        cls = "crit" if crit else category.value
        attrs = _attrs(style=style, color=colour, penwidth=width, label=label, **{"class": cls})
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
        crit_attrs = _attrs(label="critical path", shape="box", fillcolor="#ffffff", id="legend_crit")
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


def _mb0_prefill(dag: Dag) -> list[int]:
    return [i for i in range(len(dag)) if dag.phase[i] is Phase.PREFILL and dag.mb[i] == 0]


def _stage_label(lay: Layout, stage: int) -> str:
    ranks = lay.stage_ranks(0, stage)
    a, b = lay.stage_layers[stage]
    rep = f" (+{lay.dp - 1} DP replicas)" if lay.dp > 1 else ""
    return f"stage {stage} · GPUs {ranks.start}–{ranks.stop - 1}{rep} · layers {a}–{b - 1}"


def _critical_keys(c: Compiled) -> frozenset:
    """(stage, position) of every prefill op on the critical path, in any micro-batch."""
    dag, crit = c.dag, c.schedule.critical
    return frozenset((dag.stage[i], dag.pos[i]) for i in range(len(dag)) if crit[i] and dag.phase[i] is Phase.PREFILL)


def _draw_ops(w: _Writer, ids: list[int], expand_layer) -> None:
    """Draw micro-batch 0 of prefill; `expand_layer(stage, layer)` says whether a layer shows its ops."""
    rep: dict[int, str] = {}                 # dag node → dot node id
    by_stage: dict[int, list[int]] = {}
    for i in ids:
        by_stage.setdefault(w.dag.stage[i], []).append(i)
    for stage in sorted(by_stage):
        w.lines.append(f"  subgraph cluster_stage{stage} {{")
        graph = _attrs(label=_stage_label(w.lay, stage), style="rounded", color="#6a51a3", fontsize=12,
                       id=f"stage{stage}")
        w.lines.append(f"    graph [{graph}];")
        _draw_stage(w, by_stage[stage], expand_layer, rep)
        w.lines.append("  }")
    _draw_edges(w, ids, rep)


def _draw_stage(w: _Writer, members: list[int], expand_layer, rep: dict[int, str]) -> None:
    """One stage's ops: expanded layers op by op, the others collapsed into one box per run."""
    dag, c = w.dag, w.c
    collapsed: dict[tuple[int, int], list[int]] = {}
    for i in members:
        stage, layer = dag.stage[i], dag.layer[i]
        if layer >= 0 and not expand_layer(stage, layer):
            collapsed.setdefault((stage, -1 if w.detail is Detail.SUMMARY else layer), []).append(i)
            continue
        rep[i] = f"n{i}"
        tooltip = f"{dag.kind[i].value} · layer {layer} · {format_si(float(c.costs.node_s[i]), Dimension.TIME)}"
        w.node(rep[i], _op_label(c, i), dag.kind[i], w.crit([i]), tooltip=tooltip)
    for (s, _layer), group in collapsed.items():
        layers = sorted({dag.layer[i] for i in group})
        nid = f"c{s}_{layers[0]}"
        kinds = {dag.kind[i] for i in group}
        moe = sum(1 for L in layers if c.plan.model.is_moe_layer(L))
        total = float(sum(c.costs.node_s[i] for i in group))
        if len(layers) > 1:
            label = (f"layers {layers[0]}–{layers[-1]}\n{moe} MoE · {len(layers) - moe} dense · "
                     f"{len(group)} ops\n{format_si(total, Dimension.TIME)}")
        else:
            label = (f"layer {layers[0]} ({'MoE' if moe else 'dense'})\n{len(group)} ops · "
                     f"{format_si(total, Dimension.TIME)}")
        w.node(nid, label, None, w.crit(group), shape="box3d", tooltip=f"{len(kinds)} op kinds collapsed")
        for i in group:
            rep[i] = nid


def _draw_edges(w: _Writer, ids: list[int], rep: dict[int, str]) -> None:
    """The data edges between drawn boxes, each once; a recv is fed by its send (the transfer)."""
    dag = w.dag
    seen: set[tuple[str, str]] = set()
    for i in ids:
        preds = [dag.pair[i]] if dag.kind[i] is OpKind.RECV else dag.preds[i]
        for p in preds:
            a, b = rep.get(p), rep.get(i)
            if a is None or b is None or a == b or (a, b) in seen:
                continue
            seen.add((a, b))
            cat = dag.kind[i].category if dag.kind[i].is_comm else dag.kind[p].category
            edge_label = None
            if dag.kind[i] is OpKind.RECV:
                edge_label = format_si(dag.template[i].comm_bytes_total, Dimension.SIZE)
            w.edge(a, b, cat, w.crit([i]) and w.crit([p]), edge_label)


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
                    w.node(nid, _op_label(w.c, i), dag.kind[i], w.crit([i]))
            w.lines.append("  }")
    for i in ids:
        for p in dag.preds[i]:
            if p in ids:
                for local in range(lay.group_size):
                    a = f"n{p}_r{dag.stage[p] * lay.group_size + local}"
                    b = f"n{i}_r{dag.stage[i] * lay.group_size + local}"
                    cat = dag.kind[i].category if dag.kind[i].is_comm else dag.kind[p].category
                    w.edge(a, b, cat, w.crit([i]) and w.crit([p]))


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
    match detail:
        case Detail.RANKS:
            _draw_ranks(w, ids)
        case Detail.FULL:
            _draw_ops(w, ids, lambda stage, layer: True)
        case Detail.LAYERS:
            _draw_ops(w, ids, lambda stage, layer: False)
        case Detail.SUMMARY:
            shown = {s: _representative_layer(c, s) for s in range(lay.pp)}
            _draw_ops(w, ids, lambda stage, layer: layer == shown[stage])
    return DotGraph(w.text(), detail, w.count, note)


def check_dot_timeout(timeout_s: float) -> float:
    """A usable `dot` timeout in seconds: `timeout_s`, at most DOT_TIMEOUT_MAX_S (a longer wait
    would overflow Python's timers); ValueError when it is not a finite number above 0.

    Example:
        >>> check_dot_timeout(60), check_dot_timeout(1e300)
        (60.0, 86400.0)
        >>> check_dot_timeout(float("nan"))
        Traceback (most recent call last):
        ValueError: the dot timeout must be a finite number of seconds above 0, not nan
    """
    try:
        value = float(timeout_s)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"the dot timeout must be a finite number of seconds above 0, not {timeout_s!r}")
    return min(value, DOT_TIMEOUT_MAX_S)


def render_svg(dot_text: str, svg_path, timeout_s: float = DOT_TIMEOUT_S) -> str | None:
    """Render DOT to SVG with Graphviz's `dot`. Returns None on success, else a warning (the
    caller keeps the .dot file): `dot` missing, failing, or slower than `timeout_s`.

    Raises:
        ValueError: `timeout_s` is not a finite number above 0.
        OutputError: `svg_path` exists and is not a regular file.
    """
    timeout_s = check_dot_timeout(timeout_s)
    check_target(Path(svg_path))      # `dot -o` writes through links and into devices
    exe = shutil.which("dot")
    if exe is None:
        return "Graphviz `dot` is not installed (Debian: apt-get install graphviz); dag.dot written, no SVG"
    try:
        proc = subprocess.run([exe, "-Tsvg", "-o", str(svg_path)], input=dot_text.encode(), capture_output=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"`dot` took longer than {timeout_s:.0f} s and was stopped; dag.dot written, no SVG"
    if proc.returncode != 0:
        return f"`dot` failed: {proc.stderr.decode(errors='replace').strip()[:300]}"
    return None
