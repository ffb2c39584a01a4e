"""Several `--set` options into a block the plan does not write make that one block, as a user would write it:
`--set workload.speculative.method=mtp --set workload.speculative.tokens=2 --set workload.speculative.acceptance=0.7`
is `speculative { method = mtp  tokens = 2  acceptance = 0.7 }`, not three `speculative` blocks (E104 "given
twice", each of them missing the others' fields, E103). A bad value among them is still located in its own option."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.overrides import SET_SOURCE, load_plan_with
from conftest import plan_text

SPECULATIVE = ("workload.speculative.method=mtp", "workload.speculative.tokens=2",
               "workload.speculative.acceptance=0.7")


@pytest.mark.parametrize("order", [SPECULATIVE, SPECULATIVE[::-1],
                                   (SPECULATIVE[0], "workload.chunk=512", *SPECULATIVE[1:])])
def test_speculative_fields_set_apart_make_one_block(order, write_plan):
    plan = load_plan_with(write_plan(plan_text()), list(order))
    spec = plan.workload.speculative
    assert spec is not None
    assert (spec.method, spec.tokens, spec.acceptance) == ("mtp", 2, 0.7)


def test_a_bad_value_among_them_is_located_in_its_option(write_plan):
    with pytest.raises(PlanError) as exc:
        load_plan_with(write_plan(plan_text()), [*SPECULATIVE[:2], "workload.speculative.acceptance=1.7"])
    (d,) = exc.value.diagnostics
    assert d.code == "E104" and d.span.source.path == SET_SOURCE
    assert d.span.source.text[d.span.start:d.span.end] == "1.7"
    assert "accept_length=1.7" in (d.hint or "")


def test_fields_of_a_block_a_preset_lacks_make_one_block(write_plan):
    """`model preset "x"` without a block: two fields become one ` { … }` after it (as before)."""
    plan = load_plan_with(write_plan(plan_text()), ["model.layers=8", "model.kv_cache=fp8"])
    assert plan.model.layers == 8
    assert str(getattr(plan.model.kv_cache, "value", plan.model.kv_cache)) == "fp8"


def test_fields_at_two_depths_of_a_block_a_preset_lacks_make_one_block(write_plan):
    """`model.layers` and `model.moe.top_k` after `model preset "x"`: ` { layers = 8  moe { top_k = 1 } }` (until
    2026-12-03 ` { layers = 8 } { moe { top_k = 1 } }`, E001 at the second `{`); a bad value is still its option's."""
    plan = load_plan_with(write_plan(plan_text()), ["model.moe.top_k=1", "model.layers=8"])
    assert (plan.model.layers, plan.model.moe.top_k, plan.model.moe.experts) == (8, 1, 8)
    with pytest.raises(PlanError) as exc:
        load_plan_with(write_plan(plan_text()), ["model.layers=8", "model.moe.top_k=9"])
    (d,) = exc.value.diagnostics
    assert d.code == "E104" and d.span.source.path == SET_SOURCE and d.span.source.text.startswith("model.moe.top_k")


WRITTEN = ('model "m" { layers = 4  hidden = 1024  heads = 8  kv_heads = 8  vocab = 32000  '
           'moe { experts = 8  top_k = 2  ffn = 2048 } }')


def test_another_preset_replaces_a_model_written_out(write_plan):
    """`--set model=NAME` is another preset (docs/cli.md) whatever the plan's model statement: until 2026-12-03 a
    model written out kept its dimensions under the preset's name, and a name no preset has passed."""
    path = write_plan(plan_text(model=WRITTEN))
    plan = load_plan_with(path, ["model=mixtral-8x7b"])
    assert (plan.model.name, plan.model.layers, plan.model.hidden, plan.model.moe.ffn) == ("mixtral-8x7b", 32, 4096,
                                                                                          14336)
    # its fields set too go into a block after the preset, the written one gone
    plan = load_plan_with(path, ["model=mixtral-8x7b", "model.layers=8", "model.moe.top_k=1"])
    assert (plan.model.layers, plan.model.hidden, plan.model.moe.top_k) == (8, 4096, 1)
    with pytest.raises(PlanError) as exc:
        load_plan_with(path, ["model=nonexistent"])
    (d,) = exc.value.diagnostics
    assert d.code == "E101" and d.span.source.path == SET_SOURCE
