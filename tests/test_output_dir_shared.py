"""`--force` replaces only a directory that is the user's to lose, and a directory dagc replaces keeps its mode and
owner. Until 2026-12-03 (a new user's trial, as root, as CI runs dagc): `--force` onto a sticky world-writable
directory deleted another user's file and left it 0755; onto a repository, its `.git`; and an empty directory made in
advance (a CI job's artifacts, `nobody`'s, 2775) came back root's, 0755, without `--force`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dagc.cli.main import main

PLAN = """model preset "gpt-oss-120b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 32  prompt = 1024  generate = 512 }
strategy tp 1
"""


def compile_into(tmp_path: Path, out: Path, *more: str) -> int:
    plan = tmp_path / "g.moe"
    plan.write_text(PLAN)
    return main(["compile", str(plan), "-o", str(out), "--no-search", "-q", *more])


@pytest.mark.parametrize("mode", [0o1777, 0o777, 0o1755])
def test_a_directory_others_write_into_is_never_replaced(tmp_path, capsys, mode):
    out = tmp_path / "shared"
    out.mkdir()
    (out / "theirs.txt").write_text("x")
    out.chmod(mode)
    assert compile_into(tmp_path, out, "--force") == 5
    assert "a directory others write into (sticky or world-writable, as /tmp) is never an output directory, not " \
           "even with --force" in capsys.readouterr().err
    assert (out / "theirs.txt").read_text() == "x" and stat.S_IMODE(out.stat().st_mode) == mode


def test_a_hidden_entry_is_never_forced_away(tmp_path, capsys):
    out = tmp_path / "proj"
    (out / ".git").mkdir(parents=True)
    (out / "a.moe").write_text(PLAN)
    assert compile_into(tmp_path, out) == 5
    assert "(--force never replaces one holding `.git`)" in capsys.readouterr().err
    assert compile_into(tmp_path, out, "--force") == 5
    assert "it holds `.git`, which dagc did not write: --force replaces only what is yours to lose" \
        in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [".git", "a.moe"]


def test_the_user_s_own_directory_is_still_forced(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "old.txt").write_text("x")
    assert compile_into(tmp_path, out, "--force") == 0
    capsys.readouterr()
    assert not (out / "old.txt").exists() and (out / "report.md").is_file()


def test_a_directory_made_in_advance_keeps_its_mode(tmp_path, capsys):
    out = tmp_path / "artifacts"
    out.mkdir()
    out.chmod(0o2775)
    assert compile_into(tmp_path, out) == 0
    assert compile_into(tmp_path, out) == 0            # and replaced again, as dagc's own
    capsys.readouterr()
    assert stat.S_IMODE(out.stat().st_mode) == 0o2775 and (out / "report.md").is_file()


def test_another_user_s_directory_keeps_its_owner_and_their_entry_is_never_forced(tmp_path, capsys):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a directory to another user (CI runs as root)")
    nobody = 65534
    out = tmp_path / "artifacts"
    out.mkdir()
    os.chown(out, nobody, nobody)
    out.chmod(0o2775)
    assert compile_into(tmp_path, out) == 0
    st = out.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (nobody, nobody, 0o2775)
    other = tmp_path / "other"
    other.mkdir()
    (other / "theirs.txt").write_text("x")
    os.chown(other / "theirs.txt", nobody, nobody)
    assert compile_into(tmp_path, other, "--force") == 5
    assert "it holds `theirs.txt`, another user's: --force replaces only what is yours to lose" \
        in capsys.readouterr().err
    assert (other / "theirs.txt").exists()
