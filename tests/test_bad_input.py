"""No input may produce a traceback or a hang: each gets a located diagnostic."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dagc.diagnostics import PlanError, render
from dagc.lang.load import load_plan, load_plan_text
from dagc.verdict.check import check
from conftest import plan_text


def outcome(path_or_text, *, is_text=False):
    """Load and check; return ('ok', results) or ('diag', diagnostics). Anything else raises."""
    try:
        plan = load_plan_text(path_or_text) if is_text else load_plan(path_or_text)
        results = check(plan)
        for r in results:
            for d in r.diagnostics:
                render(d)
        return "ok", results
    except PlanError as exc:
        assert exc.diagnostics, "a PlanError always carries diagnostics"
        for d in exc.diagnostics:
            assert d.code[0] in "EWN" and d.code[1:].isdigit()
            text = render(d)
            assert d.span is not None, "every diagnostic is located"
            assert f":{d.span.line}:{d.span.column}:" in text
            assert ("^" in text) == d.span.source.echo, "a caret under plan lines, nothing under other files"
            assert d.code != "E001" or d.hint, "every syntax error says how to mend it"
            assert d.hint or not d.is_error, f"every error says how to mend it: {text}"
        return "diag", exc.diagnostics


def codes_of(path_or_text, is_text=True):
    kind, payload = outcome(path_or_text, is_text=is_text)
    if kind == "diag":
        return {d.code for d in payload}
    return {d.code for r in payload for d in r.diagnostics if d.is_error}


def test_empty_file(write_plan):
    kind, diags = outcome(write_plan(""))
    assert kind == "diag" and {d.code for d in diags} == {"E103"}
    assert len(diags) == 1  # what a plan needs, model, cluster, workload and strategy, said once


def test_truncated_plan(write_plan):
    text = plan_text()
    kind, diags = outcome(write_plan(text[: len(text) // 2]))
    assert kind == "diag" and diags[0].code == "E001"


def test_binary_file(write_plan, tmp_path):
    path = tmp_path / "bin.moe"
    path.write_bytes(os.urandom(2048) + b"\x00")
    kind, diags = outcome(path)
    assert kind == "diag" and diags[0].code == "E002"


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.moe"
    path.write_bytes(b'model preset "caf\xe9"')
    kind, diags = outcome(path)
    assert kind == "diag" and diags[0].code == "E002" and diags[0].span.line == 1


def test_directory_and_missing(tmp_path):
    assert outcome(tmp_path)[1][0].code == "E002"
    assert outcome(tmp_path / "nope.moe")[1][0].code == "E002"


def test_huge_numbers():
    assert "E104" in codes_of(plan_text(workload="workload { batch = 1e999 prompt = 1 generate = 1 }"))
    huge = "99999999999999999999999"
    assert "E104" in codes_of(plan_text(workload=f"workload {{ batch = {huge} prompt = 1 generate = 1 }}"))
    assert "E204" in codes_of(plan_text(strategy="strategy tp 1e300"))
    assert "E204" in codes_of(plan_text(strategy="strategy dp 99999999999999999999 < tp 8 >"))


@pytest.mark.parametrize(("drop", "line"), [("}\nrequire", 3), ("s }\nstrategy", 4)])
def test_an_unclosed_block_before_a_statement_read_as_its_field_is_named(drop, line):
    """`workload {` without its `}`: the next statement (`require {`) reads as a field of it and the
    parser stumbles inside that; the hint still names the `{` left open (and `require`'s likewise)."""
    text = ('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
            "workload { batch = 8  prompt = 512  generate = 64 }\nrequire { ttft <= 2 s }\nstrategy tp 8\n")
    broken = text.replace(drop, drop.split("}")[0] + drop.split("}")[1], 1)
    assert broken != text
    kind, diags = outcome(broken, is_text=True)
    assert kind == "diag" and diags[0].code == "E001"
    assert f"the `{{` on line {line} is not closed" in (diags[0].hint or "")


def test_an_unclosed_brace_is_named_where_it_opens():
    """A block left open swallows the next one; the error at the next statement says which `{` is open."""
    text = ('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm"\n'
            "workload { batch = 8  prompt = 512  generate = 64 }  # { in a comment\nstrategy tp 8\n")
    kind, diags = outcome(text, is_text=True)
    assert kind == "diag" and diags[0].code == "E001" and diags[0].span.line == 4
    assert "the `{` on line 2 is not closed" in (diags[0].hint or "")


@pytest.mark.parametrize(("workload", "at", "extra", "field"), [
    ("workload {\n  batch = max max\n  prompt = 512  generate = 64 }", 2, "max", "batch = max"),
    ("workload { batch = 8  overlap = microbatch none  # a comment\n  prompt = 512 generate = 64 }", 1, "none",
     "overlap = microbatch"),
    ('workload { batch = 8  prompt = 512  generate = 64  dispatch = "fp8" x\n}', 1, "x", 'dispatch = "fp8"'),
    ("workload { batch = 8\n  prompt = 512 tokens tokens\n  generate = 64 }", 2, "tokens", "prompt = 512 tokens"),
    ("workload { batch = 8 8\n  prompt = 512  generate = 64 }", 1, "8", "batch = 8"),          # a second number
    ('workload { batch = 8  prompt = 512 "x"\n  generate = 64 }', 1, '"x"', "prompt = 512"),
])
def test_a_word_after_a_fields_value_is_named_where_it_stands(workload, at, extra, field):
    """A field given two values: the parser reads the second as the next field's name and stumbles on
    what follows (on the next line, even); the error stands at the extra word (the last `extra` of
    the workload's line `at`) and says which field it follows."""
    text = f'model preset "mixtral-8x7b"\ncluster {{ gpus = 8  gpu preset "h100-sxm" }}\n{workload}\nstrategy tp 8\n'
    kind, diags = outcome(text, is_text=True)
    d = diags[0]
    line = workload.split("\n")[at - 1]
    column = line.rindex(f" {extra}") + 2
    assert kind == "diag" and d.code == "E001" and (d.span.line, d.span.column) == (2 + at, column)
    assert d.message == f"unexpected `{extra}` after `{field}`; a field takes one value"
    assert "a field is `name = value`" in (d.hint or "")


@pytest.mark.parametrize(("strategy", "after"), [
    ("strategy x = tp 8 with overlap microbatch none", ""),                            # the plan's end
    ("strategy x = tp 8 with microbatches 2 overlap microbatch none  # c", "strategy y = tp 4"),   # the next line
])
def test_a_word_after_an_options_value_is_named_where_it_stands(strategy, after):
    """`with overlap microbatch none`: the parser reads `none` as one more option's name and stumbles
    at the end or on the next line; the error stands at `none`."""
    text = f'model preset "mixtral-8x7b"\ncluster {{ gpus = 8  gpu preset "h100-sxm" }}\n' \
           f"workload {{ batch = 8  prompt = 512  generate = 64 }}\n{strategy}\n{after}\n"
    kind, diags = outcome(text, is_text=True)
    d = diags[0]
    assert kind == "diag" and d.code == "E001" and (d.span.line, d.span.column) == (4, strategy.index(" none") + 2)
    assert d.message == "unexpected `none` after `overlap microbatch`; an option takes one value"
    assert "`with microbatches 2 overlap microbatch`" in (d.hint or "")


def test_a_word_after_an_options_value_in_strategy_text_is_named_too():
    from dagc.lang.load import parse_strategy

    with pytest.raises(PlanError) as err:
        parse_strategy("tp 4 with overlap microbatch none")
    d = err.value.diagnostics[0]
    assert (d.code, d.span.column) == ("E001", 30) and "after `overlap microbatch`" in d.message


def test_options_in_a_comment_are_not_taken_for_a_stray_word():
    """`# with overlap microbatch none` in a comment just before a syntax error: the error is the parser's."""
    text = plan_text(strategy="# try it with overlap microbatch none\nstrategy tp 8 =")
    kind, diags = outcome(text, is_text=True)
    assert kind == "diag" and diags[0].code == "E001" and "an option takes one value" not in diags[0].message


def test_an_option_missing_its_value_is_not_taken_for_a_stray_word():
    """`with overlap microbatch overlap`: a name without its value — the parser's own message stands."""
    text = plan_text(strategy="strategy tp 8 with overlap microbatch overlap")
    kind, diags = outcome(text, is_text=True)
    assert kind == "diag" and "an option takes one value" not in diags[0].message


def test_a_misspelt_field_is_not_taken_for_a_second_value():
    """`bach 32` (no `=`): the error stays at what follows the name, which the field lacks."""
    text = plan_text(workload="workload { bach 32  prompt = 512  generate = 64 }")
    kind, diags = outcome(text, is_text=True)
    assert kind == "diag" and diags[0].message.startswith("unexpected `32`; expected `=`")


@pytest.mark.parametrize(("workload", "hint"), [
    ("batch = -5", "write `batch = 1` or more"),
    ("batch = 2.5", "write `batch = 2` or `batch = 3`"),
    ("batch = 3x", "takes a plain number"),
    ("batch = 1e40", "dagc reads numbers up to 1e30"),
    ("batch = 1e20", "write `batch = 1_099_511_627_776` or less"),
    ("batch = 8  overlap = 3", "one of: `overlap = none`, `overlap = microbatch`"),
])
def test_out_of_range_and_malformed_values_say_how_to_mend_them(workload, hint):
    kind, diags = outcome(plan_text(workload=f"workload {{ {workload} prompt = 512 generate = 64 }}"), is_text=True)
    assert kind == "diag" and any(hint in (d.hint or "") for d in diags), [(d.message, d.hint) for d in diags]


@pytest.mark.parametrize("strategy", ["strategy tp 0", "strategy tp -2", "strategy pp 0 < tp 8 >", "strategy tp 2.5"])
def test_zero_negative_fractional_degrees(strategy):
    assert "E204" in codes_of(plan_text(strategy=strategy))


def test_deep_nesting():
    deep = "strategy " + "pp 1 < " * 5000 + "tp 8" + " >" * 5000
    assert codes_of(plan_text(strategy=deep)) == {"E001"}
    braces = "cluster " + "{ a " * 3000 + "}" * 3000
    assert "E001" in codes_of(braces)


def test_megabyte_of_junk(write_plan):
    junk = ("}{<>;=[] model 12 GB \"x\" ## \n" * 40000)[:1_000_000]
    kind, diags = outcome(write_plan(junk))
    # Over MAX_PLAN_TOKENS words and symbols: refused (E002) before the parser sees it.
    assert kind == "diag" and diags[0].code == "E002" and "words and symbols" in diags[0].message
    kind, diags = outcome(write_plan(junk[:20_000]))
    assert kind == "diag" and diags[0].code == "E001"


def test_too_large_file(write_plan):
    kind, diags = outcome(write_plan("# " + "x" * (5 * 1024 * 1024)))
    assert kind == "diag" and diags[0].code == "E002"


def test_hf_config_missing_and_not_json(write_plan, tmp_path):
    assert "E002" in codes_of(write_plan(plan_text(model='model from "missing.json"')), is_text=False)
    (tmp_path / "bad.json").write_text("{ not json")
    kind, diags = outcome(write_plan(plan_text(model='model from "bad.json"')))
    assert diags[0].code == "E002" and diags[0].span.source.path.endswith("bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    assert "E002" in codes_of(write_plan(plan_text(model='model from "list.json"')), is_text=False)
    (tmp_path / "dir.json").mkdir()
    assert "E002" in codes_of(write_plan(plan_text(model='model from "dir.json"')), is_text=False)


TOKENS = st.sampled_from([
    "model", "cluster", "workload", "require", "strategy", "preset", "from", "gpu", '"mixtral-8x7b"',
    '"h100-sxm"', '"x"', "{", "}", "<", ">", ";", "=", "[", "]", ",", "<=", ">=", "tp", "ep", "pp", "dp", "cp",
    "etp", "sp", "0", "1", "2", "8", "-3", "1e999", "2.5", "GB", "ms", "%", "tokens/ms/gpu", "layers",
    "gpus", "batch", "prompt", "generate", "moe", "mla", "experts", "top_k", "ffn", "efficiency", "#c\n", "\n",
    "imbalance", "routing", "uniform", "true", "\x00", "é", "\t",
    "window", "size", "kind", "chunked", "sliding", "full_every", "every", "weights", "mxfp4", "nvfp4", "kv_cache",
    "speculative", "method", "mtp", "eagle", "tokens", "acceptance", "accept_length",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TOKENS, max_size=60))
def test_fuzz_token_soup_never_tracebacks(tokens):
    outcome(" ".join(tokens), is_text=True)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_any_text_never_tracebacks(text):
    outcome(text, is_text=True)


STRATEGY_TOKENS = st.sampled_from(["tp", "ep", "pp", "dp", "cp", "etp", "sp", "xx", "1", "2", "4", "8", "16", "0",
                                   "prefill", "decode",
                                   "<", ">", ";", "[", "]", ",", "3"])


@settings(max_examples=300, deadline=None)
@given(st.lists(STRATEGY_TOKENS, min_size=1, max_size=25))
def test_fuzz_strategies_in_a_valid_plan(tokens):
    outcome(plan_text(strategy="strategy " + " ".join(tokens)), is_text=True)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_bytes_as_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "f.moe"
    path.write_bytes(data)
    outcome(path)


def test_absurd_degrees_are_diagnosed_quickly():
    text = plan_text(strategy="strategy dp 1048576 < pp 1048576 < tp 1048576 ; ep 1048576 etp 1048576 > >")
    found = codes_of(text)
    assert {"E301", "E302", "E303", "E401"} <= found
