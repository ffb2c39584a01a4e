"""The verdict's odds line beside a requirement with no figure: a log whose every output is one token (a scoring or
classification workload) has no TPOT, so `tpot_p90 <= 30 ms` is not computed and the verdict's meets is "not
judged" — and the odds line no longer reads "meets? yes within dagc's error: every 80 % band meets its target"
under it (until 2026-11-30), its one banded line (`ttft_p99`) standing for all."""

from __future__ import annotations

from dagc.cli.main import main

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h200" }
workload { batch = 64  prompt = 1000  generate = 1  serving = inflight  requests from "scores.csv" }
require { ttft_p99 <= 1 s  tpot_p90 <= 30 ms }
strategy tp 1 ; ep 4
"""
LOG = ("TIMESTAMP,ContextTokens,GeneratedTokens\n2025-01-01 00:00:00.000,1000,1\n2025-01-01 00:00:00.500,1000,1\n"
       "2025-01-01 00:00:01.000,1000,1\n")


def test_no_yes_within_error_beside_a_requirement_not_computed(tmp_path, capsys):
    (tmp_path / "scores.csv").write_text(LOG)
    (tmp_path / "p.moe").write_text(PLAN)
    assert main(["check", str(tmp_path / "p.moe"), "--no-search"]) == 1
    out = capsys.readouterr().out
    assert "meets requirements: not judged" in out and "TPOT —/—" in out
    assert "meets? yes" not in out
