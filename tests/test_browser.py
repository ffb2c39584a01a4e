"""What a person sees, checked in a real browser: every example plan's report.html, the comparison
pages and the standalone SVGs, opened in the system's Chromium (Debian's `chromium`) through the
`playwright` package at a laptop's 1280 px and a phone's 390 px.

The tests marked `browser` are skipped, saying what is missing, where the playwright package or a
Chromium on PATH is absent; they never download a browser (playwright is pointed at the system's
binary with `executable_path`) and never reach the network (every http(s) fetch goes to a closed
local proxy port, and any request that is not the page's own file fails the test). The examples are
compiled with `dagc compile` into pytest's temporary directory when a test first needs them, once
per test process (tests/conftest.py's `compiled_example`, which tests/test_compile.py shares).

The other tests here need no browser: the Content-Security-Policy on every page dagc writes, the
size rule for pictures too large to inline, and the README's pictures.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dagc.export.html import CSP, report_html
from conftest import ROOT, browser_missing

EXAMPLES = sorted((ROOT / "examples").glob("*.moe"))
DEFAULT = "mixtral-8x7b-1node"          # compiled with the search: its comparison page holds pareto.svg
WIDTHS = (1280, 390)
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'


browser = pytest.mark.browser
needs_browser = pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))

# A plan whose names try every way into a page: raw HTML, an event handler, a javascript: link, and
# Markdown links and images to the network. (A strategy's name is an identifier in the grammar, so
# it cannot carry them; the plan's file name, which titles the pages, does.)
HOSTILE_MODEL = ("<script>window.dagcPwned=1</script><img src=x onerror=window.dagcPwned=2> "
                 "[click](javascript:window.dagcPwned=3) ![p](http://127.0.0.1:9/model.png)")
HOSTILE_GPU = "<svg onload=window.dagcPwned=4>[g](http://127.0.0.1:9/gpu) javascript:window.dagcPwned=5"
HOSTILE_STEM = "<img src=x onerror=window.dagcPwned=6> [p](javascript:window.dagcPwned=7)"
HOSTILE_PLAN = (
    f'model "{HOSTILE_MODEL}" {{ layers = 4  hidden = 256  heads = 8  kv_heads = 2  head_dim = 32  vocab = 1000\n'
    "  moe { experts = 4  top_k = 2  ffn = 512 } }\n"
    f'cluster {{ gpus = 4  gpus_per_node = 2  gpu "{HOSTILE_GPU}" {{ memory = 80 GB  flops = 400 TFLOPS  '
    "hbm = 2 TB/s } }\n"
    "workload { batch = 8  prompt = 128  generate = 8  microbatches = 2  rate = 50 requests/s  requests = 200 }\n"
    "require { ttft <= 10 ms }\nstrategy piped = pp 2 < tp 2 ; ep 2 >\nstrategy flat = tp 2 ; ep 2\n")


# ------------------------------------------------------------------ without a browser

def test_every_page_dagc_writes_forbids_script_and_fetches(tmp_path):
    import dagc
    from dagc.lang.load import load_plan_text
    plan = load_plan_text(HOSTILE_PLAN, name="plan.moe")
    dagc.compile(plan, tmp_path / "out")
    pages = sorted((tmp_path / "out").rglob("*.html"))
    assert len(pages) == 3                                   # the comparison and one page per strategy
    for page in pages:
        head = page.read_text().split("</head>", 1)[0]
        assert CSP_META in head, page
    assert CSP_META in report_html("", {})
    assert "script-src" not in CSP and "default-src 'none'" in CSP and "img-src data:" in CSP


def test_a_graph_too_large_to_read_is_linked_with_a_summary():
    huge = ('<svg xmlns="http://www.w3.org/2000/svg" width="549pt" height="81719pt" viewBox="0 0 549 81719">'
            + '<g class="node"><text>op</text></g>' * 3 + '<g class="node norm crit"><text>n</text></g>'
            + '<g class="edge crit"><path/></g>' * 2 + '<g class="edge"><path/></g>' + "</svg>")
    page = report_html("# r\n\n![DAG](dag.svg)\n", {"dag.svg": huge})
    assert "<svg" not in page.split("</style>", 1)[1] and "<img" not in page
    summary = re.search(r'<figure class="svg linked">(.*?)</figure>', page, re.S)
    assert summary is not None
    # every box and arrow, whatever classes dagc adds (`node norm crit`, `edge crit`: until 2026-12-03 uncounted)
    assert '<a href="dag.svg">dag.svg</a> (4 boxes, 3 arrows)' in summary.group(1)
    assert "549 × 81,719 pt" in summary.group(1)
    legible = huge.replace('height="81719pt"', 'height="900pt"')
    assert '<figure class="svg"><svg' in report_html("![DAG](dag.svg)\n", {"dag.svg": legible})


def readme_images() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"!\[[^\]]*\]\((docs/images/[^)\s]+)\)", text)


def test_the_pictures_the_readme_shows_exist():
    images = readme_images()
    assert len(images) >= 3, images                         # a report's summary, the DAG, the placement
    for rel in images:
        path = ROOT / rel
        assert path.is_file(), f"README.md shows {rel}, which is missing: python bench/screenshots.py"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", rel
    outputs = (ROOT / "docs" / "outputs.md").read_text()
    for rel in re.findall(r"!\[[^\]]*\]\((images/[^)\s]+)\)", outputs):
        assert (ROOT / "docs" / rel).is_file(), rel
    total = sum(p.stat().st_size for p in (ROOT / "docs" / "images").glob("*.png"))
    assert total < 600_000, f"docs/images holds {total:,} bytes of PNG: keep the pictures small"


# ------------------------------------------------------------------ the compiled pages

class Compiled:
    """The directory `dagc compile` wrote for an example (by its stem) or for "hostile", the hostile plan:
    each compiled when a test first asks for it, once per test process (`compiled_example`), the default
    example and the hostile plan with the search (the search draws nothing else)."""

    def __init__(self, compile_, hostile: Path):
        self.compile, self.hostile = compile_, hostile

    def __getitem__(self, name: str) -> Path:
        plan = self.hostile if name == "hostile" else ROOT / "examples" / f"{name}.moe"
        out, proc = self.compile(plan, search=name in (DEFAULT, "hostile"))
        assert proc.returncode in (0, 1), f"{' '.join(proc.args)} exited {proc.returncode}: {proc.stderr[-2000:]}"
        assert (out / "report.html").is_file(), f"{' '.join(proc.args)} wrote no report.html: {proc.stdout[-1000:]}"
        return out


@pytest.fixture(scope="module")
def compiled(compiled_example, tmp_path_factory) -> Compiled:
    if browser_missing() is not None:
        pytest.skip(str(browser_missing()))
    hostile = tmp_path_factory.mktemp("plans") / f"{HOSTILE_STEM}.moe"
    hostile.write_text(HOSTILE_PLAN)
    return Compiled(compiled_example, hostile)


# ------------------------------------------------------------------ the browser

class Tab:
    """One page at one width, recording what a person would not see: console errors, page errors,
    requests for anything but the file itself, dialogs."""

    def __init__(self, browser, width: int):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.width = width
        self.errors: list[str] = []
        self.console: list[str] = []
        self.requests: list = []
        self.blocked: list[tuple[str, str | None]] = []
        self.responses: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("request", lambda r: self.requests.append(r))
        self.page.on("requestfailed", lambda r: self.blocked.append((r.url, r.failure)))
        self.page.on("response", lambda r: self.responses.append(r.url))
        self.page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))

    def open(self, path: Path) -> dict:
        """Load `path`; what the page looks like (`_LOOK`), after checking it loaded nothing else."""
        self.errors.clear()
        self.console.clear()
        self.requests.clear()
        url = path.resolve().as_uri()
        self.page.goto(url, wait_until="load")
        others = [r.url for r in self.requests if r.url != url]
        assert not others, f"{path} at {self.width} px fetched {others}"
        assert not self.errors, f"{path} at {self.width} px: {self.errors}"
        return self.page.evaluate(_LOOK)

    def close(self) -> None:
        self.context.close()


_LOOK = """() => {
  const doc = document.documentElement;
  const pictures = [...document.querySelectorAll('svg, img')]
    .filter(e => !e.parentElement || !e.parentElement.closest('svg'));
  const empty = pictures.filter(e => { const r = e.getBoundingClientRect(); return !(r.width > 0 && r.height > 0); })
                        .map(e => e.outerHTML.slice(0, 80));
  const clipped = [];
  for (const svg of pictures.filter(e => e.tagName.toLowerCase() === 'svg')) {
    const R = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const b = t.getBoundingClientRect();
      if (b.width > 0 && (b.left < R.left - 1 || b.right > R.right + 1 || b.top < R.top - 1 || b.bottom > R.bottom + 1))
        clipped.push(t.textContent.slice(0, 80));
    }
  }
  const all = [...document.querySelectorAll('*')];
  return {
    scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, html: doc.tagName.toLowerCase() === 'html',
    pictures: pictures.length, linked: document.querySelectorAll('figure.linked').length, empty, clipped,
    scripts: document.querySelectorAll('script').length,
    handlers: all.filter(e => [...e.attributes].some(a => a.name.toLowerCase().startsWith('on'))).map(e => e.tagName),
    scriptLinks: all.filter(e => /^\\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('src') || ''))
                    .length,
    pwned: window.dagcPwned === undefined ? null : window.dagcPwned,
  };
}"""


def _md_images(page: Path) -> int:
    md = page.with_suffix(".md")
    return len(re.findall(r"^!\[[^\]]*\]\(", md.read_text(), re.M)) if md.is_file() else 0


def check_page(tab: Tab, path: Path) -> dict:
    look = tab.open(path)
    where = f"{path} at {tab.width} px"
    assert not look["empty"], f"{where}: pictures with an empty box: {look['empty']}"
    assert not look["clipped"], f"{where}: text cut at a picture's edge: {look['clipped']}"
    assert look["scripts"] == 0 and not look["handlers"] and look["scriptLinks"] == 0, (where, look)
    assert look["pwned"] is None, f"{where} ran script: {look['pwned']}"
    if look["html"]:            # a report page: no sideways scroll, every picture of report.md drawn or linked
        assert look["scrollWidth"] <= look["innerWidth"], f"{where} is {look['scrollWidth']} px wide"
        assert look["pictures"] + look["linked"] == _md_images(path), (where, look)
    else:                       # a standalone SVG: the drawing itself, at its own size
        assert look["pictures"] >= 1, where
    return look


def _pages(directory: Path) -> list[Path]:
    return sorted(directory.rglob("report.html"), key=lambda p: (len(p.parts), str(p)))


def _pictures(directory: Path) -> list[Path]:
    return sorted(p for name in ("dag.svg", "placement.svg", "pareto.svg", "load_cdf.svg", "load_timeline.svg")
                  for p in directory.rglob(name))


def _fixed_size(path: Path) -> None:
    """The SVG's root gives its width and height in absolute units and it holds no media query: the browser
    draws it at that size whatever the window's width."""
    root = ET.parse(path).getroot()
    for side in ("width", "height"):
        assert re.fullmatch(r"[0-9.]+(pt|px)?", root.get(side, "")), f"{path}: {side}={root.get(side)!r}"
    assert "@media" not in path.read_text(), f"{path} has a media query"


def _print(tab: Tab, path: Path) -> None:
    tab.open(path)
    pdf = tab.page.pdf(format="A4", print_background=True)
    assert pdf[:5] == b"%PDF-" and len(pdf) > 1000, path
    assert not tab.errors, (path, tab.errors)


@browser
@needs_browser
@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_example_pages_in_the_browser(example, compiled, chrome):
    """Each report.html of the example (the comparison of its strategies and each strategy's page) at 1280 and
    390 px, and each of its SVGs: nothing fetched, no error, every picture with a box and none of its text cut,
    no sideways scroll; the first page prints to PDF. A standalone SVG is drawn at its own size, its root's
    `width` and `height` (`_fixed_size`), which no window width changes: it is opened at the first width only
    (since 2026-12-02; it was opened at both, the same drawing twice)."""
    directory = compiled[example]
    pages, pictures = _pages(directory), _pictures(directory)
    assert pages and pictures, directory
    for path in pictures:
        _fixed_size(path)
    for width in WIDTHS:
        tab = Tab(chrome, width)
        try:
            for path in pages + (pictures if width == WIDTHS[0] else []):
                check_page(tab, path)
            if width == WIDTHS[0]:
                _print(tab, pages[0])
        finally:
            tab.close()


@browser
@needs_browser
def test_the_comparison_page_holds_the_pareto_plot(compiled, chrome):
    directory = compiled[DEFAULT]
    page = directory / "report.html"
    assert (directory / "pareto.svg").is_file() and "<img" not in page.read_text()
    tab = Tab(chrome, 390)
    try:
        look = check_page(tab, page)
        plot = tab.page.evaluate("""() => [...document.querySelectorAll('figure.svg > svg')]
            .filter(s => s.textContent.includes('decode throughput per GPU vs TPOT'))
            .map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height]; })""")
        assert len(plot) == 1 and plot[0][0] > 100 and plot[0][1] > 100, (plot, look)
        for path in (directory / "pareto.svg", *_pages(directory)[1:2], *_pictures(directory)[:2]):
            _print(tab, path)
    finally:
        tab.close()


@browser
@needs_browser
def test_hostile_names_run_nothing_and_fetch_nothing(compiled, chrome):
    """A plan whose model, GPU and file names carry <script>, onerror=, javascript: and Markdown links:
    its pages and pictures run no script, fetch nothing, and show the names as text."""
    directory = compiled["hostile"]
    pages, pictures = _pages(directory), _pictures(directory)
    assert len(pages) == 3 and pictures
    assert {"load_cdf.svg", "load_timeline.svg"} <= {p.name for p in pictures}      # its traffic, drawn
    tab = Tab(chrome, 1280)
    try:
        for path in pages + pictures:
            check_page(tab, path)
            for link in tab.page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))"):
                assert not re.match(r"\s*[a-z][a-z0-9+.-]*:", link, re.I) or link == "https://ui.perfetto.dev", link
            assert not [m for m in tab.console if "Content Security Policy" in m], (path, tab.console)
        tab.open(pages[0])
        text = tab.page.inner_text("body")
        assert "<script>window.dagcPwned=1</script>" in text and "javascript:window.dagcPwned" in text
    finally:
        tab.close()


@browser
@needs_browser
def test_the_policy_blocks_a_smuggled_script_and_fetch(compiled, chrome, tmp_path):
    """Were an escaping slip to let markup through, the page's Content-Security-Policy would still
    refuse it: the script does not run, the image is not fetched, and Chromium logs the violations."""
    page = (compiled[DEFAULT] / "report.html").read_text()
    smuggled = ('<script>window.dagcPwned = "inline"</script>'
                '<img src="http://127.0.0.1:9/pixel.png" onerror="window.dagcPwned = \'handler\'">'
                '<link rel="stylesheet" href="http://127.0.0.1:9/style.css">'
                '<iframe src="http://127.0.0.1:9/frame"></iframe>')
    path = tmp_path / "report.html"
    path.write_text(page.replace("<body>", "<body>" + smuggled, 1))
    tab = Tab(chrome, 1280)
    try:
        tab.page.goto(path.resolve().as_uri(), wait_until="load")
        assert tab.page.evaluate("window.dagcPwned === undefined"), "a smuggled script ran"
        # Chromium announces the elements' requests, then refuses them before they leave the renderer.
        tried = sorted(r.url for r in tab.requests if "127.0.0.1" in r.url)
        assert sorted(url for url, why in tab.blocked if why and "csp" in why.lower()) == tried, tab.blocked
        assert not [url for url in tab.responses if "127.0.0.1" in url]
        violations = [m for m in tab.console if "Content Security Policy" in m]
        assert any("script" in m for m in violations), tab.console
        assert any("img-src" in m or "image" in m for m in violations), tab.console
    finally:
        tab.close()
