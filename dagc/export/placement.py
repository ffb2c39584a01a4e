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

This module lays out the page (header, legends); placement_grid.py draws the GPUs, and
placement_style.py holds the sizes, colours and text elements both use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..diagnostics import printable
from ..layout.layout import Layout
from ..layout.pools import instance_starts
from ..memory.memory import MemoryBreakdown
from ..plan.cluster import per_node_text
from ..units import count_text
from ..verdict.check import StrategyResult
from .placement_grid import Cells, Grid, MemScale
from .placement_style import (
    HEADING,
    LEGEND_LABEL_W,
    LINE,
    MARGIN,
    MAX_WIDTH,
    MEMORY_PARTS,
    PALETTE_MAX,
    TextStyle,
    gb_text,
    layers,
    rect,
    short_layers,
    stage_colours,
    svg_text,
    text_width,
    wrap,
)
from .summary import data_parallel_text
from .what_if import titled

__all__ = ["placement_svg", "MAX_GPUS"]

MAX_GPUS = 256


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
            why = f"GPUs 0–{MAX_GPUS - 1} of the {lay.gpus_used:,} used" + (
                f" (DP replica 0 alone has {per_replica})" if lay.dp > 1 else "")
        notes.append(f"{shown} of {available} GPUs shown: {why}")
        if available > lay.gpus_used:
            notes.append(f"{available - lay.gpus_used:,} idle GPUs not drawn")
    if lay.gpus_used > available:
        more = lay.gpus_used - available
        notes.append(f"the strategy needs {lay.gpus_used:,} GPUs, {more:,} more than the cluster has")
    return _Shown(max(1, shown), tuple(notes))


def _header_lines(r: StrategyResult, lay: Layout) -> list[tuple[str, int, bool]]:
    """(text, size, bold) of the header, before wrapping."""
    plan = r.plan
    lines = [(f"{printable(titled(plan))} · strategy {r.decl.text}", 15, True)]
    if r.pooled is not None:            # the layout drawn is one decode instance's
        p, d = r.pooled.pools[0], r.pooled.pools[-1]
        lines.append((f"one decode instance drawn ({d.pool.strategy.text}, {count_text(d.gpus_per_instance, 'GPU')}) "
                      "of a "
                      f"disaggregated deployment of {r.gpus_used:,} GPUs: {p.pool.instances} × {p.gpus_per_instance} "
                      f"prefill, {d.pool.instances} × {d.gpus_per_instance} decode", 11, True))
    used = (count_text(lay.gpus_used, "GPU") if r.pooled is not None else
            f"{lay.gpus_used:,} of {count_text(plan.cluster.gpus, 'GPU')} used")
    gpu = ", ".join(filter(None, [printable(plan.cluster.gpu.name), per_node_text(plan.cluster)]))
    lines.append((f"{used} = dp {lay.dp} × pp {lay.pp} × stage group {lay.group_size} · {gpu}", 11, False))
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
    grid = Grid.of(lay.gpus_per_node, shown.ranks)
    head: list[tuple[str, int, bool, str | None]] = [(t, size, bold, None) for t, size, bold in _header_lines(r, lay)]
    head += [(note, 11, True, "#8a1c00") for note in shown.notes]
    natural = max([grid.width] + [text_width(t, size, bold) for t, size, bold, _ in head])
    width = math.ceil(min(MAX_WIDTH - 2 * MARGIN, natural)) + 2 * MARGIN
    inner = width - 2 * MARGIN
    out: list[str] = []
    y = float(MARGIN)
    for t, size, bold, fill in head:
        for part in wrap(t, size, inner, bold):
            y += LINE + (4 if size > 12 else 0)
            style = TextStyle(size, "bold" if bold else "normal", cls="note" if fill else None, fill=fill)
            out.append(svg_text(MARGIN, y, part, style, fit=inner))
    mem = _memory(r)
    scale = MemScale.of(mem, r.plan.cluster.gpu.memory_bytes)
    y += 12
    if r.pooled is not None:
        strip, y = _pools_strip(r, MARGIN, y, inner)
        out += strip
    legend, y = _stage_legend(lay, MARGIN, y, inner)
    out += legend
    if mem is not None:
        legend, y = _memory_legend(mem, scale, MARGIN, y, inner)
        out += legend
    y += 8
    owners = pool_owners(r) if r.pooled is not None else {}
    offset = min((g for g, (role, *_) in owners.items() if role == "decode"), default=0)   # the instance drawn
    if offset + lay.gpus_used > shown.ranks:        # past the GPUs drawn: the instance alone, from GPU 0
        offset, owners = 0, {}
    out += grid.draw(Cells.of(r, lay, mem, scale, offset, {g: (role, k) for g, (role, _, k) in owners.items()}),
                     MARGIN, y)
    height = math.ceil(y + grid.height + MARGIN)
    return "\n".join([f'<svg xmlns="http://www.w3.org/2000/svg" class="placement" width="{width}" '
                      f'height="{height}" viewBox="0 0 {width} {height}">',
                      f'<rect width="{width}" height="{height}" fill="white"/>', *out, "</svg>"]) + "\n"


# ------------------------------------------------------------------ pools

POOL_COLOURS: dict[str | None, str] = {"prefill": "#fd8d3c", "decode": "#4292c6", None: "#f0f0f0"}  # None: idle
POOL_CELL = 9           # px of one GPU in the pools' strip


def _pools_strip(r: StrategyResult, x0: float, y: float, inner: float) -> tuple[list[str], float]:
    """A disaggregated strategy's GPUs by pool, node by node — each instance where `dagc launch` puts
    it (`dagc.layout.pools.instance_starts`: prefill pool first, whole nodes where they can) — one
    small cell per GPU (at most `MAX_GPUS`, then said), the grid below drawing one decode instance."""
    assert r.pooled is not None
    gpn, total = r.plan.cluster.gpus_per_node, r.plan.cluster.gpus
    owner = pool_owners(r)
    shown = min(max(total, max(owner, default=0) + 1), MAX_GPUS)
    parts = [f"{p.pool.role}: {p.pool.instances} × {count_text(p.gpus_per_instance, 'GPU')} ({p.pool.strategy.text})"
             for p in r.pooled.pools]
    out = [svg_text(x0, y + 11, "pools (one cell per GPU, node by node):", HEADING)]
    y += 16
    for k, (name, colour) in enumerate((name, c) for name, c in POOL_COLOURS.items() if name is not None):
        out.append(rect(x0, y + k * 16, 12, 12, colour, "#636363", f' class="pool-swatch" data-pool="{name}"'))
        out.append(svg_text(x0 + 17, y + k * 16 + 10, parts[k], fit=inner - 17))
    y += 16 * len(parts) + 4
    node_w = gpn * POOL_CELL + 6
    per_row = max(1, int(inner // node_w))
    nodes = -(-shown // gpn)
    for node in range(nodes):
        nx, ny = x0 + (node % per_row) * node_w, y + (node // per_row) * (POOL_CELL + 6)
        for g in range(node * gpn, min(shown, (node + 1) * gpn)):
            role, index = owner[g][:2] if g in owner else (None, -1)
            extra = f' class="pool-cell" data-pool="{role or "idle"}" data-instance="{index}" data-gpu="{g}"'
            out.append(rect(nx + (g % gpn) * POOL_CELL, ny, POOL_CELL - 1, POOL_CELL - 1, POOL_COLOURS[role],
                            None, extra))
    y += -(-nodes // per_row) * (POOL_CELL + 6)
    if shown < max(total, len(owner)):
        out.append(svg_text(x0, y + 10, f"GPUs 0–{shown - 1} of {max(total, len(owner))} shown"))
        y += LINE
    return out, y + 6


def pool_owners(r: StrategyResult) -> dict[int, tuple[str, int, int]]:
    """A disaggregated strategy's GPUs: each one's pool, its instance's index among all instances (prefill's first)
    and within its pool, each instance where `dagc launch` puts it (`dagc.layout.pools.instance_starts`: prefill
    pool first, whole nodes where they can)."""
    assert r.pooled is not None
    sizes = [(str(p.pool.role), k, p.gpus_per_instance) for p in r.pooled.pools for k in range(p.pool.instances)]
    starts = instance_starts([n for _, _, n in sizes], r.plan.cluster.gpus_per_node)
    return {g: (role, i, k) for i, ((role, k, n), start) in enumerate(zip(sizes, starts, strict=True))
            for g in range(start, start + n)}


# ------------------------------------------------------------------ legend

def _stage_legend(lay: Layout, x0: float, y: float, inner: float) -> tuple[list[str], float]:
    """Stage colours: swatches with layers up to `PALETTE_MAX` stages, else a labelled strip."""
    colours = stage_colours(lay.pp)
    out = [svg_text(x0, y + 11, "pipeline stages (cell colour):", HEADING)]
    label_w = float(LEGEND_LABEL_W)
    if lay.pp > PALETTE_MAX:
        return _stage_strip(lay, colours, x0 + label_w, y, inner - label_w, out)
    entries = [f"stage {s}: {layers(a, b)}" for s, (a, b) in enumerate(lay.stage_layers)]
    col_w = 14 + 5 + max(text_width(e, 10) for e in entries) + 14
    if label_w + col_w > inner:
        label_w = 0     # a narrow canvas: the entries go under the label
        y += LINE
    per_row = max(1, int((inner - label_w) // col_w))
    for s, entry in enumerate(entries):
        ex = x0 + label_w + (s % per_row) * col_w
        ey = y + (s // per_row) * 18
        out.append(rect(ex, ey, 14, 14, colours[s], "#636363", f' class="stage-swatch" data-stage="{s}"'))
        out.append(svg_text(ex + 19, ey + 11, entry, fit=col_w - 33))
    rows = -(-len(entries) // per_row)
    return out, y + rows * 18 + 6


def _stage_strip(lay: Layout, colours: list[str], x0: float, y: float, width: float,
                 out: list[str]) -> tuple[list[str], float]:
    step_w = width / lay.pp
    for s, colour in enumerate(colours):
        out.append(rect(x0 + s * step_w, y, step_w, 14, colour, extra=f' class="stage-swatch" data-stage="{s}"'))
    out.append(rect(x0, y, width, 14, "none", "#636363"))
    # A tick every `every` stages, far enough apart for two lines of labels.
    every = max(1, -(-lay.pp * 80 // int(width)))
    ticks = [s for s in range(0, lay.pp, every) if (lay.pp - 1 - s) * step_w >= 80] + [lay.pp - 1]
    for s in ticks:
        cx = x0 + (s + 0.5) * step_w
        anchor = "start" if s == 0 else "end" if s == lay.pp - 1 else "middle"
        tx = x0 if s == 0 else x0 + width if s == lay.pp - 1 else cx
        a, b = lay.stage_layers[s]
        out.append(f'<line x1="{cx:.1f}" y1="{y + 14}" x2="{cx:.1f}" y2="{y + 18}" stroke="#636363"/>')
        out.append(svg_text(tx, y + 29, f"stage {s}", TextStyle(10, anchor=anchor)))
        out.append(svg_text(tx, y + 41, short_layers(a, b), TextStyle(10, anchor=anchor)))
    return out, y + 48


def _memory_parts(mem: MemoryBreakdown) -> list[tuple[str, str, str]]:
    """The bar segments worth drawing: the reserve only when the memory model has one."""
    return [p for p in MEMORY_PARTS if p[0] != "reserve_bytes" or any(st.reserve_bytes > 0 for st in mem.stages)]


def _memory_legend(mem: MemoryBreakdown, scale: MemScale, x0: float, y: float,
                   inner: float) -> tuple[list[str], float]:
    """What each colour of the memory bars means, and what a full bar is."""
    out = [svg_text(x0, y + 11, "memory bar:", HEADING)]
    gb = gb_text(scale.capacity_bytes)
    note = (f"full bar = {gb_text(scale.full_bytes)}, the red line = the GPU's {gb}" if scale.over
            else f"full bar = the GPU's {gb}")
    items = [(label, colour) for _, label, colour in _memory_parts(mem)] + [(note, None)]
    x = x0 + LEGEND_LABEL_W
    for label, colour in items:
        w = (19 if colour else 0) + text_width(label, 10) + 14
        if x + w > x0 + inner and x > x0 + LEGEND_LABEL_W:
            x, y = x0 + LEGEND_LABEL_W, y + 18
        if colour:
            out.append(rect(x, y, 14, 14, colour, "#636363", ' class="memory-swatch"'))
        out.append(svg_text(x + (19 if colour else 0), y + 11, label, fit=x0 + inner - x - (19 if colour else 0)))
        x += w
    return out, y + 24
