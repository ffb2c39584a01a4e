"""SGLang and TensorRT-LLM pick a decode step's CUDA graph by its requests, vLLM by its tokens
(`EngineTerms.graph_per_request`): with speculative decoding a request verifies the drafted tokens and the next, so
the two differ. TensorRT-LLM keys its graph by `len(batch.generation_requests)` and pads with dummy requests that
carry draft tokens (`_torch/pyexecutor/cuda_graph_runner.py`); SGLang captures `capture_bs` batches of
`speculative_num_draft_tokens` tokens each. Until 2026-11-30 dagc compared the tokens (10 requests × 4 positions =
40) with TensorRT-LLM's graph sizes (1–31, 32, 64, 128 requests), priced such a step without a graph — every kernel
at its launch — and W532 said so; `dagc launch` meanwhile wrote `cuda_graph_config: {max_batch_size: 10}`."""

from __future__ import annotations

import numpy as np

from dagc.ir.dag import OpKind, Phase
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check_strategy, parse_strategy

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 4  gpu preset "b200"  engine = {engine} }}
workload {{ batch = {batch}  prompt = 1024  generate = 1024  serving = inflight
  speculative {{ method = mtp  tokens = {tokens}  accept_length = 2.5 }} }}
strategy tp 4
"""


def _decode_qkv(engine: str, batch: int, tokens: int):
    plan = load_plan_text(PLAN.format(engine=engine, batch=batch, tokens=tokens), "plan.moe")
    r = check_strategy(plan, parse_strategy("tp 4"), with_capacity=False)
    (n,) = [n for n in r.dag.nodes() if n.phase is Phase.DECODE and n.step == 0 and n.layer == 0
            and n.kind is OpKind.QKV_PROJ]
    return r, n.template


def test_trtllm_graphs_a_speculative_step_by_its_requests():
    # 10 requests on each tp rank, 4 positions each (3 drafted + the next): 40 tokens in TensorRT-LLM's graph of 10
    r, qkv = _decode_qkv("trtllm", 10, 3)
    assert np.all(qkv.tokens == 40.0)
    assert not any(k.eager for k in qkv.kernels)
    assert not [d for d in r.diagnostics if d.code == "W532"]


def test_trtllm_w532_counts_requests():
    # 40 requests (160 tokens): between its default graphs of 32 and 64 requests, eager; launched: the graph of 40
    r, qkv = _decode_qkv("trtllm", 40, 3)
    assert np.all(qkv.tokens == 160.0) and all(k.eager for k in qkv.kernels)
    (w,) = [d for d in r.diagnostics if d.code == "W532"]
    assert "no decode step of 40 requests a rank (160 tokens: 4 positions each)" in w.message
    assert "its graph of 40 requests" in w.message


def test_sglang_pads_a_speculative_step_with_whole_requests():
    # 9 requests × 3 positions = 27 tokens: SGLang's graph of 12 requests (its sizes 8, 12, 16 …) runs 36 tokens,
    # not the 32 its sizes would give were they tokens
    _, qkv = _decode_qkv("sglang", 9, 2)
    assert np.all(qkv.tokens == 36.0)
    assert not any(k.eager for k in qkv.kernels)


def test_vllm_still_graphs_by_tokens():
    # vLLM's sizes count tokens: 27 → its graph of 32 tokens (1, 2, 4, 8–248 by 8)
    _, qkv = _decode_qkv("vllm", 9, 2)
    assert np.all(qkv.tokens == 32.0)
