"""The grid of GPUs in placement.svg: nodes side by side, in each its GPUs as cells that show rank,
stage and layers, attention and expert coordinates, the experts held and a memory bar (weights,
KV cache, activations, reserve) on one scale for every GPU.

Input: a checked `StrategyResult`, its layout and memory breakdown, how many ranks are drawn.
Output: the grid's geometry (`Grid`) and its SVG elements; the bars' scale (`MemScale`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from ..layout.layout import Layout
from ..memory.memory import MemoryBreakdown, StageMemory
from ..units import format_percent
from ..verdict.check import StrategyResult
from .placement_style import (
    CELL_H,
    CELL_W,
    GAP,
    HEADING,
    MARGIN,
    MAX_WIDTH,
    MEMORY_PARTS,
    NODE_GAP,
    NODE_HEAD,
    NODE_PAD,
    PLAIN,
    TextStyle,
    gb_text,
    layers,
    rect,
    short_layers,
    stage_colours,
    svg_text,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MAX_COORDS = 4_000_000          # layouts larger than this are not expanded to per-rank coordinates
IDLE_FILL = "#eeeeee"
# another instance's GPUs in a disaggregated strategy's grid: its pool's colour, lightened
POOL_FILLS = {"prefill": "#fdd0a2", "decode": "#c6dbef"}


@dataclass(frozen=True)
class MemScale:
    """Bytes per pixel of every memory bar: the bar is the GPU's capacity, or the largest rank's
    total when that is larger (then a red line marks the capacity)."""

    capacity_bytes: float
    full_bytes: float

    @classmethod
    def of(cls, mem: MemoryBreakdown | None, capacity_bytes: float) -> MemScale:
        if mem is None or not mem.stages:
            return cls(capacity_bytes, capacity_bytes)
        capacity_bytes = mem.stages[0].capacity_bytes
        return cls(capacity_bytes, max(capacity_bytes, max(st.total_bytes for st in mem.stages)))

    @property
    def over(self) -> bool:
        return self.full_bytes > self.capacity_bytes

    def px(self, nbytes: float, bar_w: float) -> float:
        return nbytes / self.full_bytes * bar_w if self.full_bytes > 0 else 0.0


@dataclass(frozen=True)
class Grid:
    """Geometry of the GPU grid: nodes of `cols` cells per row, `per_row` nodes side by side."""

    gpn: int
    ranks: int
    cols: int
    per_row: int

    @classmethod
    def of(cls, gpn: int, ranks: int) -> Grid:
        cols = max(1, min(gpn, 8))
        node_w = cols * (CELL_W + GAP) - GAP + 2 * NODE_PAD
        per_row = max(1, min(-(-ranks // gpn), (MAX_WIDTH - 2 * MARGIN + NODE_GAP) // (node_w + NODE_GAP)))
        return cls(gpn, ranks, cols, per_row)

    @property
    def node_w(self) -> int:
        return self.cols * (CELL_W + GAP) - GAP + 2 * NODE_PAD

    @property
    def node_h(self) -> int:
        rows = -(-min(self.gpn, self.ranks) // self.cols)
        return NODE_HEAD + rows * (CELL_H + GAP) - GAP + 2 * NODE_PAD

    @property
    def nodes(self) -> int:
        return -(-self.ranks // self.gpn)

    @property
    def width(self) -> int:
        return self.per_row * (self.node_w + NODE_GAP) - NODE_GAP

    @property
    def height(self) -> int:
        return -(-self.nodes // self.per_row) * (self.node_h + NODE_GAP) - NODE_GAP

    def draw(self, cells: Cells, x0: float, y0: float) -> list[str]:
        out = []
        for node in range(self.nodes):
            nx = x0 + (node % self.per_row) * (self.node_w + NODE_GAP)
            ny = y0 + (node // self.per_row) * (self.node_h + NODE_GAP)
            out.append(f'<g id="node{node}">' + rect(nx, ny, self.node_w, self.node_h, "#fafafa", "#636363",
                                                       ' rx="8"'))
            out.append(svg_text(nx + NODE_PAD, ny + 13, f"node {node}", HEADING))
            for k in range(min(self.gpn, self.ranks - node * self.gpn)):
                x = nx + NODE_PAD + (k % self.cols) * (CELL_W + GAP)
                y = ny + NODE_PAD + NODE_HEAD + (k // self.cols) * (CELL_H + GAP)
                out.append(_gpu_cell(node * self.gpn + k, x, y, cells))
            out.append("</g>")
        return out


@dataclass(frozen=True, slots=True)
class Cells:
    """What every GPU's cell of one drawing is drawn from: the result, its layout and memory, the memory bar's
    scale and the stages' colours; of a disaggregated strategy, the first GPU of the instance drawn (`offset`) and
    the pool and instance of every GPU (`owners`), so that the instance sits where `dagc launch` puts it and the
    other instances' GPUs say whose they are."""

    r: StrategyResult
    lay: Layout
    mem: MemoryBreakdown | None
    scale: MemScale
    colours: list[str]
    offset: int = 0
    owners: Mapping[int, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, r: StrategyResult, lay: Layout, mem: MemoryBreakdown | None, scale: MemScale, offset: int = 0,
           owners: Mapping[int, tuple[str, int]] | None = None) -> Cells:
        return cls(r, lay, mem, scale, stage_colours(lay.pp), offset, owners or {})


def _other_cell(rank: int, x: float, y: float, cells: Cells) -> str:
    """A GPU outside the layout drawn: idle, or (a disaggregated strategy) another instance's, not drawn."""
    held = cells.owners.get(rank)
    word, fill = ("idle", IDLE_FILL) if held is None else (f"{held[0]} instance {held[1]}", POOL_FILLS[held[0]])
    note = [] if held is None else [svg_text(x + 6, y + 44, "(not drawn)", TextStyle(10, cls="idle"))]
    cls = "gpu idle" if held is None else "gpu other-instance"
    return "".join([f'<g id="gpu{rank}" class="{cls}">', rect(x, y, CELL_W, CELL_H, fill, "#bdbdbd", ' rx="4"'),
                    svg_text(x + 6, y + 15, f"GPU {rank}", HEADING),
                    svg_text(x + 6, y + 30, word, TextStyle(10, cls="idle"), fit=CELL_W - 12), *note, "</g>"])


def _gpu_cell(gpu: int, x: float, y: float, cells: Cells) -> str:
    r, lay, mem, scale, colours = cells.r, cells.lay, cells.mem, cells.scale, cells.colours
    fit = CELL_W - 12
    rank = gpu - cells.offset             # the GPU's rank in the layout drawn
    if not 0 <= rank < lay.gpus_used or lay.gpus_used > MAX_COORDS:
        return _other_cell(gpu, x, y, cells)
    c = lay.coords
    stage, replica = int(c["stage"][rank]), int(c["replica"][rank])
    a, b = lay.stage_layers[stage]
    st = mem.stages[stage] if mem is not None else None
    parts = [f'<g id="gpu{gpu}" class="gpu" data-stage="{stage}">',
             f"<title>{escape(_tooltip(gpu, lay, stage, st))}</title>",
             rect(x, y, CELL_W, CELL_H, colours[stage], "#636363", ' rx="4"'),
             svg_text(x + 6, y + 15, f"GPU {gpu}", HEADING)]
    if lay.dp > 1:
        parts.append(svg_text(x + CELL_W - 6, y + 15, f"dp {replica}", TextStyle(10, anchor="end")))
    parts.append(svg_text(x + 6, y + 29, (f"stage {stage}: {layers(a, b)}", f"stage {stage}: {short_layers(a, b)}"),
                          fit=fit))
    attention = (("tp", lay.tp), ("cp", lay.cp)) + ((("adp", lay.adp),) if lay.attention_divides else ())
    parts.append(svg_text(x + 6, y + 42, _coords(c, rank, attention), fit=fit))
    if r.plan.model.has_experts:
        e = int(c["ep"][rank])
        what = _held(lay.experts_of(e), lay.slots_of(e).stop > lay.experts)
        parts.append(svg_text(x + 6, y + 55, _coords(c, rank, (("ep", lay.ep), ("etp", lay.etp))), fit=fit))
        share = f"1/{lay.etp} of " if lay.etp > 1 else ""
        parts.append(svg_text(x + 6, y + 68, (share + what, share + what.replace("experts ", "exp. ")), fit=fit))
    else:
        parts.append(svg_text(x + 6, y + 55, "dense FFN split by tp", fit=fit))
    if st is not None:
        parts += _memory_bar(st, scale, x + 6, y + 75, CELL_W - 12)
    parts.append("</g>")
    return "".join(parts)


def _held(experts: tuple[int, ...], copies: bool) -> str:
    """'experts 252–255, 0–1 (+copies)': the experts a rank's slots hold, as runs of consecutive ids;
    `copies` when some of its slots are redundant ones (copies of experts held elsewhere too)."""
    runs: list[list[int]] = []
    for x in experts:
        if runs and x == runs[-1][1] + 1:
            runs[-1][1] = x
        else:
            runs.append([x, x])
    text = ", ".join(f"{a}–{b}" if b > a else f"{a}" for a, b in runs)
    return ("experts " if len(experts) > 1 else "expert ") + text + (" (+copies)" if copies else "")


def _coords(c: dict[str, npt.NDArray[np.int64]], rank: int, axes: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    """'tp 1/4 · adp 3/16' (and tighter variants): this rank's index on each axis larger than 1
    (or on the first axis when all are 1)."""
    kept = [(name, n) for name, n in axes if n > 1] or [axes[0]]
    return (" · ".join(f"{name} {int(c[name][rank])}/{n}" for name, n in kept),
            " ".join(f"{name} {int(c[name][rank])}/{n}" for name, n in kept),
            " ".join(f"{name}{int(c[name][rank])}/{n}" for name, n in kept))


def _tooltip(rank: int, lay: Layout, stage: int, st: StageMemory | None) -> str:
    a, b = lay.stage_layers[stage]
    s = f"GPU {rank}, node {rank // lay.gpus_per_node}: stage {stage}, {layers(a, b)}"
    if st is None:
        return s
    parts = ", ".join(f"{label} {gb_text(getattr(st, key))}" for key, label, _ in MEMORY_PARTS)
    return f"{s}; {parts}; total {gb_text(st.total_bytes)} of {gb_text(st.capacity_bytes)}"


def _memory_bar(st: StageMemory, scale: MemScale, x: float, y: float, bar_w: float) -> list[str]:
    """The stacked bar (one segment per category, its bytes in `data-bytes`) and its figures."""
    out = [rect(x, y, bar_w, 10, "white", "#969696")]
    left = x
    for key, label, colour in MEMORY_PARTS:
        nbytes = float(getattr(st, key))
        if nbytes <= 0:
            continue
        w = scale.px(nbytes, bar_w)
        out.append(rect(left, y, w, 10, colour, extra=f' class="mem" data-part="{label}" data-bytes="{nbytes!r}"'))
        left += w
    if scale.over:
        cx = x + scale.px(scale.capacity_bytes, bar_w)
        out.append(f'<line x1="{cx:.1f}" y1="{y - 2}" x2="{cx:.1f}" y2="{y + 12}" stroke="#d7191c" '
                   f'stroke-width="2"/>')
    pct = format_percent(st.total_bytes / scale.capacity_bytes)
    over = st.total_bytes > scale.capacity_bytes
    style = TextStyle(10, "bold", cls="over", fill="#b2182b") if over else PLAIN
    out.append(svg_text(x, y + 23, f"{gb_text(st.total_bytes)} · {pct}", style, fit=bar_w))
    return out
