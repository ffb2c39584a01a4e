"""The E201 hint of dp or pp written beside other axes (`dagc.lang.nesting_hint`): one hint, the whole strategy
nested dp ⊃ pp ⊃ attention ; experts, which itself parses and passes the structural rules (E201, E202, E204),
so that pasting it takes one round."""

from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st

from dagc.lang.flatten import flatten
from dagc.lang.load import parse_strategy

# the axes a flat strategy may hold, each with a degree a power of two (so that no domain product fails to divide
# the stage group, E203, whatever the hint nests): sp is a flag
AXES = ("dp", "pp", "tp", "cp", "sp", "ep", "etp")


def _e201_hint(text: str) -> str:
    strategy, diags = flatten(parse_strategy(text))
    assert strategy is None
    (d,) = [d for d in diags if d.code == "E201"]
    m = re.fullmatch(r"write `([^`]+)`(?:: the experts of a stage run on its GPUs.*)?"
                     r"(?:: `tp \d+ ; ep \d+` share a stage's .*, each expert split over \d+ GPUs too: `([^`]+)`)?",
                     d.hint or "")
    assert m, d.hint
    if m.group(2):              # tp and ep written in one domain: their product's reading passes too
        _passes(m.group(2))
    return m.group(1)


def _passes(text: str) -> None:
    strategy, diags = flatten(parse_strategy(text))
    assert [d.code for d in diags] == [] and strategy is not None, (text, [(d.code, d.message) for d in diags])


def test_the_users_strategy_gets_a_hint_that_passes_in_one_round():
    hint = _e201_hint("dp 2 tp 2 pp 2 ep 4")
    assert hint == "dp 2 < pp 2 < tp 2 ; ep 4 > >"
    s = flatten(parse_strategy(hint))[0]
    assert (s.dp, s.pp, s.tp, s.ep) == (2, 2, 2, 4)


def test_the_hint_keeps_the_scopes_around_and_a_layer_split():
    assert _e201_hint("dp 2 < pp 2 tp 4 ep 4 >") == "dp 2 < pp 2 < tp 4 ; ep 4 > >"
    assert _e201_hint("pp 2 [40, 40] < dp 2 tp 2 ep 4 >") == "dp 2 < pp 2 [40, 40] < tp 2 ; ep 4 > >"
    assert _e201_hint("tp 4 sp pp 2 [3, 2] etp 2") == "pp 2 [3, 2] < tp 4 sp ; etp 2 >"


@st.composite
def flat_texts(draw) -> str:
    outer = draw(st.lists(st.sampled_from(("dp", "pp")), min_size=1, max_size=2, unique=True))
    inner = draw(st.lists(st.sampled_from(AXES[2:]), min_size=1, max_size=5, unique=True))
    if inner == ["sp"]:
        inner = ["tp", "sp"]
    axes = draw(st.permutations(outer + inner))
    return " ".join(a if a == "sp" else f"{a} {2 ** draw(st.integers(0, 4))}" for a in axes)


@settings(max_examples=300, deadline=None)
@given(flat_texts())
def test_every_flat_strategy_gets_a_hint_that_parses_and_passes_the_structural_rules(text):
    hint = _e201_hint(text)
    _passes(hint)
    s, _ = flatten(parse_strategy(hint))
    for axis in AXES:           # the degrees written, each where the hierarchy wants it
        m = re.search(rf"\b{axis} (\d+)", text)
        if m and axis != "sp":
            assert getattr(s, axis) == int(m.group(1)), (text, hint, axis)
    assert s.sp == (" sp" in f" {text}")


def test_a_scope_closed_too_early_is_reopened_around_the_axes_beside_it():
    """`pp 2 < tp 4 > ; ep 2`: the experts' domain written beside the pipeline's scope, not in it — the hint puts
    it in, and pastes in one round."""
    hint = _e201_hint("pp 2 < tp 4 > ; ep 2")
    assert hint == "pp 2 < tp 4 ; ep 2 >"
    _passes(hint)
    assert _e201_hint("dp 2 < tp 4 > ; ep 2") == "dp 2 < tp 4 ; ep 2 >"


def test_experts_written_outside_the_pipeline_are_told_they_run_on_the_stage_s_gpus():
    """Seed 004 put attention on GPUs 0-3 (TP 2 × PP 2) and the experts on GPUs 4-7 ("dedicated to expert
    processing"); written `pp 2 < tp 2 > ; ep 4`, the hint rewrote it `pp 2 < tp 2 ; ep 4 >` and said nothing of
    the change: there the 4 EP GPUs are each stage's own, 2 × 4 = 8 GPUs sharing attention and experts. Now the hint
    says so, and that dagc lays out no GPUs for experts alone; a scope closed around the experts keeps its words."""
    strategy, diags = flatten(parse_strategy("pp 2 < tp 2 > ; ep 4"))
    (d,) = [d for d in diags if d.code == "E201"]
    assert d.hint == ("write `pp 2 < tp 2 ; ep 4 >`: the experts of a stage run on its GPUs, beside its attention — "
                      "dagc lays out no GPUs for experts alone (attention and experts on separate GPUs, attention–FFN "
                      "disaggregation)")
    (d,) = [d for d in flatten(parse_strategy("pp 2 < tp 2 ; ep 4 > dp 2"))[1] if d.code == "E201"]
    assert d.hint == "write `dp 2 < pp 2 < tp 2 ; ep 4 > >`"
