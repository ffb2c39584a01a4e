"""TensorRT-LLM before 1.0 is priced with Triton Inference Server's front end, fitted on the calibration half
(`python bench/fit_triton_frontend.py`: Llama-3.1-8B's TensorRT-LLM 0.20 engine behind Triton's ensemble model at 1 to
128 clients, 7.9192 ms; until 2026-12-01 GenAI-Perf's tutorial's 13.266974 ms TTFT less its 2.069766 ms inter-token
latency, 11.197208 ms); from 1.0, `TRTLLM_FRONTEND_S`."""

from __future__ import annotations

import pytest

import dagc
from dagc.export.result_json import load_json
from dagc.lang.load import load_plan_text
from dagc.plan.engines import engine_of

# bench/fit_triton_frontend.py's fit on the calibration half, as it prints it: "frontend_s = 7.9192 ms over 6 runs"
TRITON_FRONT_END_S = 7.9192e-3

# GPT-2 (config.json of huggingface.co/gpt2) on one H100, as the tutorial ran it: 199-token prompts, 100 tokens out
GPT2 = """
model "gpt2" {
  layers = 12  hidden = 768  heads = 12  kv_heads = 12  head_dim = 64  vocab = 50257
  ffn = 3072  weights = fp16  kv_cache = fp16
}
cluster { gpus = 1  gpu preset "h100-sxm"  engine = ENGINE }
workload { batch = 8  prompt = 199  generate = 100  serving = inflight  TRAFFIC }
strategy tp 1
"""


def checked(engine: str, traffic: str = ""):
    [r] = dagc.check(load_plan_text(GPT2.replace("ENGINE", engine).replace("TRAFFIC", traffic)))
    return r


@pytest.mark.parametrize(("release", "front"), [
    ("0.8.0", TRITON_FRONT_END_S), ("0.14.0", TRITON_FRONT_END_S), ("0.21.0", TRITON_FRONT_END_S),
    ("1.0.0", 10e-3), ("1.2.0", 10e-3),
])
def test_a_release_before_1_0_carries_tritons_front_end_and_1_0_on_keeps_its_own(release, front):
    assert engine_of("trtllm", release).terms.frontend_s == pytest.approx(front, abs=1e-12)
    m = checked(f"trtllm@{release}").metrics
    assert m.ttft_s - m.ttft_server_s == pytest.approx(front, abs=1e-12)   # the steady state's client TTFT


def test_the_load_simulations_client_figures_carry_it_once_per_request():
    r = checked("trtllm@0.14.0", "concurrency = 1  requests = 20")
    load = load_json(r.load)
    for client, server in (("ttft_s", "ttft_server_s"), ("e2e_s", "e2e_server_s")):
        assert load[client]["p50"] - load[server]["p50"] == pytest.approx(TRITON_FRONT_END_S, abs=1e-9), client
