"""report.html at a phone's width and a laptop's, in the system's Chromium: a `pre` block (launch commands, the
load's text) wraps inside the column rather than running past it; a table scrolls inside its own box, never
the page; and on a phone a picture shrinks only as far as its smallest text stays 8 CSS px or more
(`dagc.export.html.PHONE_TEXT_PX`), scrolling inside its figure past that."""

from __future__ import annotations

import json
import re

import pytest
from test_browser import Tab, browser, browser_missing, check_page, needs_browser
from test_rounding import LOAD_PLAN

from dagc.export.html import PHONE_TEXT_PX
from dagc.units import Dimension, format_figure, format_si
from conftest import run_dagc

_MEASURE = """() => {
  const pres = [...document.querySelectorAll('pre')].map(p => [p.scrollWidth, p.clientWidth]);
  const tables = [...document.querySelectorAll('table')].map(t => t.parentElement.matches('div.table'));
  const smallest = [...document.querySelectorAll('figure.svg > svg')].map(svg => {
    const box = svg.viewBox.baseVal, r = svg.getBoundingClientRect();
    const scale = box && box.width ? r.width / box.width : 1;
    const sizes = [...svg.querySelectorAll('[font-size]')].map(e => parseFloat(e.getAttribute('font-size')));
    return sizes.length ? Math.min(...sizes) * scale : null;
  });
  return {pres, tables, smallest, figures: document.querySelectorAll('figure.svg > svg').length};
}"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A strategy's report.html with every kind of picture (the DAG, the placement, the load's CDF and
    timeline) and `pre` blocks: the load plan of tests/test_rounding.py compiled."""
    if browser_missing() is not None:
        pytest.skip(str(browser_missing()))
    root = tmp_path_factory.mktemp("phone")
    (root / "plan.moe").write_text(LOAD_PLAN)
    proc = run_dagc("compile", str(root / "plan.moe"), "-o", str(root / "out"), "--no-search", "-q")
    assert proc.returncode in (0, 1), proc.stderr
    return root / "out" / "dep" / "report.html"


@browser
@needs_browser
@pytest.mark.parametrize("width", [1280, 390])
def test_pre_blocks_wrap_and_tables_scroll_in_their_box(page, chrome, width):
    tab = Tab(chrome, width)
    try:
        check_page(tab, page)               # no sideways scroll of the page, every picture drawn
        seen = tab.page.evaluate(_MEASURE)
    finally:
        tab.close()
    assert seen["pres"] and all(scroll <= client + 1 for scroll, client in seen["pres"]), seen["pres"]
    assert seen["tables"] and all(seen["tables"]), seen["tables"]


@browser
@needs_browser
def test_pictures_keep_their_text_legible_on_a_phone(page, chrome):
    tab = Tab(chrome, 390)
    try:
        check_page(tab, page)
        seen = tab.page.evaluate(_MEASURE)
    finally:
        tab.close()
    assert seen["figures"] >= 4, seen
    smallest = [s for s in seen["smallest"] if s is not None]
    assert smallest and min(smallest) >= PHONE_TEXT_PX - 0.05, seen["smallest"]


# ------------------------------------------------------------------ the comparison page under traffic

TWO = LOAD_PLAN + "strategy tp = tp 4\n"
LATENCY_ROWS = (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("itl_s", "ITL"), ("e2e_s", "end-to-end latency"))


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """The load plan with a second strategy, compiled: its comparison page and each strategy's report.json."""
    root = tmp_path_factory.mktemp("compare")
    (root / "plan.moe").write_text(TWO)
    proc = run_dagc("compile", str(root / "plan.moe"), "-o", str(root / "out"), "--no-search", "-q")
    assert proc.returncode in (0, 1), proc.stderr
    out = root / "out"
    return out, {name: json.loads((out / name / "report.json").read_text()) for name in ("dep", "tp")}


def test_the_comparison_page_has_each_strategys_serving_figures(compared):
    """Capacity, served, goodput and the p50/p99 of TTFT, TPOT, ITL and end-to-end latency, one column a strategy,
    each figure its report.json's in dagc's rounding; the CDFs of both strategies overlaid in compare_cdf.svg."""
    out, reports = compared
    md = (out / "report.md").read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in md.splitlines() if line.startswith("| ")}
    for name, key in (("served", "served_requests_per_s"), ("goodput", "goodput_requests_per_s"),
                      ("capacity (under the load requirements)", "capacity_requests_per_s")):
        assert rows[name] == [f"{format_figure(reports[s]['load'][key])} requests/s" for s in ("dep", "tp")], name
    for key, label in LATENCY_ROWS:
        for p in ("p50", "p99"):
            shown = [format_si(reports[s]["load"][key][p], Dimension.TIME) for s in ("dep", "tp")]
            assert rows[f"{p} {label}"] == shown
    svg = (out / "compare_cdf.svg").read_text()
    lines = re.findall(r'<polyline class="cdf" data-strategy="([^"]+)" data-latency="([^"]+)"', svg)
    assert sorted(lines) == sorted((s, k) for s in ("dep", "tp") for k in ("ttft", "tpot", "e2e"))
    assert "![latency CDFs](compare_cdf.svg)" in md


@browser
@needs_browser
@pytest.mark.parametrize("width", [1280, 390])
def test_the_comparison_page_shows_its_serving_rows_and_cdfs(compared, chrome, width):
    out, reports = compared
    tab = Tab(chrome, width)
    try:
        check_page(tab, out / "report.html")
        seen = tab.page.evaluate("""() => ({
            rows: [...document.querySelectorAll('tr')].map(r => r.cells[0] && r.cells[0].textContent.trim()),
            cdf: [...document.querySelectorAll('figure.svg > svg.compare-cdf')]
                   .map(s => s.getBoundingClientRect().width),
            tables: [...document.querySelectorAll('table')].every(t => t.parentElement.matches('div.table')),
        })""")
    finally:
        tab.close()
    assert {"served", "goodput", "p99 TTFT", "p99 end-to-end latency"} <= set(seen["rows"])
    assert len(seen["cdf"]) == 1 and seen["cdf"][0] > 100 and seen["tables"], seen
