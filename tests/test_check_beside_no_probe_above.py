"""`compile -o DIR` into a directory whose parent is yet to be made asked the directory above by writing a probe
file there (a CI job's strace found `/tmp/.ql.dagc-lock.probe-…` for `-o /tmp/new/ql`, 2026-12-03): it is asked
with `os.access` now, nothing written outside what dagc makes."""

from __future__ import annotations

import os

import pytest

from dagc.export import write
from dagc.export.write import OutputError, check_beside


def test_nothing_is_written_above_a_parent_to_be_made(tmp_path, monkeypatch):
    opened: list[str] = []
    real = os.open
    monkeypatch.setattr(write.os, "open", lambda path, *a, **k: (opened.append(str(path)), real(path, *a, **k))[1])
    check_beside(tmp_path / "new" / "ql", ".ql.dagc-lock")
    assert opened == [] and list(tmp_path.iterdir()) == []
    (tmp_path / "new").mkdir()                 # the parent exists: probed where the lock will be
    check_beside(tmp_path / "new" / "ql", ".ql.dagc-lock")
    assert [os.path.dirname(p) for p in opened] == [str(tmp_path / "new")] and list((tmp_path / "new").iterdir()) == []


def test_a_directory_above_that_cannot_take_it_is_refused_before_the_work(tmp_path, monkeypatch):
    monkeypatch.setattr(write.os, "access", lambda path, mode: False)
    with pytest.raises(OutputError) as exc:
        check_beside(tmp_path / "new" / "ql", ".ql.dagc-lock")
    assert f"{tmp_path / 'new'} cannot be made in {tmp_path}" in str(exc.value)
    assert str(tmp_path / "new" / ".ql.dagc-lock") in str(exc.value)      # where the lock would be
