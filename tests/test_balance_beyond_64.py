"""`serving.balance` past 64:1: the prefill:decode instances whose capacities are equal were searched with at most 64
a side, so a prefill instance 510 times slower than a decode instance (a 16,000-token prompt, 2 tokens generated)
was said to balance at 64:1 — report.json's `serving.balance` {prefill: 64, decode: 1} beside the terminal's "the
prefill pool needs 510 instances". Past 64:1 (or 1:64) the balance is the ratio rounded, to 1 of the other pool."""

from __future__ import annotations

from dagc.export.report import report_json
from dagc.lang.load import load_plan_text
from dagc.serve.disagg import balance_of
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h200" }
workload { batch = 256  prompt = 16000  generate = 2  serving = inflight }
strategy pd = prefill 1 < tp 1 > decode 1 < tp 2 >
"""


def test_a_ratio_past_64_is_rounded_not_cut_at_64():
    assert balance_of(1000.0) == (1000, 1) and balance_of(1 / 509.8) == (1, 510)
    assert balance_of(64.4) == (64, 1) and balance_of(1 / 64.4) == (1, 64)       # 64 a side is the nearest
    assert balance_of(3.157) == (60, 19) and balance_of(1.25) == (5, 4)          # within 64 a side, as before


def test_report_json_gives_the_balance_the_terminal_says():
    (r,) = check(load_plan_text(PLAN))
    serving = report_json(r)["serving"]
    capacity = {p["role"]: p["capacity_requests_per_s"] for p in serving["pools"]}      # one instance each
    ratio = capacity["decode"] / capacity["prefill"]     # prefill instances that one decode instance keeps busy
    assert 500 < ratio < 520
    assert serving["binding_pool"] == "prefill"
    assert serving["balance"] == {"prefill": round(ratio), "decode": 1}
