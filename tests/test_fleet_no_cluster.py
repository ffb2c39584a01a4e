"""A plan with a `fleet` and no `cluster`: E103 said once, at the `fleet`, telling that the fleet sweeps the plan's
cluster rather than standing for it — where it was said at the end of the file with the generic example, beside an
E103 "the cluster has no `gpu`" at the fleet's `gpus = [8]` (a value read onto a cluster that does not exist), which a
user who had listed the fleet's GPU types read as dagc ignoring them."""

from __future__ import annotations

from tests.conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
workload { batch = 64  prompt = 1000  generate = 200  serving = inflight  rate = 5 requests/s }
require { tpot_p90 <= 40 ms }

fleet {
  gpu preset "h100-sxm"
  gpu preset "h200"
  gpus = [8]
}
"""


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "error[" in line]


def test_fleet_says_the_missing_cluster_once_at_the_fleet(tmp_path):
    (tmp_path / "plan.moe").write_text(PLAN)
    r = run_dagc("fleet", "plan.moe", cwd=tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert _errors(r.stderr) == ["plan.moe:5:1: error[E103]: the plan has no `cluster` statement"]
    assert " 5 | fleet {\n   | ^^^^^\n" in r.stderr
    assert "a plan with a `fleet` keeps its `cluster`: `dagc fleet` reads it and replaces the fields the fleet " \
           "lists" in r.stderr
    assert "docs/fleet.md" in r.stderr


def test_check_of_such_a_plan_says_it_at_the_fleet_and_the_strategy_at_the_end(tmp_path):
    (tmp_path / "plan.moe").write_text(PLAN)
    r = run_dagc("check", "plan.moe", cwd=tmp_path)
    assert _errors(r.stderr) == ["plan.moe:5:1: error[E103]: the plan has no `cluster` statement",
                                 "plan.moe:9:1: error[E103]: the plan has no `strategy` statement"]


def test_a_plan_without_a_fleet_is_told_the_generic_example_at_its_end(tmp_path):
    (tmp_path / "plan.moe").write_text(PLAN[:PLAN.index("fleet")] + "strategy tp 1\n")
    r = run_dagc("check", "plan.moe", cwd=tmp_path)
    assert _errors(r.stderr) == ["plan.moe:5:13: error[E103]: the plan has no `cluster` statement"]
    assert 'add one, e.g. `cluster { gpus = 8  gpu preset "h100-sxm" }`' in r.stderr
