"""The drawing vocabulary of placement.svg: its sizes and fonts, one colour per pipeline stage,
<text> and <rect> elements with estimated text widths (a text that would not fit is condensed),
word wrap, and the words for layer ranges and gigabytes.

Input: figures and strings. Output: SVG element text (escaped), colours, widths.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from xml.sax.saxutils import escape

from ..units import format_bytes

__all__ = ["stage_colours", "MAX_WIDTH", "MEMORY_PARTS", "CELL_W", "HEADING", "PLAIN", "TextStyle"]

MAX_WIDTH = 1180                 # report.html's text column is 1200 px: the figure is shown unscaled
MARGIN, CELL_W, CELL_H, GAP, NODE_PAD, NODE_HEAD, NODE_GAP = 12, 138, 104, 4, 8, 16, 10
FONT = "Helvetica, Arial, DejaVu Sans, sans-serif"
EM_NORMAL, EM_BOLD = 0.62, 0.68  # generous average glyph widths (DejaVu Sans is the widest fallback)
LINE = 15
LEGEND_LABEL_W = 190             # the legend's labels ("pipeline stages", "memory bar") sit in this column
PALETTE_MAX = 20                 # up to this many stages: swatches; more: a labelled gradient strip
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


def text_width(s: str, size: float, bold: bool = False) -> float:
    return len(s) * size * (EM_BOLD if bold else EM_NORMAL)


@dataclass(frozen=True, slots=True)
class TextStyle:
    """How a <text> is set: its font size and weight, its anchor, its class and fill (None: none)."""

    size: int = 10
    weight: str = "normal"
    anchor: str = "start"
    cls: str | None = None
    fill: str | None = None


PLAIN = TextStyle()
HEADING = TextStyle(11, "bold")


def svg_text(x: float, y: float, s: str | tuple[str, ...], style: TextStyle = PLAIN, fit: float | None = None) -> str:
    """A <text>. With `fit`: the first of the variants `s` (longest first) whose estimated width
    fits; if none does, the last one, condensed to that width (`textLength` would also stretch a
    text narrower than estimated, so it is the last resort)."""
    size, weight, anchor, cls, fill = style.size, style.weight, style.anchor, style.cls, style.fill
    variants = (s,) if isinstance(s, str) else s
    s = next((v for v in variants if fit is None or text_width(v, size, weight == "bold") <= fit), variants[-1])
    extra = f' class="{cls}"' if cls else ""
    if fill:
        extra += f' fill="{fill}"'
    if fit is not None and text_width(s, size, weight == "bold") > fit:
        extra += f' textLength="{fit:.1f}" lengthAdjust="spacingAndGlyphs"'
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" '
            f'font-weight="{weight}" text-anchor="{anchor}"{extra}>{escape(s)}</text>')


def rect(x: float, y: float, w: float, h: float, fill: str, stroke: str | None = None, extra: str = "") -> str:
    s = f' stroke="{stroke}"' if stroke else ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"{s}{extra}/>'


def wrap(s: str, size: int, width: float, bold: bool = False) -> list[str]:
    """Greedy word wrap to an estimated width; a word longer than the width is cut into pieces."""
    per_line = max(1, int(width // (size * (EM_BOLD if bold else EM_NORMAL))))
    lines: list[str] = []
    for word in s.split(" "):
        if lines and text_width(lines[-1] + " " + word, size, bold) <= width:
            lines[-1] += " " + word
        else:
            lines += [word[i:i + per_line] for i in range(0, max(len(word), 1), per_line)]
    return lines or [""]


def gb_text(nbytes: float) -> str:
    """Memory as every output writes it (`dagc.units.format_bytes`: GiB with two decimals)."""
    return format_bytes(nbytes)


def layers(a: int, b: int) -> str:
    return "no layers" if b <= a else f"layer {a}" if b - a == 1 else f"layers {a}–{b - 1}"


def short_layers(a: int, b: int) -> str:
    return "no layers" if b <= a else f"L{a}" if b - a == 1 else f"L{a}–{b - 1}"
