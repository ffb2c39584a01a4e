"""Hints that name what really fixes the plan: a price's unit (`$/h`, not `$` removed), the GPUs a model's
weights need when no spreading of them fits, and the layer count when that is what overflows the memory."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from conftest import plan_text


def _error(text: str):
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    (d,) = [d for d in exc.value.diagnostics if d.is_error]
    return d


@pytest.mark.parametrize("written", ["2.49 $/GPU-hour", "2.49 $ /h", "2.49 $/gpu-h"])
def test_a_price_unit_dagc_cannot_lex_is_told_the_unit(written):
    cluster = 'cluster {{ gpus = 8  gpu preset "h200"  price = {} }}'
    d = _error(plan_text(cluster=cluster.format(written)))
    assert d.code == "E001" and "remove it" not in d.hint
    # the unit as written, read (tests/test_price_units.py): the price it names per GPU-hour
    assert d.hint == f"`{written[5:]}` is dollars per hour: write `price = 2.49 $/h`"
    plan = load_plan_text(plan_text(cluster=cluster.format("2.49 $/h")))       # the hint's own form is legal
    assert plan.cluster.price_per_gpu_hour == pytest.approx(2.49)


def test_a_dollar_that_follows_no_number_is_not_told_about_prices():
    """`--strategy 'tp 4; $(id)'`: a `$` in a strategy (no number before it) is no price's unit."""
    from dagc.lang.load import parse_strategy
    with pytest.raises(PlanError) as exc:
        parse_strategy("tp 4; $(id)")
    (d,) = exc.value.diagnostics
    assert d.code == "E001" and "price" not in (d.hint or "")


def _checked(text: str):
    (r,) = check(load_plan_text(text))
    return r


def test_weights_no_strategy_on_the_cluster_holds_are_told_the_gpus_they_need():
    # DeepSeek-V3 in bf16: 671.0 B parameters × 2 bytes = 1,249.88 GiB; 8 H100 hold 8 × (79.65 − 4.00) GiB =
    # 605.18 GiB: at least ⌈1,249.88 / 75.65⌉ = 17 GPUs; 8-bit, 624.94 GiB: ⌈8.26⌉ = 9
    r = _checked(plan_text(model='model preset "deepseek-v3" { weights = bf16 }',
                           cluster='cluster { gpus = 8  gpu preset "h100-sxm" }', strategy="strategy tp 8"))
    (d,) = [d for d in r.diagnostics if d.code == "E402"]
    assert "more pp or ep" not in d.hint
    assert d.hint == ("the weights alone, 1,249.88 GiB, exceed what the cluster's 8 GPUs hold (605.18 GiB: 79.65 GiB "
                      "each, less the reserve), whatever the strategy: they need at least about 17 GPUs of this kind, "
                      "more with the KV cache; or 8-bit weights (`weights = fp8`: 624.94 GiB, at least about 9 GPUs); "
                      "or a GPU with more memory")


def test_weights_the_cluster_could_hold_keep_the_spreading_hint():
    r = _checked(plan_text(model='model preset "deepseek-v3"', cluster='cluster { gpus = 16  gpu preset "h100-sxm" }',
                           strategy="strategy tp 8"))
    (d,) = [d for d in r.diagnostics if d.code == "E402"]
    # the weights alone (78.96 GiB) exceed one GPU less its reserve (75.65 GiB) but not the cluster's: spread them
    assert d.hint.startswith("a rank's weights alone, 78.96 GiB, exceed the GPU's 79.65 GiB less its reserve of 4.00 "
                             "GiB: spread them over more GPUs a replica (more tp, pp or ep")
    assert "whatever the strategy" not in d.hint


def test_a_dag_too_large_for_its_layer_count_names_the_layers():
    # 100,000 layers, statically 3 passes (the prefill, two decode steps) × 1 micro-batch × (at most 16 ops × 100,000
    # layers + 3) = 4,800,009 nodes, 48 a layer: 500,000 // 48 = 10,416 layers fit
    r = _checked(plan_text(model='model preset "mixtral-8x7b" { layers = 100000 }',
                           cluster='cluster { gpus = 8  gpu preset "h200" }', strategy="strategy tp 8"))
    (d,) = [d for d in r.diagnostics if d.code == "W507"]
    assert "micro-batches" not in d.hint and d.span.text == "layers = 100000"
    assert d.hint == ("even one micro-batch makes about 4,800,009 nodes: the model's 100,000 layers are what exceed "
                      "the budget (about 10,416 layers fit); check `layers`")


def test_a_dag_too_large_for_its_micro_batches_is_told_how_many_fit():
    r = _checked(plan_text(workload="workload { batch = 4096  prompt = 64  generate = 8  microbatches = 4096 }"))
    (d,) = [d for d in r.diagnostics if d.code == "W507"]
    per = int(d.hint.split("adds about ")[1].split(" ")[0].replace(",", ""))
    most = int(d.hint.split("at most ")[1].split(" ")[0].replace(",", ""))
    assert most == 500_000 // per and most < 4096 and d.hint.startswith("use fewer micro-batches")


W520_PLAN = dict(model='model preset "deepseek-v3"', cluster='cluster { gpus = 8  gpu preset "h200" }',
                 workload="workload { batch = 1024  prompt = 8000  generate = 1000  serving = inflight }")


def _w520(r):
    (d,) = [d for d in r.diagnostics if d.code == "W520"]
    return d


def test_mla_kv_cache_is_not_said_to_shard_with_tp_and_attention_dp_is_computed():
    r = _checked(plan_text(**W520_PLAN, strategy="strategy tp 8"))
    hint = _w520(r).hint
    assert "(tp or dp) shard" not in hint
    assert ("more tp does not shard this KV cache (MLA's latent KV is whole on every TP rank): split the requests "
            "over attention-DP ranks (`tp 1 ; ep N`) or replicas (dp), or the tokens (cp)") in hint
    # the attention-DP figure is the one dagc judges that strategy at: its own W520's ≈ N requests in flight
    runs = int(hint.split("`tp 1 ; ep 8` on these 8 GPUs would run ≈ ")[1].split(";")[0].replace(",", ""))
    alt = _checked(plan_text(**W520_PLAN, strategy="strategy tp 1 ; ep 8"))
    assert f"the engine runs ≈ {runs:,} at their mean context" in _w520(alt).message and runs > 101


def test_gqa_kv_cache_below_its_kv_heads_still_shards_with_tp():
    r = _checked(plan_text(model='model preset "mixtral-8x7b"', cluster='cluster { gpus = 4  gpu preset "h100-sxm" }',
                           workload="workload { batch = 1024  prompt = 8000  generate = 1000  serving = inflight }",
                           strategy="strategy tp 4"))
    assert "more GPUs shard the KV cache (more tp, up to the model's KV heads; dp; cp)" in _w520(r).hint


def test_a_preset_written_with_typographic_dashes_is_pointed_at_its_name():
    """`qwen3‐30b‐a3b` pasted from a document (U+2010 hyphens): did you mean `qwen3-30b-a3b`? (was: every preset), and
    which character is not `-`, since the two names look the same (since 2026-11-30)"""
    d = _error(plan_text(model='model preset "qwen3\u201030b\u2010a3b"'))
    assert d.code == "E101" and d.hint == ("did you mean `qwen3-30b-a3b`? (its `\u2010` (U+2010 HYPHEN) looks like `-` "
                                           "but is another character)")
