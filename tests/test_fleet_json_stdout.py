"""`dagc fleet --format json` keeps standard output to fleet.json's document, so `--launch`, whose commands are
text, is a usage error with it (docs/fleet.md, docs/cli.md "Output streams").

Until 2026-12-02 `dagc fleet plan.moe --format json --launch > fleet.json` wrote the document and then the launch's
text after it: `json.load` failed with "Extra data", in a CI job that had asked for JSON.
"""

from __future__ import annotations

import json

from test_fleet_no_strategy import PLAN  # one GPU kind, one price: the fleet the launch would pick from

from dagc.cli.main import main


def test_launch_with_json_is_a_usage_error_before_any_work(tmp_path, capsys):
    path = tmp_path / "fleet.moe"
    path.write_text(PLAN)
    out = tmp_path / "out"
    assert main(["fleet", str(path), "-o", str(out), "--format", "json", "--launch"]) == 2
    said = capsys.readouterr()
    assert said.out == ""  # no half document, no commands
    assert "error: --launch prints text" in said.err and "pick.strategy" in said.err
    assert not out.exists()  # nothing searched, nothing written


def test_the_document_names_what_dagc_launch_takes(tmp_path, capsys):
    """What the refusal points at: the best's strategy and options, from the JSON alone, launch the pick."""
    path = tmp_path / "fleet.moe"
    path.write_text(PLAN)
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--format", "json"]) == 0
    best = json.loads(capsys.readouterr().out)["fleet"]["best"]
    argv = ["launch", str(path), "--strategy", best["pick"]["strategy"]]
    for option in best["options"]:
        argv += ["--set", option]
    assert main(argv) == 0
    assert "vllm serve Qwen/Qwen3-30B-A3B --tensor-parallel-size 1 " in capsys.readouterr().out
