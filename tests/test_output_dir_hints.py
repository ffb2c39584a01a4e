"""What `dagc compile -o DIR` says of a directory it will not replace: `.` is the directory it names (not
"the root directory"), a home directory is never replaced, not even with --force, and a directory holding a
hidden entry dagc did not write (`.git`, `.ssh`) is not pointed at --force. Everything in tmp_path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dagc.export.output_dir import check_output_dir
from dagc.export.write import OutputError
from conftest import ROOT, run_dagc

PLAN = str(ROOT / "examples" / "qwen3-30b-a3b-4gpu.moe")


def dagc(*args: str, cwd: Path, home: Path | None = None) -> subprocess.CompletedProcess:
    return run_dagc(*args, cwd=cwd, env={"HOME": str(home)} if home is not None else None)


def test_dot_names_the_current_directory(tmp_path):
    here = tmp_path / "here"
    here.mkdir()
    r = dagc("compile", PLAN, "--no-search", "-q", "-o", ".", cwd=here)
    assert r.returncode in (0, 1), r.stderr
    assert "root directory" not in r.stderr and (here / "report.md").is_file() and (here / ".dagc-output").is_file()
    r = dagc("compile", PLAN, "--no-search", "-q", "-o", ".", cwd=here)        # its own output: replaced again
    assert r.returncode in (0, 1), r.stderr


@pytest.mark.parametrize("name", [".", "./", "sub/.."])
def test_dot_paths_are_checked_as_the_directory_they_name(name, tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError) as exc:
        check_output_dir(Path(name))
    assert "root directory" not in str(exc.value) and "not a dagc output directory" in str(exc.value)
    with pytest.raises(OutputError, match="root directory"):
        check_output_dir(Path("/"), force=True)


def test_a_home_directory_is_never_replaced_not_even_with_force(tmp_path):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("key")
    (home / "notes.txt").write_text("mine")
    for args in ((), ("--force",)):
        for target in (home, tmp_path):               # the home directory, and one that holds it
            r = dagc("compile", PLAN, "--no-search", "-q", "-o", str(target), *args, cwd=tmp_path, home=home)
            assert r.returncode == 5, r.stderr
            assert "home directory" in r.stderr and "dagc-out" in r.stderr
            assert "or --force" not in r.stderr and "give --force" not in r.stderr
    assert (home / ".ssh" / "id_ed25519").read_text() == "key" and (home / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_a_directory_with_a_hidden_entry_is_not_pointed_at_force(tmp_path):
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "README").write_text("mine")
    with pytest.raises(OutputError) as exc:
        check_output_dir(project)
    said = str(exc.value)
    assert "`.git`" in said and str(project / "dagc-out") in said and "or --force" not in said
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "README").write_text("mine")
    with pytest.raises(OutputError, match="or --force"):     # nothing hidden: --force is still offered
        check_output_dir(plain)
