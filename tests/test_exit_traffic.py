"""The exit code follows the verdict under traffic: a deployment that does not carry its traffic exits 1 even
when the plan states no requirement (its verdict reads "meets requirements: no"), one that carries it 0."""

from __future__ import annotations

import json

from conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 2000  generate = 200  serving = inflight  rate = RATE requests/s  requests = 300 }
strategy tp 1
"""


def test_traffic_not_carried_without_requirements_exits_1(tmp_path):
    (tmp_path / "over.moe").write_text(PLAN.replace("RATE", "50"))
    r = run_dagc("check", "over.moe", "--no-search", "--format", "json", cwd=tmp_path)
    report = json.loads(r.stdout)
    assert report["requirements"] == [] and report["verdict"]["meets_requirements"] is False
    assert r.returncode == 1, r.stderr


def test_traffic_carried_without_requirements_exits_0(tmp_path):
    (tmp_path / "light.moe").write_text(PLAN.replace("RATE", "0.2"))
    r = run_dagc("check", "light.moe", "--no-search", "--format", "json", cwd=tmp_path)
    report = json.loads(r.stdout)
    assert report["requirements"] == [] and report["verdict"]["meets_requirements"] is True
    assert r.returncode == 0, r.stderr
