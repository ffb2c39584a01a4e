"""Hints and captions a new user followed and found wrong: W521's hint on a request log (which `requests` cannot
lengthen), the metrics caption of a strategy whose KV cache runs fewer requests than `batch` (W520), and E301's
hint where EPLB's redundant slots keep the ep written."""

from __future__ import annotations

from pathlib import Path

from dagc.lang.load import load_plan_text
from dagc.rules.serving import percentile_samples

ROWS = "".join(f"2024-05-10 00:00:0{i // 2}.{500000 * (i % 2):06d}+00:00,{800 + 100 * i},{100 + 10 * i}\n"
               for i in range(12))
LOG = "TIMESTAMP,ContextTokens,GeneratedTokens\n" + ROWS      # twelve requests, half a second apart


def _w521_hints(tmp_path: Path, traffic: str) -> list[str]:
    (tmp_path / "reqs.csv").write_text(LOG)
    plan = load_plan_text('model preset "qwen3-30b-a3b"\ncluster { gpus = 2  gpu preset "h100-sxm" }\n'
                          f"workload {{ batch = 64  prompt = 1600  generate = 300  serving = inflight  {traffic} }}\n"
                          "require { ttft_p90 <= 500 ms }\nstrategy tp 2\n", base_dir=tmp_path)
    return [d.hint or "" for d in percentile_samples(plan)]


def test_w521_on_a_whole_log_does_not_ask_for_more_requests_than_the_log_has(tmp_path):
    # a p90 needs 10 / (1 − 0.9) = 100 requests; the log holds 12, and `requests = 100` beside it is E104
    (hint,) = _w521_hints(tmp_path, 'requests from "reqs.csv"')
    assert "`requests = 100` or more in the workload" not in hint
    assert hint.startswith("the log `reqs.csv` holds 12 requests, all replayed: give a log of 100 or more")
    assert "`rate = R requests/s  requests = 100`" in hint


def test_w521_on_a_log_cut_by_requests_asks_for_more_of_it(tmp_path):
    (hint,) = _w521_hints(tmp_path, 'requests from "reqs.csv"  requests = 10')
    assert hint == "replay more of the log: `requests = 100` or more, if `reqs.csv` holds that many"


def test_w521_without_a_log_keeps_its_hint(tmp_path):
    (hint,) = _w521_hints(tmp_path, "rate = 2 requests/s  requests = 50")
    assert hint == "simulate more: `requests = 100` or more in the workload"

