"""The Graphviz graph dag.dot is built in: how an op, a collapsed box and an edge look (shape by
category, fill colour by kind, communication dashed, the critical path thick and red with class
"crit"), the title and the legend.

Input: a scheduled `Compiled`, the level drawn and why it fell back. Output: `Writer`, which the
levels (dot_draw.py) fill with nodes, edges and clusters and which gives the DOT text.

The DOT is assembled and quoted by the `graphviz` package (`Digraph`, `subgraph`, `node`, `edge`);
every attribute value is given to it as literal text (`_text`): backslashes doubled, line breaks
as `\\n`, never an HTML-like label, so a name from a plan never becomes markup.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator

import graphviz

from ..diagnostics import printable
from ..ir.dag import Category, Dag, OpKind
from ..ir.op_shapes import chunk_prompt_tokens
from ..layout.modes import mode_of
from ..units import Dimension, count_text, format_si
from ..verdict.compiled import Compiled
from .what_if import titled

__all__ = ["KIND_COLOURS", "EDGE_COLOURS"]

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
# The step a pool's instance's drawing shows, by its mode's name
_POOL_STEP = {"prefill": "prefill", "decode": "first decode step"}


def _text(value: str | int | float) -> str:
    """An attribute value Graphviz reads literally: a number as Python prints it; text with its
    backslashes doubled (`graphviz.escape`: no `\\N`, `\\G`, `\\l` escapes), its line breaks as
    DOT's `\\n`, its `&` written `&amp;` (Graphviz reads character entities in a label: a plan named
    `a&amp;b` would be drawn `a&b`), and never an HTML-like label (`nohtml`: `<b>…</b>` stays text). The
    package's quoting adds the quotes where needed and escapes `"`.

    Example:
        >>> str(_text("a&amp;b <i>"))
        'a&amp;amp;b <i>'
    """
    if isinstance(value, (int, float)):
        return str(value)
    text: str = graphviz.nohtml(graphviz.escape(value.replace("&", "&amp;")).replace("\n", "\\n"))
    return text


def _attrs(**kw: str | int | float | None) -> list[tuple[str, str]]:
    """Attribute pairs in the order given (a list keeps it; the package sorts a dict), None left out."""
    return [(k, _text(v)) for k, v in kw.items() if v is not None]


def _shape(kind: OpKind) -> str:
    if kind in (OpKind.SEND, OpKind.RECV):
        return "cds"
    return "hexagon" if kind.is_comm else "box"


Key = tuple[int, float]      # (stage, position in the pass): the same op in every micro-batch


def position_key(dag: Dag, i: int) -> Key:
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
            steps.add((position_key(dag, a), position_key(dag, send)))
            a = send
        steps.add((position_key(dag, a), position_key(dag, b)))
    return frozenset(steps)


class Writer:
    def __init__(self, c: Compiled, level: str, note: str | None):
        self.c = c
        self.dag = c.dag
        self.lay = c.layout
        self.steps = _critical_steps(c)
        path = c.schedule.prefill_path.nodes
        self.critical_keys = (frozenset(k for step in self.steps for k in step)
                              | {position_key(c.dag, i) for i in path[:1]})
        self.graph = graphviz.Digraph(name="dag")
        self.target = self.graph          # where nodes and edges go: the innermost open cluster
        self.count = 0
        self.level = level                # the level drawn (a `Detail`'s value), for the title
        self.note = note

    @contextlib.contextmanager
    def cluster(self, name: str, **attrs: str | int | float | None) -> Iterator[None]:
        """Nodes and edges drawn in the block go into the cluster `cluster_<name>` of the current graph."""
        outer = self.target
        with outer.subgraph(name=f"cluster_{name}", graph_attr=dict(_attrs(**attrs))) as sub:
            self.target = sub
            try:
                yield
            finally:
                self.target = outer

    def crit(self, ids: Iterable[int]) -> bool:
        """Whether any of these ops is on the prefill critical path in any micro-batch (the picture
        shows micro-batch 0; the path usually runs through the last one)."""
        return any(position_key(self.dag, i) in self.critical_keys for i in ids)

    def crit_edge(self, p: int, i: int) -> bool:
        """Whether the critical path goes from op `p` straight to op `i`, in any micro-batch."""
        return (position_key(self.dag, p), position_key(self.dag, i)) in self.steps

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
        if crit:
            attrs += _attrs(penwidth=3, color="#cb181d")
        self.target.node(nid, _attributes=attrs)

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
        self.target.edge(a, b, _attributes=attrs)

    def header(self) -> None:
        c, lay = self.c, self.lay
        figures = [f"TTFT {format_si(c.metrics.ttft_s, Dimension.TIME)}",
                   f"TPOT {format_si(c.metrics.tpot_s, Dimension.TIME)}"]
        mode = mode_of(c.plan.workload)        # a pool's instance has its own figure alone
        shown = [f for f, own in zip(figures, mode.owns, strict=True) if own]
        title = " · ".join([f"{printable(titled(c.plan))} · strategy {c.strategy.text}",
                            count_text(lay.gpus_used, "GPU"), *shown])
        what = (f"one {mode.role} instance of a disaggregated strategy: its " + _POOL_STEP[mode.name]
                if mode.role is not None else
                "in flight: mixed step (decode tokens + a prompt's chunk of "
                f"{chunk_prompt_tokens(c.plan.workload, lay):,} tokens in attention-DP group 0)"
                if mode.continuous else "prefill")
        sub = f"{what}, micro-batch 0 of {lay.microbatches}; detail: {self.level}"
        if self.note:
            sub += f" ({self.note})"
        big = self.count > 1000
        self.graph.graph_attr.update(_attrs(label=title + chr(10) + sub, labelloc="t", fontname="Helvetica",
                                            fontsize=16, rankdir="TB", newrank="true", compound="true",
                                            nslimit=0.05 if big else None, nslimit1=0.05 if big else None))
        self.graph.node_attr.update(_attrs(fontname="Helvetica", fontsize=10, style="filled,rounded"))
        self.graph.edge_attr.update(_attrs(fontname="Helvetica", fontsize=8))

    def legend(self) -> None:
        with self.cluster("legend", label="legend", style="dashed", color="#999999"):
            prev = None
            for kind in (OpKind.QKV_PROJ, OpKind.ATTENTION, OpKind.EXPERT_FFN, OpKind.DENSE_FFN, OpKind.ALL_REDUCE,
                         OpKind.ALL_TO_ALL_DISPATCH, OpKind.SEND):
                nid = f"legend_{kind.value}"
                label = {OpKind.QKV_PROJ: "compute", OpKind.ALL_REDUCE: "TP collective",
                         OpKind.ALL_TO_ALL_DISPATCH: "EP all-to-all", OpKind.SEND: "PP send/recv"}.get(kind, kind.value)
                self.target.node(nid, _attributes=_attrs(label=label, shape=_shape(kind), fillcolor=KIND_COLOURS[kind],
                                                         id=nid))
                if prev:
                    self.target.edge(prev, nid, _attributes=_attrs(style="invis"))
                prev = nid
            self.target.node("legend_crit", _attributes=_attrs(
                label="critical path\n(dotted: waits\nfor its stream)", shape="box", fillcolor="#ffffff",
                id="legend_crit", penwidth=3, color="#cb181d"))
            self.target.edge(prev, "legend_crit", _attributes=_attrs(style="invis"))
            self.target.node("legend_collapsed", _attributes=_attrs(label="collapsed layers", shape="box3d",
                                                                    fillcolor="#f0f0f0", id="legend_collapsed"))
            self.target.edge("legend_crit", "legend_collapsed", _attributes=_attrs(style="invis"))
            if self.c.costs.model.host_s(1) > 0:      # the engine's host time rides on each step's embedding
                self.target.node("legend_host", _attributes=_attrs(
                    label="embed + host: the step's\nengine host time, carried\nby its embedding", shape="box",
                    fillcolor=KIND_COLOURS.get(OpKind.EMBED, "#f0f0f0"), id="legend_host"))
                self.target.edge("legend_collapsed", "legend_host", _attributes=_attrs(style="invis"))

    def text(self) -> str:
        self.header()
        self.legend()
        source: str = self.graph.source
        return source
