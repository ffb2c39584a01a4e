"""TensorRT-LLM's EP exchange on attention-DP ranks: every rank's tokens all-gathered to every EP rank and the
experts' outputs reduce-scattered (`EngineTerms.ep_all_gather`, `dagc.ir.op_moe.gathers_tokens`), where vLLM and
SGLang send a token to the ranks its top-k experts are on; TensorRT-LLM's all-to-all runs only for an EP group larger
than the top-k on a multi-node NVLink domain (tensorrt_llm/_torch/modules/fused_moe/fused_moe_cutlass.py,
`select_alltoall_method_type`)."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from dagc.ir.dag import OpKind, Phase
from dagc.lang.load import load_plan_text
from dagc.plan.engines import terms_of
from dagc.verdict.check import check

# Qwen3-30B-A3B: hidden 2048, 128 experts, top-8, bf16 weights (a bf16 dispatch); 64 requests on 4 attention-DP
# ranks: 16 decode tokens a rank
PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = {gpus} {per_node} gpu preset "{gpu}"  engine = {engine} }}
workload {{ batch = 64 prompt = 1000 generate = 1000 serving = inflight }}
strategy {strategy}
"""


def _decode_bytes(engine: str, strategy: str = "tp 1 ; ep 4", gpus: int = 4, gpu: str = "h200",
                  per_node: str = "") -> tuple[float, float]:
    text = PLAN.format(engine=engine, strategy=strategy, gpus=gpus, gpu=gpu, per_node=per_node)
    r = check(load_plan_text(text))[0]
    assert r.valid
    sent = {n.kind: float(np.max(n.template.comm_bytes)) for n in r.dag.nodes()
            if n.phase is Phase.DECODE and n.layer == 0 and n.microbatch == 0
            and n.kind in (OpKind.ALL_TO_ALL_DISPATCH, OpKind.ALL_TO_ALL_COMBINE)}
    return sent[OpKind.ALL_TO_ALL_DISPATCH], sent[OpKind.ALL_TO_ALL_COMBINE]


def test_trtllm_sends_every_token_to_every_ep_rank():
    # all-gather: 16 tokens × 4 EP ranks × 2,048 values × 2 bytes, both ways (the reduce-scatter in bf16 too)
    assert _decode_bytes("trtllm") == (16 * 4 * 2048 * 2, 16 * 4 * 2048 * 2)


def test_vllm_sends_a_token_to_the_ranks_its_experts_are_on():
    # 8 of 128 experts, 32 on each of 4 ranks: a rank is hit unless all 8 picks miss its 32
    distinct = 4 * (1 - comb(96, 8) / comb(128, 8))
    dispatch, combine = _decode_bytes("vllm")
    assert dispatch == pytest.approx(16 * distinct * 2048 * 2, rel=1e-12)
    assert combine == pytest.approx(dispatch, rel=1e-12)
    assert dispatch < 16 * 4 * 2048 * 2


def test_trtllm_all_to_all_on_a_multi_node_nvlink_domain_past_the_top_k():
    # 16 EP ranks > top-8 on a GB200 NVL72 domain: the engine's all-to-all, as vLLM's; EP 4 there: still gathered
    wide = "tp 1 ; ep 16"
    assert _decode_bytes("trtllm", wide, 16, "gb200") == _decode_bytes("vllm", wide, 16, "gb200")
    assert _decode_bytes("trtllm", "tp 1 ; ep 4", 4, "gb200")[0] == 16 * 4 * 2048 * 2
    # the same 16 ranks on H200 boards (8 GPUs a node): gathered, every node of the group too
    gathered, _ = _decode_bytes("trtllm", wide, 16, "h200")
    assert gathered == 64 / 16 * 16 * 2048 * 2


def test_attention_tp_has_no_gather():
    # no attention DP: the experts' tokens are the TP group's already, no exchange to price either way
    def comms(engine: str) -> list[tuple[str, float]]:
        text = PLAN.format(engine=engine, strategy="tp 4 ; ep 4", gpus=4, gpu="h200", per_node="")
        r = check(load_plan_text(text))[0]
        return [(n.kind.value, float(np.max(n.template.comm_bytes))) for n in r.dag.nodes()
                if n.phase is Phase.DECODE and n.layer == 0 and n.microbatch == 0 and n.kind.is_comm]

    assert comms("trtllm") == comms("vllm") and "all_to_all_dispatch" not in dict(comms("trtllm"))


def test_only_trtllm_gathers():
    assert terms_of("trtllm", None).ep_all_gather and terms_of("trtllm", "0.17.0").ep_all_gather
    assert not any(terms_of(e, None).ep_all_gather for e in ("vllm", "sglang", "pytorch"))
