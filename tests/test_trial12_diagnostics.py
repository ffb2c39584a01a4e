"""Defects a new user met on a fresh clone (the plans in tests/fixtures/trial12): each diagnostic says what is
wrong where it is, in the user's units, and suggests only what passes."""

from __future__ import annotations

import pytest

from conftest import ROOT, run_dagc

TRIAL = ROOT / "tests" / "fixtures" / "trial12"
QWEN = str(TRIAL / "qwen235-fp8-h100-vllm.moe")


@pytest.mark.parametrize("strategy", ["tp 4 ; ep 8 with overlap microbtach", "tp 4 ; ep 8 with microbatches 0",
                                      "tp 4 ; ep 8 with microbatchs 2", "tp 4 ; eq 8"])
def test_a_strategy_option_that_does_not_read_checks_nothing(strategy):
    proc = run_dagc("check", QWEN, "--strategy", strategy)
    assert proc.returncode == 4, proc.stderr           # a syntax error's code (docs/cli.md: E0xx, E1xx)
    assert proc.stdout == ""                           # no verdict, no search, no requirement rows
    assert "--strategy:1:" in proc.stderr and "= help:" in proc.stderr and "^" in proc.stderr
    assert proc.stderr.rstrip().endswith("error: --strategy: 1 error; nothing was checked")


def test_a_plan_strategy_with_an_unknown_option_checks_nothing(tmp_path):
    text = (TRIAL / "qwen235-fp8-h100-vllm.moe").read_text().replace("strategy tp8 = tp 8",
                                                                     "strategy tp8 = tp 8 with overlap microbtach")
    plan = tmp_path / "plan.moe"
    plan.write_text(text)
    proc = run_dagc("check", str(plan))
    assert proc.returncode == 4 and proc.stdout == ""  # not the other strategy's verdict beside it
    assert f"{plan}:7:26: error[E101]: unknown overlap `microbtach`" in proc.stderr
    assert "help: write `overlap none` or `overlap microbatch`" in proc.stderr
    assert proc.stderr.rstrip().endswith(f"error: {plan}: 1 error; nothing was checked")
