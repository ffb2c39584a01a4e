"""placement.svg: which GPU holds what, at a glance.

Input: a checked `StrategyResult`. Output: SVG text: the cluster as a grid of GPUs grouped
by node; each GPU shows its rank, DP replica, stage and layers, attention (tp, cp, adp) and
expert (ep, etp) coordinates, the routed experts it holds and its memory use as a bar.
Idle GPUs are grey. Beyond `MAX_GPUS` cells, DP replicas after the first are summarised
(they are identical) and, if one replica is still too large, the drawing says where it
stops.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from ..check import StrategyResult
from ..layout import Layout

__all__ = ["placement_svg", "MAX_GPUS"]

MAX_GPUS = 256
CELL_W, CELL_H, GAP, NODE_PAD = 158, 104, 6, 10
STAGE_COLOURS = ["#c6dbef", "#c7e9c0", "#fdd0a2", "#dadaeb", "#fcbba1", "#d9d9d9", "#9ecae1", "#a1d99b",
                 "#fdae6b", "#bcbddc", "#fc9272", "#bdbdbd"]


def _text(x: float, y: float, s: str, size: int = 10, weight: str = "normal", anchor: str = "start",
          cls: str | None = None) -> str:
    c = f' class="{cls}"' if cls else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-family="Helvetica, DejaVu Sans, sans-serif" font-size="{size}" '
            f'font-weight="{weight}" text-anchor="{anchor}"{c}>{escape(s)}</text>')


def placement_svg(result: StrategyResult) -> str:
    """SVG of the GPU placement of one strategy (needs a resolved layout)."""
    r, lay = result, result.layout
    if lay is None:
        raise ValueError("no layout: the strategy did not resolve")
    plan = r.plan
    gpn = lay.gpus_per_node
    available = plan.cluster.gpus
    per_replica = lay.pp * lay.group_size
    notes = []
    shown = min(available, MAX_GPUS)
    if available > MAX_GPUS:
        if per_replica <= MAX_GPUS:
            shown = per_replica
            notes.append(f"showing DP replica 0 (GPUs 0–{per_replica - 1}); replicas 1–{lay.dp - 1} are identical"
                         if lay.dp > 1 else f"showing the {per_replica} GPUs used")
        else:
            notes.append(f"showing GPUs 0–{MAX_GPUS - 1} of {lay.gpus_used} used")
        if available > lay.gpus_used:
            notes.append(f"{available - lay.gpus_used} GPUs idle, not drawn")
    shown = max(1, min(shown, max(available, 1)))
    c = lay.coords if lay.gpus_used <= 4_000_000 else None
    cols = min(gpn, 8)
    rows_per_node = -(-gpn // cols)
    node_w = cols * (CELL_W + GAP) - GAP + 2 * NODE_PAD
    node_h = rows_per_node * (CELL_H + GAP) - GAP + 2 * NODE_PAD + 18
    nodes = -(-shown // gpn)
    nodes_per_row = max(1, min(nodes, 1600 // node_w or 1))
    width = nodes_per_row * (node_w + 16) + 24
    top = 70 + 16 * len(notes)
    height = top + (-(-nodes // nodes_per_row)) * (node_h + 16) + 60
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           _text(12, 24, f"{plan.name} · strategy {r.decl.text}", 16, "bold"),
           _text(12, 44, f"{lay.gpus_used} of {available} GPUs used = dp {lay.dp} × pp {lay.pp} × stage group "
                         f"{lay.group_size} · {plan.cluster.gpu.name}, {gpn} per node · "
                         f"attention tp {lay.tp} cp {lay.cp} (DP {lay.adp}) ; "
                         f"experts ep {lay.ep} etp {lay.etp} (DP {lay.edp})", 11)]
    for k, note in enumerate(notes):
        out.append(_text(12, 62 + 16 * k, note, 11, cls="note"))
    capacity = plan.cluster.gpu.memory_bytes
    for node in range(nodes):
        nx0 = 12 + (node % nodes_per_row) * (node_w + 16)
        ny0 = top + (node // nodes_per_row) * (node_h + 16)
        out.append(f'<g id="node{node}"><rect x="{nx0}" y="{ny0}" width="{node_w}" height="{node_h}" rx="8" '
                   f'fill="#fafafa" stroke="#636363"/>')
        out.append(_text(nx0 + NODE_PAD, ny0 + 14, f"node {node}", 11, "bold"))
        for k in range(gpn):
            rank = node * gpn + k
            if rank >= shown:
                break
            x = nx0 + NODE_PAD + (k % cols) * (CELL_W + GAP)
            y = ny0 + NODE_PAD + 18 + (k // cols) * (CELL_H + GAP)
            out.append(_gpu_cell(rank, x, y, r, lay, c, capacity))
        out.append("</g>")
    ly = height - 30
    for s in range(min(lay.pp, 24)):
        a, b = lay.stage_layers[s]
        x = 12 + s * 110
        out.append(f'<rect x="{x}" y="{ly}" width="14" height="14" fill="{STAGE_COLOURS[s % len(STAGE_COLOURS)]}" '
                   f'stroke="#636363"/>')
        out.append(_text(x + 18, ly + 11, f"stage {s}: L{a}–{b - 1}", 10))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _gpu_cell(rank: int, x: float, y: float, r: StrategyResult, lay: Layout, c, capacity: float) -> str:
    mem, m = r.memory, r.plan.model
    parts = [f'<g id="gpu{rank}" class="gpu">']
    if rank >= lay.gpus_used or c is None:
        parts.append(f'<rect x="{x}" y="{y}" width="{CELL_W}" height="{CELL_H}" rx="4" fill="#eeeeee" '
                     f'stroke="#bdbdbd"/>')
        parts.append(_text(x + 6, y + 15, f"GPU {rank}", 11, "bold"))
        parts.append(_text(x + 6, y + 31, "idle", 10, cls="idle"))
        parts.append("</g>")
        return "".join(parts)
    stage, replica = int(c["stage"][rank]), int(c["replica"][rank])
    a, b = lay.stage_layers[stage]
    fill = STAGE_COLOURS[stage % len(STAGE_COLOURS)]
    parts.append(f'<rect x="{x}" y="{y}" width="{CELL_W}" height="{CELL_H}" rx="4" fill="{fill}" stroke="#636363"/>')
    parts.append(_text(x + 6, y + 15, f"GPU {rank}", 11, "bold"))
    parts.append(_text(x + CELL_W - 6, y + 15, f"dp {replica} · stage {stage}", 9, anchor="end"))
    parts.append(_text(x + 6, y + 30, f"layers {a}–{b - 1}" if b > a else "no layers", 10))
    parts.append(_text(x + 6, y + 44, f"tp {int(c['tp'][rank])}/{lay.tp}  cp {int(c['cp'][rank])}/{lay.cp}  "
                                       f"adp {int(c['adp'][rank])}/{lay.adp}", 9))
    if m.has_experts:
        e = int(c["ep"][rank])
        held = lay.experts_of(e)
        shard = f" (1/{lay.etp} each)" if lay.etp > 1 else ""
        what = f"experts {held.start}–{held.stop - 1}{shard}" if len(held) > 1 else f"expert {held.start}{shard}"
        parts.append(_text(x + 6, y + 58, f"ep {e}/{lay.ep}  etp {int(c['etp'][rank])}/{lay.etp}", 9))
        parts.append(_text(x + 6, y + 72, what, 9))
    else:
        parts.append(_text(x + 6, y + 58, "dense FFN split by tp", 9))
    if mem is not None:
        st = mem.stages[stage]
        frac = min(1.0, st.total_bytes / capacity)
        bar_w = CELL_W - 12
        colour = "#31a354" if frac < 0.8 else "#fd8d3c" if frac <= 1.0 and st.fits else "#de2d26"
        parts.append(f'<rect x="{x + 6}" y="{y + 80}" width="{bar_w}" height="8" fill="white" stroke="#969696"/>')
        parts.append(f'<rect x="{x + 6}" y="{y + 80}" width="{bar_w * frac:.1f}" height="8" fill="{colour}"/>')
        parts.append(_text(x + 6, y + 99, f"{st.total_bytes / 1e9:.1f} of {capacity / 1e9:.0f} GB "
                                           f"({st.total_bytes / capacity * 100:.0f} %)", 9))
    parts.append("</g>")
    return "".join(parts)
