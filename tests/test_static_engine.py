"""W534: a plan that names vLLM, SGLang or TensorRT-LLM and sends it traffic, left at `serving = static`, is told
that its traffic is simulated as batches those engines do not run, and to write `serving = inflight` — where it
read, silently, TTFTs of seconds and a capacity of a thousandth of a request a second (DeepSeek-V3 on 16 H200s,
`tp 1 ; ep 16`, SGLang at 4 requests/s: capacity 0.001285 requests/s statically)."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check


def _plan(cluster: str = "engine = sglang", workload: str = "rate = 2 requests/s  requests = 100") -> str:
    return (f'model preset "qwen3-30b-a3b"\ncluster {{ gpus = 1  gpu preset "h100-sxm"  {cluster} }}\n'
            f"workload {{ batch = 16  prompt = 512  generate = 64  {workload} }}\nstrategy tp 1\n")


def _w534(text: str):
    (result,) = check(load_plan_text(text))
    return [d for d in result.diagnostics if d.code == "W534"]


def test_a_named_engines_traffic_served_statically_is_warned():
    (d,) = _w534(_plan())
    assert d.message.startswith("the plan serves with SGLang, which batches continuously, but its workload is "
                                "served statically")
    assert d.span is not None and d.span.line == 3 and d.span.text.startswith("workload {")
    assert d.hint is not None and d.hint.startswith("write `serving = inflight` in the workload, as SGLang serves")
    (at,) = _w534(_plan(workload="concurrency = 4  requests = 100  serving = static"))
    assert at.span is not None and at.span.text == "serving = static"      # where it is written, when it is


@pytest.mark.parametrize("cluster, workload", [
    ("", "rate = 2 requests/s  requests = 100"),                             # no engine named: a static model
    ("engine = pytorch", "rate = 2 requests/s  requests = 100"),            # dagc's plain reference, no server
    ("engine = vllm", "rate = 2 requests/s  requests = 100  serving = inflight"),
    ("engine = trtllm", ""),                                                 # no traffic: an offline batch job
])
def test_no_warning_where_static_is_what_the_plan_means(cluster, workload):
    assert _w534(_plan(cluster, workload)) == []
