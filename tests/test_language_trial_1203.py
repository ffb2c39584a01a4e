"""Three of the plan language's silences and slips (2026-12-03): a product written with spaces hinted as a field
given two values, a preset's MLA block kept under `attention = gqa` (and the user told to remove a block they never
wrote), and the fields of a disaggregated prefill pool silent under static serving."""

from __future__ import annotations

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from dagc.memory.resident import kv_cache_bytes_per_token
from dagc.verdict.check import check
from conftest import plan_text


def _codes(text: str) -> dict[str, list]:
    try:
        results = check(load_plan_text(text))
    except PlanError as exc:
        return {d.code: [x for x in exc.diagnostics if x.code == d.code] for d in exc.diagnostics}
    out: dict[str, list] = {}
    for r in results:
        for d in r.diagnostics:
            out.setdefault(d.code, []).append(d)
    return out


def test_a_product_written_with_spaces_is_hinted_as_its_product():
    text = plan_text(cluster='cluster { gpus = 2 x 8  gpu preset "h100-sxm" }')
    (d,) = _codes(text)["E001"]
    assert d.hint == ("`2 x 8` is not read as a number: write `gpus = 16` (2 × 8), the GPUs in all; "
                      "`gpus_per_node = 8` says a node's")       # was "remove it: a field is `name = value`"
    assert check(load_plan_text(text.replace("2 x 8", "16")))[0].valid


def test_a_second_value_that_is_no_product_is_still_told_to_go():
    (d,) = _codes(plan_text(workload="workload { batch = 32 32  prompt = 512  generate = 64 }"))["E001"]
    assert d.hint.startswith("remove it")


def test_gqa_over_an_mla_preset_replaces_its_mla_block():
    model = 'model preset "deepseek-v3" { attention = gqa  kv_heads = 8  head_dim = 128 }'
    plan = load_plan_text(plan_text(model=model, cluster='cluster { gpus = 16  gpu preset "h200" }',
                                    strategy="strategy tp 8 ; ep 16"))
    assert plan.model.mla is None
    # 61 layers × 8 KV heads × 128 × (K and V) × 2 bytes (bf16): 249,856 bytes a token (MLA's latent: 70,272)
    assert kv_cache_bytes_per_token(plan.model) == 61 * 8 * 128 * 2 * 2
    # until 2026-12-03: E104 "an `mla` block needs `attention = mla`", "remove the `mla` block" it never wrote
    assert "E104" not in _codes(plan_text(model=model, cluster='cluster { gpus = 16  gpu preset "h200" }',
                                          strategy="strategy tp 8 ; ep 16"))


def test_an_mla_block_written_beside_gqa_is_still_e104():
    model = 'model preset "deepseek-v3" { attention = gqa  kv_heads = 8  mla { kv_lora = 256 } }'
    (d,) = _codes(plan_text(model=model, cluster='cluster { gpus = 16  gpu preset "h200" }',
                            strategy="strategy tp 8 ; ep 16"))["E104"]
    assert d.message == "an `mla` block needs `attention = mla`"


def test_prefill_pool_fields_under_static_serving_are_w514():
    workload = "workload { batch = 8  prompt = 512  generate = 64  prefill_batch = 4  kv_transfer = layerwise }"
    found = _codes(plan_text(workload=workload))["W514"]
    assert [d.message.split("`")[1] for d in found] == ["prefill_batch", "kv_transfer"]
    assert found[0].hint.startswith("write `serving = inflight` and a disaggregated strategy")
    # served in flight the search weighs disaggregated candidates, which read them: not warned
    assert "W514" not in _codes(plan_text(workload=workload.replace("64 ", "64  serving = inflight ")))


def test_a_custom_gpu_whose_fp8_peak_is_below_its_bf16_one_is_e107():
    gpu = 'gpu "x" {{ memory = 80 GB  flops = 900 TFLOPS  {extra}  hbm = 3 TB/s }}'
    for extra, key in (("fp8_flops = 400 TFLOPS", "fp8_flops"), ("fp4_flops = 800 TFLOPS", "fp4_flops"),
                       ("fp8_flops = 1800 TFLOPS  fp4_flops = 1 PFLOPS", "fp4_flops")):
        (d,) = _codes(plan_text(cluster=f"cluster {{ gpus = 8  {gpu.format(extra=extra)} }}"))["E107"]
        assert d.message.startswith(f'gpu "x": `{key}` is below') and d.span.text.startswith(key), extra
    fine = gpu.format(extra="fp8_flops = 1800 TFLOPS  fp4_flops = 3.6 PFLOPS")
    assert "E107" not in _codes(plan_text(cluster=f"cluster {{ gpus = 8  {fine} }}"))


def test_a_product_written_with_times_or_a_star_is_hinted_as_its_product():
    for written in ("2 × 8", "2*8", "2 * 8"):
        diags = _codes(plan_text(cluster=f'cluster {{ gpus = {written}  gpu preset "h100-sxm" }}'))
        (d,) = [x for ds in diags.values() for x in ds]
        assert d.hint == (f"`{written}` is not read as a number: write `gpus = 16` (2 × 8), the GPUs in all; "
                          "`gpus_per_node = 8` says a node's"), written          # was "remove it"


def test_an_int4_kv_cache_is_e104_and_int4_weights_run_at_the_16_bit_peak():
    """A quantization trial (2026-12-03): `kv_cache = int4` was priced at half a byte a value that no engine keeps
    (its launch left the engine's 16-bit default, 4× the memory); int4 weights ran at the fp8 peak, as fast as fp8,
    where the engines' int4 kernels (W4A16) run at the 16-bit one."""
    (d,) = _codes(plan_text(model='model preset "mixtral-8x7b" { kv_cache = int4 }'))["E104"]
    assert d.message == "a KV cache in `int4` is not modelled: no engine dagc launches keeps one"
    from dagc.plan.cluster import peak_flops
    from dagc.plan.model import DType
    from dagc.plan.presets import GPU_PRESETS
    h100 = GPU_PRESETS["h100-sxm"]
    assert peak_flops(h100.flops_16bit, h100.flops_8bit, DType.INT4) == h100.flops_16bit == 989e12
    int4 = _codes(plan_text(model='model preset "mixtral-8x7b" { weights = int4 }'))
    (w,) = int4["W509"]
    assert w.message.startswith("int4 weights on `h100-sxm`, which has no int4 compute the engines use")
