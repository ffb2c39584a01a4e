"""A stage of one layer on one GPU is written `3`, not `3–3`, in the memory table of `dagc check` and in report.md's
placement (`dagc.units.range_text`). Until 2026-12-02 seed 000's `pp 16 < ep 16 >` read "layers 0–0", and `pp 4 <
tp 1 >` "GPUs 0–0"."""

from __future__ import annotations

import re
from pathlib import Path

from dagc.cli.main import main
from dagc.units import range_text

PLAN = """model "tiny" {
  layers = 4  hidden = 1024  heads = 8  kv_heads = 8  head_dim = 128  vocab = 32000
  moe { experts = 4  top_k = 2  ffn = 1024 }
}
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 32 }
strategy pp 4 < tp 1 >
strategy pp 2 < ep 4 >
"""


def test_range_text() -> None:
    assert [range_text(0, 8), range_text(3, 4), range_text(2, 2)] == ["0–7", "3", "none"]


def test_the_memory_table_writes_one_layer_on_one_gpu_as_itself(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN)
    main(["check", str(plan), "--no-search"])
    out = capsys.readouterr().out
    rows = re.findall(r"^│ (\d)\s+│ (\S+)\s+│ (\S+)\s+│", out, re.M)
    assert rows == [("0", "0", "0"), ("1", "1", "1"), ("2", "2", "2"), ("3", "3", "3"),
                    ("0", "0–3", "0–1"), ("1", "4–7", "2–3")]


def test_report_md_writes_them_so_too(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN)
    main(["compile", str(plan), "-o", str(tmp_path / "out"), "--no-search", "--strategy", "pp 4 < tp 1 >"])
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| 3 | 3 | 3 | 1 |" in md and "–3 |" not in md
