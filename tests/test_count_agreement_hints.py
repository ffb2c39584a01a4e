"""Count and noun agree in what dagc says of one: E401's hint on a 1-GPU cluster (`on 1 GPU`, `1 × 1 × 1 GPU`),
`dagc fleet`'s headline of a one-cluster fleet none of which meets, and `dagc fleet --launch`'s engine said as where
it came from, not an `--engine` the user never typed (2026-11-30)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace as N

from dagc.cli.main import main
from dagc.rules.gpu_fit import fit_hint

FLEET = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  requests = 20 }
require { ttft_p99 <= 1 s  tpot_p90 <= 50 ms }
strategy tp 1
fleet {
  gpu preset "GPU" { price = 2.5 $/h }
  rate = 4 requests/s
}
"""


def test_e401_hint_on_one_gpu_says_gpu_once(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "one.moe"
    plan.write_text('model preset "qwen3-30b-a3b"\ncluster { gpus = 1  gpu preset "h200" }\n'
                    "workload { batch = 16  prompt = 512  generate = 64 }\nstrategy tp 2\n")
    main(["check", str(plan), "--no-search"])
    said = capsys.readouterr()
    hint = [line for line in (said.out + said.err).splitlines() if "= help: on 1" in line]
    assert hint == ["   = help: on 1 GPU: a stage group of 1 — tp 1 (1 × 1 × 1 GPU); G = max(tp·cp, ep·etp), never "
                    "their product"]


def test_fit_hint_keeps_the_plural_beyond_one() -> None:
    m = N(heads=32, kv_heads=4, attention=None, moe=N(experts=128), layers=48)
    lay = N(dp=2, pp=1, tp=1, cp=1, ep=1, etp=1, redundant=0, group_size=1, expert_domain_written=False)
    assert fit_hint(m, 1, lay) == "on 1 GPU: dp 1 (1 × 1 × 1 GPU); G = max(tp·cp, ep·etp), never their product"
    lay2 = N(dp=4, pp=1, tp=2, cp=1, ep=1, etp=1, redundant=0, group_size=2, expert_domain_written=False)
    assert fit_hint(m, 5, lay2).startswith("on 5 GPUs: dp 2 (2 × 1 × 2 GPUs)")


def test_fleet_of_one_cluster_none_meets(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "fleet.moe"
    plan.write_text(FLEET.replace('"GPU"', '"generic-400t"'))       # 1 GPU cannot hold the 57 GiB of weights
    assert main(["fleet", str(plan), "-o", str(tmp_path / "out"), "-q"]) != 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("the only cluster does not meet every requirement at 4 requests/s, ranked by "), line


def test_fleet_launch_says_where_the_engine_came_from(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "fleet.moe"
    plan.write_text(FLEET.replace('"GPU"', '"h100-sxm"'))
    assert main(["fleet", str(plan), "-o", str(tmp_path / "out"), "--launch", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "--engine vllm:" not in printed
    assert ("dagc's figures for it, served by vllm 0.33.0 (dagc's default engine: neither the plan nor the fleet "
            "names one; the launch uses its flags): TTFT ") in printed
    # a plan naming its engine: said as the plan's
    plan.write_text(FLEET.replace('"GPU"', '"h100-sxm"').replace('preset "h100-sxm" }', 'preset "h100-sxm"  '
                                                                   'engine = vllm }', 1))
    assert main(["fleet", str(plan), "-o", str(tmp_path / "out2"), "--launch", "-q"]) == 0
    assert "(the plan's engine, the fleet's best cluster's; the launch uses its flags)" in capsys.readouterr().out
