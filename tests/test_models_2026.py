"""Model structure of the MoE models served in 2026 (SPEC 12): MoE on every k-th layer (Llama 4), the
experts' own weight dtype (gpt-oss: mxfp4 experts beside bf16 attention), checked against figures
computed by hand."""

from __future__ import annotations

import pytest

from dagc.export.report import memory_totals
from dagc.ir.dag import OpKind
from dagc.lang.load import PlanError, load_plan_text
from dagc.plan.params import params_by_category, total_params, weight_bytes
from dagc.verdict.check import check

# A small Llama-4-like model: 8 layers, MoE on layers 1, 3, 5, 7 (every 2nd), a shared expert, dense FFN between.
H, HEADS, KV, HD, V, E, FFN, DENSE, L = 1024, 16, 4, 64, 32000, 16, 2048, 4096, 8


def model(extra: str = "", weights: str = "bf16") -> str:
    return (f'model "interleaved" {{ layers = {L}  hidden = {H}  heads = {HEADS}  kv_heads = {KV}  head_dim = {HD}  '
            f'vocab = {V}  weights = {weights}\n'
            f'  moe {{ experts = {E}  top_k = 1  ffn = {FFN}  shared = 1  every = 2  dense_ffn = {DENSE} {extra} }}'
            ' }\n')


def plan(strategy: str, extra: str = "", weights: str = "bf16") -> str:
    return (model(extra, weights) + 'cluster { gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm" }\n'
            "workload { batch = 8  prompt = 1024  generate = 128 }\n" f"strategy {strategy}\n")


def attention(tp: int) -> int:
    """q and o: h·heads·hd each; k and v: h·kv·hd each (tp ≤ kv heads: split)."""
    return (2 * H * HEADS * HD + 2 * H * KV * HD) // tp


def ffn(size: int) -> int:
    return 3 * H * size                      # gated: gate, up, down


def test_every_second_layer_is_moe_and_the_parameters_count_so():
    m = load_plan_text(plan("tp 4")).model
    assert [m.is_moe_layer(i) for i in range(L)] == [False, True] * 4
    assert (m.dense_layer_count, m.moe_layer_count) == (4, 4)
    p = params_by_category(m)
    assert p["routed_experts"] == 4 * E * ffn(FFN) and p["shared_experts"] == 4 * ffn(FFN)
    assert p["dense_ffn"] == 4 * ffn(DENSE)
    assert p["norms_and_routers"] == L * 2 * H + H + 4 * H * E
    assert total_params(m) == L * attention(1) + 4 * (E + 1) * ffn(FFN) + 4 * ffn(DENSE) + L * 2 * H + H \
        + 4 * H * E + 2 * V * H


@pytest.mark.parametrize("strategy, stages", [
    ("tp 4", [(0, 8)]),
    ("pp 2 < tp 2 ; ep 2 >", [(0, 4), (4, 8)]),
])
def test_weights_per_rank_of_an_interleaved_model_by_hand(strategy, stages):
    (r,) = check(load_plan_text(plan(strategy)))
    tp = r.layout.tp
    ep, etp = r.layout.ep, r.layout.etp
    for s, (a, b) in enumerate(stages):
        moe = sum(1 for i in range(a, b) if i % 2 == 1)
        dense = (b - a) - moe
        per_rank = ((b - a) * attention(tp) + moe * (E // ep * ffn(FFN) // etp + ffn(FFN) // tp)
                    + dense * ffn(DENSE) // tp + (b - a) * 2 * H + moe * H * E
                    + (V * H // tp if s == 0 else 0) + ((V * H // tp + H) if s == len(stages) - 1 else 0))
        assert r.memory.stages[s].weights_bytes == per_rank * 2, (strategy, s)


def test_the_dag_runs_experts_on_the_moe_layers_only():
    (r,) = check(load_plan_text(plan("tp 4")))
    dag = r.compiled.dag
    layers_with = {kind: {dag.layer[i] for i in range(len(dag)) if dag.kind[i] is kind}
                   for kind in (OpKind.EXPERT_FFN, OpKind.DENSE_FFN, OpKind.SHARED_EXPERT)}
    assert layers_with[OpKind.EXPERT_FFN] == layers_with[OpKind.SHARED_EXPERT] == {1, 3, 5, 7}
    assert layers_with[OpKind.DENSE_FFN] == {0, 2, 4, 6}


def test_experts_in_their_own_dtype_hold_and_read_their_bytes():
    text = plan("tp 4", extra="weights = fp8")
    (r,) = check(load_plan_text(text))
    m = r.plan.model
    assert (m.weights.value, m.expert_weights.value) == ("bf16", "fp8")
    experts = 4 * (E * ffn(FFN) + ffn(FFN))
    assert weight_bytes(m) == (total_params(m) - experts) * 2 + experts * 1
    st = r.memory.stages[0]
    assert st.routed_expert_bytes == 4 * E * ffn(FFN) // 4 * 1      # fp8: a byte each, split over tp 4
    assert st.shared_expert_bytes == 4 * ffn(FFN) // 4 * 1
    assert st.attention_bytes == L * attention(4) * 2
    # the routed experts' op reads fp8 weights: a byte a weight where the bf16 model's reads two
    (bf,) = check(load_plan_text(plan("tp 4")))

    def expert_weight_bytes(res) -> float:
        dag = res.compiled.dag
        i = next(i for i in range(len(dag)) if dag.kind[i] is OpKind.EXPERT_FFN and dag.phase[i].value == "prefill")
        t = dag.template[i]
        return float(t.hbm_bytes[0])

    assert expert_weight_bytes(r) < expert_weight_bytes(bf)
    cats = {c["category"]: c for c in memory_totals(r)["categories"]}
    assert cats["routed_experts"]["bytes"] == 4 * E * ffn(FFN)
    assert cats["attention"]["bytes"] == L * attention(1) * 2


@pytest.mark.parametrize("text, code, column", [
    (model().replace("layers = 8", "layers = 7"), "E104", "every"),
    (model().replace(f"dense_ffn = {DENSE}", ""), "E103", "every"),
])
def test_bad_interleave_is_located(text, code, column):
    full = text + 'cluster { gpus = 8  gpu preset "h100-sxm" }\nworkload { batch = 8  prompt = 64  generate = 8 }\n' \
        "strategy tp 4\n"
    with pytest.raises(PlanError) as e:
        load_plan_text(full)
    d = next(d for d in e.value.diagnostics if d.code == code)
    assert d.span is not None and full[d.span.start:d.span.end].startswith(column) and d.hint


# ------------------------------------------------------------------ windowed attention

def windowed(window: str, strategy: str = "tp 4", workload: str = "batch = 8  prompt = 1000  generate = 200") -> str:
    return (f'model "w" {{ layers = 8  hidden = {H}  heads = {HEADS}  kv_heads = {KV}  head_dim = {HD}  vocab = {V}\n'
            f'  moe {{ experts = {E}  top_k = 2  ffn = {FFN} }}\n  window {{ {window} }} }}\n'
            'cluster { gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm" }\n'
            f"workload {{ {workload} }}\nstrategy {strategy}\n")


def test_windowed_layers_hold_at_most_the_window_in_their_kv_cache():
    (r,) = check(load_plan_text(windowed("size = 128  full_every = 2", "pp 2 < tp 4 >")))
    # per token and layer on a rank: k and v of kv_heads / tp = 1 head of 64 dims, bf16
    per_token = 2 * 1 * HD * 2
    full = 8 * 1200 * per_token                  # 8 requests × (1000 + 200) tokens
    win = 8 * 128 * per_token                    # at most the window
    for s in (0, 1):                             # layers 0–3 and 4–7: two windowed (even), two full (odd) each
        assert r.memory.stages[s].kv_cache_bytes == 2 * full + 2 * win
    (chunked,) = check(load_plan_text(windowed("size = 512  kind = chunked", "tp 4")))
    assert chunked.memory.stages[0].kv_cache_bytes == 8 * (8 * 512 * per_token)     # every layer windowed


def test_attention_follows_the_window_in_prefill_and_decode():
    def attention(text: str, phase: str):
        (r,) = check(load_plan_text(text))
        dag = r.compiled.dag
        i = next(i for i in range(len(dag)) if dag.kind[i] is OpKind.ATTENTION and dag.phase[i].value == phase)
        return dag.template[i]

    full_text = windowed("size = 100000").replace("  window { size = 100000 }", "")
    half = windowed("size = 128  full_every = 2")
    p_full, p_half = attention(full_text, "prefill"), attention(half, "prefill")
    # a windowed layer of a 1,000-token prompt: 128·129/2 + 872·128 pairs of 1000·1001/2; half the layers
    ratio = (128 * 129 // 2 + 872 * 128) / (1000 * 1001 / 2)
    assert float(p_half.flops[0]) == pytest.approx(float(p_full.flops[0]) * (0.5 + 0.5 * ratio), rel=1e-12)
    d_full, d_half = attention(full_text, "decode"), attention(half, "decode")
    # decode: the full layers attend to 1000 + 100 tokens, the windowed ones to 128
    assert float(d_half.flops[0]) == pytest.approx(float(d_full.flops[0]) * (0.5 * 1100 + 0.5 * 128) / 1100,
                                                   rel=1e-12)
    # on long contexts the windows shorten both figures (on short ones each op's launch floor binds)
    long = "batch = 32  prompt = 16000  generate = 200"
    (a,) = check(load_plan_text(windowed("size = 100000", workload=long).replace("  window { size = 100000 }", "")))
    (b,) = check(load_plan_text(windowed("size = 128  full_every = 2", workload=long)))
    assert b.metrics.ttft_s < a.metrics.ttft_s and b.metrics.tpot_s < a.metrics.tpot_s


def test_a_window_that_covers_the_context_changes_nothing_and_is_warned():
    base = windowed("size = 100000").replace("  window { size = 100000 }", "")
    (a,) = check(load_plan_text(base))
    (b,) = check(load_plan_text(windowed("size = 5000  full_every = 2")))
    assert a.metrics == b.metrics and a.memory.stages[0].kv_cache_bytes == b.memory.stages[0].kv_cache_bytes
    assert "W515" in {d.code for d in b.diagnostics} and "W515" not in {d.code for d in a.diagnostics}


def test_the_bounds_stay_below_a_windowed_plans_figures():
    from dagc.rules.bounds import bounds

    for window in ("size = 128  full_every = 2", "size = 256  kind = chunked  full_every = 4"):
        (r,) = check(load_plan_text(windowed(window, "tp 8")))
        b = bounds(r.plan.model, r.plan.workload, r.plan.cluster, gpus=8)
        assert b.ttft_s <= r.metrics.ttft_s and b.tpot_s <= r.metrics.tpot_s


def test_bad_windows_are_located():
    for window, code in (("full_every = 2", "E103"), ("size = 128  full_every = 1", "E104"),
                         ("size = 128  kind = tumbling", "E101")):
        text = windowed(window)
        with pytest.raises(PlanError) as e:
            load_plan_text(text)
        d = next(d for d in e.value.diagnostics if d.code == code)
        assert d.span is not None and d.hint, (window, d)


# ------------------------------------------------------------------ memory oracles of two presets

def preset_plan(preset: str, gpus: int, gpu: str, workload: str, strategy: str) -> str:
    return (f'model preset "{preset}"\ncluster {{ gpus = {gpus}  gpus_per_node = 8  gpu preset "{gpu}" }}\n'
            f"workload {{ {workload} }}\nstrategy {strategy}\n")


MXFP4 = 0.5 + 1 / 32          # bytes a weight: 4 bits and an e8m0 scale per 32


@pytest.mark.parametrize("strategy, tp, ep, etp", [("tp 1", 1, 1, 1), ("tp 2 ; ep 2", 2, 2, 1)])
def test_gpt_oss_120b_memory_by_hand(strategy, tp, ep, etp):
    """gpt-oss-120b: bf16 attention, MXFP4 experts, a sliding window of 128 on its 18 even layers."""
    h, heads, kv, hd, v, e, ffn, layers = 2880, 64, 8, 64, 201088, 128, 2880, 36
    text = preset_plan("gpt-oss-120b", tp, "h100-sxm", "batch = 32  prompt = 2048  generate = 1024", strategy)
    (r,) = check(load_plan_text(text))
    st = r.memory.stages[0]
    assert st.attention_bytes == layers * (2 * h * heads * hd // tp + 2 * h * (kv // tp) * hd) * 2
    # vLLM (the plan's engine by default) runs them on an H100 in OpenAI's Triton kernels, which pad each rank's
    # ffn (2,880 here, etp 1) to a multiple of 64 (nothing) and keep the block scales twice: 1/32 byte more a weight
    held = MXFP4 + 1 / 32
    assert st.routed_expert_bytes == pytest.approx(layers * (e // ep) * 3 * h * ffn / etp * held, rel=1e-12)
    assert st.replicated_bytes == (layers * 2 * h + layers * h * e + h) * 2          # norms, routers, final norm
    assert st.embedding_bytes == st.lm_head_bytes == v * h // tp * 2
    per_token = 2 * (kv // tp) * hd * 2                                             # k and v of its heads, bf16
    assert st.kv_cache_bytes == 18 * 32 * 3072 * per_token + 18 * 32 * 128 * per_token


@pytest.mark.parametrize("strategy, ep", [("tp 8", 1), ("tp 8 ; ep 8", 8)])
def test_llama_4_maverick_memory_by_hand(strategy, ep):
    """Llama 4 Maverick: 24 MoE layers (odd) with a shared expert, 24 dense ones, chunked attention (8192)
    on the 36 layers that are not every 4th; a 17,000-token context, so the chunks bind."""
    h, heads, kv, hd, v, e, ffn, dense, layers = 5120, 40, 8, 128, 202048, 128, 8192, 16384, 48
    text = preset_plan("llama-4-maverick", 8, "h200", "batch = 64  prompt = 16000  generate = 1000", strategy)
    (r,) = check(load_plan_text(text))
    st = r.memory.stages[0]
    tp = 8
    assert st.attention_bytes == layers * (2 * h * heads * hd // tp + 2 * h * (kv // tp) * hd) * 2
    experts_per_rank = e // ep * 3 * h * ffn // (tp if ep == 1 else 1)             # ep 1: experts follow tp
    assert st.routed_expert_bytes == 24 * experts_per_rank * 2
    assert st.shared_expert_bytes == 24 * 3 * h * ffn // tp * 2
    assert st.dense_ffn_bytes == 24 * 3 * h * dense // tp * 2
    assert st.replicated_bytes == (layers * 2 * h + 24 * h * e + h) * 2
    per_token = 2 * 1 * hd * 2                                                     # one KV head per rank, bf16
    assert st.kv_cache_bytes == 12 * 64 * 17000 * per_token + 36 * 64 * 8192 * per_token
    assert st.embedding_bytes == st.lm_head_bytes == v * h // tp * 2


def test_an_fp4_kv_cache_is_refused_where_it_is_written():
    text = preset_plan("mixtral-8x7b", 8, "b200", "batch = 8  prompt = 64  generate = 8", "tp 8").replace(
        'model preset "mixtral-8x7b"', 'model preset "mixtral-8x7b" { kv_cache = nvfp4 }')
    with pytest.raises(PlanError) as e:
        load_plan_text(text)
    d = e.value.diagnostics[0]
    assert d.code == "E104" and text[d.span.start:d.span.end].startswith("kv_cache") and "fp8" in d.hint


def test_the_report_names_what_sets_a_model_apart():
    from dagc.export.markdown import report_md

    (r,) = check(load_plan_text(preset_plan("gpt-oss-120b", 1, "h100-sxm", "batch = 4  prompt = 512  generate = 64",
                                            "tp 1")))
    assert r.plan.model.structure_text == "mxfp4 experts; sliding window of 128 tokens on 18 of 36 layers"
    assert "bf16 weights; mxfp4 experts; sliding window of 128 tokens on 18 of 36 layers)" in report_md(r)
    maverick = load_plan_text(preset_plan("llama-4-maverick", 8, "h200", "batch = 4  prompt = 512  generate = 64",
                                          "tp 8")).model
    assert maverick.structure_text == "MoE on 1 layer in 2; chunked window of 8,192 tokens on 36 of 48 layers"
    assert load_plan_text(preset_plan("mixtral-8x7b", 8, "h100-sxm", "batch = 4  prompt = 512  generate = 64",
                                      "tp 8")).model.structure_text == ""
