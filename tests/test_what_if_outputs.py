"""The pictures and the trace of a plan read with `--set` say so, as report.md does: `dagc search PLAN --set
cluster.gpus=8` and `dagc compile PLAN --set …` write where the plan's own outputs go (`out/<plan>/`), and until
2026-11-30 pareto.svg, dag.svg, placement.svg and trace.json.gz of a what-if named the plan alone, like its own."""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import run_dagc

NS = "{http://www.w3.org/2000/svg}"
PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64 }
"""


def _title(svg: Path) -> str:
    """The plot's bold heading, its wrapped lines joined."""
    return " ".join(e.text or "" for e in ET.parse(svg).iter(f"{NS}text") if e.get("font-size") == "15")


def test_a_what_ifs_plot_names_its_overrides(tmp_path: Path) -> None:
    (tmp_path / "p.moe").write_text(PLAN)
    for args, out in ((("--set", "cluster.gpus=2", "--set", "require.tpot=20 ms"), "what-if"), ((), "plan")):
        proc = run_dagc("search", "p.moe", "-q", "-o", out, *args, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert _title(tmp_path / "what-if" / "pareto.svg") == (
        "p (with --set cluster.gpus = 2, require.tpot = 20 ms): decode throughput per GPU vs TPOT")
    assert _title(tmp_path / "plan" / "pareto.svg") == "p: decode throughput per GPU vs TPOT"


def test_a_what_ifs_compile_names_its_overrides_in_every_picture_and_the_trace(tmp_path: Path) -> None:
    (tmp_path / "p.moe").write_text(PLAN + "strategy tp 1 ; ep 2\n")
    for args, out in ((("--set", "cluster.gpus=2"), "what-if"), ((), "plan")):
        proc = run_dagc("compile", "p.moe", "-q", "--no-search", "-o", out, *args, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    for out, said in (("what-if", "p (with --set cluster.gpus = 2)"), ("plan", "p")):
        d = tmp_path / out
        assert f'label="{said} · strategy tp 1 ; ep 2 · 2 GPUs · ' in (d / "dag.dot").read_text()
        assert _title(d / "placement.svg").startswith(f"{said} · strategy tp 1 ; ep 2")
        metadata = json.loads(gzip.decompress((d / "trace.json.gz").read_bytes()))["metadata"]
        assert metadata.get("overrides") == (["cluster.gpus = 2"] if out == "what-if" else None)
