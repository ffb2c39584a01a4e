"""A serving engine's parallelism option written to dagc (`--tp 4`, vLLM's `--tensor-parallel-size 4`, SGLang's
`--ep-size 8`, `--enable-expert-parallel`) is told the `--strategy` that says the same. Until 2026-12-02 argparse's
refusal was followed by the nearest spelling among the command's options — `--tp 2` "did you mean `--set`?",
`--pp 2` "did you mean `--help`?" — or by nothing (`--tensor-parallel-size 4`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.cli.main import main
from conftest import usage_error

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64 }
strategy tp 8
"""
NOTE = "dagc reads parallel degrees from a strategy, not from options"


@pytest.mark.parametrize("argv, strategy", [
    (["check", "{plan}", "--tp", "2"], "--strategy 'tp 2'"),
    (["check", "{plan}", "--pp", "2"], "--strategy 'pp 2 < tp 1 >'"),
    (["compile", "{plan}", "--ep=4"], "--strategy 'ep 4'"),
    (["check", "{plan}", "--dp", "2", "--pp", "2", "--tp", "2", "--ep", "4"],
     "--strategy 'dp 2 < pp 2 < tp 2 ; ep 4 > >'"),
    (["launch", "{plan}", "--tensor-parallel-size", "4"], "--strategy 'tp 4'"),
    (["check", "{plan}", "--tp_size", "2", "--moe_expert_parallel_size", "8"], "--strategy 'tp 2 ; ep 8'"),
    (["check", "{plan}", "--tp-size", "4", "--ep-size", "8"], "--strategy 'tp 4 ; ep 8'"),
    # vLLM's experts over the server's GPUs, EP = TP × DP, its DP the attention's inside the stage
    (["check", "{plan}", "--tensor-parallel-size", "2", "--data-parallel-size", "4", "--enable-expert-parallel"],
     "--strategy 'tp 2 ; ep 8'"),
    (["check", "{plan}", "--enable-expert-parallel"], "--strategy 'tp 1 ; ep E'"),
    # written before the plan, argparse took the degree for the plan's path
    (["check", "--tp", "4", "{plan}"], "--strategy 'tp 4'"),
])
def test_an_engines_parallel_option_is_told_the_strategy(tmp_path: Path, capsys, argv, strategy) -> None:
    last = usage_error(tmp_path, capsys, argv, PLAN)
    assert last.endswith(f"{NOTE}: `{strategy}`"), last
    assert "did you mean" not in last


def test_a_command_without_a_strategy_is_told_the_check_of_one(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN)
    with pytest.raises(SystemExit):
        main(["search", str(plan), "--tp", "4"])
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        f"{NOTE}; `dagc search` ranks every strategy — `dagc check PLAN --strategy 'tp 4'` checks that one")


@pytest.mark.parametrize("option, said", [("--tpot", None), ("--top", "`--top` is an option of `dagc search`")])
def test_other_options_keep_their_notes(tmp_path: Path, capsys, option, said) -> None:
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN)
    with pytest.raises(SystemExit):
        main(["check", str(plan), option, "3"])
    err = capsys.readouterr().err
    assert NOTE not in err
    assert said is None or said in err
