"""E101 of an unknown model preset: a family's name lists its presets; another model of a family is not offered as
the one meant (dagc.lang.preset_family)."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from dagc.lang.model import preset_hint

CLUSTER = 'cluster { gpus = 8  gpu preset "h100-sxm" }\nworkload { batch = 8  prompt = 100  generate = 10 }\n'


def _e101(name: str) -> str:
    with pytest.raises(PlanError) as e:
        load_plan_text(f'model preset "{name}"\n{CLUSTER}strategy tp 8\n')
    (d,) = [d for d in e.value.diagnostics if d.code == "E101"]
    assert d.message == f"unknown model preset `{name}`"
    return d.hint or ""


def test_a_family_name_lists_its_presets():
    assert _e101("qwen3") == ("`qwen3` names a family: its presets are `qwen3-30b-a3b`, `qwen3-235b-a22b` and "
                              "`qwen3-coder-480b-a35b`")
    assert _e101("llama-4") == "`llama-4` names a family: its presets are `llama-4-maverick` and `llama-4-scout`"
    assert preset_hint("Qwen/Qwen3").startswith("`qwen3` names a family")      # a Hugging Face id's organisation off


def test_another_model_of_a_family_is_said_to_be_one():
    hint = _e101("glm-4")
    assert hint.startswith("dagc has no preset of `glm-4`; `glm-4.5` is another model of its family")
    assert '`model preset "glm-4.5" { … }` with your fields' in hint
    assert 'write your model out (`model "glm-4" { … }`' in hint and '`model from "config.json"`' in hint
    assert "did you mean" not in hint
    for name, other in (("deepseek-v2", "deepseek-v3"), ("kimi-k2.5", "kimi-k2"), ("glm-4.7", "glm-4.5")):
        assert preset_hint(name).startswith(f"dagc has no preset of `{name}`; `{other}` is another model"), name
    assert preset_hint("deepseek-ai/DeepSeek-V3.2").startswith(      # its organisation written: not "did you mean"
        "dagc has no preset of `deepseek-v3.2`; `deepseek-v3` is another model of its family")
    assert preset_hint("deepseek-ai/DeepSeek-V3").startswith("did you mean `deepseek-v3`?")
    assert preset_hint("Qwen/Qwen3-235B-A22B").startswith("did you mean `qwen3-235b-a22b`?")
    assert preset_hint("llama-3").startswith(
        "dagc has no preset of `llama-3`; `llama-4-maverick` and `llama-4-scout` are other models of its family")


def test_a_slip_of_a_presets_name_is_still_did_you_mean():
    for slip, meant in (("qwen3-235b", "qwen3-235b-a22b"), ("gpt-oss-120", "gpt-oss-120b"),
                        ("mixtral-8x7", "mixtral-8x7b"), ("llama-4-scot", "llama-4-scout")):
        assert _e101(slip) == f"did you mean `{meant}`?", slip


def test_a_name_of_no_family_lists_every_preset():
    assert preset_hint("gemma-3").startswith("expected one of: `mixtral-8x7b`")
