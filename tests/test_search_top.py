"""`dagc search --top N`: the search ranks and re-scores what is printed — with `--quiet` in text, the verdict
on the best alone, whatever `--top` says — so its cost does not grow with a `--top` nothing prints, and the
best it prints is the same."""

from __future__ import annotations

import pytest

import dagc.drive.drive as drive_module  # the driver `dagc search` runs the search through
from dagc.cli.main import main

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm"  engine = pytorch }
workload { batch = 64  prompt = 2048  generate = 256 }
strategy tp 8
"""


# What the search is asked for does not depend on the plan: the cases below search PLAN on 2 of its GPUs (34
# candidates, 22 legal), where `--top 2000 --format json` re-scores what it lists in 1 CPU s, not PLAN's 471 legal
# ones in 7 (test_quiet_prints_the_same_best_whatever_the_top keeps PLAN: its 20 rows are fewer than the legal ones).
SMALL = PLAN.replace("gpus = 8  gpus_per_node", "gpus = 2  gpus_per_node").replace("strategy tp 8", "strategy tp 2")


@pytest.mark.parametrize(("argv", "searched"), [
    (["--top", "2000", "-q"], 1),                          # the best alone is printed
    (["--top", "20", "-q"], 1),
    (["--top", "2000", "-q", "--format", "json"], 2000),   # the JSON lists the first 2,000
    (["--top", "7"], 7),                                    # the table's rows
])
def test_the_search_ranks_what_is_printed(argv, searched, tmp_path, monkeypatch, capsys):
    plan = tmp_path / "plan.moe"
    plan.write_text(SMALL)
    asked = []
    real = drive_module.search

    def spy(plan, options=None, **kwargs):
        asked.append(options.top if options is not None else kwargs["top"])
        return real(plan, options, **kwargs)

    monkeypatch.setattr(drive_module, "search", spy)
    assert main(["search", str(plan), *argv, "--svg", str(tmp_path / "p.svg")]) == 0
    assert asked == [searched]


def test_quiet_prints_the_same_best_whatever_the_top(tmp_path, capsys):
    plan = tmp_path / "plan.moe"
    plan.write_text(PLAN)
    lines = []
    for top in ("20", "2000"):
        capsys.readouterr()
        assert main(["search", str(plan), "--top", top, "-q", "--svg", str(tmp_path / "p.svg")]) == 0
        lines.append(capsys.readouterr().out)
    assert lines[0] == lines[1] and lines[0].startswith("best: ")
