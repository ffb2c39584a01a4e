"""`model from "config.json" { … }`: fields after an imported config replace its fields one by one, as after a
preset (`--set model.weights=fp8`, which `dagc check` offers as a next step, lands there); a check across the
config's fields points into the config, as its range checks do."""

from __future__ import annotations

import json

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan
from dagc.lang.overrides import load_plan_with
from hf_configs import QWEN3_30B_A3B

REST = ('cluster { gpus = 1  gpu preset "h100-sxm" }\n'
        "workload { batch = 8  prompt = 1000  generate = 100  serving = inflight }\n"
        "strategy tp 1\n")


def write(tmp_path, model: str, cfg: dict | None = None):
    (tmp_path / "config.json").write_text(json.dumps(cfg or QWEN3_30B_A3B, indent=2))
    plan = tmp_path / "plan.moe"
    plan.write_text(model + "\n" + REST)
    return plan


def test_a_block_after_the_config_replaces_its_fields(tmp_path):
    m = load_plan(write(tmp_path, 'model from "config.json" { kv_cache = fp8  moe { top_k = 4 } }')).model
    # Qwen3-30B-A3B's config: bf16 weights, 128 experts of ffn 768, top_k 8; the block sets fp8 KV and top_k 4
    # and keeps the rest (the config's experts and ffn).
    assert (m.kv_cache.value, m.weights.value) == ("fp8", "bf16")
    assert (m.moe.experts, m.moe.top_k, m.moe.ffn) == (128, 4, 768)


def test_set_a_model_field_of_an_imported_model(tmp_path):
    plan = load_plan_with(write(tmp_path, 'model from "config.json"'),
                          ["model.weights=fp8", "model.kv_cache=fp8"])
    assert (plan.model.weights.value, plan.model.kv_cache.value) == ("fp8", "fp8")
    with pytest.raises(PlanError) as err:
        load_plan_with(write(tmp_path, 'model from "config.json"'), ["model.layers=0"])
    (d,) = err.value.diagnostics
    assert (d.code, d.span.source.path, d.span.text) == ("E104", "--set", "0")


def test_a_check_across_config_fields_points_into_the_config(tmp_path):
    cfg = {**QWEN3_30B_A3B, "num_key_value_heads": 5}         # 32 heads are not a multiple of 5
    with pytest.raises(PlanError) as err:
        load_plan(write(tmp_path, 'model from "config.json"', cfg))
    (d,) = err.value.diagnostics
    text = (tmp_path / "config.json").read_text()
    at = text.index('"num_key_value_heads"')
    assert d.code == "E104" and "kv_heads (5)" in d.message
    assert d.span.source.path.endswith("config.json")
    assert (d.span.line, d.span.column) == (text[:at].count("\n") + 1, at - text.rfind("\n", 0, at))


def test_a_block_field_written_over_the_config_is_located_in_the_plan(tmp_path):
    with pytest.raises(PlanError) as err:
        load_plan(write(tmp_path, 'model from "config.json" { kv_heads = 5 }'))
    (d,) = err.value.diagnostics
    assert d.span.source.path.endswith("plan.moe") and d.span.text == "kv_heads = 5"
