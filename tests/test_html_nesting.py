"""report.html is well nested: a picture inlined is a `<figure>`, which HTML does not let a paragraph hold. Markdown
writes an image alone as `<p><img></p>`, and the page swapped the image for its figure inside that paragraph: a
parser ends the paragraph at the figure and finds a stray `</p>` after it (until 2026-11-30)."""

from __future__ import annotations

from html.parser import HTMLParser

from dagc.export.html import report_html

# the elements whose start ends an open paragraph in HTML (the spec's list), and those with no end tag
_ENDS_P = frozenset("address article aside blockquote details div dl fieldset figcaption figure footer form h1 h2 h3 "
                    "h4 h5 h6 header hgroup hr main menu nav ol p pre section table ul".split())
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())


class _Nesting(HTMLParser):
    """The places the page is not well nested: a block opened inside a paragraph, an end tag that closes no
    element open, or one that closes another than the innermost."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.faults: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _ENDS_P and "p" in self.open and "svg" not in self.open:
            self.faults.append(f"<{tag}> inside <p> at line {self.getpos()[0]}")
        if tag not in _VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.faults.append(f"</{tag}> closes {self.open[-1:] or 'nothing'} at line {self.getpos()[0]}")
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag):]


def _faults(page: str) -> list[str]:
    parser = _Nesting()
    parser.feed(page)
    parser.close()
    return parser.faults + [f"<{tag}> never closed" for tag in parser.open]


SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50"><rect width="10" height="10"/></svg>'
HUGE = '<svg xmlns="http://www.w3.org/2000/svg" width="9000" height="50"><g class="node"/></svg>'
REPORT = """# dagc report

Which GPU holds what ([placement.svg](placement.svg)):

![placement](placement.svg)

The DAG:

![DAG](dag.svg)

A picture not given stays a link: ![trace](trace.svg)
"""


def test_an_inlined_picture_is_a_figure_beside_the_paragraphs_not_inside_one():
    page = report_html(REPORT, {"placement.svg": SVG, "dag.svg": HUGE})
    assert _faults(page) == []
    assert '<p>Which GPU holds what (<a href="placement.svg">placement.svg</a>):</p>\n<figure class="svg">' in page
    assert "</svg></figure>\n<p>The DAG:</p>\n<figure class=\"svg linked\"><p><a href=\"dag.svg\">" in page
    assert '<p>A picture not given stays a link: <a href="trace.svg">trace</a></p>' in page


def test_the_checker_finds_a_figure_inside_a_paragraph():
    """What the page was: the checker above is not one that passes everything."""
    assert _faults("<p><figure>x</figure></p>") == ["<figure> inside <p> at line 1"]
