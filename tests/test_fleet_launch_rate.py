"""`dagc fleet --launch` launches the best cluster's pick at the rate the fleet judged it at: a workload with a rate
(or a request log's times) of its own is read at the fleet's `rate`, as the best's `dagc search --rate R` line
reads it — before, the launch header quoted the workload's own traffic under the fleet's best (docs/fleet.md)."""

from __future__ import annotations

from pathlib import Path

from dagc.cli.main import main

# the workload sends 1 request/s of its own; the fleet compares the clusters at 4 requests/s
PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 1 requests/s  requests = 20 }
require { ttft_p99 <= 1 s  tpot_p90 <= 50 ms }
fleet {
  gpu preset "h100-sxm" { price = 2.5 $/h }
  rate = 4 requests/s
}
"""


def test_fleet_launch_reads_the_workload_at_the_fleets_rate(tmp_path: Path, capsys) -> None:
    path = tmp_path / "f.moe"
    path.write_text(PLAN)
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--launch", "-q"]) == 0
    printed = capsys.readouterr().out
    best = printed.splitlines()[0]
    assert "on its goodput of 4 requests/s" in best and "--rate 4 " in best
    # the launch under it: the 20 requests at the fleet's 4 requests/s, not the workload's 1 request/s
    assert "under the plan's traffic (20 requests at 4 requests/s)" in printed
    assert "20 requests at 1 requests/s" not in printed
    assert "overrides (--set, not in the plan): cluster.gpu=h100-sxm · cluster.price=2.5 $/h · " \
           "workload.rate=4 requests/s" in printed


def test_a_mix_with_its_own_rate_keeps_it(tmp_path: Path, capsys) -> None:
    # the heaviest mix sets its own rate: its option stays the one rate (no second --set of it, E104)
    mix = '  mix "chat" { weight = 1  rate = 3 requests/s }\n'
    text = PLAN.replace("  rate = 4 requests/s\n", "  rate = 4 requests/s\n" + mix)
    path = tmp_path / "f.moe"
    path.write_text(text)
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--launch", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "under the plan's traffic (20 requests at 3 requests/s)" in printed
    assert "set twice" not in printed


def test_a_workload_at_the_fleets_rate_gets_no_override(tmp_path: Path, capsys) -> None:
    # its own rate is the fleet's: the overrides line names no rate (it is in the plan)
    path = tmp_path / "f.moe"
    path.write_text(PLAN.replace("rate = 1 requests/s", "rate = 4 requests/s"))
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--launch", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "under the plan's traffic (20 requests at 4 requests/s)" in printed
    assert "overrides (--set, not in the plan): cluster.gpu=h100-sxm · cluster.price=2.5 $/h\n" in printed
