"""report.html keeps each figure of a table cell on one line — a number with its sign and unit, a probability,
a band — so that a phone's narrow column wraps a cell between its figures, never `37.07` from its `s`; the
text read or copied is the same, and code and HTML entities are left alone."""

from __future__ import annotations

import re
from html import unescape

from test_browser import browser, needs_browser

from dagc.export.html import report_html

TABLE = """| requirement | value | margin | odds |
|---|---|---|---|
| `ttft_p99 <= 2 s` | 37.07 s [23.82–150.1] | 18.53× over | misses (p < 0.01) |
| h200 'x' | 2,859 tokens/s/GPU | +9.3 % | uncertain (p ≈ 0.54) |
| tpot_p90 <= 50 ms | 45.34 ms (steady state; the load's mean 44.17 ms) | -100.0 % | meets |
"""
FIGURES = ["37.07 s", "[23.82–150.1]", "18.53× over", "p &lt; 0.01", "2,859 tokens/s/GPU", "+9.3 %",
           "p ≈ 0.54", "50 ms", "45.34 ms", "44.17 ms", "-100.0 %"]


def _cells(page: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", page, flags=re.S)


def test_each_figure_of_a_cell_is_one_span_and_the_text_is_unchanged():
    page = report_html(TABLE, {})
    spans = re.findall(r'<span class="fig">(.*?)</span>', page)
    assert spans == FIGURES
    bare = page.replace('<span class="fig">', "").replace("</span>", "")
    assert [re.sub(r"<[^>]+>", "", c) for c in _cells(page)] == [re.sub(r"<[^>]+>", "", c) for c in _cells(bare)]
    assert "<code>ttft_p99 &lt;= 2 s</code>" in page                 # code stays as written
    assert unescape(_cells(page)[4]) == "h200 'x'"                    # a digit inside a word is no figure
    assert "span.fig { white-space: nowrap; }" in page


@browser
@needs_browser
def test_on_a_phone_a_figure_stays_on_one_line(chrome):
    """At 390 px the table is narrower than its text: each figure is one line box, while the same cells without
    the spans break inside figures — what the spans are for."""
    page = chrome.new_page(viewport={"width": 390, "height": 900})
    try:
        narrow = "<style>td { max-width: 4.5em; }</style>"          # a column as narrow as a phone makes it
        page.set_content(report_html(TABLE, {}).replace("</head>", narrow + "</head>"))
        lines = page.eval_on_selector_all("span.fig", "spans => spans.map(s => s.getClientRects().length)")
        assert len(lines) == len(FIGURES) and set(lines) == {1}
        bare = report_html(TABLE, {}).replace('<span class="fig">', '<span class="bare">')
        page.set_content(bare.replace("</head>", narrow + "</head>"))
        lines = page.eval_on_selector_all("span.bare", "spans => spans.map(s => s.getClientRects().length)")
        assert max(lines) > 1
    finally:
        page.close()
