"""A `.dagc-output` marker vouches for a directory only when it is dagc's: its exact text with the manifest
(what `write_manifest` writes), or an older dagc's exact one-line text over names dagc writes. An empty marker,
or one of other text, is refused, never trusted: `dagc compile` would otherwise replace a directory holding a
user's `.git` and sources (docs/limits.md: dagc replaces only a directory that is absent, empty, or marked and
holding nothing but what its manifest lists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.export.output_dir import MANIFEST_HEAD, MARKER, MARKER_TEXT, check_output_dir, read_manifest
from dagc.export.write import OutputError


def _users_dir(tmp_path: Path, marker: str) -> Path:
    out = tmp_path / "o"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "config").write_text("x\n")
    (out / "src").mkdir()
    (out / "src" / "main.py").write_text("code\n")
    (out / MARKER).write_text(marker)
    return out


@pytest.mark.parametrize("marker", ["", "\n", "garbage\n", "notes.txt\n", MARKER_TEXT.strip(),
                                    MANIFEST_HEAD + "src/\n.git/\n", "x" + MARKER_TEXT])
def test_a_marker_that_is_not_dagcs_is_refused_and_nothing_is_removed(tmp_path, marker):
    out = _users_dir(tmp_path, marker)
    with pytest.raises(OutputError, match=r"is not dagc's marker"):
        check_output_dir(out)
    with pytest.raises(OutputError, match=r"is not dagc's marker"):
        read_manifest(out)
    assert (out / ".git" / "config").read_text() == "x\n" and (out / "src" / "main.py").exists()


def test_an_older_dagcs_marker_vouches_only_for_names_dagc_writes(tmp_path):
    out = _users_dir(tmp_path, MARKER_TEXT)
    with pytest.raises(OutputError, match=r"it holds `\.git/`, which dagc did not write"):
        check_output_dir(out)
    old = tmp_path / "old"
    (old / "tp-8").mkdir(parents=True)
    for name in ("report.md", "report.json", "tp-8/trace.json"):
        (old / name).write_text("{}\n")
    (old / MARKER).write_text(MARKER_TEXT)
    check_output_dir(old)                           # an older dagc's output: replaced as before
    (old / "notes.txt").write_text("mine\n")
    with pytest.raises(OutputError, match=r"it holds `notes\.txt`"):
        check_output_dir(old)


def test_dagcs_own_marker_still_vouches_for_what_it_lists(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "report.md").write_text("# r\n")
    (out / MARKER).write_text(MARKER_TEXT + MANIFEST_HEAD + "report.md\n")
    assert read_manifest(out) == frozenset({"report.md"})
    check_output_dir(out)
    (out / "notes.txt").write_text("mine\n")
    with pytest.raises(OutputError, match=r"it holds `notes\.txt`"):
        check_output_dir(out)


def test_compile_into_a_directory_with_an_empty_marker_exits_5_and_keeps_the_users_files(tmp_path):
    from conftest import EXAMPLES, run_dagc

    out = _users_dir(tmp_path, "")
    proc = run_dagc("compile", str(EXAMPLES / "mixtral-8x7b-1node.moe"), "-o", str(out), "-q", cwd=tmp_path)
    assert proc.returncode == 5
    assert "is not dagc's marker" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [MARKER, ".git", "src"]
