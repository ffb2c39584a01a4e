"""Attention data parallelism written as an axis — `adp 4 ; ep 4`, as docs/language.md writes its degree, or as the
engines call it (`dp-attention`, `attn_dp`, `dpa`) — is E101 whose hint is the stage written without it, the expert
domain setting the stage group; the stage the hint writes has that many attention-DP ranks. Until 2026-12-02 it was
told the list of axes."""

from __future__ import annotations

import re

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.layout.layout import stage_group
from conftest import plan_text

SGLANG_DEEPSEEK = dict(model='model preset "deepseek-v3"',
                       cluster='cluster { gpus = 16  gpus_per_node = 8  gpu preset "h200"  engine = pytorch }',
                       workload="workload { batch = 256  prompt = 2000  generate = 500 }")


def _error(strategy: str):
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(**SGLANG_DEEPSEEK, strategy=f"strategy {strategy}"))
    (d,) = exc.value.diagnostics
    return d


@pytest.mark.parametrize(("written", "stage", "gpus", "ranks", "each"), [
    ("adp 16 ; ep 16", "tp 1 ; ep 16", 16, 16, "1 GPU"),
    ("dp-attention 8 ; ep 8", "tp 1 ; ep 8", 8, 8, "1 GPU"),
    ("tp 2 attn_dp 4 ; ep 8", "tp 2 ; ep 8", 8, 4, "2 GPUs"),
    ("ep 16 ; dpa 4 tp 4", "tp 4 ; ep 16", 16, 4, "4 GPUs"),             # the expert domain first
    ("attention_dp 8", "tp 1 ; ep 8", 8, 8, "1 GPU"),                   # no expert domain: EP over the whole group
    ("pp 2 < adp 8 ; ep 8 >", "tp 1 ; ep 8", 8, 8, "1 GPU"),            # inside a pipeline stage
])
def test_attention_dp_as_an_axis_is_told_the_stage_without_it(written, stage, gpus, ranks, each):
    d = _error(written)
    assert d.code == "E101" and d.message.startswith("unknown axis")
    assert d.hint.endswith(f"the stage is `{stage}` ({gpus} GPUs: {ranks} attention-DP ranks of {each} each)")
    assert "axes are dp (data)" not in d.hint
    # the stage the hint writes is read, and has the attention-DP ranks written
    (decl,) = load_plan_text(plan_text(**SGLANG_DEEPSEEK, strategy=f"strategy {stage}")).strategies
    s, diags = flatten(decl)
    assert s is not None and not diags
    assert stage_group(s.tp, s.cp, s.ep, s.etp)[2:] == (gpus, ranks)


def test_a_group_the_expert_domain_does_not_fill_is_told_the_expert_degree_that_does():
    d = _error("adp 8 ; ep 4")
    assert d.hint.endswith("8 attention-DP ranks of 1 GPU are a stage group of 8 GPUs, which the expert domain "
                           "(ep·etp = 4) must fill: e.g. `tp 1 ; ep 8`")


def test_attention_dp_without_a_degree_is_told_how_a_stage_has_it():
    d = _error("tp 4 dp_attn")
    assert re.search(r"adp = G / \(tp·cp\).*`tp 1 ; ep 8`, has 8 attention-DP ranks of 1 GPU each$", d.hint)


def test_another_unknown_axis_keeps_its_hint():
    assert _error("xp 4").hint.startswith("axes are dp (data)")
