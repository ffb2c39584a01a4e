"""`dagc search` whose pareto.svg cannot be written says so and exits 5 after its answer: until 2026-12-03 it printed
nothing, and `--format json` left stdout empty (a CI job's `jq` read no JSON)."""

from __future__ import annotations

import json

from dagc.cli.main import main
from conftest import TINY


def test_the_ranking_is_printed_and_the_plot_said(tmp_path, capsys):
    plan = tmp_path / "p.moe"
    plan.write_text(TINY)
    blocked = tmp_path / "file"
    blocked.write_text("")                     # `-o` names a regular file: no directory to write pareto.svg in
    assert main(["search", str(plan), "-o", str(blocked), "--format", "json"]) == 5
    out, err = capsys.readouterr()
    assert json.loads(out)["candidates"] and "cannot write" in err
    assert main(["search", str(plan), "-o", str(blocked)]) == 5
    out, err = capsys.readouterr()
    assert "legal" in out and "wrote" not in out and "cannot write" in err
    assert blocked.read_text() == ""
