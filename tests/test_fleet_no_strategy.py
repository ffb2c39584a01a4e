"""A fleet's plan need not write a `strategy`: `dagc fleet` searches each cluster's strategies itself, and the
`dagc search` and `dagc fleet --launch` it prints read the plan too; `dagc check` and `compile` still need one,
unless `--strategy S` gives it (the "check it" line `dagc search --rate R` prints for such a plan runs)."""

from __future__ import annotations

import json
import shlex

from dagc.cli.main import main

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 4 requests/s  requests = 20 }
require { ttft_p99 <= 1 s  tpot_p90 <= 50 ms }
fleet {
  gpu preset "h100-sxm" { price = 2.5 $/h }
}
"""


def test_a_fleet_without_a_strategy_picks_a_cluster_and_its_printed_search_runs(tmp_path, capsys):
    path = tmp_path / "fleet.moe"
    path.write_text(PLAN)
    out = tmp_path / "out"
    assert main(["fleet", str(path), "-o", str(out), "--format", "json"]) == 0
    best = json.loads(capsys.readouterr().out)["fleet"]["best"]
    assert best["cluster"]["gpu"] == "h100-sxm" and best["pick"]["strategy"].startswith("tp 1")
    # the search the best's line prints, run as printed: the same plan, no strategy in it
    assert main(["fleet", str(path), "-o", str(out), "--quiet"]) == 0
    said = capsys.readouterr().out.replace("\n", " ")
    command = said[said.index("(dagc search ") + 1:said.index(" gives the same pick")]
    assert main([*shlex.split(command)[1:], "-o", str(tmp_path / "search")]) == 0
    capsys.readouterr()
    # --launch: the best's pick launched from the plan without a strategy
    assert main(["fleet", str(path), "-o", str(out), "--quiet", "--launch"]) == 0
    assert "vllm serve Qwen/Qwen3-30B-A3B --tensor-parallel-size 1 " in capsys.readouterr().out


def test_check_and_compile_still_need_a_strategy(tmp_path, capsys):
    path = tmp_path / "fleet.moe"
    path.write_text(PLAN)
    assert main(["check", str(path), "--no-search"]) == 4
    assert main(["compile", str(path), "-o", str(tmp_path / "out")]) == 4
    assert capsys.readouterr().err.count("error[E103]: the plan has no `strategy` statement") == 2


def test_the_check_line_search_prints_for_a_plan_without_a_strategy_runs(tmp_path, capsys):
    path = tmp_path / "no-strategy.moe"
    path.write_text(PLAN.split("fleet {")[0])
    assert main(["search", str(path), "--rate", "4", "--quiet", "-o", str(tmp_path / "search")]) == 0
    said = capsys.readouterr().out
    line = next(x for x in said.splitlines() if x.strip().startswith("check it: "))
    words = shlex.split(line.split("check it: ", 1)[1])
    assert words[:3] == ["dagc", "check", str(path)] and "--strategy" in words
    assert main([*words[1:], "--no-search", "--format", "json"]) == 0      # was E103: "no `strategy` statement"
    report = json.loads(capsys.readouterr().out)
    assert report["strategy"] == words[words.index("--strategy") + 1]
    assert report["verdict"]["meets_requirements"] is True
    # compile takes `--strategy` alike, and writes the strategy's report
    out = tmp_path / "out"
    assert main(["compile", str(path), "--strategy", "tp 1", "--no-search", "-o", str(out), "--quiet"]) == 0
    assert json.loads((out / "report.json").read_text())["strategy"] == "tp 1"


def test_the_missing_strategy_says_the_option_that_gives_one(tmp_path, capsys):
    path = tmp_path / "no-strategy.moe"
    path.write_text(PLAN.split("fleet {")[0])
    assert main(["check", str(path), "--no-search"]) == 4
    err = capsys.readouterr().err
    assert '= help: add one, e.g. `strategy tp 8`; or give it with `--strategy "tp 8"`, or let `dagc search PLAN` ' \
           "find one" in err
    assert main(["check", str(path), "--no-search", "--strategy", "tp 8", "--set", "cluster.gpus=8", "--quiet"]) == 0


def test_an_empty_strategy_option_on_a_plan_without_one_does_not_send_the_user_to_the_plans(tmp_path, capsys):
    path = tmp_path / "no-strategy.moe"
    path.write_text(PLAN.split("fleet {")[0])
    assert main(["check", str(path), "--no-search", "--strategy", " "]) == 4
    err = capsys.readouterr().err    # it said "or no --strategy to use the plan's strategies": then E103
    assert "= help: give an expression such as `tp 4 ; ep 8`: the plan writes no strategy of its own (`dagc " \
           "search PLAN` finds one)" in err and "plan's strategies" not in err
    path.write_text(PLAN.split("fleet {")[0] + "strategy tp 1\n")
    assert main(["check", str(path), "--no-search", "--strategy", " "]) == 4
    assert "or no --strategy to use the plan's strategies" in capsys.readouterr().err
