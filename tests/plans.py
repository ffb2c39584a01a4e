"""Hypothesis strategies that generate valid plans (small models, every axis)."""

from __future__ import annotations

from hypothesis import assume, strategies as st

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check


@st.composite
def plan_texts(draw) -> str:
    layers = draw(st.integers(2, 6))
    heads = draw(st.sampled_from([8, 16]))
    hidden = draw(st.sampled_from([256, 512]))
    mla = draw(st.booleans())
    kv = draw(st.sampled_from([h for h in (1, 2, 4, 8) if heads % h == 0]))
    experts = draw(st.sampled_from([4, 8, 16]))
    top_k = draw(st.integers(1, 2))
    ffn = draw(st.sampled_from([256, 512]))
    shared = draw(st.integers(0, 1))
    dense_layers = draw(st.integers(0, 1))
    attention = ("attention = mla  mla { q_lora = 64  kv_lora = 32  qk_nope = 32  qk_rope = 16  v_head = 32 }"
                 if mla else f"kv_heads = {kv}  head_dim = {hidden // heads}")
    # the structure of 2026's models: MoE every other layer, the experts' own dtype, windowed attention
    every = draw(st.sampled_from([1, 2])) if (layers - dense_layers) % 2 == 0 else 1
    experts_dtype = draw(st.sampled_from(["", "", "  weights = fp8", "  weights = mxfp4"]))
    window = draw(st.sampled_from(["", "", "  window { size = 8  full_every = 2 }",
                                   "  window { size = 64  kind = chunked }"]))
    model = (f'model "gen" {{ layers = {layers}  hidden = {hidden}  heads = {heads}  vocab = 1000  {attention}\n'
             f"  moe {{ experts = {experts}  top_k = {top_k}  ffn = {ffn}  shared = {shared}  "
             f"dense_layers = {dense_layers}  dense_ffn = 1024  every = {every}{experts_dtype} }}{window} }}")
    dp = draw(st.sampled_from([1, 2]))
    pp = draw(st.integers(1, min(3, layers)))
    tp = draw(st.sampled_from([1, 2, 4]))
    cp = draw(st.sampled_from([1, 1, 2]))
    sp = draw(st.booleans()) and tp > 1
    attention_domain = f"tp {tp}" + (f" cp {cp}" if cp > 1 else "") + (" sp" if sp else "")
    if draw(st.booleans()):
        ep = draw(st.sampled_from([e for e in (1, 2, 4, 8) if e <= experts]))
        etp = draw(st.sampled_from([1, 2]))
        a, e = tp * cp, ep * etp
        assume(max(a, e) % a == 0 and max(a, e) % e == 0)
        inner = f"{attention_domain} ; ep {ep}" + (f" etp {etp}" if etp > 1 else "")
    else:
        inner = attention_domain
    body = f"pp {pp} < {inner} >" if pp > 1 else inner
    strategy = f"dp {dp} < {body} >" if dp > 1 else body
    batch = draw(st.integers(1, 48))
    prompt = draw(st.integers(16, 256))
    generate = draw(st.integers(2, 16))
    mb = draw(st.integers(1, 4))
    routing = draw(st.sampled_from(["uniform", "imbalance 1.5"]))
    overlap = draw(st.sampled_from(["none", "microbatch"]))
    speculative = draw(st.sampled_from(["", "", "", "  speculative { method = mtp  tokens = 1  acceptance = 0.8 }",
                                        "  speculative { method = ngram  tokens = 2  accept_length = 2 }"]))
    # in flight a third of the time; a chunk above the decode tokens of the most requests a rank can hold
    # (48, each up to 3 positions with speculative decoding), smaller than, about, and larger than a prompt
    chunks = [200, 8192] if speculative else [64, 200, 8192]
    serving = draw(st.sampled_from(["", "", f"  serving = inflight  chunk = {draw(st.sampled_from(chunks))}"]))
    return "\n".join([
        model,
        'cluster { gpus = 1024  gpus_per_node = 8  gpu "big" { memory = 10 TB  flops = 400 TFLOPS  hbm = 2 TB/s }\n'
        "  inter_node = 50 GB/s }",
        f"workload {{ batch = {batch}  prompt = {prompt}  generate = {generate}  microbatches = {mb}  "
        f"routing = {routing}  overlap = {overlap}{serving}{speculative} }}",
        f"strategy {strategy}",
    ])


def checked(text: str):
    result = check(load_plan_text(text))[0]
    errors = [d for d in result.diagnostics if d.is_error]
    assume(not errors)
    assert result.dag is not None
    return result
