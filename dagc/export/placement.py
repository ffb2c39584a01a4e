"""placement.svg: which GPU holds what, at a glance.

Input: a checked `StrategyResult`. Output: SVG text: a header (plan, strategy, GPUs used and,
when the drawing leaves GPUs out, "N of M GPUs shown" and why), a legend (one colour per
pipeline stage with its layers; what each colour of the memory bars means), then the cluster as
a grid of GPUs grouped by node. Each GPU shows its rank, stage and layers, its attention and
expert coordinates (axes of size 1 are left out), the routed experts it holds, and its memory as
a bar split into weights, KV cache, activations and the runtime reserve, with the figures of the
result's memory breakdown (never recomputed here). Idle GPUs are grey.

Caveats: the canvas is sized to its content and at most `MAX_WIDTH` wide, so that report.html
shows it at full size; text is never smaller than 10 px. Beyond `MAX_GPUS` cells, DP replicas
after the first are summarised (they are identical) and, if one replica is still too large, the
drawing stops at `MAX_GPUS` and says so. Text widths are estimated, not measured: a line that
would not fit its box is condensed with `textLength`.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

from ..layout.layout import Layout
from ..memory.memory import MemoryBreakdown, StageMemory
from ..verdict.check import StrategyResult
from .summary import data_parallel_text

__all__ = ["placement_svg", "stage_colours", "MAX_GPUS", "MAX_WIDTH", "MEMORY_PARTS"]

MAX_GPUS = 256
MAX_WIDTH = 1180                 # report.html's text column is 1200 px: the figure is shown unscaled
MARGIN, CELL_W, CELL_H, GAP, NODE_PAD, NODE_HEAD, NODE_GAP = 12, 138, 104, 4, 8, 16, 10
FONT = "Helvetica, Arial, DejaVu Sans, sans-serif"
EM_NORMAL, EM_BOLD = 0.62, 0.68  # generous average glyph widths (DejaVu Sans is the widest fallback)
LINE = 15
LEGEND_LABEL_W = 190             # the legend's labels ("pipeline stages", "memory bar") sit in this column
MAX_COORDS = 4_000_000          # layouts larger than this are not expanded to per-rank coordinates
PALETTE_MAX = 20                 # up to this many stages: swatches; more: a labelled gradient strip
IDLE_FILL = "#eeeeee"
# (StageMemory attribute, legend label, colour): the bar's segments, in drawing order.
MEMORY_PARTS = (("weights_bytes", "weights", "#3b6fb6"), ("kv_cache_bytes", "KV cache", "#e6862e"),
                ("activation_bytes", "activations", "#4a9a4a"), ("reserve_bytes", "reserve (runtime)", "#8c8c8c"))


def stage_colours(pp: int) -> list[str]:
    """One distinct light fill per pipeline stage (black text stays readable on each).

    Up to `PALETTE_MAX` stages: ten hues 36° apart, then ten darker ones between them, so that
    neighbouring stages differ strongly. More stages: a hue gradient from blue to red, read
    with the labelled strip of the legend.

    Example:
        >>> cs = stage_colours(16)
        >>> len(set(cs)) == 16 and cs[0] != cs[12]
        True
    """
    if pp <= PALETTE_MAX:
        hls = [((210 + 36 * s) % 360 / 360, 0.82, 0.72) if s < 10 else ((228 + 36 * (s - 10)) % 360 / 360, 0.70, 0.55)
               for s in range(pp)]
    else:
        hls = [((220 - 220 * s / (pp - 1)) / 360, 0.78, 0.66) for s in range(pp)]
    return ["#" + "".join(f"{round(v * 255):02x}" for v in colorsys.hls_to_rgb(h, lum, sat)) for h, lum, sat in hls]


def _width(s: str, size: float, bold: bool = False) -> float:
    return len(s) * size * (EM_BOLD if bold else EM_NORMAL)


def _text(x: float, y: float, s: str | tuple[str, ...], size: int = 10, weight: str = "normal",
          anchor: str = "start", cls: str | None = None, fit: float | None = None, fill: str | None = None) -> str:
    """A <text>. With `fit`: the first of the variants `s` (longest first) whose estimated width
    fits; if none does, the last one, condensed to that width (`textLength` would also stretch a
    text narrower than estimated, so it is the last resort)."""
    variants = (s,) if isinstance(s, str) else s
    s = next((v for v in variants if fit is None or _width(v, size, weight == "bold") <= fit), variants[-1])
    extra = f' class="{cls}"' if cls else ""
    if fill:
        extra += f' fill="{fill}"'
    if fit is not None and _width(s, size, weight == "bold") > fit:
        extra += f' textLength="{fit:.1f}" lengthAdjust="spacingAndGlyphs"'
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" '
            f'font-weight="{weight}" text-anchor="{anchor}"{extra}>{escape(s)}</text>')


def _rect(x: float, y: float, w: float, h: float, fill: str, stroke: str | None = None, extra: str = "") -> str:
    s = f' stroke="{stroke}"' if stroke else ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"{s}{extra}/>'


def _wrap(s: str, size: int, width: float, bold: bool = False) -> list[str]:
    """Greedy word wrap to an estimated width; a word longer than the width is cut into pieces."""
    per_line = max(1, int(width // (size * (EM_BOLD if bold else EM_NORMAL))))
    lines: list[str] = []
    for word in s.split(" "):
        if lines and _width(lines[-1] + " " + word, size, bold) <= width:
            lines[-1] += " " + word
        else:
            lines += [word[i:i + per_line] for i in range(0, max(len(word), 1), per_line)]
    return lines or [""]


def _gb(nbytes: float) -> str:
    """'80 GB', '85.9 GB': SI gigabytes, the decimal only when it says something."""
    return f"{nbytes / 1e9:.1f}".removesuffix(".0") + " GB"


def _layers(a: int, b: int) -> str:
    return "no layers" if b <= a else f"layer {a}" if b - a == 1 else f"layers {a}–{b - 1}"


def _short_layers(a: int, b: int) -> str:
    return "no layers" if b <= a else f"L{a}" if b - a == 1 else f"L{a}–{b - 1}"


@dataclass(frozen=True)
class _Shown:
    """Which ranks are drawn, out of how many GPUs, and what the header says about it."""

    ranks: int
    notes: tuple[str, ...]


def _shown(lay: Layout, available: int) -> _Shown:
    per_replica = lay.pp * lay.group_size
    notes: list[str] = []
    shown = min(available, MAX_GPUS)
    if available > MAX_GPUS:
        if per_replica <= MAX_GPUS:
            shown = per_replica
            why = (f"DP replica 0 (GPUs 0–{per_replica - 1}); replicas 1–{lay.dp - 1} are identical"
                   if lay.dp > 1 else f"the {per_replica} GPUs used")
        else:
            why = f"GPUs 0–{MAX_GPUS - 1} of the {lay.gpus_used} used" + (
                f" (DP replica 0 alone has {per_replica})" if lay.dp > 1 else "")
        notes.append(f"{shown} of {available} GPUs shown: {why}")
        if available > lay.gpus_used:
            notes.append(f"{available - lay.gpus_used} idle GPUs not drawn")
    if lay.gpus_used > available:
        notes.append(f"the strategy needs {lay.gpus_used} GPUs, {lay.gpus_used - available} more than the cluster has")
    return _Shown(max(1, shown), tuple(notes))


def _header_lines(r: StrategyResult, lay: Layout) -> list[tuple[str, int, bool]]:
    """(text, size, bold) of the header, before wrapping."""
    plan = r.plan
    lines = [(f"{plan.name} · strategy {r.decl.text}", 15, True),
             (f"{lay.gpus_used} of {plan.cluster.gpus} GPUs used = dp {lay.dp} × pp {lay.pp} × stage group "
              f"{lay.group_size} · {plan.cluster.gpu.name}, {lay.gpus_per_node} per node", 11, False)]
    adp, edp = data_parallel_text(lay)            # "—" where a domain does not divide the stage group (E203)
    axes = f"attention: tp {lay.tp}, cp {lay.cp}, DP {adp}"
    if plan.model.has_experts:
        axes += f" · experts: ep {lay.ep}, etp {lay.etp}, DP {edp}"
    lines.append((axes, 11, False))
    return lines


def _memory(r: StrategyResult) -> MemoryBreakdown | None:
    return r.compiled.memory if r.compiled is not None else r.memory


def placement_svg(result: StrategyResult) -> str:
    """SVG of the GPU placement of one strategy (needs a resolved layout).

    Args:
        result: a checked strategy.

    Returns:
        The SVG text, sized to its content (at most `MAX_WIDTH` wide).

    Raises:
        ValueError: the strategy has no layout (it did not resolve).
    """
    r, lay = result, result.layout
    if lay is None:
        raise ValueError("no layout: the strategy did not resolve")
    available = r.plan.cluster.gpus
    shown = _shown(lay, available)
    grid = _Grid.of(lay.gpus_per_node, shown.ranks)
    head: list[tuple[str, int, bool, str | None]] = [(t, size, bold, None) for t, size, bold in _header_lines(r, lay)]
    head += [(note, 11, True, "#8a1c00") for note in shown.notes]
    natural = max([grid.width] + [_width(t, size, bold) for t, size, bold, _ in head])
    width = math.ceil(min(MAX_WIDTH - 2 * MARGIN, natural)) + 2 * MARGIN
    inner = width - 2 * MARGIN
    out: list[str] = []
    y = float(MARGIN)
    for t, size, bold, fill in head:
        for part in _wrap(t, size, inner, bold):
            y += LINE + (4 if size > 12 else 0)
            out.append(_text(MARGIN, y, part, size, "bold" if bold else "normal", cls="note" if fill else None,
                             fill=fill, fit=inner))
    mem = _memory(r)
    scale = _MemScale.of(mem, r.plan.cluster.gpu.memory_bytes)
    y += 12
    legend, y = _stage_legend(lay, MARGIN, y, inner)
    out += legend
    if mem is not None:
        legend, y = _memory_legend(mem, scale, MARGIN, y, inner)
        out += legend
    y += 8
    out += grid.draw(r, lay, mem, scale, MARGIN, y)
    height = math.ceil(y + grid.height + MARGIN)
    return "\n".join([f'<svg xmlns="http://www.w3.org/2000/svg" class="placement" width="{width}" '
                      f'height="{height}" viewBox="0 0 {width} {height}">',
                      f'<rect width="{width}" height="{height}" fill="white"/>', *out, "</svg>"]) + "\n"


# ------------------------------------------------------------------ legend

def _stage_legend(lay: Layout, x0: float, y: float, inner: float) -> tuple[list[str], float]:
    """Stage colours: swatches with layers up to `PALETTE_MAX` stages, else a labelled strip."""
    colours = stage_colours(lay.pp)
    out = [_text(x0, y + 11, "pipeline stages (cell colour):", 11, "bold")]
    label_w = float(LEGEND_LABEL_W)
    if lay.pp > PALETTE_MAX:
        return _stage_strip(lay, colours, x0 + label_w, y, inner - label_w, out)
    entries = [f"stage {s}: {_layers(a, b)}" for s, (a, b) in enumerate(lay.stage_layers)]
    col_w = 14 + 5 + max(_width(e, 10) for e in entries) + 14
    if label_w + col_w > inner:
        label_w = 0     # a narrow canvas: the entries go under the label
        y += LINE
    per_row = max(1, int((inner - label_w) // col_w))
    for s, entry in enumerate(entries):
        ex = x0 + label_w + (s % per_row) * col_w
        ey = y + (s // per_row) * 18
        out.append(_rect(ex, ey, 14, 14, colours[s], "#636363", f' class="stage-swatch" data-stage="{s}"'))
        out.append(_text(ex + 19, ey + 11, entry, 10, fit=col_w - 33))
    rows = -(-len(entries) // per_row)
    return out, y + rows * 18 + 6


def _stage_strip(lay: Layout, colours: list[str], x0: float, y: float, width: float,
                 out: list[str]) -> tuple[list[str], float]:
    step_w = width / lay.pp
    for s, colour in enumerate(colours):
        out.append(_rect(x0 + s * step_w, y, step_w, 14, colour, extra=f' class="stage-swatch" data-stage="{s}"'))
    out.append(_rect(x0, y, width, 14, "none", "#636363"))
    # A tick every `every` stages, far enough apart for two lines of labels.
    every = max(1, -(-lay.pp * 80 // int(width)))
    ticks = [s for s in range(0, lay.pp, every) if (lay.pp - 1 - s) * step_w >= 80] + [lay.pp - 1]
    for s in ticks:
        cx = x0 + (s + 0.5) * step_w
        anchor = "start" if s == 0 else "end" if s == lay.pp - 1 else "middle"
        tx = x0 if s == 0 else x0 + width if s == lay.pp - 1 else cx
        a, b = lay.stage_layers[s]
        out.append(f'<line x1="{cx:.1f}" y1="{y + 14}" x2="{cx:.1f}" y2="{y + 18}" stroke="#636363"/>')
        out.append(_text(tx, y + 29, f"stage {s}", 10, anchor=anchor))
        out.append(_text(tx, y + 41, _short_layers(a, b), 10, anchor=anchor))
    return out, y + 48


@dataclass(frozen=True)
class _MemScale:
    """Bytes per pixel of every memory bar: the bar is the GPU's capacity, or the largest rank's
    total when that is larger (then a red line marks the capacity)."""

    capacity_bytes: float
    full_bytes: float

    @classmethod
    def of(cls, mem: MemoryBreakdown | None, capacity_bytes: float) -> _MemScale:
        if mem is None or not mem.stages:
            return cls(capacity_bytes, capacity_bytes)
        capacity_bytes = mem.stages[0].capacity_bytes
        return cls(capacity_bytes, max(capacity_bytes, max(st.total_bytes for st in mem.stages)))

    @property
    def over(self) -> bool:
        return self.full_bytes > self.capacity_bytes

    def px(self, nbytes: float, bar_w: float) -> float:
        return nbytes / self.full_bytes * bar_w if self.full_bytes > 0 else 0.0


def _memory_parts(mem: MemoryBreakdown) -> list[tuple[str, str, str]]:
    """The bar segments worth drawing: the reserve only when the memory model has one."""
    return [p for p in MEMORY_PARTS if p[0] != "reserve_bytes" or any(st.reserve_bytes > 0 for st in mem.stages)]


def _memory_legend(mem: MemoryBreakdown, scale: _MemScale, x0: float, y: float,
                   inner: float) -> tuple[list[str], float]:
    """What each colour of the memory bars means, and what a full bar is."""
    out = [_text(x0, y + 11, "memory bar:", 11, "bold")]
    gb = _gb(scale.capacity_bytes)
    note = (f"full bar = {_gb(scale.full_bytes)}, the red line = the GPU's {gb}" if scale.over
            else f"full bar = the GPU's {gb}")
    items = [(label, colour) for _, label, colour in _memory_parts(mem)] + [(note, None)]
    x = x0 + LEGEND_LABEL_W
    for label, colour in items:
        w = (19 if colour else 0) + _width(label, 10) + 14
        if x + w > x0 + inner and x > x0 + LEGEND_LABEL_W:
            x, y = x0 + LEGEND_LABEL_W, y + 18
        if colour:
            out.append(_rect(x, y, 14, 14, colour, "#636363", ' class="memory-swatch"'))
        out.append(_text(x + (19 if colour else 0), y + 11, label, 10, fit=x0 + inner - x - (19 if colour else 0)))
        x += w
    return out, y + 24


# ------------------------------------------------------------------ the grid of GPUs

@dataclass(frozen=True)
class _Grid:
    """Geometry of the GPU grid: nodes of `cols` cells per row, `per_row` nodes side by side."""

    gpn: int
    ranks: int
    cols: int
    per_row: int

    @classmethod
    def of(cls, gpn: int, ranks: int) -> _Grid:
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

    def draw(self, r: StrategyResult, lay: Layout, mem: MemoryBreakdown | None, scale: _MemScale,
             x0: float, y0: float) -> list[str]:
        colours = stage_colours(lay.pp)
        out = []
        for node in range(self.nodes):
            nx = x0 + (node % self.per_row) * (self.node_w + NODE_GAP)
            ny = y0 + (node // self.per_row) * (self.node_h + NODE_GAP)
            out.append(f'<g id="node{node}">' + _rect(nx, ny, self.node_w, self.node_h, "#fafafa", "#636363",
                                                       ' rx="8"'))
            out.append(_text(nx + NODE_PAD, ny + 13, f"node {node}", 11, "bold"))
            for k in range(min(self.gpn, self.ranks - node * self.gpn)):
                x = nx + NODE_PAD + (k % self.cols) * (CELL_W + GAP)
                y = ny + NODE_PAD + NODE_HEAD + (k // self.cols) * (CELL_H + GAP)
                out.append(_gpu_cell(node * self.gpn + k, x, y, r, lay, mem, scale, colours))
            out.append("</g>")
        return out


def _gpu_cell(rank: int, x: float, y: float, r: StrategyResult, lay: Layout, mem: MemoryBreakdown | None,
              scale: _MemScale, colours: list[str]) -> str:
    fit = CELL_W - 12
    if rank >= lay.gpus_used or lay.gpus_used > MAX_COORDS:
        return "".join([f'<g id="gpu{rank}" class="gpu idle">', _rect(x, y, CELL_W, CELL_H, IDLE_FILL, "#bdbdbd",
                                                                       ' rx="4"'),
                        _text(x + 6, y + 15, f"GPU {rank}", 11, "bold"), _text(x + 6, y + 30, "idle", 10, cls="idle"),
                        "</g>"])
    c = lay.coords
    stage, replica = int(c["stage"][rank]), int(c["replica"][rank])
    a, b = lay.stage_layers[stage]
    st = mem.stages[stage] if mem is not None else None
    parts = [f'<g id="gpu{rank}" class="gpu" data-stage="{stage}">',
             f"<title>{escape(_tooltip(rank, lay, stage, st))}</title>",
             _rect(x, y, CELL_W, CELL_H, colours[stage], "#636363", ' rx="4"'),
             _text(x + 6, y + 15, f"GPU {rank}", 11, "bold")]
    if lay.dp > 1:
        parts.append(_text(x + CELL_W - 6, y + 15, f"dp {replica}", 10, anchor="end"))
    parts.append(_text(x + 6, y + 29, (f"stage {stage}: {_layers(a, b)}", f"stage {stage}: {_short_layers(a, b)}"),
                       10, fit=fit))
    attention = (("tp", lay.tp), ("cp", lay.cp)) + ((("adp", lay.adp),) if lay.attention_divides else ())
    parts.append(_text(x + 6, y + 42, _coords(c, rank, attention), 10, fit=fit))
    if r.plan.model.has_experts:
        e = int(c["ep"][rank])
        held = lay.experts_of(e)
        what = f"experts {held.start}–{held.stop - 1}" if len(held) > 1 else f"expert {held.start}"
        parts.append(_text(x + 6, y + 55, _coords(c, rank, (("ep", lay.ep), ("etp", lay.etp))), 10, fit=fit))
        share = f"1/{lay.etp} of " if lay.etp > 1 else ""
        parts.append(_text(x + 6, y + 68, (share + what, share + what.replace("experts ", "exp. ")), 10, fit=fit))
    else:
        parts.append(_text(x + 6, y + 55, "dense FFN split by tp", 10, fit=fit))
    if st is not None:
        parts += _memory_bar(st, scale, x + 6, y + 75, CELL_W - 12)
    parts.append("</g>")
    return "".join(parts)


def _coords(c: dict, rank: int, axes: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    """'tp 1/4 · adp 3/16' (and tighter variants): this rank's index on each axis larger than 1
    (or on the first axis when all are 1)."""
    kept = [(name, n) for name, n in axes if n > 1] or [axes[0]]
    return (" · ".join(f"{name} {int(c[name][rank])}/{n}" for name, n in kept),
            " ".join(f"{name} {int(c[name][rank])}/{n}" for name, n in kept),
            " ".join(f"{name}{int(c[name][rank])}/{n}" for name, n in kept))


def _tooltip(rank: int, lay: Layout, stage: int, st: StageMemory | None) -> str:
    a, b = lay.stage_layers[stage]
    s = f"GPU {rank}, node {rank // lay.gpus_per_node}: stage {stage}, {_layers(a, b)}"
    if st is None:
        return s
    parts = ", ".join(f"{label} {getattr(st, key) / 1e9:.2f} GB" for key, label, _ in MEMORY_PARTS)
    return f"{s}; {parts}; total {st.total_bytes / 1e9:.2f} GB of {_gb(st.capacity_bytes)}"


def _memory_bar(st: StageMemory, scale: _MemScale, x: float, y: float, bar_w: float) -> list[str]:
    """The stacked bar (one segment per category, its bytes in `data-bytes`) and its figures."""
    out = [_rect(x, y, bar_w, 10, "white", "#969696")]
    left = x
    for key, label, colour in MEMORY_PARTS:
        nbytes = float(getattr(st, key))
        if nbytes <= 0:
            continue
        w = scale.px(nbytes, bar_w)
        out.append(_rect(left, y, w, 10, colour, extra=f' class="mem" data-part="{label}" data-bytes="{nbytes!r}"'))
        left += w
    if scale.over:
        cx = x + scale.px(scale.capacity_bytes, bar_w)
        out.append(f'<line x1="{cx:.1f}" y1="{y - 2}" x2="{cx:.1f}" y2="{y + 12}" stroke="#d7191c" '
                   f'stroke-width="2"/>')
    pct = st.total_bytes / scale.capacity_bytes * 100
    over = st.total_bytes > scale.capacity_bytes
    out.append(_text(x, y + 23, f"{st.total_bytes / 1e9:.1f} GB · {pct:.0f} %", 10,
                     "bold" if over else "normal", cls="over" if over else None, fill="#b2182b" if over else None,
                     fit=bar_w))
    return out
