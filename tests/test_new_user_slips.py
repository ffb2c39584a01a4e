"""What a new user writing plans from docs/language.md gets wrong first, each an E001 or E101 at the word at fault with
a hint that mends it (trial47, 2026-11-30): a requirement written in the workload (`ttft <= 2 s`), whose hint was
"remove it" or "docs/language.md describes what may stand here"; a statement's keyword misspelt after a strategy
(`objectiv = cost`), which the parser read as one more axis and stopped at the `=` with the same bare hint."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from conftest import plan_text


def _one(text: str) -> tuple[str, int, int, str, str]:
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    [d] = exc.value.diagnostics
    assert d.span is not None
    return d.code, d.span.line, d.span.column, d.span.text, d.hint or ""


_WORKLOAD = "workload { batch = 64  prompt = 2048  generate = 256"


@pytest.mark.parametrize(("extra", "hint"), [
    ("ttft <= 2 s", "`ttft` is a requirement, not a field of the workload: write it in the `require` block, "
                    "`require { ttft <= 2 s }`"),
    ("ttft_p99 < 800 ms", "`ttft_p99` is a requirement, not a field of the workload: write it in the `require` "
                          "block, `require { ttft_p99 < 800 ms }`"),
    ("memory <= 90 %", "`memory` is a requirement, not a field of the workload: write it in the `require` block, "
                       "`require { memory <= 90 % }`"),
    ("prompt >= 1024", "a field is written `name = value`: `prompt = 1024`"),
    ("gpus <= 8", "`gpus` is a requirement, not a field of the workload: write it in the `require` block, `require "
                  "{ gpus <= 8 }` (or, as a field: `gpus` is a field of `cluster { … }`: move the line there)"),
])
def test_a_comparison_in_the_workload_says_where_it_goes(extra, hint):
    """Until 2026-11-30 the first three were "remove it: a field is `name = value`…" after the value before them."""
    code, line, col, text, said = _one(plan_text(workload=f"{_WORKLOAD}\n  {extra} }}"))
    op = extra.split()[1]
    assert (code, line, col, text, said) == ("E001", 4, 2 + extra.index(op) + 1, op, hint)


def test_a_comparison_first_in_a_block_is_told_too():
    """The comparison as the block's first line: until 2026-11-30 "docs/language.md describes what may stand here"."""
    code, line, col, text, hint = _one(plan_text(cluster='cluster { gpus <= 8  gpu preset "h100-sxm" }'))
    assert (code, line, col, text) == ("E001", 2, 16, "<=")
    assert hint == ("a field is written `name = value`: `gpus = 8` (a bound on it, `gpus <= 8`, is a requirement: "
                    "`require { … }`)")


def test_a_comparison_in_a_models_moe_block_writes_the_field():
    text = plan_text(model='model preset "mixtral-8x7b" { moe { experts > 4 } }')
    assert _one(text) == ("E001", 1, 45, ">", "a field is written `name = value`: `experts = 4`")


@pytest.mark.parametrize(("line", "word", "meant"), [
    ("objectiv = cost", "objectiv", "objective"),
    ('calibraton from "cal.json"', "calibraton", "calibration"),
    ("objectives = ttft", "objectives", "objective"),
])
def test_a_misspelt_statement_after_a_strategy_is_named(line, word, meant):
    """The parser reads the word as one more axis of the strategy above: until 2026-11-30 the error stood at the
    `=` or the string after it, "docs/language.md describes what may stand here"."""
    text = plan_text() + line + "\n"
    assert _one(text) == ("E001", 5, 1, word, f"did you mean `{meant}`?")


def test_an_axis_on_the_next_line_of_a_strategy_is_still_the_strategy():
    """A strategy written over two lines is no misspelt statement: its second line's axes are read as before."""
    plan = load_plan_text(plan_text(strategy="strategy pp 2 <\n  tp 4 >"))
    assert [s.text for s in plan.strategies] == ["pp 2 < tp 4 >"]


@pytest.mark.parametrize(("pools", "col", "word", "meant"), [
    ("prefil 1 < tp 4 > decode 1 < tp 4 >", 10, "prefil", "prefill"),
    ("prefill 1 < tp 4 > decod 1 < tp 4 >", 29, "decod", "decode"),
    ("prefills 1 < tp 4 > decode 1 < tp 4 >", 10, "prefills", "prefill"),
])
def test_a_misspelt_pool_is_named(pools, col, word, meant):
    """Until 2026-11-30 `prefil 1` was "beside the pools", and the strategy "needs a prefill pool" besides."""
    from dagc.lang.flatten import flatten
    workload = "workload { batch = 64  prompt = 2048  generate = 256  serving = inflight }"
    [decl] = load_plan_text(plan_text(workload=workload, strategy=f"strategy {pools}")).strategies
    strategy, diags = flatten(decl)
    assert strategy is None
    assert [(d.code, d.message, d.span.line, d.span.column, d.span.text, d.hint) for d in diags if d.span] == [
        ("E205", f"unknown pool `{word}`", 4, col, word, f"did you mean `{meant}`?")]


@pytest.mark.parametrize(("strategy", "require", "col", "hint"), [
    ("strategy tр 8", None, 11, "write `tp`: its `р` (U+0440 CYRILLIC SMALL LETTER ER) looks like `p` but is another "
                                "character"),
    ("strategy tp 4 ； ep 8", None, 15, "write `;`: `；` (U+FF1B FULLWIDTH SEMICOLON) looks like it, but dagc reads "
                                       "the ASCII `;` only"),
    ("strategy pp 2 〈 tp 4 〉", None, 15, "write `<`: `〈` (U+3008 LEFT ANGLE BRACKET) looks like it, but dagc reads "
                                         "the ASCII `<` only"),
    ("strategy tp 8", "require { ttft ≤ 2 s }", 16, "write `<=`: `≤` (U+2264 LESS-THAN OR EQUAL TO) looks like it, but "
                                                    "dagc reads the ASCII `<=` only"),
    ("strategy tp 8", "require { memory <= 90 ％ }", 24, "write `%`: `％` (U+FF05 FULLWIDTH PERCENT SIGN) looks like "
                                                        "it, but dagc reads the ASCII `%` only"),
])
def test_a_lookalike_character_is_told_the_plain_one(strategy, require, col, hint):
    """Until 2026-11-30 each was "remove it; docs/language.md describes what may stand here"."""
    text = plan_text(strategy=strategy, require=require or "")
    at = text.index(require or strategy)
    assert _one(text)[:3] == ("E001", text.count("\n", 0, at) + 1, col) and _one(text)[4] == hint


def test_a_dash_between_degrees_keeps_the_strategy_rewrite():
    assert _one(plan_text(strategy="strategy tp 8 – ep 8"))[4].startswith("did you mean `tp 8 ; ep 8`?")


@pytest.mark.parametrize(("model", "gpu", "hint"), [
    ('"mixtral-8х7b"', '"h100-sxm"', "did you mean `mixtral-8x7b`? (its `х` (U+0445 CYRILLIC SMALL LETTER HA) looks "
                                     "like `x` but is another character)"),
    ('"mixtral-8x7b"', '"h100–sxm"', "did you mean `h100-sxm`?; its `–` (U+2013 EN DASH) looks like `-` but is "
                                     "another character"),
    ('"mixtral-8x7b"', '"Н200-SXM"', "did you mean `h200`? (the SXM module); its `Н` (U+041D CYRILLIC CAPITAL LETTER "
                                     "EN) looks like `H` but is another character"),
])
def test_a_preset_with_a_lookalike_letter_is_named(model, gpu, hint):
    """Until 2026-11-30 the Cyrillic `х` drew the list of every model preset, and the en dash or the Cyrillic `Н` of
    a GPU the list of every GPU."""
    text = plan_text(model=f"model preset {model}", cluster=f"cluster {{ gpus = 8  gpu preset {gpu} }}")
    code, _, _, _, said = _one(text)
    assert (code, said) == ("E101", hint)


@pytest.mark.parametrize(("model", "word", "block"), [
    ('model preset "mixtral-8x7b" { moe { layers = 16 } }', "layers", "moe"),
    ('model preset "deepseek-v3" { mla { heads = 16 } }', "heads", "mla"),
    ('model preset "mixtral-8x7b" { window { size = 128  vocab = 1000 } }', "vocab", "window"),
])
def test_a_models_field_in_its_inner_block_is_told_to_go_beside_it(model, word, block):
    """Until 2026-11-30 the inner block's fields were listed, and `mla { heads }` was "did you mean `v_head`?"."""
    code, line, _, text, hint = _one(plan_text(model=model))
    assert (code, line, text) == ("E101", 1, word)
    assert hint == (f"`{word}` is a field of `model {{ … }}` itself, not of its `{block} {{ … }}` block: write it "
                    f"beside the block, `model … {{ {word} = …  {block} {{ … }} }}` (with --set: `model.{word}=…`)")


@pytest.mark.parametrize(("line", "hint"), [
    ("batch <= 64", "`batch` is a field of `workload { … }`, not a requirement: write `batch = 64` there"),
    ("gpus_per_node <= 8", "`gpus_per_node` is a field of `cluster { … }`, not a requirement: write "
                           "`gpus_per_node = 8` there"),
    ("tffts <= 2 s", "did you mean `ttft`?"),
])
def test_a_field_written_as_a_requirement_is_told_its_block(line, hint):
    """Until 2026-11-30 `batch <= 64` in `require` drew the list of the 24 requirements."""
    code, line_no, col, text, said = _one(plan_text(require=f"require {{ {line} }}"))
    assert (code, line_no, col, text, said) == ("E101", 4, 11, line.split()[0], hint)


@pytest.mark.parametrize("tail", ["strategy tp 8 with microbatches {n}k", "strategy tp {n}k"])
def test_a_count_of_hundreds_of_digits_with_a_multiplier_is_no_traceback(tail):
    """`with microbatches 999…9k` (400 nines) overflowed a float to infinity in the multiplier's hint: until 2026-11-30
    an OverflowError's traceback, exit 1. Now an E001 or E101 at the plan's end or the multiplier."""
    text = plan_text(strategy="").rstrip("\n") + "\n" + tail.format(n="9" * 400)
    code, line, *_ = _one(text)
    assert code in ("E001", "E101") and line == 4


@pytest.mark.parametrize("tail", ["with microbatches 2k\n", "with microbatches 2k overlap none\n\n",
                                  "with microbatches 2k  # two thousand\n"])
def test_a_glued_multiplier_on_the_plans_last_line_is_named(tail):
    """Until 2026-11-30 a plan whose last line ended `with microbatches 2k` (and its newline) was "the plan ends too
    early … docs/language.md describes what comes here"; the same line with a line after it was told the number."""
    code, line, col, text, hint = _one(plan_text(strategy="") + "strategy tp 8 " + tail)
    assert (code, line, col, text) == ("E001", 4, 34, "k")
    assert hint == "`2k` is not read as a number: write `microbatches 2000` (or `microbatches 2048` for 2 × 1,024)"


@pytest.mark.parametrize("tail", [
    "strategy tp 8 @ # " + "x" * 20_000,
    "strategy tp 8 " + "x" * 20_000 + " @",
    "strategy tp 8\n" + "z" * 20_000 + " = 3 @",
    "strategy tp 8 " + "a_" * 10_000 + " @",
])
def test_a_syntax_error_on_a_long_line_is_said_in_time_linear_in_the_line(tail):
    """The hints' patterns (a nan, a glued multiplier, a field's value, a unit in words) were tried from every
    character of a word back to its start: until 2026-11-30 a syntax error beside a word or a comment of 20,000
    characters took 20 to 55 s (a 200,000-character comment, an hour); each is now said in well under a second."""
    import time
    start = time.process_time()
    code, line, *_ = _one(plan_text(strategy="") + tail)
    assert code == "E001" and line in (4, 5)
    assert time.process_time() - start < 2.0


@pytest.mark.parametrize("cluster", ['cluster { gpus = 8,  gpu preset "h100-sxm" }',
                                     'cluster { gpus = 8;  gpu preset "h100-sxm" }',
                                     'cluster { gpus = 8  gpu preset "h100-sxm"; }'])
def test_a_separator_between_fields_is_told_to_go(cluster):
    """Until 2026-11-30 `gpus = 8,  gpu preset …` was told to sweep `fleet { gpus = [8, gpu] }`, and a `;` that it
    stands between a strategy's attention and expert axes."""
    at = cluster.index(",") if "," in cluster else cluster.index(";")
    code, line, col, text, hint = _one(plan_text(cluster=cluster))
    assert (code, line, col, text) == ("E001", 2, at + 1, cluster[at])
    assert hint == f"fields are apart by spaces or new lines, not `{cluster[at]}`: remove it"


def test_a_list_in_a_clusters_field_still_names_the_fleet():
    hint = _one(plan_text(cluster='cluster { gpus = 8, 16  gpu preset "h100-sxm" }'))[4]
    assert hint == "a field takes one value; to compare several, sweep them in a fleet: `fleet { gpus = [8, 16] }` " \
                   "(docs/fleet.md)"


@pytest.mark.parametrize("cluster", ['cluster { gpus = 8  preset "h100-sxm" }',
                                     'cluster { preset "h100-sxm"  gpus = 8 }'])
def test_a_preset_without_gpu_is_told_to_write_it(cluster):
    """Until 2026-11-30: "remove it: a field is `name = value`" at the GPU's name, or "fields are written `name =
    value`"."""
    code, line, col, text, hint = _one(plan_text(cluster=cluster))
    assert (code, line, col, text, hint) == ("E001", 2, cluster.index("preset") + 1, "preset",
                                             'write `gpu preset "h100-sxm"`')


def test_a_quoted_objective_is_told_to_unquote_it():
    code, line, col, text, hint = _one(plan_text() + 'objective = "cost"\n')
    assert (code, line, col, text, hint) == ("E001", 5, 13, '"cost"', "an objective is a word, unquoted: "
                                                                     "`objective = cost`")


def test_a_presets_name_without_preset_is_told_preset():
    """Until 2026-11-30: 'write them in a block, e.g. `model "m" { layers = 16 … }`, or use `model preset`'."""
    code, line, _, _, hint = _one(plan_text(model='model "Mixtral-8x7B"'))
    assert (code, line, hint) == ("E103", 1, 'did you mean `model preset "mixtral-8x7b"`?')


@pytest.mark.parametrize(("opened", "hint"), [
    ("{", 'blocks nest at most two deep: `model … { moe { … } }`, `cluster { gpu "…" { … } }`'),
    ("<", "a strategy needs at most `dp N < pp N < … > >`"),
])
def test_nesting_past_the_bound_is_told_in_the_brackets_words(opened, hint):
    """Until 2026-11-30 braces nested 65 deep were told "a plan needs at most `dp N < pp N < … > >`", a strategy's."""
    text = (plan_text(model='model preset "mixtral-8x7b" ' + "{ moe " * 65) if opened == "{" else
            plan_text(strategy="strategy " + "pp 1 < " * 65 + "tp 8" + " >" * 65))
    code, _, _, text_at, said = _one(text)
    assert (code, text_at, said) == ("E001", opened, hint)


_INFLIGHT = "workload { batch = 64  prompt = 2048  generate = 256  serving = inflight  "


@pytest.mark.parametrize(("method", "meant"), [("eagle3", "eagle"), ("EAGLE-3", "eagle"), ("nextn", "mtp"),
                                               ("deepseek_mtp", "mtp")])
def test_an_engines_name_of_a_drafting_method_is_told_dagcs(method, meant):
    """Until 2026-11-30 `method = eagle3` (vLLM's and SGLang's name of EAGLE-3) was "expected one of: `mtp`, `eagle`,
    `ngram`"."""
    text = plan_text(workload=_INFLIGHT + f"speculative {{ method = {method}  tokens = 2  acceptance = 0.7 }} }}")
    code, _, _, text_at, hint = _one(text)
    assert (code, text_at) == ("E101", method) and hint.startswith(f"write `method = {meant}`: ")


def test_vllms_num_speculative_tokens_is_tokens_and_no_e103_beside_it():
    """Until 2026-11-30: "the speculative block has no `tokens`" (E103) beside an E101 listing the block's fields."""
    text = plan_text(workload=_INFLIGHT + "speculative { method = eagle  num_speculative_tokens = 2  "
                                          "acceptance = 0.7 } }")
    assert _one(text)[::4] == ("E101", "did you mean `tokens`? (`num_speculative_tokens` is vLLM's "
                                       "`num_speculative_tokens`, the tokens drafted per step)")


def test_num_speculative_tokens_in_the_workload_names_the_speculative_block():
    text = plan_text(workload=_INFLIGHT + "num_speculative_tokens = 3 }")
    assert _one(text)[4] == ("`num_speculative_tokens` is vLLM's `num_speculative_tokens`, the tokens drafted per "
                             "step: dagc's `tokens` of the workload's `speculative { … }` block: write `speculative { "
                             "method = …  tokens = …  acceptance = … }`")


@pytest.mark.parametrize(("strategy", "tp"), [("tp 2 sp 2", 2), ("sp 8 tp 8", 8), ("tp 4 sp 2", 4), ("sp 2", 2)])
def test_sp_with_a_degree_is_told_the_tp_it_shards(strategy, tp):
    """Until 2026-11-30 every `sp N` was told "write `tp 4 sp`", whatever the tp: `tp 2 sp 2` read as 4 GPUs."""
    from dagc.lang.flatten import flatten
    [decl] = load_plan_text(plan_text(strategy=f"strategy {strategy}")).strategies
    _, diags = flatten(decl)
    assert [(d.code, d.hint) for d in diags] == [
        ("E204", f"write `tp {tp} sp`: sp shards the activations over the tp group's GPUs")]


@pytest.mark.parametrize(("field", "value"), [("intra", "10"), ("inter", "20"), ("intra", "0.5")])
def test_a_collectives_latency_without_its_unit_is_told_microseconds(field, value):
    """Until 2026-11-30 `latency { intra = 10 }` was told `10 ms` or `10 s`, a thousand times the 10 us default; and
    `0.5` `0.5 s (500 ms)`."""
    cluster = f'cluster {{ gpus = 8  gpu preset "h100-sxm"  latency {{ {field} = {value} }} }}'
    code, _, _, text, hint = _one(plan_text(cluster=cluster))
    default = {"intra": "10 us", "inter": "20 us"}[field]
    assert (code, text, hint) == ("E102", value, f"write it with a unit: `{field} = {value} us` (a collective's "
                                                 f"latency, {default} by default)")


@pytest.mark.parametrize(("word", "meant"), [("true", "on"), ("enabled", "on"), ("false", "off"), ("Disabled", "off")])
def test_chunked_prefill_as_a_boolean_is_told_on_or_off(word, meant):
    """Until 2026-11-30 `chunked_prefill = true` (vLLM's `enable_chunked_prefill=True`) was "expected one of: `on`,
    `off`"."""
    text = plan_text(workload=_INFLIGHT + f"chunked_prefill = {word} }}")
    assert _one(text)[::3] == ("E101", word) and _one(text)[4] == f"write `chunked_prefill = {meant}`"
