"""A `dagc search` plot is carried into a later compile's set only when it is of that compile's plan, as read: until
2026-12-03 a search's plot of one plan stayed, unsaid, beside another plan's reports (`-o sdir` of both; a new user's
trial), and a plot of a plan edited since stayed beside the new reports."""

from __future__ import annotations

from pathlib import Path

from dagc.cli.main import main

PLAN = """model preset "gpt-oss-120b"
cluster {{ gpus = 1  gpu preset "h100-sxm" }}
workload {{ batch = {batch}  prompt = 1024  generate = 512 }}
strategy tp 1
"""


def test_only_a_plot_of_the_plan_compiled_is_carried(tmp_path: Path, capsys):
    a, b, out = tmp_path / "a.moe", tmp_path / "b.moe", tmp_path / "sdir"
    a.write_text(PLAN.format(batch=32))
    b.write_text(PLAN.format(batch=16))
    assert main(["search", str(a), "-o", str(out), "-q"]) == 0
    assert "<!-- dagc plan " in (out / "pareto.svg").read_text().split("\n")[2]
    assert main(["compile", str(a), "-o", str(out), "--no-search", "-q"]) == 0
    assert (out / "pareto.svg").is_file()                      # the same plan: carried
    assert main(["search", str(a), "-o", str(out), "-q"]) == 0
    assert main(["compile", str(b), "-o", str(out), "--no-search", "-q"]) == 0
    assert not (out / "pareto.svg").exists()                   # another plan's: not carried
    assert main(["search", str(a), "-o", str(out), "-q"]) == 0
    a.write_text(PLAN.format(batch=24))
    assert main(["compile", str(a), "-o", str(out), "--no-search", "-q"]) == 0
    assert not (out / "pareto.svg").exists()                   # the plan edited since: not carried
    capsys.readouterr()
