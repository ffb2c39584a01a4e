"""A plan at an engine release of another series than the one dagc's terms are of says whose terms price it: `engine =
vllm@0.8.5` read "Engine: vllm 0.8.5, its fused glue kernels and CUDA graphs, 1.512 ms of host time per step …", as if
those were 0.8.5's figures, where they are the terms dagc holds of vLLM 0.33.0 (docs/language.md, "engine"); `dagc
launch` said its flags were 0.33.0's, the check nothing of its figures."""

from __future__ import annotations

from dagc.cost.cost_model import engine_text
from dagc.lang.load import load_plan_text

_PLAN = """model preset "mixtral-8x7b"
cluster {{ gpus = 8  gpu preset "h100-sxm"  engine = {engine} }}
workload {{ batch = 8  prompt = 512  generate = 64 }}
strategy tp 8
"""


def _engine_line(engine: str) -> str:
    return engine_text(load_plan_text(_PLAN.format(engine=engine), "p.moe").cluster)


def test_an_older_vllm_release_is_said_to_be_priced_with_the_newest_ones_terms():
    line = _engine_line("vllm@0.8.5")
    assert line.startswith("Engine: vllm 0.8.5 (its terms here are vLLM 0.33.0's: dagc has none of 0.8.5's own), its "
                           "fused glue kernels and CUDA graphs, 1.512 ms of host time per step")


def test_a_tensorrt_llm_release_before_1_0_names_the_terms_it_holds_of_its_own():
    line = _engine_line("trtllm@0.7.1")
    assert ("(its terms here are TensorRT-LLM 1.2.0's but for its front end, its decode attention's KV reads and its "
            "routed experts' time, which are 0.7.1's)") in line
    assert "a front end of 7.919 ms per request" in line       # Triton's, the release's own (TRTLLM_TRITON_FRONTEND_S)


def test_the_newest_series_and_an_unnamed_release_say_nothing_more():
    for engine in ("vllm", "vllm@0.33.0", "vllm@0.33.1", "sglang", "pytorch"):
        assert "its terms here are" not in _engine_line(engine), engine
    assert "its terms here are SGLang 0.5.23's: dagc has none of 0.4.6's own" in _engine_line("sglang@0.4.6")
