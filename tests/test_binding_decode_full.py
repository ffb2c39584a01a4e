"""What binds a disaggregated deployment's load when its prefill pool keeps pace but its decode slots are full: the
decode pool (the cap on requests in flight), not the prefill pool. Qwen3-30B-A3B on 4 H200s, one `tp 2` prefill
instance (2 prompts of 4,000 tokens in 71.5 ms: 27.96 requests/s) and one `tp 2 ; ep 2` decode instance of 48
slots (TPOT 18.07 ms × 270 tokens: 9.84 requests/s), at 27 requests/s: the prefill instance is busy 95 % of the time
keeping pace with the arrivals, the decode instance serves 9.98 requests/s with all 48 slots taken and ~309
requests waiting for one. Until 2026-11-30 dagc said "Bound by the prefill pool … more prefill instances lift it",
which would only lengthen the wait for a decode slot."""

from __future__ import annotations

from dagc.export.binding_text import binding_text
from dagc.export.report import report_json
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

STRATEGY = "prefill 1 < tp 2 > decode 1 < tp 2 ; ep 2 >"
PLAN = f"""model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h200" }}
workload {{ batch = 48  prompt = 4000  generate = 270  serving = inflight
  rate = 27 requests/s  requests = 1000 }}
require {{ ttft_p99 <= 2 s }}
strategy {STRATEGY}
"""


def test_full_decode_slots_bind_before_a_busy_prefill_pool():
    (r,) = check(load_plan_text(PLAN, "plan.moe"))
    b = report_json(r)["load"]["binding"]
    assert b["prefill_utilisation"] >= 0.9                      # busy, as it was, keeping pace with 27/s
    assert b["running_mean_while_waiting"] >= 0.9 * 48          # every decode slot taken while requests wait
    assert b["limit"] == "requests_in_flight"
    text = binding_text(b)
    assert text.startswith("Bound by the cap on requests in flight: 48 of 48 in flight on average")
    assert "more prefill instances" not in text
