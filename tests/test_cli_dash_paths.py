"""A plan whose path begins with `-`, in the command lines dagc prints for pasting: quoted for the shell and written
`./-…`, so that dagc's parser reads it as the plan, not as an option (dagc/cli/shell_words.py)."""

from __future__ import annotations

import shlex
import shutil

from dagc.cli.main import main
from dagc.cli.print_rate import check_command
from dagc.cli.shell_words import path_word
from conftest import EXAMPLES


def test_a_path_that_begins_with_a_dash_is_written_below_the_current_directory():
    assert path_word("-q.moe") == "./-q.moe"
    assert path_word("-my plan $x.moe") == "'./-my plan $x.moe'"
    assert path_word("plans/-q.moe") == "plans/-q.moe"
    assert path_word("my plans/q.moe") == "'my plans/q.moe'"
    assert check_command("-q.moe") == "dagc check ./-q.moe"


def test_the_try_line_under_a_refusal_launches_a_plan_named_with_a_dash(tmp_path, monkeypatch, capsys):
    """Until 2026-11-30 the line read `dagc launch -q.moe --engine vllm …`, which fails pasted: `-q.moe` is read as
    an option ("unrecognized arguments")."""
    shutil.copy(EXAMPLES / "qwen3-30b-a3b-4gpu.moe", tmp_path / "-q.moe")
    monkeypatch.chdir(tmp_path)
    code = main(["launch", "--engine", "vllm", "--strategy", "tp 4 ; ep 2 etp 2", "--", "-q.moe"])   # E702
    out = capsys.readouterr().out
    assert code == 3
    (line,) = [x.removeprefix("  try: ") for x in out.splitlines() if x.startswith("  try: ")]
    assert line == "dagc launch ./-q.moe --engine vllm --strategy 'tp 4 ; ep 4'"
    assert main(shlex.split(line)[1:]) == 0
    assert "vllm serve Qwen/Qwen3-30B-A3B --tensor-parallel-size 4 --enable-expert-parallel" in capsys.readouterr().out
