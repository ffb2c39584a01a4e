"""`dagc fleet PLAN --format json` on a plan it cannot read prints `{plan, valid: false, diagnostics}` on stdout, as
`dagc check` and `dagc search` do (docs/cli.md: with `--format json` stdout holds only JSON): until 2026-12-02 it
printed nothing there, which a script's JSON reader cannot read."""

from __future__ import annotations

import json

from conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpus_per_node = 4  gpu preset "h100-sxm" }
workload { batch = 32  prompt = 1024  generate = 128  serving = inflight  rate = 2 requests/s  requests = 200 }
fleet { gpu preset "h100-sxm" { price = -2 $/h }  gpus = [2] }
"""


def test_a_fleet_it_cannot_read_prints_its_diagnostics_as_json(tmp_path):
    (tmp_path / "f.moe").write_text(PLAN)
    run = run_dagc("fleet", "f.moe", "--format", "json", "-o", "out", cwd=tmp_path)
    assert run.returncode == 4
    doc = json.loads(run.stdout)
    assert (doc["plan"], doc["valid"]) == ("f.moe", False)
    (d,) = doc["diagnostics"]
    assert (d["code"], d["line"], d["column"]) == ("E104", 4, 41) and "price" in d["message"]
    assert "the fleet was not searched" in run.stderr and not (tmp_path / "out").exists()
    # the text format keeps stdout empty
    assert run_dagc("fleet", "f.moe", "-o", "out", cwd=tmp_path).stdout == ""
