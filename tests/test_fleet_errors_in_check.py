"""A broken `fleet` statement is an error of the file for `dagc check`, `search` and `compile` too (until 2026-12-03
they judged the plan without it and exited 0; only `dagc fleet` said its errors)."""

from __future__ import annotations

import pytest

from dagc.cli.main import main


def run_cli(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64 }
strategy tp 8
"""


@pytest.mark.parametrize("command", [["check", "--no-search", "-q"], ["search", "-q"]])
def test_a_fleets_input_errors_fail_the_check(tmp_path, command, capsys):
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN + 'fleet { bogus = [1]  gpu preset "h999" { price = 2 $/h }  gpus = [0] }\n')
    code, _, err = run_cli([command[0], str(plan), *command[1:]], capsys)
    assert code == 4
    codes = [line.split(": error[")[1][:4] for line in err.splitlines() if ": error[" in line]
    assert codes == ["E101", "E101", "E104"]
    assert "5:9: error[E101]: unknown field `bogus` in the fleet" in err


def test_what_only_dagc_fleet_needs_is_not_asked(tmp_path, capsys):
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN + 'fleet { gpus = [8] }\n')          # no rate: `dagc fleet`'s E103, not check's
    code, _, err = run_cli(["check", str(plan), "--no-search", "-q"], capsys)
    assert code == 0, err


def test_a_second_fleet_is_e104_and_said_with_the_plans_errors(tmp_path, capsys):
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN.replace("batch = 8", "batch = 0") + "fleet { gpus = [8] }\nfleet { gpus = [16] }\n")
    code, _, err = run_cli(["check", str(plan), "--no-search", "-q"], capsys)
    assert code == 4
    assert "3:20: error[E104]" in err and "6:1: error[E104]: a plan has one `fleet` statement; this is another" in err
