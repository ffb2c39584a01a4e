"""Issue 40, the output paths: dagc writes only where it may, through no link it did not make,
deletes or renames nothing it did not write, honours the umask and bounds what it writes. Every
test writes inside tmp_path only."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from dagc.export.compile import CompileOptions, compile_results
from dagc.export.output_dir import MARKER, check_output_dir, default_output_dir, plot_dir, read_manifest
from dagc.export.pareto import PARETO_SIGNATURE
from dagc.export.write import OutputError, check_own, write_text_atomic
from dagc.lang.load import load_plan
from dagc.verdict.check import check
from conftest import ROOT, run_dagc

SMALL = ROOT / "tests" / "fixtures" / "small.moe"


def dagc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_dagc(*args, cwd=cwd)


def tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small():
    plan = load_plan(SMALL)
    return plan, check(plan)


def test_search_does_not_write_through_a_linked_plan_directory(tmp_path):
    (tmp_path / "p.moe").write_text(SMALL.read_text())
    victim = tmp_path / "victim"
    victim.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "p").symlink_to(victim)
    proc = dagc("search", "p.moe", "--top", "1", cwd=tmp_path)
    assert proc.returncode == 5 and "symbolic link" in proc.stderr and "Traceback" not in proc.stderr
    assert list(victim.iterdir()) == []
    with pytest.raises(OutputError, match="symbolic link"):
        default_output_dir("p", tmp_path / "out")


def test_search_plot_goes_into_a_marked_directory_and_not_into_a_foreign_one(tmp_path):
    (tmp_path / "p.moe").write_text(SMALL.read_text())
    assert dagc("search", "p.moe", "--top", "1", cwd=tmp_path).returncode == 0
    out = tmp_path / "out" / "p"
    assert read_manifest(out) == {"pareto.svg"}
    assert PARETO_SIGNATURE in (out / "pareto.svg").read_text()
    assert dagc("compile", "p.moe", "--no-search", cwd=tmp_path).returncode in (0, 1)
    assert (out / "pareto.svg").is_file(), "compile keeps the search's plot"
    mine = tmp_path / "out" / "q"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a dagc output directory"):
        plot_dir(mine, "pareto.svg")
    assert tree(mine) == {"notes.txt": b"mine"}


def test_svg_file_replaces_only_dagcs_own_plot(tmp_path):
    (tmp_path / "p.moe").write_text(SMALL.read_text())
    (tmp_path / "mine.txt").write_text("precious")
    proc = dagc("search", "p.moe", "--top", "1", "--svg", "mine.txt", cwd=tmp_path)
    assert proc.returncode == 5 and "did not write it" in proc.stderr and "--force" in proc.stderr
    assert (tmp_path / "mine.txt").read_text() == "precious"
    assert dagc("search", "p.moe", "--top", "1", "--svg", "plot.svg", cwd=tmp_path).returncode == 0
    assert dagc("search", "p.moe", "--top", "1", "--svg", "plot.svg", cwd=tmp_path).returncode == 0, "its own"
    check_own(tmp_path / "mine.txt", PARETO_SIGNATURE, force=True)      # --force lets it through
    (tmp_path / "link.svg").symlink_to(tmp_path / "plot.svg")
    with pytest.raises(OutputError, match="symbolic link"):
        check_own(tmp_path / "link.svg", PARETO_SIGNATURE, force=True)   # never a link, even forced


def test_a_linked_backup_beside_the_output_is_not_renamed_into_place(tmp_path, small):
    plan, results = small
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "f").write_text("mine")
    (tmp_path / ".o.dagc-old-abc").symlink_to(precious)
    (tmp_path / ".o.dagc-tmp-xyz").symlink_to(precious)
    stranger = tmp_path / ".o.dagc-tmp-unmarked"
    stranger.mkdir()
    (stranger / "data").write_text("not dagc's")
    compile_results(plan, results, tmp_path / "o")
    assert not (tmp_path / "o").is_symlink() and (tmp_path / "o" / "report.json").is_file()
    assert tree(precious) == {"f": b"mine"}
    assert (tmp_path / ".o.dagc-old-abc").is_symlink() and (tmp_path / ".o.dagc-tmp-xyz").is_symlink()
    assert tree(stranger) == {"data": b"not dagc's"}


def test_a_marked_backup_holding_files_dagc_did_not_write_is_not_put_back(tmp_path, small):
    # a `.<out>.dagc-old-*` as a killed swap leaves it, but planted (a pull request's files): its marker lists `ep/`,
    # and it holds `notes.txt` too. Until 2026-12-03 it was renamed into place and the compile then refused it
    plan, results = small
    old = tmp_path / ".o.dagc-old-1"
    (old / "ep").mkdir(parents=True)
    (old / "ep" / "report.html").write_text("<script>alert(1)</script>")
    (old / "notes.txt").write_text("x")
    (old / MARKER).write_text("dagc output directory: `dagc compile` replaces it whole.\nfiles dagc wrote here "
                              "(anything else makes dagc refuse to replace it, short of --force):\nep/\n"
                              "ep/report.html\n")
    planted = tree(old)
    compile_results(plan, results, tmp_path / "o")
    assert (tmp_path / "o" / "report.json").is_file() and not (tmp_path / "o" / "notes.txt").exists()
    assert tree(old) == planted          # neither put back nor removed: it holds a file dagc did not write
    # one whose manifest lists all it holds is a set dagc would replace as it stands: put back, then replaced
    (old / "notes.txt").unlink()
    shutil.rmtree(tmp_path / "o")
    compile_results(plan, results, tmp_path / "o")
    assert (tmp_path / "o" / "report.json").is_file() and not old.exists()
    assert "alert" not in "".join(p.read_text() for p in (tmp_path / "o").rglob("*.html"))


def test_a_lock_file_that_is_a_link_is_said_to_be_one(tmp_path, small):
    plan, results = small
    (tmp_path / ".o.dagc-lock").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutputError, match="the lock file is a symbolic link, which dagc never follows"):
        compile_results(plan, results, tmp_path / "o")      # until 2026-12-03 "Too many levels of symbolic links"
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "o").exists()


def test_a_users_directory_of_dagc_like_names_is_refused(tmp_path):
    (tmp_path / "p.moe").write_text(SMALL.read_text())
    user = tmp_path / "user"
    user.mkdir()
    (user / "report.md").write_text("my notes")
    (user / "report.json").write_text("{}")
    proc = dagc("compile", "p.moe", "--no-search", "-o", "user", cwd=tmp_path)
    assert proc.returncode == 5 and "no marker" in proc.stderr
    assert tree(user) == {"report.md": b"my notes", "report.json": b"{}"}


def test_a_file_added_to_an_output_directory_is_not_deleted(tmp_path, small):
    plan, results = small
    out = tmp_path / "o"
    compile_results(plan, results, out)
    manifest = read_manifest(out)
    assert manifest is not None and "report.md" in manifest and MARKER not in manifest
    (out / "my-analysis.txt").write_text("mine")
    with pytest.raises(OutputError, match="my-analysis.txt"):
        compile_results(plan, results, out)
    assert (out / "my-analysis.txt").read_text() == "mine"
    (out / "my-analysis.txt").unlink()
    (out / "report.html").unlink()
    (out / "report.html").symlink_to(tmp_path)        # a link under a name dagc wrote is not dagc's
    with pytest.raises(OutputError, match="report.html"):
        check_output_dir(out)
    (out / "report.html").unlink()
    compile_results(plan, results, out)               # what it lists is replaced as before


@pytest.mark.parametrize("mask", [0o077, 0o002])
def test_files_and_directories_honour_the_umask(tmp_path, small, mask):
    plan, results = small
    before = os.umask(mask)
    try:
        compile_results(plan, results, tmp_path / "o")
        write_text_atomic(tmp_path / "single.txt", "x")
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "o").stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((tmp_path / "o" / "report.md").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "single.txt").stat().st_mode) == 0o666 & ~mask


def test_total_output_is_bounded_and_nothing_replaced_past_it(tmp_path, small):
    plan, results = small
    out = tmp_path / "o"
    compile_results(plan, results, out)
    before = tree(out)
    with pytest.raises(OutputError, match="output budget"):
        compile_results(plan, results, out, CompileOptions(output_budget_bytes=10_000))
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"], "its staging removed"
    with pytest.raises(ValueError, match="output budget"):
        compile_results(plan, results, out, CompileOptions(output_budget_bytes=0))


def test_text_that_is_not_utf8_is_written_escaped(tmp_path):
    write_text_atomic(tmp_path / "r.md", "plan q\udcff")
    assert (tmp_path / "r.md").read_bytes() == b"plan q\\udcff"


def test_a_mount_point_is_written_in_place_and_only_dagcs_files_are_replaced(tmp_path, small, monkeypatch):
    # A mount point cannot be renamed, and its parent is another file system: the set is staged inside it
    # and moved in file by file. Mounting needs privileges a test may lack, so the mount is simulated.
    plan, results = small
    out = tmp_path / "mnt"
    out.mkdir()
    real = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == out or real(p))
    monkeypatch.setattr(os, "rename", _no_rename_of(out, os.rename))
    compile_results(plan, results, out)
    first = tree(out)
    assert "report.json" in first and {p.name for p in tmp_path.iterdir()} == {"mnt"}    # nothing beside it
    (out / "stale.json").write_text("{}")          # not dagc's: the next compile refuses, as for any directory
    with pytest.raises(OutputError, match="stale.json"):
        compile_results(plan, results, out)
    (out / "stale.json").unlink()
    one = check(plan, plan.strategies[0].text)
    compile_results(plan, one, out)                # a different set: what only the old one had is removed
    assert set(tree(out)) - {MARKER} == set(read_manifest(out)) and "report.json" in tree(out)
    assert not [p for p in out.iterdir() if p.name.startswith(".mnt.dagc-")]     # no staging left inside


def _no_rename_of(out: Path, rename):
    def guarded(a, b, *args, **kw):
        if Path(b) == out or Path(a) == out:
            raise OSError(16, "Device or resource busy", str(b))
        return rename(a, b, *args, **kw)
    return guarded
