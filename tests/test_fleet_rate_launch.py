"""A fleet whose workload names its traffic without a rate: read at the fleet's rate by `dagc check` (and every
command that reads the plan without its fleet) and by `dagc fleet --launch`; `dagc fleet -q` prints the best
cluster only (docs/fleet.md)."""

from __future__ import annotations

import json
from pathlib import Path

from dagc.cli.main import main
from dagc.lang.load import load_plan
from dagc.lang.overrides import load_plan_with

# requests = 20 and no rate: the fleet's 4 requests/s is the workload's; a 1-GPU cluster of 59.6 GiB cannot hold
# Qwen3-30B-A3B's 57 GiB of bf16 weights and 4 GiB of reserve, so it misses without a search
PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  requests = 20 }
require { ttft_p99 <= 1 s  tpot_p90 <= 50 ms }
strategy tp 1
fleet {
  gpu preset "h100-sxm" { price = 2.5 $/h }
  gpu preset "generic-400t" { price = 1 $/h }
  rate = 4 requests/s
  mix "chat" { weight = 70 % }
  mix "short" { weight = 30 %  generate = 32  rate = 2 requests/s }
}
"""


def _plan(tmp_path: Path, text: str = PLAN) -> Path:
    path = tmp_path / "fleet.moe"
    path.write_text(text)
    return path


def test_check_reads_a_workload_without_a_rate_at_the_fleets(tmp_path, capsys):
    path = _plan(tmp_path)
    assert load_plan(path).workload.traffic.rate == 4.0
    assert load_plan_with(path, ()).workload.traffic.rate == 4.0
    # --rate, or a --set of the workload's rate, says another
    assert load_plan_with(path, (), rate=7.0).workload.traffic.rate == 7.0
    assert load_plan_with(path, ("workload.rate=3 requests/s",)).workload.traffic.rate == 3.0
    assert main(["check", str(path), "--no-search", "--format", "json"]) in (0, 1)     # not 4: the plan is read
    # without a fleet rate, the workload's E104 as without the fleet
    bare = _plan(tmp_path, PLAN.replace("  rate = 4 requests/s\n", ""))
    assert main(["check", str(bare), "--no-search"]) == 4
    assert "error[E104]: `requests` describes traffic" in capsys.readouterr().err


def test_fleet_launch_starts_the_best_pick_and_quiet_prints_the_best_only(tmp_path, capsys):
    path = _plan(tmp_path)
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--launch", "-q"]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert lines[0].startswith("best: 1 x h100-sxm, vllm@")
    # the best cluster only: no table, no cluster that misses, no list of files written
    assert "not meeting" not in printed and "generic-400t" not in printed and "wrote " not in printed
    assert "best 1 of 1" not in printed and "clusters meet" not in printed
    # then the launch of the heaviest mix's pick ("chat": the workload as written, at the fleet's 4 requests/s)
    assert "vllm serve Qwen/Qwen3-30B-A3B --tensor-parallel-size 1 " in printed
    best = json.loads((tmp_path / "out" / "fleet.json").read_text())["fleet"]["best"]
    assert best["pick"]["strategy"].startswith("tp 1 ")
    assert f"# dagc launch: fleet · strategy `{best['pick']['strategy']}` · 1 GPU" in printed
