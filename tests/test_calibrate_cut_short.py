"""A run file whose one JSON value stops where the file does — a result cut while `vllm bench serve --save-result`
wrote it, or a copy cut short — is hinted what to do: copy it again whole or benchmark again. It was hinted the
formats dagc reads, which a user whose file is vLLM's own could not act on. A file broken before its end (an edit)
keeps that hint."""

from __future__ import annotations

import json

import pytest

from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError

RESULT = {"date": "20261128-101500", "endpoint_type": "vllm", "backend": "vllm", "model_id": "Qwen/Qwen3-30B-A3B",
          "num_prompts": 300, "request_rate": 4.0, "burstiness": 1.0, "max_concurrency": None, "duration": 78.28,
          "completed": 300, "failed": 0, "total_input_tokens": 307200, "total_output_tokens": 76800,
          "request_throughput": 3.832, "output_throughput": 981.1, "total_token_throughput": 4905.4,
          "mean_ttft_ms": 46.35, "median_ttft_ms": 47.21, "p99_ttft_ms": 75.38, "mean_tpot_ms": 13.9,
          "median_tpot_ms": 14.68, "p99_tpot_ms": 17.56}
CUT = ("the file ends before its JSON does: a benchmark stopped while writing its result, or a copy cut short, "
       "leaves it so — copy the file again whole, or run the benchmark again")
FORMATS = ("dagc reads vLLM's `--save-result` JSON, SGLang's bench_serving JSON lines and AIPerf / genai-perf "
           "profile exports (docs/calibrate.md)")


def said(path):
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    return d.message, d.span.line, d.hint


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("cut", ['"total_token_throughput":', '"model_id": "Qwen/Qw', '"max_concurrency": nu'])
def test_a_result_cut_short_is_told_to_copy_or_benchmark_again(tmp_path, indent, cut):
    text = json.dumps(RESULT, indent=indent)
    path = tmp_path / "rate4.json"
    path.write_text(text[:text.index(cut) + len(cut)])
    message, line, hint = said(path)
    assert message == "the run file is not valid JSON (truncated?)" and hint == CUT
    assert line == (1 if indent is None else 2 + list(RESULT).index(cut.split('"')[1]))


def test_a_result_broken_before_its_end_keeps_the_formats_hint(tmp_path):
    path = tmp_path / "rate4.json"
    path.write_text(json.dumps(RESULT, indent=2).replace('"failed": 0,', '"failed": 0'))
    message, line, hint = said(path)
    assert (message, line, hint) == ("the run file is not valid JSON (truncated?)", 13, FORMATS)
