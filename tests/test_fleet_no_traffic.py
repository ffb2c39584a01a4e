"""`dagc fleet` on a plan whose workload says nothing of its traffic, the rate the fleet's (as docs/language.md's
fleet example writes it): each cluster's pick is judged on `dagc search --rate`'s default arrivals at that rate.
It ended in a traceback (`AssertionError: a candidate judged at a rate ran the plan's traffic`)."""

from __future__ import annotations

import json

from conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 1014  generate = 247 }
require { tpot <= 50 ms }
fleet {
  gpu preset "h100-sxm" { price = 2.49 $/h }
  gpus = [4]
  rate = 4 requests/s
}
strategy a = tp 4
"""


def test_a_fleet_rate_over_a_workload_without_traffic_is_judged_not_crashed(tmp_path):
    (tmp_path / "p.moe").write_text(PLAN)
    run = run_dagc("fleet", "p.moe", "-o", "out", "--format", "json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "AssertionError" not in run.stderr
    fleet = json.loads(run.stdout)["fleet"]
    assert fleet["rate_requests_per_s"] == 4.0 and fleet["ranked"]
    for answer in fleet["ranked"]:
        assert answer["meets_requirements"] is True and answer["pick"] is not None
        # judged on 1,000 arrivals at the fleet's rate, a run long enough to queue: no second, longer run
        assert answer["carry_check_requests"] is None


def test_the_search_command_a_fleet_prints_keeps_each_set_one_shell_word():
    """Each `--set` of the `dagc search` line a fleet prints is one shell word, whatever its value holds (a fleet's
    values are presets, engine names and numbers today; a quote would have closed the quoting)."""
    import shlex

    from dagc.export.fleet_words import search_command

    row = {"rate_requests_per_s": 4.0, "options": ["cluster.gpu=h100-sxm", "cluster.price=2.49 $/h", "x=it's; rm"]}
    line = search_command(row, "p.moe")
    assert line.startswith("dagc search p.moe --rate 4 --set cluster.gpu=h100-sxm --set 'cluster.price=2.49 $/h'")
    assert shlex.split(line)[5:] == ["--set", "cluster.gpu=h100-sxm", "--set", "cluster.price=2.49 $/h",
                                     "--set", "x=it's; rm"]
