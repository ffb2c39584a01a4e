"""A hint about a `--set` option that writes a line of several fields of the option's block gives one option a field,
each an option dagc takes: `--set 'cluster.gpus=2 nodes'` (and `--set cluster.nodes=2`) is told `--set cluster.gpus=16
--set cluster.gpus_per_node=8`, where until 2026-12-02 it was `--set 'cluster.gpus=16  gpus_per_node = 8'` (E001:
"--set takes one value"), and the second the plan's line itself. A hint about a requirement's option names any
requirement as an option (`require.latency` is told `--set 'require.tpot=30 ms'`, not `tpot <= 30 ms`)."""

from __future__ import annotations

import re
import shlex

import pytest

from dagc.cli.main import main
from dagc.lang.set_form import set_form
from conftest import plan_text


def _hint(capsys, plan, option: str) -> str:
    assert main(["check", str(plan), "--no-search", "--set", option]) == 4
    (hint,) = re.findall(r"= help: (.*)", capsys.readouterr().err)
    return hint


@pytest.mark.parametrize("option", ["cluster.gpus=2 nodes", "cluster.nodes=2", "cluster.num_nodes=2"])
def test_two_nodes_are_told_two_options_each_of_which_dagc_takes(option, tmp_path, capsys):
    plan = tmp_path / "p.moe"
    plan.write_text(plan_text(strategy="strategy dp 2 < tp 8 >"))
    hint = _hint(capsys, plan, option)
    (told,) = re.findall(r"`(--set [^`]*)`", hint)
    assert told == "--set cluster.gpus=16 --set cluster.gpus_per_node=8"           # 2 nodes × 8 GPUs
    argv = shlex.split(told)
    capsys.readouterr()
    assert main(["check", str(plan), "--no-search", *argv]) == 0                   # dp 2 < tp 8 > on 16 GPUs
    assert "16 used of 16 available" in capsys.readouterr().out


def test_a_requirement_option_is_told_other_requirements_as_options(tmp_path, capsys):
    plan = tmp_path / "p.moe"
    plan.write_text(plan_text())
    hint = _hint(capsys, plan, "require.latency=30 ms")
    assert re.findall(r"`([^`]*)`", hint)[1:] == ["--set 'require.tpot=30 ms'", "--set 'require.ttft=30 ms'",
                                                   "--set 'require.e2e_p50=30 ms'"]


def test_a_line_naming_another_block_is_left_as_the_plan_writes_it():
    """`batch` is no field of the cluster: `--set cluster.batch=8` would be no option dagc takes."""
    hint = "a larger batch, `batch = 8  prompt = 100`, or `gpus = 4  batch = 8`"
    assert set_form(hint, ("cluster", "gpus")) == hint
    assert set_form("`gpus = 4  gpus_per_node = 4`", ("cluster", "gpus")) == (
        "`--set cluster.gpus=4 --set cluster.gpus_per_node=4`")
