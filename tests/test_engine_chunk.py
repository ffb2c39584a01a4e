"""A plan that writes no `chunk` is priced and launched with its engine's own step budget on its GPU
(`dagc.plan.step_budget`, docs/cost-model.md "The engines' step budgets"): vLLM's API server 2048 on an A100,
SGLang 8192 on an H100 and 16384 on a B200; a written `chunk` is kept."""

from __future__ import annotations

import pytest

from dagc import load_plan_text
from dagc.export.report import report_json
from dagc.launch.engines import launch_result
from dagc.verdict.check import check

PLAN = '''
model preset "qwen3-30b-a3b"
cluster {{ gpus = 1  gpu preset "{gpu}"  engine = {engine} }}
workload {{ batch = {batch}  prompt = 4000  generate = 500  serving = inflight {chunk} }}
strategy tp 1
'''


def _plan(engine: str, gpu: str, chunk: str = "", batch: int = 16):
    return load_plan_text(PLAN.format(engine=engine, gpu=gpu, chunk=chunk, batch=batch), name="chunk")


@pytest.mark.parametrize(("engine", "gpu", "tokens"), [
    ("vllm", "a100-80g", 2048),       # the API server's on an A100 (named "a100"), whatever its 80 GiB
    ("vllm", "h100-sxm", 8192),       # 81,559 MiB ≥ 70 GiB, not an A100
    ("sglang", "h100-sxm", 8192),     # below 160 GiB
    ("sglang", "b200", 16384),        # 183,359 MiB ≥ 160 GiB
    ("sglang", "a100-80g", 8192),     # SGLang keys on memory alone
    ("trtllm", "a100-80g", 8192),     # BuildConfig.max_num_tokens
    ("pytorch", "b200", 8192),
])
def test_an_unwritten_chunk_is_the_engines_default_on_the_gpu(engine, gpu, tokens):
    plan = _plan(engine, gpu)
    assert plan.workload.chunk is None and plan.workload.chunk_tokens == tokens
    result = check(plan)[0]
    assert result.valid
    assert report_json(result)["workload"]["chunk"] == tokens       # report.json echoes the chunk priced


def test_a_written_chunk_is_kept():
    plan = _plan("vllm", "a100-80g", "chunk = 4096")
    assert plan.workload.chunk_tokens == 4096
    assert report_json(check(plan)[0])["workload"]["chunk"] == 4096


def _launch_text(engine: str, gpu: str, name: str) -> str:
    [x] = [x for x in launch_result(check(_plan(engine, gpu))[0]) if x.name == name]
    return "\n".join([*(c.text for c in x.commands), *(f.text for f in x.files)])


def test_launch_passes_the_chunk_dagc_priced():
    # every engine's launch of a plan runs the step dagc priced: the plan's engine's default when unwritten
    assert "--max-num-batched-tokens 2048 " in _launch_text("vllm", "a100-80g", "vLLM")
    assert "--chunked-prefill-size 2048 " in _launch_text("vllm", "a100-80g", "SGLang")
    assert "--chunked-prefill-size 16384 " in _launch_text("sglang", "b200", "SGLang")
    assert "--chunked-prefill-size 8192 " in _launch_text("sglang", "h100-sxm", "SGLang")
    assert "max_num_tokens: 16384" in _launch_text("sglang", "b200", "TensorRT-LLM")


def test_the_default_chunk_is_priced_by_the_steady_state():
    # 4,096 requests in flight on one rank: vLLM's 2,048-token step on an A100 has no room for a prompt (E307),
    # where TensorRT-LLM's 8,192 has
    small = check(_plan("vllm", "a100-80g", batch=4096))[0]
    [e307] = [d for d in small.diagnostics if d.code == "E307"]
    assert e307.message.startswith("the engine's default step budget on this GPU, 2,048 tokens (no `chunk` written) "
                                   "leaves no room for a prompt")
    assert "E307" not in {d.code for d in check(_plan("trtllm", "a100-80g", batch=4096))[0].diagnostics}


@pytest.mark.parametrize(("engine", "gpu", "named"), [("sglang", "b200", 16384), ("vllm", "a100-80g", 2048)])
def test_e307_names_the_engines_default_on_the_gpu(engine, gpu, named):
    # 2,000 requests on one rank under a written 1,024-token chunk: E307 asks for 2,001 or more and names the
    # default of the plan's engine on its GPU, which has room
    plan = load_plan_text(PLAN.format(engine=engine, gpu=gpu, chunk="chunk = 1024", batch=2000), name="chunk")
    [e307] = [d for d in check(plan)[0].diagnostics if d.code == "E307"]
    assert "write `chunk = 2001` or more" in e307.hint
    assert f"the engine's default on this GPU is {named} —" in e307.hint
