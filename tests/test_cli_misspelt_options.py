"""A misspelt option of a command is refused with that command's usage (`usage: dagc check …`), not dagc's,
and the option it most likely stands for — whether argparse finds it unrecognised (after the plan) or first
misses an argument the command needs (`dagc check --no-serch`)."""

from __future__ import annotations

import pytest

from dagc.cli.main import main

TOP_USAGE = "usage: dagc [-h] [--version] COMMAND"


@pytest.mark.parametrize(("argv", "command", "meant"), [
    (["check", "plan.moe", "--no-serch"], "check", "--no-search"),
    (["check", "--no-serch", "plan.moe"], "check", "--no-search"),
    (["check", "--no-serch"], "check", "--no-search"),                # the plan missing too: both said
    (["check", "plan.moe", "--strateg", "tp 8"], "check", "--strategy"),
    (["search", "plan.moe", "--rat", "10"], "search", "--rate"),
    (["search", "plan.moe", "--topp", "3"], "search", "--top"),
    (["compile", "plan.moe", "--outptu", "out"], "compile", "--output"),
    (["launch", "plan.moe", "--engin", "vllm"], "launch", "--engine"),
    (["presets", "--formt", "json"], "presets", "--format"),
    (["kernels", "import", "--sytem", "h200", "--engine", "vllm", "-o", "k.json"], "kernels import", "--system"),
])
def test_a_misspelt_option_gets_its_command_usage_and_the_nearest_option(capsys, argv, command, meant):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.startswith(f"usage: dagc {command} ") and TOP_USAGE not in err
    assert f"dagc {command}: error: " in err and f"did you mean `{meant}`?" in err
    wrong = next(w for w in argv if w.startswith("--"))
    assert f"`{wrong}` is not an option" in err or f"unrecognized arguments: {wrong}" in err


def test_a_misspelt_option_before_any_command_gets_dagcs_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--verison"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith(TOP_USAGE) and "did you mean `--version`?" in err


def test_a_missing_argument_without_a_misspelt_option_is_said_as_argparse_says_it(capsys):
    with pytest.raises(SystemExit):
        main(["check"])
    err = capsys.readouterr().err
    assert err.startswith("usage: dagc check ") and err.rstrip().endswith("the following arguments are required: plan")


@pytest.mark.parametrize(("argv", "meant"), [(["launch", "plan.moe", "--engine", "vLLM"], "vllm"),
                                             (["check", "plan.moe", "--objective", "TTFT"], "ttft"),
                                             (["CHECK", "plan.moe"], "check")])
def test_a_choice_in_another_case_gets_the_choice(capsys, argv, meant):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.rstrip().endswith(f"did you mean `{meant}`?")
