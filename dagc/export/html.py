"""report.html: report.md rendered for a browser, self-contained (the SVGs inline).

Input: the Markdown of a report and the SVG texts written beside it. Output: one HTML file
with no external references but the links to the files beside it: raw HTML in the Markdown
stays text, a link or image whose target has a scheme or an absolute path stays text too
(`_local_link`), and every SVG is parsed and re-serialised before it is inlined (`svg_safe`).

The page loads nothing: a Content-Security-Policy (`CSP`) forbids script and every fetch (only
inline styles and `data:` images are allowed), so that even an escaping slip cannot run code
or reach the network; a picture that is not inlined is a link to its file, never an `<img>`.
A picture too large to read inside the page (`too_large`) is linked with a one-line summary.
The layout holds at a phone's width: tables, code and pictures scroll inside their own box.
"""

from __future__ import annotations

import re
from html import escape, unescape

from markdown_it import MarkdownIt

from .svg_safe import UnsafeSvg, safe_svg

__all__ = ["report_html", "heading_id", "too_large", "CSP", "INLINE_MAX_WIDTH_PX", "INLINE_MAX_HEIGHT_PX",
           "INLINE_MAX_BYTES"]

# What the page may load: nothing but its own inline styles and data: images (no script, no fetch,
# no form, no <base>). A meta CSP cannot set frame-ancestors; the rest holds from a file:// page too.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'")

COLUMN_PX = 1200            # the page's text column; a wider picture is shown shrunk to it
# The size rule (docs/outputs.md): a picture is drawn inside the page when, shown at the column's
# width, its text stays legible (shrunk by at most 4x: at most 4,800 px wide) and it is at most
# 20,000 px tall (some twenty screens), and its SVG is at most 2 MB; else it is linked, summarised.
INLINE_MAX_WIDTH_PX = 4 * COLUMN_PX
INLINE_MAX_HEIGHT_PX = 20_000
INLINE_MAX_BYTES = 2_000_000

_CSS = """
body { font-family: Helvetica, "DejaVu Sans", Arial, sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; line-height: 1.45; overflow-wrap: break-word; }
h1, h2, h3, h4 { overflow-wrap: anywhere; }
div.table { overflow-x: auto; margin: 0.5em 0 1.5em; }
span.fig { white-space: nowrap; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
code, pre { background: #f6f8fa; border-radius: 3px; }
p code, li > code { overflow-wrap: anywhere; }
pre { padding: 0.8em; overflow-x: auto; font-size: 0.85em; max-width: 100%; box-sizing: border-box;
      white-space: pre-wrap; overflow-wrap: anywhere; }
figure.svg { overflow: auto; border: 1px solid #ddd; padding: 0.5em; margin: 0.5em 0 1.5em; }
figure.svg svg { max-width: 100%; height: auto; }
figure.linked { padding: 0.5em 1em; }
img { max-width: 100%; }
@media (max-width: 700px) {
  figure.svg svg { min-width: var(--legible, 0); }
}
@media print {
  body { max-width: none; margin: 0; }
  div.table, figure.svg, pre { overflow: visible; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; }
  figure.svg svg { min-width: 0 !important; }
}
"""


# placement.svg is drawn at most 1180 px wide with 10 px text: in a narrower page it shrinks, but
# not below this share of its size (its text stays legible); narrower still, the figure scrolls.
PLACEMENT_MIN_SCALE = 0.9
_PT_PX = 4 / 3              # Graphviz sizes its SVGs in points; a CSS px is 3/4 pt


def _svg_size(svg: str) -> tuple[float, float, str] | None:
    """The root element's width, height and their unit (`pt` or `px`), None when it states no size."""
    m = re.search(r"<svg\b[^>]*>", svg)
    if m is None:
        return None
    size, units = [], set()
    for key in ("width", "height"):
        v = re.search(rf'\s{key}="\s*(\d+(?:\.\d+)?)\s*(pt|px)?\s*"', m.group(0))
        if v is None:
            return None
        size.append(float(v.group(1)))
        units.add(v.group(2) or "px")
    return (size[0], size[1], units.pop()) if len(units) == 1 else None


def too_large(svg: str) -> str | None:
    """Why `svg` is too large to read inside the page (the size rule above), or None when it is not.

    Example:
        >>> too_large('<svg width="549pt" height="81719pt"></svg>')
        '549 × 81,719 pt, 108,959 px tall at the page’s width'
        >>> too_large('<svg width="900" height="590"></svg>') is None
        True
    """
    nbytes = len(svg.encode())
    if nbytes > INLINE_MAX_BYTES:
        return f"{nbytes / 1e6:,.1f} MB of SVG"
    size = _svg_size(svg)
    if size is None:
        return None
    w, h, unit = size
    px = _PT_PX if unit == "pt" else 1.0
    stated = f"{w:,.0f} × {h:,.0f} {unit}"
    if w * px > INLINE_MAX_WIDTH_PX:
        return f"{stated}: shrunk to the page’s width, its text would be under a quarter of its size"
    shown_h = h * px * min(1.0, COLUMN_PX / (w * px)) if w > 0 else h * px
    if shown_h > INLINE_MAX_HEIGHT_PX:
        return f"{stated}, {shown_h:,.0f} px tall at the page’s width"
    return None


# On a phone's screen a picture shrinks to the width of the page, but not so far that its smallest text is under
# this many CSS px: past that it keeps its size and scrolls inside its figure (the page itself never scrolls).
PHONE_TEXT_PX = 8.0


def _phone_legible(svg: str) -> str:
    """The SVG with the width it keeps on a phone (`--legible`, read by the page's narrow-screen rule): its
    own width scaled so that its smallest text is PHONE_TEXT_PX; unchanged when it states no size or no text.

    Example:
        >>> _phone_legible('<svg width="900" height="100"><text font-size="9">a</text></svg>')[:45]
        '<svg style="--legible: 800px" width="900" hei'
    """
    size = _svg_size(svg)
    fonts = [float(f) for f in re.findall(r'font-size="\s*(\d+(?:\.\d+)?)', svg)]
    if size is None or not fonts:
        return svg
    px = _PT_PX if size[2] == "pt" else 1.0           # a font size is in the SVG's own units
    legible = f"--legible: {size[0] * px * min(1.0, PHONE_TEXT_PX / (min(fonts) * px)):.0f}px"
    if '<svg style="' in svg:                          # placement's own minimum (`_keep_legible`) beside it
        return svg.replace('<svg style="', f'<svg style="{legible}; ', 1)
    return svg.replace("<svg ", f'<svg style="{legible}" ', 1)


def _keep_legible(svg: str) -> str:
    m = re.search(r'<svg\b[^>]*?\swidth="(\d+(?:\.\d+)?)"', svg)
    if m is None:
        return svg
    return svg.replace("<svg ", f'<svg style="min-width: {int(float(m.group(1)) * PLACEMENT_MIN_SCALE)}px" ', 1)


def _linked(src: str, why: str, svg: str) -> str:
    """The short summary that stands in for a picture too large to read inside the page: its boxes and arrows, every
    element of Graphviz's `node` and `edge` classes, whatever classes dagc adds (`class="node norm crit"`: until
    2026-12-03 only the bare ones were counted, "10 boxes, 0 arrows" of 739 and 902)."""
    nodes, edges = (len(re.findall(rf'class="{kind}[" ]', svg)) for kind in ("node", "edge"))
    drawn = f" ({nodes:,} boxes, {edges:,} arrows)" if nodes else ""
    return (f'<figure class="svg linked"><p><a href="{escape(src)}">{escape(src)}</a>{drawn} is too large to read '
            f"inside this page ({escape(why)}): open it on its own to zoom and scroll, or draw a coarser "
            "<code>--graph-detail</code>.</p></figure>")


def _inline_svg(src: str, svg: str, legible: bool) -> str | None:
    """The SVG as a figure of the page, parsed and re-serialised (`safe_svg`), or its summary when it
    is too large to read there; None when refused."""
    try:
        svg = safe_svg(svg)
    except UnsafeSvg:
        return None
    svg = svg.split("?>", 1)[1] if svg.startswith("<?xml") else svg
    why = too_large(svg)
    if why is not None:
        return _linked(src, why, svg)
    return f'<figure class="svg">{_phone_legible(_keep_legible(svg) if legible else svg).strip()}</figure>'


def _as_link(m: re.Match[str]) -> str:
    """An image left in the page (its picture not inlined) becomes a link to the file: the page fetches
    nothing (its CSP would refuse the load and log an error)."""
    alt = re.search(r'\salt="([^"]*)"', m.group(0))
    return f'<a href="{m.group(2)}">{alt.group(1) if alt and alt.group(1) else m.group(2)}</a>'


OWN_EXTERNAL_LINKS = frozenset({"https://ui.perfetto.dev"})      # the report's own links out (markdown.py)


def _local_link(url: str) -> bool:
    """Links and images of the page may only point into it or at the files beside it: a name from
    a plan that reads as `![x](https://…)` must not load or link anything (markdown-it's own check
    refuses `javascript:` and the like; this refuses every scheme and every absolute path)."""
    url = url.strip()
    if url in OWN_EXTERNAL_LINKS:
        return True
    return not (re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", url) or url.startswith(("/", "\\")))


def heading_id(text: str) -> str:
    """The anchor of a heading, as GitHub makes it for report.md: lower case, punctuation dropped,
    spaces to hyphens — so `[Diagnostics](#diagnostics)` works in report.md and report.html alike.

    Example:
        >>> heading_id("Memory per rank"), heading_id("Pictures and trace")
        ('memory-per-rank', 'pictures-and-trace')
    """
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def _heading_ids(body: str) -> str:
    def add(m: re.Match[str]) -> str:
        plain = re.sub(r"<[^>]+>", "", m.group(2))
        return f'<{m.group(1)} id="{escape(heading_id(unescape(plain)))}">{m.group(2)}</{m.group(1)}>'

    return re.sub(r"<(h[1-6])>(.*?)</\1>", add, body)


def _scrolling_tables(body: str) -> str:
    # A wide table scrolls inside its own box instead of widening the page (markdown-it writes bare
    # <table> tags, and raw HTML in the Markdown stays text, so every tag here is its own).
    return body.replace("<table>", '<div class="table"><table>').replace("</table>", "</table></div>")


# In a table cell, what a narrow page must not break: a number with its sign and unit (`+9.3 %`, `37.07 s`,
# `18.53× over`), a probability (`p < 0.01`), a band (`[23.82–150.1]`), in HTML-escaped text.
_FIGURE = re.compile(r"p (?:&lt;|&gt;|≈) \d[\d.]*|\[[^\]\s<]*\]"
                     r"|(?<![\w.#&])[-+≈]?\d[\d,]*(?:\.\d+)?×?(?: [A-Za-z%µ][\w/%]*)?")


def _figures_whole(body: str) -> str:
    """Each figure in a table cell, outside code, kept on one line (`span.fig`): a phone's narrow column
    wraps a cell between its figures, not `37.07` from its `s` (the text is the same; a copy pastes spaces)."""
    def cell(m: re.Match[str]) -> str:
        parts = re.split(r"(<code>.*?</code>|<[^>]+>)", m.group(2), flags=re.S)
        text = "".join(x if k % 2 else _FIGURE.sub(lambda f: f'<span class="fig">{f.group(0)}</span>', x)
                       for k, x in enumerate(parts))
        return f"{m.group(1)}{text}</td>"

    return re.sub(r"(<td[^>]*>)(.*?)</td>", cell, body, flags=re.S)


def _html_siblings(body: str) -> str:
    # The comparison's report.md links each strategy's report.md; in a browser, its report.html.
    return re.sub(r'href="((?:[^"/:]+/)*)report\.md"', r'href="\1report.html"', body)


def report_html(markdown: str, svgs: dict[str, str]) -> str:
    """HTML of a report; images whose source is a key of `svgs` are replaced by the SVG itself,
    headings get the anchors report.md's links use, and links to a report.md go to its report.html."""
    # Raw HTML stays text: a plan's names (model, strategies) reach the Markdown, and a plan from a
    # pull request must not put a <script> into the page.
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.validateLink = _local_link        # type: ignore[method-assign]
    body = md.render(markdown)
    body = _figures_whole(_scrolling_tables(_html_siblings(_heading_ids(body))))

    def swap(m: re.Match[str]) -> str:
        # a picture inlined is a figure, which no paragraph may hold: the paragraph of the image alone goes
        # (until 2026-11-30 the page had `<p><figure>`, which HTML parsers end at the figure, a stray `</p>` after)
        src, alone = unescape(m.group(2)), bool(m.group(1) and m.group(3))
        inline = _inline_svg(src, svgs[src], src.endswith("placement.svg")) if src in svgs else None
        if inline is not None and alone:
            return inline
        return (m.group(1) or "") + (inline or _as_link(m)) + (m.group(3) or "")

    body = re.sub(r'(<p>)?<img src="([^"]+)"[^>]*>(</p>)?', swap, body)
    title = escape(markdown.splitlines()[0].lstrip("# ").replace("`", "")) if markdown else "dagc report"
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{title}</title>\n'
            f"<style>{_CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n")
