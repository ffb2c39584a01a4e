"""TensorRT-LLM's Helix context parallelism (`cp`) where its own page on it says it runs
(docs/source/features/helix.md in NVIDIA/TensorRT-LLM): the generation servers of a disaggregated
deployment, MLA models, Blackwell GPUs. Elsewhere `check` and `launch` refuse it (E727) and the search on a
plan that chose TensorRT-LLM leaves it out; where it runs, the YAML carries both KV block sizes the page
requires and the disaggregated server's YAML the generation servers' own tp and cp (docs/launch.md)."""

from __future__ import annotations

from dagc.diagnostics import render
from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check
from dagc.launch.engines import launch_result
from dagc.launch.trtllm import TOKENS_PER_BLOCK
from dagc.plan.workload import PoolRole
from dagc.search.space import candidates, instance_strategies

# the plan of the report, without its traffic (whose load simulation takes the test 20 s and changes no refusal)
MAVERICK = """model preset "llama-4-maverick"
cluster { gpus = 16  gpu preset "h200"  ENGINE }
workload { batch = 128 prompt = 8000 generate = 400 serving = inflight
  speculative { method = eagle tokens = 3 acceptance = 0.7 } }
require { ttft <= 2 s  tpot <= 25 ms }
strategy agg = dp 2 < tp 8 ; ep 8 >
"""
DSV3 = """model preset "deepseek-v3"
cluster { gpus = 16  gpu preset "GPU"  engine = trtllm }
workload { batch = 64 prompt = 8000 generate = 400 serving = inflight }
strategy pd = STRATEGY
"""
HELIX_DECODE = "prefill 1 < tp 8 ; ep 8 > decode 1 < tp 4 cp 2 ; ep 8 >"
WHERE = ("TensorRT-LLM: Helix context parallelism (`cp 2`, --cp_size) runs on the generation servers of a "
         "disaggregated deployment, for models with multi-head latent attention (MLA, DeepSeek-V3's) on Blackwell GPUs "
         "(docs/source/features/helix.md); here ")


def _dsv3(gpu: str, strategy: str) -> str:
    return DSV3.replace("GPU", gpu).replace("STRATEGY", strategy)


def test_helix_on_a_gqa_model_on_hopper_as_a_strategy_of_its_own_is_refused_by_check():
    """Llama 4 Maverick (GQA attention) on H200 (SM90), not a pool: all three of Helix's conditions unmet."""
    (r,) = check(load_plan_text(MAVERICK.replace("ENGINE", "engine = trtllm")), "tp 4 cp 2 ; ep 8")
    (e727,) = [d for d in r.diagnostics if d.code == "E727"]
    assert e727.message == WHERE + ("a strategy of its own, not the decode pool of a disaggregated one; a model "
                                    "without MLA attention; h200, an SM90 GPU, not Blackwell")
    assert not r.verdict.correct
    # the nearest: tp 8 ; ep 8 moves tp 4 → 8 and cp 2 → 1 (distance 2); tp 4 ; ep 8 keeps tp but is attention
    # TP 4 × DP 2 (E721)
    assert e727.hint.startswith("the nearest strategy TensorRT-LLM can run: `tp 8 ; ep 8` (")
    # `dagc launch --engine trtllm` of the plan without an engine: the same refusal
    (plain,) = check(load_plan_text(MAVERICK.replace("ENGINE", "")), "tp 4 cp 2 ; ep 8")
    assert plain.valid
    (x,) = launch_result(plain, ("trtllm",))
    assert [d.code for d in x.refusals] == ["E727"] and x.refusals[0].message == e727.message


def test_the_search_of_a_plan_on_trtllm_never_proposes_cp_where_helix_does_not_run():
    """8,000-token prompts put cp 2 in the space (CP_MIN_PROMPT 4,096); on TensorRT-LLM none is left."""
    unchosen = load_plan_text(MAVERICK.replace("ENGINE", ""))
    chosen = load_plan_text(MAVERICK.replace("ENGINE", "engine = trtllm"))
    assert any(s.cp == 2 for s, _, _ in candidates(unchosen))
    assert not any(s.cp > 1 for s, _, _ in candidates(chosen))


def test_helix_in_a_decode_pool_of_deepseek_v3_on_b200_is_launched_with_the_block_sizes():
    (r,) = check(load_plan_text(_dsv3("b200", HELIX_DECODE)))
    assert r.valid and not [d for d in r.diagnostics if d.code.startswith("E7")], [render(d) for d in r.diagnostics]
    (x,) = launch_result(r, ("trtllm",))
    assert x.ok, [render(d) for d in x.refusals]
    files = {f.name: f.text for f in x.files}
    decode, prefill = files["trtllm-pd-decode.yml"], files["trtllm-pd-prefill.yml"]
    # helix.md: cp_config.tokens_per_block required, kv_cache_config.tokens_per_block equal to it (32, the default)
    assert TOKENS_PER_BLOCK == 32
    assert "cp_config:\n  cp_type: HELIX\n  tokens_per_block: 32\n" in decode
    kv = decode.split("kv_cache_config:\n")[1].split("\ncuda_graph_config")[0]
    assert "  tokens_per_block: 32" in kv.splitlines()
    assert decode.count("kv_cache_config:") == 1 and "tokens_per_block" not in prefill and "cp_config" not in prefill
    # the decode server is --tp_size 4 --cp_size 2 (8 GPUs = 4 × 2); the disaggregated server's YAML says the same
    serve = [c.argv for c in x.commands if "--cp_size" in c.argv]
    assert len(serve) == 1 and " ".join(serve[0]).count("--tp_size 4 --cp_size 2 --ep_size 8") == 1
    disagg = files["trtllm-pd-disagg.yml"]
    context, generation = disagg.split("generation_servers:\n")
    assert "  tensor_parallel_size: 4\n  pipeline_parallel_size: 1\n  context_parallel_size: 2\n" in generation
    assert "  tensor_parallel_size: 8\n" in context and "context_parallel_size" not in context


def test_helix_in_a_decode_pool_on_hopper_or_in_a_prefill_pool_is_refused():
    (r,) = check(load_plan_text(_dsv3("h200", HELIX_DECODE)))
    (e727,) = [d for d in r.diagnostics if d.code == "E727"]
    assert e727.message == "decode pool: " + WHERE + "h200, an SM90 GPU, not Blackwell"
    (r,) = check(load_plan_text(_dsv3("b200", "prefill 1 < tp 4 cp 2 ; ep 8 > decode 1 < tp 8 ; ep 8 >")))
    (e727,) = [d for d in r.diagnostics if d.code == "E727"]
    assert e727.message == "prefill pool: " + WHERE + "a prefill pool's server"
    assert not r.verdict.correct


def test_the_pools_of_the_search_take_helix_in_the_decode_pool_only():
    plan = load_plan_text(_dsv3("b200", HELIX_DECODE))
    assert any(s.cp == 2 for s in instance_strategies(plan, 8, PoolRole.DECODE))
    assert not any(s.cp > 1 for s in instance_strategies(plan, 8, PoolRole.PREFILL))
    assert not any(s.cp > 1 for s in instance_strategies(plan, 8))


def test_helix_on_a_custom_gpu_is_launched_with_a_note_that_dagc_cannot_tell_its_architecture():
    custom = ('gpu "my-gpu" { memory = 192 GB  flops = 2.2 PFLOPS  fp8_flops = 4.5 PFLOPS  hbm = 8 TB/s  '
              'intra_node = 900 GB/s }')
    (r,) = check(load_plan_text(_dsv3("b200", HELIX_DECODE).replace('gpu preset "b200"', custom)))
    (x,) = launch_result(r, ("trtllm",))
    assert x.ok and not [d for d in r.diagnostics if d.code == "E727"]
    assert any(n.startswith("decode pool: cp 2: ") and n.endswith(
        "; dagc does not know whether my-gpu is a Blackwell GPU, which Helix needs") for n in x.notes)
