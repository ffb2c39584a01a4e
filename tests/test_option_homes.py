"""An option of another command written to `dagc check` (`--rate 10`, `-o out`, `--top 5`) is told which commands
take it and what `dagc check` does instead. Before, argparse's refusal was followed by the nearest spelling among
check's own options: `--rate` → "did you mean `--strategy`?", and `-o out` by nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.cli.main import main
from conftest import usage_error

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64  serving = inflight }
strategy tp 8
"""


@pytest.mark.parametrize("argv, says", [
    (["check", "{plan}", "--rate", "3"], "unrecognized arguments: --rate 3: `--rate` is an option of `dagc search`, "
     "not of `dagc check`; a check at a rate sets the plan's: `--set 'workload.rate=3 requests/s'`"),
    (["check", "{plan}", "--rate=2.5"], "`--rate` is an option of `dagc search`, not of `dagc check`; a check at a "
     "rate sets the plan's: `--set 'workload.rate=2.5 requests/s'`"),
    (["check", "{plan}", "-o", "reports"], "`-o` is an option of `dagc compile`, `dagc search`, `dagc launch`, "
     "`dagc calibrate` and `dagc fleet`, not of `dagc check`; `dagc check` writes no report: `dagc compile PLAN -o "
     "reports` writes them all"),
    (["check", "{plan}", "--top", "5"], "`--top` is an option of `dagc search` and `dagc fleet`, not of `dagc check`"),
    (["search", "{plan}", "--all-ranks"], "`--all-ranks` is an option of `dagc compile`, not of `dagc search`"),
    # a value with a space, as a strategy is written: until 2026-11-30 "unrecognized arguments: --strategy tp 8 8"
    (["search", "{plan}", "--strategy", "tp 8"], "unrecognized arguments: --strategy tp 8: `--strategy` is an option "
     "of `dagc check`, `dagc compile`, `dagc launch` and `dagc calibrate`, not of `dagc search`"),
    # written before the plan, argparse takes the option's value for the plan and leaves the plan's path over:
    # until 2026-11-30 the hint read `--set 'workload.rate={plan} requests/s'` and `dagc compile PLAN -o {plan}`
    (["check", "--rate", "3", "{plan}"], "a check at a rate sets the plan's: `--set 'workload.rate=3 requests/s'`"),
    (["check", "-o", "reports", "{plan}"], "`dagc check` writes no report: `dagc compile PLAN -o reports` writes "
     "them all"),
    (["check", "-o", "{plan}"], "`dagc check` writes no report: `dagc compile PLAN -o DIR` writes them all"),
])
def test_another_commands_option_is_told_its_home(tmp_path: Path, capsys, argv, says) -> None:
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN)
    with pytest.raises(SystemExit) as exc:
        main([a.format(plan=plan) for a in argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "did you mean" not in err
    assert f"usage: dagc {argv[0]}" in err
    assert not (tmp_path / "reports").exists()


def test_a_misspelt_option_of_the_command_keeps_its_spelling_hint(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN)
    with pytest.raises(SystemExit):
        main(["check", str(plan), "--stratgey", "tp 8"])
    assert "(did you mean `--strategy`? dagc reads options written whole)" in capsys.readouterr().err


def test_an_option_after_the_double_dash_is_told_it_was_read_as_a_path(tmp_path: Path, capsys) -> None:
    """`dagc launch -- PLAN --strategy a`: argparse reads every word after `--` as a path; until 2026-11-30 dagc said
    "`--strategy` is an option of `dagc check`, `dagc compile` and `dagc calibrate`, not of `dagc launch`", which
    takes it."""
    plan = tmp_path / "-p.moe"
    plan.write_text(PLAN)
    with pytest.raises(SystemExit) as exc:
        main(["launch", "--", str(plan), "--strategy", "tp 8"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == ("dagc launch: error: unrecognized arguments: --strategy tp 8: `--strategy` follows "
                                    "`--`, after which every word is read as a path, not as an option: write the "
                                    "options before `--`")


@pytest.mark.parametrize("argv, said", [
    # until 2026-11-30 "unrecognized arguments: --rate {plan}", the rate read as the plan
    (["check", "--rate", "3", "{plan}"], "unrecognized arguments: --rate 3: `--rate` is an option of `dagc search`"),
    # until 2026-11-30 "unrecognized arguments: {plan}" alone
    (["check", "--no-search", "3", "{plan}"], "unrecognized arguments: {plan}: `--no-search` takes no value: `3` "
                                              "after it was read as the plan, and `{plan}` left over — remove `3`"),
    (["compile", "-q", "2.5", "{plan}"], "unrecognized arguments: {plan}: `-q` takes no value: `2.5` after it was "
                                         "read as the plan, and `{plan}` left over — remove `2.5`"),
    # until 2026-12-02 "unrecognized arguments: requests/s" alone
    (["search", "{plan}", "--rate", "4", "requests/s"],
     "unrecognized arguments: requests/s: `requests/s` is `--rate 4`'s unit, read as a word of its own: write `--rate "
     "4` (requests/s is its unit) or quote them together, `--rate '4 requests/s'`"),
])
def test_a_value_read_as_the_plan_is_said_so(tmp_path: Path, capsys, argv, said) -> None:
    last = usage_error(tmp_path, capsys, argv, PLAN)
    assert last.startswith(f"dagc {argv[0]}: error: " + said.format(plan=tmp_path / "p.moe"))


def test_a_word_after_the_plan_is_no_flags_value(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN)
    with pytest.raises(SystemExit):
        main(["check", "--no-search", str(plan), "extra"])
    assert capsys.readouterr().err.splitlines()[-1] == "dagc check: error: unrecognized arguments: extra"


@pytest.mark.parametrize("command", ["search", "check", "compile"])
def test_an_objective_no_choice_is_near_is_told_what_each_objective_optimises(tmp_path: Path, capsys, command) -> None:
    """`--objective latency` was told the names alone (until 2026-11-30); the plan's `objective = latency` is told
    what each means, which says that `ttft` and `tpot` are the latencies."""
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN)
    with pytest.raises(SystemExit) as exc:
        main([command, str(plan), "--objective", "latency"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'latency'" in err and "; the objectives: `tokens-per-gpu`: the most decode tokens/s per " \
        "GPU; `min-gpus`: the fewest GPUs, then the most decode tokens/s per GPU; `ttft`: the shortest TTFT; `tpot`: " \
        "the shortest TPOT; `throughput`:" in err.replace("\n", " ")
