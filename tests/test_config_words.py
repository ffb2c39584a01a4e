"""A model written out with a Hugging Face config.json's key names — `hidden_size = 4096`, `moe { num_experts = 16 }`,
as an engineer copies them from the checkpoint — is told dagc's field (`dagc.lang.field_words.CONFIG_WORDS`), and no
E103 for the field it stands for. Until 2026-11-29 `hidden_size` got the model's list of 16 fields beneath an E103
"the model has no `hidden`", and `num_experts` an E103 "a model with experts = 0 needs `dense_ffn`" first."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

MODEL = """model "moe-10b" {
  layers = 16  hidden = 4096  heads = 32  kv_heads = 8  vocab = 32000
  moe { experts = 16  top_k = 2  ffn = 4096 }
}
cluster { gpus = 16  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64 }
strategy tp 4 ; ep 16
"""


@pytest.mark.parametrize("dagc_, config, block", [
    ("hidden = 4096", "hidden_size = 4096", "model"),
    ("heads = 32", "num_attention_heads = 32", "model"),
    ("experts = 16", "num_experts = 16", "model.moe"),
    ("experts = 16", "n_routed_experts = 16", "model.moe"),
    ("top_k = 2", "num_experts_per_tok = 2", "model.moe"),
    ("ffn = 4096 }", "moe_intermediate_size = 4096 }", "model.moe"),
])
def test_a_config_json_key_is_told_dagcs_field_alone(dagc_, config, block):
    with pytest.raises(PlanError) as exc:
        load_plan_text(MODEL.replace(dagc_, config, 1))
    (d,) = exc.value.diagnostics                          # no E103 for the field it stands for
    name, field = config.split(" =")[0], dagc_.split(" =")[0]
    assert d.code == "E101" and d.message == f"unknown field `{name}` in {block}"
    assert d.hint == f"did you mean `{field}`? (`{name}` is config.json's name of it)"


def test_a_config_json_key_in_the_wrong_block_is_told_where_it_goes():
    with pytest.raises(PlanError) as exc:
        load_plan_text(MODEL.replace("vocab = 32000", "vocab = 32000  num_experts = 16"))
    (d,) = exc.value.diagnostics
    assert d.hint == ("`num_experts` is config.json's name of `experts`, a field of its `moe { … }`: write `experts` "
                      "there")


@pytest.mark.parametrize("written", ["moe_intermediate_size = 1024", "expert_ffn = 1024", "moe_ffn = 1024"])
def test_the_experts_ffn_in_the_models_block_is_never_taken_for_the_dense_ffn(written):
    """The experts' FFN width written in the model's block was asked "did you mean `ffn`?" (config.json's
    `moe_intermediate_size`) or given the model's whole list of fields (`expert_ffn`): the model's `ffn` is its dense
    layers', so the hint led to a model with a dense FFN of 1,024 beside its experts'. Now it says `moe { ffn }`."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(MODEL.replace("vocab = 32000", f"vocab = 32000  {written}"))
    (d,) = exc.value.diagnostics
    name = written.split(" =")[0]
    assert d.code == "E101" and d.message == f"unknown field `{name}` in model"
    assert "did you mean" not in d.hint
    assert d.hint in ("`moe_intermediate_size` is config.json's name of `ffn`, a field of its `moe { … }`: write "
                      "`ffn` there",
                      f"`{name}`, the experts' FFN width, is `ffn` of the model's `moe {{ … }}` (the model's own "
                      "`ffn` is its dense layers'): write `moe { ffn = … }`")


def test_the_experts_ffn_by_another_name_in_the_moe_block_is_told_ffn():
    with pytest.raises(PlanError) as exc:
        load_plan_text(MODEL.replace("ffn = 4096 }", "expert_ffn = 4096 }"))
    (d,) = exc.value.diagnostics                          # no E103 for the moe block's missing `ffn`
    assert d.hint == "did you mean `ffn`? (the experts' FFN width, `expert_ffn`, is `ffn` in `moe { … }`)"
