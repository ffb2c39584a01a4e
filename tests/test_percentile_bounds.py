"""A percentile of TTFT or TPOT on the simulated load is bounded as the steady state's figure is, at one request
alone (`dagc.rules.alone`): N604 for the cluster, W506 for the strategy. In flight, a request's TTFT is at least its
own prompt's prefill, however the chunks split it (`dagc.rules.bounds`)."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.rules.alone import one_request_alone
from dagc.rules.bounds import bounds
from dagc.verdict.check import check

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 2048  generate = 256  serving = inflight  rate = 2 requests/s  requests = 200 LENGTHS }
require { REQ }
strategy tp 8
"""
HBM = 8 * 3.35e12                    # 8 H100s' HBM, bytes/s
PEAK = 8 * 989e12                    # their dense bf16 peak, FLOP/s
# Mixtral 8x7B, per layer: attention 4096·4096·2 + 4096·1024·2 = 41,943,040; one expert 3·4096·14,336 =
# 176,160,768 (two a token); router 4096·8; two norms 2·4096
LAYER = 41_943_040 + 2 * 176_160_768 + 32_768 + 8_192
BODY = 32 * LAYER                    # 12,617,777,152: what one token's pass reads, its LM head apart
HEAD = 32_000 * 4096                 # the LM head; the final norm 4096
# one request alone: a decode step reads the body, the LM head and the final norm (bf16) and its KV cache at the
# mean decode context, 2048 + 256 / 2 = 2176 tokens of 32 layers · 2 · 8 heads · 128 · 2 B = 131,072 B
TPOT_ALONE = ((BODY + HEAD + 4096) * 2 + 2176 * 131_072) / HBM
# its prefill: 2 · body · 2048 + 2 · (head + norm), and causal attention 32 layers · 4 · 2048² · 4096 / 2
TTFT_ALONE = (2 * BODY * 2048 + 2 * (HEAD + 4096) + 32 * 4 * 2048**2 * 4096 // 2) / PEAK


def _plan(req: str, lengths: str = ""):
    return load_plan_text(PLAN.replace("REQ", req).replace("LENGTHS", lengths), "p.moe")


def test_one_request_alone_is_bounded_by_hand():
    p = _plan("tpot_p90 <= 1 s")
    b = bounds(p.model, one_request_alone(p.workload), p.cluster, gpus=8)
    assert TPOT_ALONE == pytest.approx(962.05e-6, rel=1e-5)
    assert b.tpot_per_token_s == pytest.approx(TPOT_ALONE, rel=1e-12)
    assert b.ttft_s == pytest.approx(TTFT_ALONE, rel=1e-12) == pytest.approx(6.6712e-3, rel=1e-4)


@pytest.mark.parametrize("req, code_text", [
    ("tpot_p90 <= 500 us", "the TPOT is at least 962 us: every request's is at least that, whatever the load"),
    ("ttft_p99 <= 5 ms", "the TTFT is at least 6.671 ms: every request's is at least that, whatever the load"),
])
def test_a_percentile_past_what_one_request_alone_can_reach_is_n604_and_w506(req, code_text):
    result = check(_plan(req))[0]
    codes = {d.code: d.message for d in result.diagnostics}
    assert "W506" in codes and "for one request alone" in codes["W506"]
    assert codes["W506"].endswith(code_text.replace("the TPOT is", "it is").replace("the TTFT is", "it is"))
    n604 = [d.message for d in result.diagnostics if d.code == "N604"]
    assert n604 and n604[0].endswith(code_text) and "on all 8 GPUs in one replica for one request alone" in n604[0]


def test_a_percentile_one_request_can_reach_is_not_flagged_nor_a_drawn_length_bounded_as_fixed():
    for req in ("tpot_p90 <= 1 ms", "ttft_p99 <= 7 ms"):
        codes = {d.code for d in check(_plan(req))[0].diagnostics}
        assert not codes & {"W506", "N604"}, req
    # lengths drawn around the mean may be one token: the bound is a one-token request's, under 5 ms
    codes = {d.code for d in check(_plan("ttft_p99 <= 5 ms", "lengths = exponential"))[0].diagnostics}
    assert not codes & {"W506", "N604"}
