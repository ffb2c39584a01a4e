"""The pictures of what dagc draws that README.md and docs/outputs.md show, made again in one command.

Run: python bench/screenshots.py [--plan examples/mixtral-8x7b-1node.moe] [--out docs/images]

Compiles the plan with `dagc compile` (its search too, as a user's compile does) into a temporary
directory, opens its first strategy's report.html in the system's Chromium (Debian's `chromium`,
driven by the `playwright` package with `executable_path`, as tests/test_browser.py does: no
browser is downloaded, nothing is fetched) and writes three PNGs:

- report-summary.png: the top of the report, down to its summary's end (the three answers);
- dag.png: the DAG picture (dag.svg) as the report shows it;
- placement.png: the placement picture (placement.svg) as the report shows it.

Run it again after a change to what the pages or pictures look like, and commit the PNGs (they
are kept small: a few hundred KB in all; the sizes are printed).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 960                 # the page's width: the pictures shrink to its column, as on a laptop
SUMMARY_MAX_PX = 900        # the summary shot stops here if the summary runs longer
DAG_WIDTH = 600            # the DAG shrunk to a narrow page: the whole picture in one screen's height
PLACEMENT_WIDTH = 1280      # placement.svg is drawn up to 1,180 px wide: shown whole, unscaled


def compile_plan(plan: Path, out: Path) -> Path:
    """`dagc compile PLAN -o OUT`; the directory of the plan's first strategy report (or OUT)."""
    proc = subprocess.run([sys.executable, "-m", "dagc", "compile", str(plan), "-o", str(out), "-q"],
                          capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"dagc compile {plan} exited {proc.returncode}:\n{proc.stderr}")
    pages = sorted(out.rglob("report.html"), key=lambda p: (len(p.parts), str(p)))
    firsts = [p.parent for p in pages if (p.parent / "dag.svg").is_file()]
    if not firsts:
        sys.exit(f"dagc compile {plan} drew no dag.svg")
    return firsts[0]


def shoot(directory: Path, images: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("no Chromium on PATH: apt-get install chromium (the system's browser; none is downloaded)")
    images.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "--hide-scrollbars"])
        url = (directory / "report.html").resolve().as_uri()
        page = browser.new_page(viewport={"width": WIDTH, "height": SUMMARY_MAX_PX}, device_scale_factor=1)
        page.goto(url, wait_until="load")
        end = page.evaluate("() => { const h = document.getElementById('assumptions'); "
                            "return h ? h.getBoundingClientRect().top + window.scrollY : 900; }")
        path = images / "report-summary.png"
        page.screenshot(path=path, clip={"x": 0, "y": 0, "width": WIDTH, "height": min(end, SUMMARY_MAX_PX)})
        written.append(path)
        for name, width in (("dag", DAG_WIDTH), ("placement", PLACEMENT_WIDTH)):
            page.set_viewport_size({"width": width, "height": SUMMARY_MAX_PX})
            # the figure after the paragraph that links the picture's file (report.md's order)
            figure = page.locator(f"xpath=//p[a[@href='{name}.svg']]/following-sibling::figure[1]").first
            path = images / f"{name}.png"
            figure.screenshot(path=path)
            written.append(path)
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", type=Path, default=ROOT / "examples" / "mixtral-8x7b-1node.moe")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dagc-screenshots-") as tmp:
        directory = compile_plan(args.plan, Path(tmp) / "out")
        written = shoot(directory, args.out)
    for path in written:
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size:,} bytes")
    print(f"in all: {sum(p.stat().st_size for p in written):,} bytes")


if __name__ == "__main__":
    main()
