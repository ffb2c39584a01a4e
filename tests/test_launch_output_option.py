"""`dagc launch -o DIR` as a user types it: an empty DIR is refused (it read as no `-o`, and nothing was written,
silently; `dagc compile`, `search` and `fleet` wrote into out/<plan> instead), and `DIR/` names the files as `DIR`
does (it printed `DIR//file` in the commands and the scripts' list)."""

from __future__ import annotations

import pytest

from dagc.cli.main import main
from dagc.export.output_marker import MARKER
from conftest import plan_text

QWEN = 'model preset "qwen3-30b-a3b"'


def test_an_empty_output_directory_is_refused_and_nothing_written(capsys, write_plan, tmp_path, monkeypatch):
    path = write_plan(plan_text(model=QWEN, strategy="strategy dep = tp 1 ; ep 8"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(["launch", str(path), "--engine", "sglang", "-o", ""])
    captured = capsys.readouterr()
    assert stop.value.code == 2
    assert "argument -o/--output: an empty DIR names no directory" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.moe"]


def test_a_trailing_slash_names_the_files_as_the_directory_does(capsys, write_plan, tmp_path):
    path = write_plan(plan_text(model=QWEN, strategy="strategy dep = tp 1 ; ep 8"))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "trtllm", "-o", f"{out_dir}/"]) == 0
    out = capsys.readouterr().out
    assert f"--extra_llm_api_options {out_dir}/trtllm-dep.yml --host" in out
    assert f"file {out_dir}/trtllm-dep.yml (written)" in out
    assert f"\n  {out_dir}/trtllm-dep-1-node0.sh\n" in out
    assert "//" not in out
    assert sorted(p.name for p in out_dir.iterdir()) == [MARKER, "trtllm-dep-1-node0.sh", "trtllm-dep.yml"]


@pytest.mark.parametrize("command", ["compile", "search", "fleet"])
def test_an_empty_output_directory_of_the_other_commands_is_refused(command, capsys, write_plan, tmp_path,
                                                                       monkeypatch):
    """`dagc compile`, `search` and `fleet` whose `-o` is empty wrote into out/<plan>, silently, as if no `-o`."""
    path = write_plan(plan_text(model=QWEN, strategy="strategy dep = tp 1 ; ep 8"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main([command, str(path), "-o", ""])
    captured = capsys.readouterr()
    assert stop.value.code == 2
    assert ("argument -o/--output: an empty DIR names no directory: give the directory to write into (`-o .` for "
            "this one), or leave -o out for the default, out/<plan>") in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.moe"]


def test_a_written_file_is_named_as_one_shell_word(capsys, write_plan, tmp_path):
    """The `file … (written)` line names the file as the scripts' list does, one shell word a user can paste: a
    directory with a space was printed bare (`file my launch/trtllm-dep.yml (written)`, two words)."""
    path = write_plan(plan_text(model=QWEN, strategy="strategy dep = tp 1 ; ep 8"))
    out_dir = tmp_path / "my launch"
    assert main(["launch", str(path), "--engine", "trtllm", "-o", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert f"file '{out_dir}/trtllm-dep.yml' (written)" in out
    assert f"\n  '{out_dir}/trtllm-dep-1-node0.sh'\n" in out
    assert (out_dir / "trtllm-dep.yml").is_file()
