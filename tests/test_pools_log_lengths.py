"""W536 (a request log whose lengths are not the workload's) for a disaggregated strategy: judged once on the plan's
workload, never on a prefill instance's, which generates one token. Until 2026-11-30 a plan whose `prompt = 1000
generate = 200` were the log's own means read "prefill pool: the request log's 4 requests average 1,000 prompt + 200
output tokens, the workload's `prompt` and `generate` 1,000 + 1", its hint the lines already written."""

from __future__ import annotations

from dagc.drive.drive import DriveOptions, drive
from dagc.lang.load import load_plan

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h200" }
workload { batch = 64  prompt = PROMPT  generate = 200  serving = inflight  requests from "log.csv" }
strategy prefill 1 < tp 1 > decode 1 < tp 1 ; ep 2 >
"""
# four requests of 800, 1,200, 900 and 1,100 prompt tokens and 100, 300, 150 and 250 output: means 1,000 and 200
LOG = ("TIMESTAMP,ContextTokens,GeneratedTokens\n2025-01-01 00:00:00.000,800,100\n2025-01-01 00:00:00.500,1200,300\n"
       "2025-01-01 00:00:01.000,900,150\n2025-01-01 00:00:01.500,1100,250\n")


def _w536(tmp_path, prompt: int) -> list[str]:
    (tmp_path / "log.csv").write_text(LOG)
    (tmp_path / "p.moe").write_text(PLAN.replace("PROMPT", str(prompt)))
    (r,) = drive(load_plan(tmp_path / "p.moe"), DriveOptions(search=False)).results
    assert r.pooled is not None
    return [d.message for d in r.diagnostics if d.code == "W536"]


def test_a_log_of_the_workloads_own_lengths_gets_no_w536_from_the_prefill_pool(tmp_path):
    assert _w536(tmp_path, 1000) == []


def test_a_log_of_other_lengths_gets_one_w536_on_the_plans_workload(tmp_path):
    assert _w536(tmp_path, 2000) == [
        "the request log's 4 requests average 1,000 prompt + 200 output tokens, the workload's `prompt` and "
        "`generate` 2,000 + 200: the steady state (TTFT, TPOT, tokens/s), the memory table and the search behind the "
        "optimal verdict are priced at the workload's lengths, which the log does not send"]
