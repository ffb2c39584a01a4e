"""A request log is read no further than it must be (dagc/lang/request_log.py `_read_bounded`): with `requests = N`
its first N requests' lines (a new user's 200 MB log with `requests = 100` took 468 MB of memory, docs/language.md
saying "only those lines are read"), and a file past the bound without it is refused before any of it is read (a 300
MB log took 583 MB and 2.5 s to be told it is too large)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.lang.log_fields import LogError
from dagc.lang.request_log import MAX_LOG_BYTES, _read_bounded, parse_request_log

HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"


def _log(path: Path, requests: int) -> None:
    path.write_text(HEADER + "".join(f"2023-11-16 18:15:{i // 100:02d}.{i % 100:02d}00000,100,10\n"
                                     for i in range(requests)))


def test_the_first_n_requests_are_read_and_not_the_rest(tmp_path: Path):
    log = tmp_path / "big.csv"
    _log(log, 50_000)                                   # 1.9 MB: two of the reader's chunks of 1 MiB
    data = _read_bounded(log, "big.csv", 100)
    assert len(data) <= 1 << 20 < log.stat().st_size     # one chunk holds the first 101 lines
    assert parse_request_log(data, "big.csv", 100).prompt.tolist() == [100] * 100
    assert _read_bounded(log, "big.csv") == log.read_bytes()          # without `requests`, all of it


def test_a_file_past_the_bound_is_refused_unread(tmp_path: Path):
    log = tmp_path / "huge.csv"
    with log.open("wb") as f:                           # sparse: its size says past the bound, nothing written
        f.truncate(MAX_LOG_BYTES + 1)
    with pytest.raises(LogError) as exc:
        _read_bounded(log, "huge.csv")
    assert exc.value.message == f"the file is larger than {MAX_LOG_BYTES:,} bytes, the most dagc reads of a request log"
    assert exc.value.hint == "write `requests = N` to replay the first N requests, or cut the log (`head -n`)"
