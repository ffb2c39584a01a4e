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


def _fleet_row(binding: dict) -> dict:
    pick = {"strategy": "tp 2", "gpus": 2, "requirements": [],
            "load": {"goodput_requests_per_s": 0.0, "ttft_s": {"p99": 0.2442}, "tpot_s": {"p90": 0.01198},
                     "binding": binding}}
    return {"binding": "ttft_p99 <= 200 ms", "pick": pick}


def test_a_fleet_cluster_missed_by_the_front_end_says_so():
    from dagc.export.fleet_out import missed_with_figures

    said = {"limit": "step_compute", "missed_latencies": ["ttft"], "frontend_s": 0.20103, "frontend_ttft_share": 0.875}
    line = missed_with_figures(_fleet_row(said))
    assert line.startswith("misses ttft_p99 <= 200 ms — its best, `tp 2` on 2 GPUs: p99 TTFT 244.2 ms")
    assert line.endswith("goodput 0 requests/s. The engine's front end adds 201 ms to every request's TTFT, 87.5 % "
                         "of its mean in this run, which no faster step shortens: a constant dagc fitted on public "
                         "runs of the engine (docs/cost-model.md, \"The engine\"); `dagc calibrate` measures yours.")
    # a small share, and an answer saved before the binding carried the front end: the figures alone
    for binding in ({**said, "frontend_ttft_share": 0.1}, {"limit": "step_compute", "missed_latencies": ["ttft"]}):
        assert missed_with_figures(_fleet_row(binding)).endswith("goodput 0 requests/s")
