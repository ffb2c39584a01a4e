"""A missed TTFT percentile that the engine's front end, not the server, spends most of is said to be the front
end's under the Load line (dagc.serve.binding's `frontend_s`, `frontend_ttft_share`; dagc.export.binding_text;
docs/load.md "What binds")."""

from __future__ import annotations

import numpy as np
import pytest

from dagc.export.binding_text import FRONTEND_DECIDES, binding_text
from dagc.export.result_json import load_json
from dagc.lang.load import load_plan_text
from dagc.units import Dimension, format_percent, format_si
from dagc.verdict.check import check

PLAN = ('model preset "qwen3-30b-a3b" cluster {{ gpus = 4  gpu preset "h100-sxm"  engine = {engine} }} '
        "workload {{ batch = 128  prompt = 1000  generate = 300  serving = inflight  rate = 10 requests/s "
        "requests = 300 }} require {{ ttft_p99 <= {ttft} }} strategy dp 2 < tp 2 ; ep 2 >")


def _binding(engine: str, ttft: str) -> tuple[dict, object]:
    r = check(load_plan_text(PLAN.format(engine=engine, ttft=ttft)))[0]
    assert r.load is not None
    return load_json(r.load)["binding"], r


def test_sglangs_front_end_is_said_to_decide_the_missed_ttft():
    b, r = _binding("sglang", "200 ms")
    load = r.load.load
    front = r.plan.cluster.engine.terms.frontend_s
    assert b["frontend_s"] == front == load.frontend_s and front > 0.2          # SGLang's fitted 201 ms
    share = front / float(np.mean(load.ttft_server + front))                     # of the client's mean TTFT
    assert b["frontend_ttft_share"] == pytest.approx(share, rel=1e-12) and share > FRONTEND_DECIDES
    assert b["missed_latencies"] == ["ttft"]
    text = binding_text(b)
    assert text is not None and text.startswith("Bound by the step time")      # the server's limit, as before
    assert (f"The engine's front end adds {format_si(front, Dimension.TIME)} to every request's TTFT, "
            f"{format_percent(share)} of its mean in this run, which no faster step shortens") in text


def test_a_small_front_end_or_no_missed_ttft_says_nothing_of_it():
    b, _ = _binding("vllm", "1 ms")                 # missed by the server itself: vLLM's 20 ms a small share
    assert b["missed_latencies"] == ["ttft"] and b["frontend_ttft_share"] < FRONTEND_DECIDES
    assert "front end" not in (binding_text(b) or "")
    met, _ = _binding("sglang", "2 s")              # the front end's share is as large, but nothing is missed
    assert met["frontend_ttft_share"] > FRONTEND_DECIDES and met["missed_latencies"] == []
    assert "front end" not in (binding_text(met) or "")
