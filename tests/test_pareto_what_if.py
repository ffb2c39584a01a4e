"""pareto.svg of a plan read with `--set` says so in its title, as report.md does: `dagc search PLAN --set
cluster.gpus=8` writes where the plan's own plot goes (`out/<plan>/pareto.svg`), and until 2026-11-30 its plot of
another cluster looked the same as the plan's."""

from __future__ import annotations

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
