"""A directory named as the request log (`requests from "logs"`) is E108 whose hint names the logs it holds, the
first written as the plan takes it (`dagc.lang.near_file.in_directory`). Until 2026-12-02 it was "dagc reads regular
files only" alone, where a directory
given as the plan already named the plans in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc import PlanError, load_plan

PLAN = """model preset "mixtral-8x7b"
cluster {{ gpus = 8  gpu preset "h100-sxm" }}
workload {{ batch = 8  prompt = 512  generate = 64  serving = inflight  requests from "{log}" }}
strategy tp 8
"""


def _hint(tmp_path: Path, log: str) -> str:
    plan = tmp_path / "plan.moe"
    plan.write_text(PLAN.format(log=log))
    with pytest.raises(PlanError) as exc:
        load_plan(plan)
    (d,) = exc.value.diagnostics
    assert (d.code, d.message) == ("E108", f"request log `{log}`: the path is a directory, not a request log")
    return d.hint or ""


def test_the_logs_in_the_directory_are_named(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("week2.jsonl", "week1.csv", "notes.txt", "README.md"):
        (logs / name).write_text("")
    assert _hint(tmp_path, "logs") == ('name a file in it: `logs` holds week1.csv and week2.jsonl '
                                       '(`requests from "logs/week1.csv"`)')


def test_a_directory_without_logs_says_what_would_do(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "notes.txt").write_text("")
    assert _hint(tmp_path, "logs/") == "name a file: `logs/` holds no request logs (files ending .csv, .jsonl or .json)"
