"""One rounding rule per quantity across every output: a figure reads the same in the terminal, report.md,
report.html and the SVGs (report.json keeps full precision). Times have four significant digits, memory is
in GiB (as engines and nvidia-smi count it), a GPU's memory also in MiB."""

from __future__ import annotations

import html
import json
import subprocess
import sys

import pytest

from dagc.units import Dimension, format_bytes, format_gpu_memory, format_si
from conftest import EXAMPLES, ROOT

PLAN, STRATEGY = EXAMPLES / "qwen3-30b-a3b-4gpu.moe", "tp 1 ; ep 4"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("rounding")
    run = [sys.executable, "-m", "dagc"]
    text = subprocess.run([*run, "check", str(PLAN), "--strategy", STRATEGY, "--no-search"], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"}).stdout
    done = subprocess.run([*run, "compile", str(PLAN), "--strategy", STRATEGY, "--no-search", "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    return report, {"text": text, "report.md": (out / "report.md").read_text(),
                    "report.html": html.unescape((out / "report.html").read_text()),
                    "placement.svg": html.unescape((out / "placement.svg").read_text())}


def test_times_read_the_same_everywhere(outputs):
    report, shown = outputs
    for key in ("ttft_s", "tpot_s"):
        seconds = report["metrics"][key]
        figure = format_si(seconds, Dimension.TIME)                    # 982.4 ms, 17.85 ms
        assert len(figure.split()[0].replace(".", "").lstrip("0")) <= 4
        for name in ("text", "report.md", "report.html"):
            assert figure in shown[name], (name, figure)
            # no other rounding of the same figure: one decimal in ms, or in s
            for other in (f"{seconds * 1e3:.1f} ms", f"{seconds:.1f} s", f"{seconds * 1e3:.0f} ms"):
                if other != figure and not figure.startswith(other.split()[0] + "."):
                    assert f" {other}" not in shown[name], (name, other)


def test_memory_reads_the_same_everywhere(outputs):
    report, shown = outputs
    rank = report["memory"]["max_rank"]["total_bytes"]
    capacity = report["memory"]["capacity_bytes"]
    for name in ("text", "report.md", "report.html", "placement.svg"):
        assert format_bytes(rank) in shown[name], (name, format_bytes(rank))        # 25.87 GiB
        assert f"{rank / 1e9:.2f} GB" not in shown[name] and f"{rank / 1e9:.1f} GB" not in shown[name]
    for name in ("text", "report.md", "report.html"):
        assert format_gpu_memory(capacity) in shown[name]                            # 79.65 GiB (81,559 MiB)
    assert format_bytes(capacity) in shown["placement.svg"]
