"""Hints a new user of the plan language met that did not say what was meant: a percentile written with a dot
(`ttft.p99`), …; each named with what it was told until 2026-11-30."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from conftest import plan_text, run_dagc


def _first(text: str):
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    return exc.value.diagnostics[0]


@pytest.mark.parametrize(("written", "meant"), [("ttft.p99", "ttft_p99"), ("p99.ttft", "ttft_p99"),
                                                ("tpot.99", "tpot_p99"), ("e2e.p90", "e2e_p90")])
def test_a_dotted_percentile_is_told_its_spelling(written, meant):
    # until 2026-11-30: "remove it; docs/language.md describes what may stand here"
    d = _first(plan_text(require=f"require {{ {written} <= 2 s }}"))
    assert d.code == "E001"
    kind = meant.split("_")[0]
    assert d.hint == (f"a requirement's name is one word: did you mean `{meant}`? (the percentiles are "
                      f"`{kind}_p50` … `{kind}_p99`)")


def test_a_dotted_word_that_is_no_percentile_keeps_the_general_hint():
    assert _first(plan_text(require="require { foo.bar <= 2 s }")).hint == \
        "remove it; docs/language.md describes what may stand here"


EXAMPLE_PLAN = ('model preset "mixtral-8x7b"  cluster { gpus = 8  gpu preset "h100-sxm" }  '
                'workload { batch = 64  prompt = 2048  generate = 256 }  strategy tp 8')


@pytest.mark.parametrize(("text", "said", "at"), [("", "is empty", (1, 1)), ("  \n\n", "is empty", (1, 1)),
                                                  ("# my plan\n", "holds only comments", (1, 9))])
def test_an_empty_plan_is_one_diagnostic_with_a_plan_to_start_from(text, said, at):
    # until 2026-11-30 four E103s, one for each statement missing
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    (d,) = exc.value.diagnostics
    assert (d.code, d.message) == ("E103", f"the plan {said}: a plan needs a `model`, a `cluster`, a `workload` "
                                           "and a `strategy`")
    assert (d.span.line, d.span.column) == at
    assert d.hint == (f"start from this plan (a plan may be one line) and change it: `{EXAMPLE_PLAN}`; "
                      "`dagc presets` lists the models and GPUs")
    load_plan_text(EXAMPLE_PLAN)               # the plan the hint gives is one


def test_an_empty_plan_searched_needs_no_strategy():
    with pytest.raises(PlanError) as exc:
        load_plan_text("", needs_strategy=False)
    (d,) = exc.value.diagnostics
    assert d.message.endswith("a `cluster` and a `workload` (the command searches the strategies)")
    assert "strategy tp 8" not in (d.hint or "")


POOLS = "write `prefill N < strategy > decode M < strategy >`, e.g. `prefill 2 < tp 8 > decode 1 < tp 2 ; ep 8 >`"


@pytest.mark.parametrize(("strategy", "meant"), [("prefil 1 < tp 4 >", "prefill"), ("decod 1 < tp 4 >", "decode")])
def test_a_misspelt_pool_alone_is_told_the_pool(strategy, meant):
    # until 2026-11-30 "unknown axis" with the list of axes (with the other pool beside it, E205 said it already)
    d = _first(plan_text(strategy=f"strategy {strategy}"))
    assert (d.code, d.message) == ("E101", f"unknown axis `{strategy.split()[0]}`")
    assert d.hint == f"did you mean `{meant}`? (a pool of a disaggregated strategy: {POOLS})"


def test_a_misspelt_axis_with_a_scope_is_still_told_the_axis():
    assert _first(plan_text(strategy="strategy dpp 2 < tp 4 >")).hint == "did you mean `dp`?"


SPECULATIVE_AT_TOP = ("did you mean `speculative`? It is a block inside `workload { … }`: write "
                      "`workload { … speculative { … } }`")


@pytest.mark.parametrize(("text", "hint"), [
    # until 2026-11-30 each was told "docs/language.md describes what may stand here"
    (plan_text(workload="workload2 { batch = 64  prompt = 2048  generate = 256 }"),
     "did you mean `workload`? A plan has one `workload`: another is a plan of its own, or a what-if of this one "
     "with `--set workload.FIELD=VALUE` (docs/cli.md)"),
    (plan_text(require="spec { tokens = 3 }"), SPECULATIVE_AT_TOP),                    # before the strategy
    (plan_text() + "spec { tokens = 3 }\n", SPECULATIVE_AT_TOP),                        # after it
])
def test_a_block_named_otherwise_at_the_top_is_told_its_name(text, hint):
    d = _first(text)
    assert d.code == "E001" and d.hint == hint


MODEL_AT_TOP = ("did you mean `model`? A plan has one `model`: another is a plan of its own, or a what-if of this one "
                "with `--set model.FIELD=VALUE` (docs/cli.md)")


@pytest.mark.parametrize(("text", "word", "line"), [
    # after the strategy, until 2026-11-30: at `"x"`, "docs/language.md describes what may stand here"
    (plan_text() + 'model2 preset "x"\n', "model2", 5),
    (plan_text() + 'model_2 from "m.json"\n', "model_2", 5),
    # first in the plan, until 2026-11-30: "unexpected `2 preset`; expected `from`, `preset` or a quoted string"
    (plan_text(model='model2 preset "mixtral-8x7b"'), "model2", 1),
    (plan_text(require='model2 preset "x"'), "model2", 4),                # before the strategy, told so before
])
def test_a_numbered_model_is_told_its_keyword_wherever_it_stands(text, word, line):
    d = _first(text)
    assert (d.code, d.message, d.hint) == ("E001", f"unexpected `{word}`", MODEL_AT_TOP)
    assert (d.span.line, d.span.column, d.span.text) == (line, 1, word)


def test_spec_in_the_workload_is_told_speculative():
    # until 2026-11-30 "expected one of:" the workload's 22 fields and blocks
    d = _first(plan_text(workload="workload { batch = 64  prompt = 2048  generate = 256  spec { tokens = 3 } }"))
    assert (d.code, d.message, d.hint) == ("E101", "unknown block `spec` in workload", "did you mean `speculative`?")


@pytest.mark.parametrize(("value", "meant"), [("true", "microbatch"), ("off", "none")])
def test_overlap_written_as_a_flag_is_told_its_value(value, meant):
    # until 2026-11-30 "expected one of: `none`, `microbatch`"
    d = _first(plan_text(workload=f"workload {{ batch = 64  prompt = 2048  generate = 256  overlap = {value} }}"))
    assert d.code == "E101" and d.hint is not None
    assert d.hint.startswith(f"`overlap` is `none` or `microbatch`: write `overlap = {meant}`")
    d = _first(plan_text(strategy=f"strategy tp 8 with overlap {value}"))
    assert d.hint is not None and d.hint.startswith(f"`overlap` is `none` or `microbatch`: write `overlap {meant}`")


@pytest.mark.parametrize("written", ["E 202", "e-202", "E_202"])
def test_explain_a_code_written_with_a_space_is_told_its_spelling(written):
    r = run_dagc("explain", written)
    assert r.returncode == 2      # a usage error, as `dagc explain 301` is
    assert r.stderr.strip().endswith("did you mean `E202`? A code is one word, its letter and three digits: "
                                     "`dagc explain E202`")


@pytest.mark.parametrize(("line", "hint"), [
    # until 2026-11-30 "names of presets and files are quoted: preset \"h100-sxm\"", which no requirement's value is
    ("x <= @", "a requirement's value is a number and its unit, as in `ttft <= 2 s`, `memory <= 90 %`, "
               "`throughput >= 1000 tokens/s`, `goodput >= 4 requests/s`"),
    ("ttft <= @", "a requirement's value is a number and its unit: for `ttft`, a time, `2 s` or `50 ms`"),
    ("ttft <= 2 @", "a requirement's value is a number and its unit: for `ttft`, a time, `2 s` or `50 ms`"),
    ("memory <= $", "a requirement's value is a number and its unit: for `memory`, a share, `90 %` or a size, "
                    "`70 GB`"),
])
def test_a_requirement_without_a_value_is_told_what_its_value_is(line, hint):
    d = _first(plan_text(require=f"require {{ {line} }}"))
    assert d.code == "E001" and d.hint == hint


@pytest.mark.parametrize(("field", "value", "hint"), [
    # until 2026-11-30 "did you mean `compute = 1.5 %`?", an efficiency no GPU runs at
    ("compute", "1.5", "an efficiency is a share of the measured speed, at most 1: `compute = 1.5` is 1.5× that "
                       "speed, faster than the kernels measured (or the GPU's peak), which dagc does not price — "
                       "write `compute = 1` for the measured speed itself, or a share below it, e.g. `compute = 0.9` "
                       "(90 %)"),
    ("network", "2", "an efficiency is a share of the links' bandwidth, at most 1: `network = 2` is 2× that speed, "
                     "faster than the links, which dagc does not price — write `network = 1` for the links' bandwidth "
                     "itself, or a share below it, e.g. `network = 0.9` (90 %)"),
    ("compute", "60", "did you mean `compute = 60 %`? (or the fraction `compute = 0.6`)"),     # per cent, as before
])
def test_an_efficiency_above_one_is_told_what_a_share_is(field, value, hint):
    d = _first(plan_text(cluster='cluster { gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm"  engine = pytorch  '
                                 f"efficiency {{ {field} = {value} }} }}"))
    assert (d.code, d.message) == ("E104", f"`{field}` = {value} is out of range: a share is at most 1")
    assert d.hint == hint
