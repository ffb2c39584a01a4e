"""Render times of the pictures and the trace: DOT generation + Graphviz `dot -Tsvg` at each
level of detail, placement.svg, and trace.json (events, bytes, seconds).

Run: python bench/bench_render.py
"""

from __future__ import annotations

import platform
import shutil
import tempfile
import time
from pathlib import Path

from dagc.check import check
from dagc.export.dot import Detail, dag_dot, render_svg
from dagc.export.placement import placement_svg
from dagc.export.trace import write_trace
from dagc.load import load_plan_text

ROOT = Path(__file__).resolve().parent.parent
PLANS = [
    ("seed-004 (16 GPUs)", (ROOT / "examples" / "30b-moe-dp2-pp2-tp2-ep4-16gpu.moe").read_text()),
    ("deepseek-v3 32 GPUs", (ROOT / "examples" / "deepseek-v3-prefill-32xh800.moe").read_text()),
    ("deepseek-v3 2048 GPUs", 'model preset "deepseek-v3"\ncluster { gpus = 2048 gpu preset "h800" }\n'
     "workload { batch = 1024 prompt = 4096 generate = 512 microbatches = 16 }\n"
     "strategy dp 16 < pp 4 < tp 4 sp ; ep 32 > >\n"),
]


def main() -> None:
    print(f"machine: {platform.machine()} · Python {platform.python_version()} · dot: {shutil.which('dot')}")
    print(f"{'plan':24} {'picture':16} {'nodes/events':>13} {'MB':>8} {'seconds':>8}  note")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for name, text in PLANS:
            r = check(load_plan_text(text))[0]
            for detail in Detail:
                t0 = time.perf_counter()
                g = dag_dot(r.compiled, detail)
                problem = render_svg(g.text, out / "dag.svg", timeout_s=120)
                dt = time.perf_counter() - t0
                size = (out / "dag.svg").stat().st_size / 1e6 if problem is None else 0.0
                note = (g.note or "") + (f" {problem}" if problem else "")
                print(f"{name:24} {'dag ' + detail.value:16} {g.nodes:13d} {size:8.2f} {dt:8.2f}  {note.strip()}")
            t0 = time.perf_counter()
            svg = placement_svg(r)
            print(f"{name:24} {'placement.svg':16} {r.layout.gpus_used:13d} {len(svg) / 1e6:8.2f} "
                  f"{time.perf_counter() - t0:8.2f}")
            t0 = time.perf_counter()
            info = write_trace(r.compiled, out / "trace.json")
            print(f"{name:24} {'trace.json':16} {info.events:13d} {info.path.stat().st_size / 1e6:8.2f} "
                  f"{time.perf_counter() - t0:8.2f}  {'representative ranks' if info.representative else 'all ranks'}")


if __name__ == "__main__":
    main()
