"""A vLLM result writes the latencies its `--percentile-metrics` names (`ttft,tpot,itl` by default): a run of `itl`
alone is read (its ITL stands for the TPOT it did not measure), and a run of `e2el` alone is said to lack the
latencies dagc fits on, with the option that writes them. Both were said to have "none of the fields of vLLM's,
SGLang's or AIPerf's results" — of a file every other field of which is vLLM's."""

from __future__ import annotations

import json

import pytest

from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError

# `vllm bench serve --request-rate 4 --num-prompts 300 --save-result` (vllm/benchmarks/serve.py, `result_json`):
# Qwen3-30B-A3B on 2 H100s, 1,024 prompt and 256 output tokens a request, without its latencies
SUMMARY = {"date": "20261128-101500", "endpoint_type": "vllm", "backend": "vllm", "label": None,
           "model_id": "Qwen/Qwen3-30B-A3B", "tokenizer_id": "Qwen/Qwen3-30B-A3B", "num_prompts": 300,
           "request_rate": 4.0, "burstiness": 1.0, "max_concurrency": None, "duration": 78.28, "completed": 300,
           "failed": 0, "total_input_tokens": 307200, "total_output_tokens": 76800, "request_throughput": 3.832,
           "request_goodput": None, "output_throughput": 981.1, "total_token_throughput": 4905.4,
           "max_output_tokens_per_s": 1945.6, "max_concurrent_requests": 20}


def test_a_run_of_itl_alone_is_read(tmp_path):
    path = tmp_path / "rate4.json"
    path.write_text(json.dumps(SUMMARY | {"mean_itl_ms": 13.83, "median_itl_ms": 13.78, "std_itl_ms": 7.54,
                                          "p99_itl_ms": 33.44}))
    (run,) = read_runs(path)
    assert (run.tool, run.requests, run.rate, run.prompt, run.generate) == ("vllm", 300, 4.0, 1024.0, 256.0)
    assert {k: v for k, v in run.measured.items() if k.startswith(("itl", "ttft", "tpot"))} == {
        "itl_ms": 13.83, "itl_ms_median": 13.78, "itl_ms_p99": 33.44}


def test_a_run_of_e2el_alone_is_told_the_option_that_writes_the_latencies(tmp_path):
    path = tmp_path / "rate4.json"
    text = json.dumps(SUMMARY | {"mean_e2el_ms": 3590.0, "median_e2el_ms": 3518.2, "std_e2el_ms": 300.0,
                                 "p99_e2el_ms": 4308.0})
    path.write_text(text)
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("E110", 1, 1)
    assert d.message == ("field `mean_ttft_ms` is missing, and so are TPOT and ITL: the run measured no latency dagc "
                         "fits on")
    assert d.hint == ("benchmark again with `--percentile-metrics ttft,tpot,itl,e2el` (vLLM's `bench serve` writes "
                      "the latencies it names, `ttft,tpot,itl` by default)")
