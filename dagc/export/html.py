"""report.html: report.md rendered for a browser, self-contained (the SVGs inline).

Input: the Markdown of a report and the SVG texts written beside it. Output: one HTML file
with no external references but the links to the files beside it: raw HTML in the Markdown
stays text, a link or image whose target has a scheme or an absolute path stays text too
(`_local_link`), and every SVG is parsed and re-serialised before it is inlined (`svg_safe`).
"""

from __future__ import annotations

import re
from html import escape, unescape

from markdown_it import MarkdownIt

from .svg_safe import UnsafeSvg, safe_svg

__all__ = ["report_html", "heading_id"]

_CSS = """
body { font-family: Helvetica, "DejaVu Sans", Arial, sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
code, pre { background: #f6f8fa; border-radius: 3px; }
pre { padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
figure.svg { overflow: auto; border: 1px solid #ddd; padding: 0.5em; margin: 0.5em 0 1.5em; }
figure.svg svg { max-width: 100%; height: auto; }
"""


# placement.svg is drawn at most 1180 px wide with 10 px text: in a narrower page it shrinks, but
# not below this share of its size (its text stays legible); narrower still, the figure scrolls.
PLACEMENT_MIN_SCALE = 0.9


def _keep_legible(svg: str) -> str:
    m = re.search(r'<svg\b[^>]*?\swidth="(\d+(?:\.\d+)?)"', svg)
    if m is None:
        return svg
    return svg.replace("<svg ", f'<svg style="min-width: {int(float(m.group(1)) * PLACEMENT_MIN_SCALE)}px" ', 1)


def _inline_svg(svg: str, legible: bool) -> str | None:
    """The SVG as a figure of the page, parsed and re-serialised (`safe_svg`); None when refused."""
    try:
        svg = safe_svg(svg)
    except UnsafeSvg:
        return None
    svg = svg.split("?>", 1)[1] if svg.startswith("<?xml") else svg
    return f'<figure class="svg">{(_keep_legible(svg) if legible else svg).strip()}</figure>'


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
    def add(m: re.Match) -> str:
        plain = re.sub(r"<[^>]+>", "", m.group(2))
        return f'<{m.group(1)} id="{escape(heading_id(unescape(plain)))}">{m.group(2)}</{m.group(1)}>'

    return re.sub(r"<(h[1-6])>(.*?)</\1>", add, body)


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
    body = _html_siblings(_heading_ids(body))

    def swap(m: re.Match) -> str:
        src = unescape(m.group(1))
        if src not in svgs:
            return m.group(0)
        return _inline_svg(svgs[src], src == "placement.svg") or m.group(0)

    body = re.sub(r'<img src="([^"]+)"[^>]*>', swap, body)
    title = escape(markdown.splitlines()[0].lstrip("# ").replace("`", "")) if markdown else "dagc report"
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>{_CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n")
