"""A strategy written as other tools write parallel degrees (`tp=8`, `tp 8, ep 16`, `TP8`) gets a hint that
writes it as dagc reads it (dagc.lang.strategy_slips), in a plan and in `--strategy`; what it cannot read
leniently keeps the parser's own hint."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text, parse_strategy
from conftest import run_dagc

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64 }
"""


def _only(exc: pytest.ExceptionInfo[PlanError]):
    (d,) = exc.value.diagnostics
    return d


@pytest.mark.parametrize("written, meant", [
    ("tp 8, ep 16", "tp 8 ; ep 16"),               # a comma, which the parser stopped at ("what may stand here")
    ("tp 8 + ep 16", "tp 8 ; ep 16"),              # a plus, whose hint said "remove it": `tp 8 ep 16` is E202
    ("tp=1, ep=16", "tp 1 ; ep 16"),               # read as a strategy named `tp`
    ("TP=8", "tp 8"),
    ("tp: 8", "tp 8"),
    ("dp 2, tp 4, ep 8", "dp 2 < tp 4 ; ep 8 >"),
    ("pp=2 tp=4 ep=8", "pp 2 < tp 4 ; ep 8 >"),
    ("tp8, ep8", "tp 8 ; ep 8"),
    ("fast = tp 4, ep 8 with overlap none", "fast = tp 4 ; ep 8 with overlap none"),
    # options inside the scope: they follow its `>`, which the hint wrote twice (`… ep 8 > with redundant 16 >`,
    # a strategy that does not parse) until 2026-11-30
    ("dp 2 < tp 8 ; ep 8 with redundant 16 >", "dp 2 < tp 8 ; ep 8 > with redundant 16"),
    ("dp 2 < pp 2 < tp 4 with overlap none > >", "dp 2 < pp 2 < tp 4 > > with overlap none"),
])
def test_a_strategy_in_another_tools_spelling_is_written_as_dagc_reads_it(written, meant):
    with pytest.raises(PlanError) as exc:
        parse_strategy(written)
    d = _only(exc)
    assert d.code == "E001" and d.span.source.path == "--strategy"
    assert d.hint is not None and d.hint.startswith(f"did you mean `{meant}`? each axis then its degree")
    parse_strategy(meant)                          # the hint's text is a strategy dagc reads


def test_in_a_plan_the_hint_keeps_the_strategys_name_and_stops_at_the_next_statement():
    text = PLAN + "strategy wide = TP 1 + EP 8   # as the launcher wrote it\nobjective = ttft\n"
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    d = _only(exc)
    assert (d.span.line, d.span.column) == (4, 22)
    assert d.hint is not None and d.hint.startswith("did you mean `wide = tp 1 ; ep 8`?")
    load_plan_text(PLAN + "strategy wide = tp 1 ; ep 8\nobjective = ttft\n")


@pytest.mark.parametrize("written, hint", [
    ("tp 8 3", "a strategy axis is a name followed by its degree, e.g. `tp 4`"),     # a stray number
    ("tp 8, ep 16, ep 2", "docs/language.md describes what may stand here"),         # an axis twice
    ("tp 8, foo 2", "docs/language.md describes what may stand here"),              # no axis
])
def test_what_is_not_axes_and_degrees_keeps_the_parsers_hint(written, hint):
    with pytest.raises(PlanError) as exc:
        parse_strategy(written)
    assert _only(exc).hint == hint


def test_a_block_field_is_never_read_as_a_strategy():
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.replace("batch = 8", "batch = 8, tp = 2") + "strategy tp 8\n")
    assert "did you mean" not in (_only(exc).hint or "")


@pytest.mark.parametrize("written, hint", [("TP8", "write `tp 8`"), ("Ep16", "write `ep 16`")])
def test_an_axis_glued_to_its_degree_in_capitals_is_written_apart(written, hint):
    r = run_dagc("check", "examples/mixtral-8x7b-1node.moe", "--no-search", "--strategy", written)
    assert r.returncode == 4
    assert f"= help: {hint}: an axis and its degree are two words" in r.stderr


@pytest.mark.parametrize("written, meant, code", [
    ("pp 2 < tp 4, ep 8 >", "pp 2 < tp 4 ; ep 8 >", "E001"),    # a comma inside the scope: the parser stops at it
    ("dp 2 < TP 4 + EP 8 >", "dp 2 < tp 4 ; ep 8 >", "E001"),
    ("tp 8 x ep 2", "tp 8 ; ep 2", "E101"),                     # `x` between axes, read as an axis by the lowering
    ("tp 8 X ep 2", "tp 8 ; ep 2", "E101"),
    ("TP8EP2", "tp 8 ; ep 2", "E101"),                          # one word: its axes glued to their degrees
    ("pp2tp4ep8", "pp 2 < tp 4 ; ep 8 >", "E101"),
    # scopes in parentheses, and `>` as "outer > inner": until 2026-11-30 "remove it" at the `(` (which left `pp 2)
    # tp 4 ; ep 8`, another error) and the generic `pp 4 < tp 2 >` at the `>`
    ("(pp 2) tp 4 ; ep 8", "pp 2 < tp 4 ; ep 8 >", "E001"),
    ("pp 2 (tp 4 ; ep 8)", "pp 2 < tp 4 ; ep 8 >", "E001"),
    ("pp 2 > tp 4 ; ep 8", "pp 2 < tp 4 ; ep 8 >", "E001"),
    ("pp2 > tp4;ep8 > dp1", "dp 1 < pp 2 < tp 4 ; ep 8 > >", "E001"),
])
def test_scopes_times_and_glued_words_are_written_as_dagc_reads_them(written, meant, code):
    """Until 2026-11-29 these got the parser's general hint or the list of axes (those in parentheses or `>` until
    2026-11-30)."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN + f"strategy {written}\n")
    d = _only(exc)
    assert d.code == code and d.hint is not None and d.hint.startswith(f"did you mean `{meant}`? each axis")
    load_plan_text(PLAN + f"strategy {meant}\n")


@pytest.mark.parametrize("written, meant, names", [
    ("tp2 ep2", "tp 2 ; ep 2", "`tp2`, `ep2`"),          # split alone, `tp 2 ep 2`, is E202
    ("dp2 tp4 ep8", "dp 2 < tp 4 ; ep 8 >", "`dp2`, `tp4`, `ep8`"),
    ("tp 2 ep2", "tp 2 ; ep 2", "`ep2`"),
])
def test_glued_axes_that_need_more_than_a_space_get_the_whole_rewrite_once(written, meant, names):
    """Until 2026-11-29 each glued axis was an error of its own, "write `tp 2`", "write `ep 2`": the plan then
    read `tp 2 ep 2`, E202, a second round to `tp 2 ; ep 2`."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN + f"strategy {written}\n")
    d = _only(exc)
    assert d.code == "E101" and d.message == f"unknown ax{'es' if ',' in names else 'is'} {names}"
    assert d.hint is not None and d.hint.startswith(f"did you mean `{meant}`? each axis")
    load_plan_text(PLAN + f"strategy {meant}\n")


@pytest.mark.parametrize("written, hint", [
    ("x 2", "axes are dp (data)"),                              # `x` before any axis is no separator
    ("tp 8 x 2", "axes are dp (data)"),                         # nor one with a degree
    ("tp8", "write `tp 8`: an axis and its degree are two words"),      # one axis glued: the shorter hint stays
])
def test_a_lone_x_or_one_glued_axis_keeps_its_own_hint(written, hint):
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN + f"strategy {written}\n")
    assert hint in (_only(exc).hint or "")


@pytest.mark.parametrize("written, meant, code", [
    ("TP2-EP4-PP2-DP2", "dp 2 < pp 2 < tp 2 ; ep 4 > >", "E101"),   # seed 004's spelling, one word to the lexer
    ("TP4-EP16-PP1", "pp 1 < tp 4 ; ep 16 >", "E101"),
    ("EP-16 x TP-4 x PP-1", "pp 1 < tp 4 ; ep 16 >", "E101"),       # seed 001's, its `×` written as an `x`
    ("EP-16 × TP-4 × PP-1", "pp 1 < tp 4 ; ep 16 >", "E001"),       # and as it stands: the parser stops at `×`
    ("tp 8 - ep 2", "tp 8 ; ep 2", "E001"),                         # a hyphen between the axes
])
def test_degrees_joined_by_hyphens_as_the_seed_reports_write_them_are_written_as_dagc_reads_them(written, meant, code):
    """Until 2026-11-29 `TP2-EP4-PP2-DP2` got "axes are dp (data), pp (pipeline), …", `EP-16 × TP-4 × PP-1` and
    `tp 8 - ep 2` "remove it": the ASCII hyphen was no separator, nor a joiner of an axis and its degree."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN + f"strategy {written}\n")
    d = _only(exc)
    assert d.code == code and d.hint is not None and d.hint.startswith(f"did you mean `{meant}`? each axis"), d.hint
    load_plan_text(PLAN.replace("gpus = 8", "gpus = 16").replace("batch = 8", "batch = 16") + f"strategy {meant}\n")


@pytest.mark.parametrize("written", ["tp-way 4", "tp 4 ; ep-groups 2"])
def test_a_hyphen_joins_an_axis_only_to_a_degree_right_after_it(written):
    """`tp-way 4` is no axis and no engine's flag (those are below): no rewrite guesses what it says."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN + f"strategy {written}\n")
    assert not any((d.hint or "").startswith("did you mean `tp 4") for d in exc.value.diagnostics)


@pytest.mark.parametrize("written, meant", [
    ("--tp-size 16 --ep-size 16", "tp 16 ; ep 16"),                    # SGLang's flags, pasted from its command
    ("tp-size 4 ep-size 4", "tp 4 ; ep 4"),
    ("--tensor-parallel-size 8 --pipeline-parallel-size 2", "pp 2 < tp 8 >"),   # vLLM's
    ("--tp_size 8 --ep_size 8", "tp 8 ; ep 8"),                         # TensorRT-LLM's
    ("tp_size=4, ep_size=4", "tp 4 ; ep 4"),                            # as a config writes them
    ("fast = tensor_parallel_size 8", "fast = tp 8"),
    ("--tensor-model-parallel-size 2 --expert-model-parallel-size 8 --expert-tensor-parallel-size 1",
     "tp 2 ; ep 8 etp 1"),                                                # Megatron-Core's
])
def test_an_engines_parallel_flags_are_written_as_dagcs_axes(written, meant):
    """Until 2026-11-29 `--tp-size 16 --ep-size 16` got "remove it" (E001 at the first `-`) and `tp-size 4` "axes are
    dp (data), pp (pipeline), …"; the flags name dagc's axes one for one (ENGINES.md: SGLang's `--tp-size` is the
    stage's GPUs, `--ep-size` the experts' share of them, as `tp 16 ; ep 16` says)."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.replace("gpus = 8", "gpus = 16") + f"strategy {written}\n")
    d = exc.value.diagnostics[0]
    assert d.hint is not None and d.hint.startswith(f"did you mean `{meant}`? each axis"), (d.code, d.hint)


@pytest.mark.parametrize("written, meant", [
    ("--tensor-parallel-size 2 --pipeline-parallel-size 4 --enable-expert-parallel", "pp 4 < tp 2 ; ep 2 >"),
    ("--enable-expert-parallel --tensor-parallel-size 8", "tp 8 ; ep 8"),         # vLLM: EP = TP × DP, DP 1
    ("tp 8 --enable-expert-parallel", "tp 8 ; ep 8"),                            # dagc's axis, vLLM's switch
    ("--tp-size 8 --enable-ep-moe", "tp 8 ; ep 8"),                              # SGLang's: ep_size = tp_size
    ("fast = --tensor-parallel-size 4 --enable-expert-parallel with overlap none",
     "fast = tp 4 ; ep 4 with overlap none"),
])
def test_an_engines_expert_parallel_switch_spreads_the_experts_over_the_tp_gpus(written, meant):
    """Until 2026-11-29 a vLLM command's flags with its MoE switch, `--tensor-parallel-size 2
    --pipeline-parallel-size 4 --enable-expert-parallel`, got "remove it; docs/language.md describes what may stand
    here" at the first `-`, though the same flags without the switch were rewritten: the switch puts each stage's
    experts over its TP GPUs (vLLM's EP size is TP × DP), `ep` = `tp`."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.replace("gpus = 8", "gpus = 16") + f"strategy {written}\n")
    d = exc.value.diagnostics[0]
    assert d.code == "E001"
    assert d.hint is not None and d.hint.startswith(f"did you mean `{meant}`? each axis"), (d.code, d.hint)
    load_plan_text(PLAN.replace("gpus = 8", "gpus = 16") + f"strategy {meant}\n")      # the rewrite reads


@pytest.mark.parametrize("written", ["--data-parallel-size 4 --tensor-parallel-size 2", "dp-size 2 tp-size 4"])
def test_an_engines_data_parallel_flag_is_not_guessed(written):
    """vLLM's `--data-parallel-size` with experts is attention DP inside the stage (`tp 2 ; ep 8`), SGLang's
    `--dp-size` whole replicas (`dp 4 < … >`): no rewrite picks one."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN + f"strategy {written}\n")
    assert not any("did you mean" in (d.hint or "") for d in exc.value.diagnostics)


@pytest.mark.parametrize("written, vllm, sglang", [
    ("--tensor-parallel-size 2 --data-parallel-size 4 --enable-expert-parallel", "tp 2 ; ep 8", "dp 4 < tp 2 >"),
    ("dp-size 2 tp-size 4", "tp 4 ; ep 8", "dp 2 < tp 4 >"),
])
def test_an_engines_data_parallel_flag_is_told_both_readings(written, vllm, sglang):
    """Until 2026-11-29 "remove it" at the first `-`, or the list of axes: now both engines' meanings, in dagc's
    axes, for the user to pick (docs/launch.md)."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.replace("gpus = 8", "gpus = 16") + f"strategy {written}\n")
    (d,) = exc.value.diagnostics                    # `dp-size`, `tp-size`: one error, its hint said once
    assert d.hint is not None and "counts a data-parallel size its own way" in d.hint, d.hint
    assert f"vLLM's with `--enable-expert-parallel` is attention DP inside the stage, `{vllm}`" in d.hint
    assert f"SGLang's `--dp-size` whole replicas, `{sglang}`" in d.hint
    for meant in (vllm, sglang):
        load_plan_text(PLAN.replace("gpus = 8", "gpus = 16").replace("batch = 8", "batch = 16") + f"strategy {meant}\n")


@pytest.mark.parametrize("written, vllm, sglang", [
    # seed 004's TP2-EP4-PP2-DP2 as vLLM starts it: 8 GPUs there (EP = TP × DP = 4), 8 as SGLang's replicas too
    ("--tensor-parallel-size 2 --pipeline-parallel-size 2 --data-parallel-size 2 --enable-expert-parallel",
     "pp 2 < tp 2 ; ep 4 > (8 GPUs)", "dp 2 < pp 2 < tp 2 > > (8 GPUs)"),
    ("--tp-size 4 --ep-size 4 --dp-size 2", "tp 4 ; ep 8 (8 GPUs)", "dp 2 < tp 4 ; ep 4 > (8 GPUs)"),   # SGLang's
])
def test_a_data_parallel_flag_beside_a_pipeline_or_expert_flag_is_told_both_readings(tmp_path, written, vllm, sglang):
    """Until 2026-11-30 a data-parallel size was read beside a tensor-parallel size alone: a whole vLLM command with
    `--pipeline-parallel-size`, or SGLang's with `--ep-size`, got "remove it; docs/language.md describes what may
    stand here" at the first `-` (trial14) — a hint that leads nowhere."""
    from conftest import run_dagc

    text = PLAN.replace("gpus = 8", "gpus = 16").replace("batch = 8", "batch = 16")
    with pytest.raises(PlanError) as exc:
        load_plan_text(text + f"strategy {written}\n")
    (d,) = exc.value.diagnostics
    (tmp_path / "p.moe").write_text(text + "strategy tp 1\n")
    given = run_dagc("check", str(tmp_path / "p.moe"), "--no-search", f"--strategy={written}")
    assert given.returncode == 4 and "remove it" not in given.stderr
    said_vllm, said_sglang = (x.replace(" (", "` (") for x in (vllm, sglang))
    for hint in (d.hint or "", " ".join(given.stderr.split())):
        assert f"vLLM's with `--enable-expert-parallel` is attention DP inside the stage, `{said_vllm}" in hint, hint
        assert f"SGLang's `--dp-size` whole replicas, `{said_sglang}" in hint, hint
    for meant in (vllm, sglang):
        load_plan_text(text + f"strategy {meant.split(' (')[0]}\n")


@pytest.mark.parametrize("written, replicas, inside", [
    ("TP2-EP4-PP2-DP2", "dp 2 < pp 2 < tp 2 ; ep 4 > >", "`pp 2 < tp 2 ; ep 4 >`: 8 GPUs, not 16"),   # seed 004
    ("dp 2, tp 4, ep 8", "dp 2 < tp 4 ; ep 8 >", "`tp 4 ; ep 8`: 8 GPUs, not 16"),
    ("dp 2, tp 4, ep 4", "dp 2 < tp 4 ; ep 4 >", None),          # EP is not DP × TP: replicas only
    ("tp 8, ep 16", "tp 8 ; ep 16", None),                        # no DP
])
def test_a_dp_size_whose_product_with_tp_is_ep_is_told_its_attention_dp_reading(written, replicas, inside):
    """Seed 004 reports `TP2-EP4-PP2-DP2` on 8 GPUs — vLLM's count, whose DP beside its experts is attention DP inside
    the stage (EP = DP × TP = 4) —, and the hint's one reading, `dp 2 < pp 2 < tp 2 ; ep 4 > >`, is 16: until
    2026-11-30 the user was told 16 GPUs with no word of the 8 (trial14). Both readings now, each pasting."""
    text = PLAN.replace("gpus = 8", "gpus = 16").replace("batch = 8", "batch = 16")
    with pytest.raises(PlanError) as exc:
        load_plan_text(text + f"strategy {written}\n")
    hint = _only(exc).hint or ""
    assert hint.startswith(f"did you mean `{replicas}`? each axis"), hint
    if inside is None:
        assert "attention data parallelism" not in hint
        return
    assert hint.endswith("; or, if DP is attention data parallelism inside each stage (as vLLM counts a DP size "
                         f"beside its experts, EP = DP × TP), {inside}"), hint
    inner = inside.split("`")[1]
    assert load_plan_text(text + f"strategy {inner}\n").strategies[0].text
