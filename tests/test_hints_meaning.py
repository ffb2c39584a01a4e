"""Hints that keep what the user wrote: each mistake a serving engineer made on a Qwen3-235B-A22B plan,
with the hint it gets — the hint's own suggestion is legal, keeps the number written, is in the form the
user wrote it in (a plan's line, a `--set` option), and names the one choice meant rather than a list."""

from __future__ import annotations

import re

import pytest

from dagc.cli.main import main
from dagc.diagnostics import PlanError
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text, parse_strategy

PLAN = """model preset "qwen3-30b-a3b"
cluster {
  gpus = 8
  gpu preset "h200"
  engine = vllm
}
workload {
  batch = 16
  prompt = 1024
  generate = 128
}
require {
  ttft <= 1 s
  memory <= 90 %
}
strategy a = tp 4 ; ep 4
"""


def diagnostic(text: str):
    """The one error of a plan text."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    errors = [d for d in exc.value.diagnostics if d.is_error]
    assert len(errors) == 1, errors
    return errors[0]


def suggested(hint: str) -> str:
    """The last line of plan text a hint quotes."""
    return re.findall(r"`([^`]+)`", hint)[-1]


def scope_hint(strategy: str) -> str:
    (d,) = flatten(parse_strategy(strategy))[1]
    assert d.code == "E201" and d.hint is not None
    return suggested(d.hint)


def test_a_stage_axis_opening_a_scope_is_told_the_legal_nesting():
    """`tp 4 < pp 2 >` is `pp 2 < tp 4 >` (pp opens the scope): not `tp 4 ; pp 2`, an error of its own."""
    for written, meant in (("tp 4 < pp 2 >", "pp 2 < tp 4 >"), ("tp 2 < pp 2 < ep 2 > >", "pp 2 < tp 2 ; ep 2 >"),
                           ("tp 2 < dp 2 >", "dp 2 < tp 2 >"), ("tp 4 < ep 4 >", "tp 4 ; ep 4"),
                           # the axis inside itself: one axis of the degrees' product (it was `tp 4 ; tp 2`)
                           ("tp 4 < tp 2 >", "tp 8"), ("tp 2 < tp 2 ; ep 4 >", "tp 4 ; ep 4")):
        assert scope_hint(written) == meant
        strategy, errors = flatten(parse_strategy(meant))      # the hint is a legal strategy
        assert strategy is not None and not errors


@pytest.mark.parametrize(("written", "meant"), [
    ("tp 8 ; ep 8 < dp 2 >", "dp 2 < tp 8 ; ep 8 >"),            # was `dp 2 < ep 8 >`: tp 8 left out
    ("pp 2 < tp 8 ; ep 8 < dp 2 > >", "dp 2 < pp 2 < tp 8 ; ep 8 > >"),   # was `dp 2 < ep 8 >`: pp 2 and tp 8 too
    ("ep 8 < etp 2 > ; tp 4", "tp 4 ; ep 8 etp 2"),               # was `ep 8 ; etp 2`: two expert domains, E201
    ("pp 2 < tp 4 < ep 4 > >", "pp 2 < tp 4 ; ep 4 >"),           # was `tp 4 ; ep 4`, without its pp
])
def test_a_stage_axis_opening_a_scope_is_told_the_whole_strategy(written, meant):
    """The hint keeps the stage's other domains and the scopes around it: a DeepSeek-V3 user's `tp 8 ; ep 8 < dp 2 >`
    was told `dp 2 < ep 8 >` (until 2026-12-02), a strategy of another attention."""
    assert scope_hint(written) == meant
    strategy, errors = flatten(parse_strategy(meant))
    assert strategy is not None and not errors


def test_a_stage_axis_around_the_pools_is_told_they_are_the_outermost_level():
    """`tp 4 < prefill 1 < ep 4 > decode 1 < ep 4 > >`: the pools open the outermost scope, so tp 4 goes inside
    theirs (until 2026-11-30 the message said only dp and pp open a scope, and the hint wrote `tp 4 ; prefill 1
    decode 1`, no strategy at all)."""
    (d,) = flatten(parse_strategy("tp 4 < prefill 1 < ep 4 > decode 1 < ep 4 > >"))[1]
    assert d.code == "E201"
    assert d.message == ("`<` opened by the in-stage axis `tp`: only dp, pp and the pools (prefill, decode) open a "
                         "scope")
    assert d.hint == ("prefill and decode are the outermost level: write `tp 4` inside each pool's `< … >`, "
                      "`prefill N < … > decode M < … >`")


def test_a_share_written_without_its_percent_is_read_as_per_cent():
    d = diagnostic(PLAN.replace("memory <= 90 %", "memory <= 90"))
    assert d.code == "E104" and "`memory <= 90 %`" in d.hint and "`memory <= 0.9`" in d.hint
    assert "(SI)" not in d.hint
    plan = load_plan_text(PLAN.replace("memory <= 90 %", "memory <= 90 %"))
    assert plan.requirements[1].target == pytest.approx(0.9)


@pytest.mark.parametrize(("unit", "written"), [("req/s", "10 requests/s"), ("rps", "10 requests/s"),
                                               ("req/min", "0.1667 requests/s")])
def test_a_rate_in_another_spelling_keeps_its_number(unit, written):
    """`rate = 10 req/s` is `rate = 10 requests/s`, never another figure; per minute: 10 / 60 requests/s."""
    d = diagnostic(PLAN.replace("generate = 128", f"generate = 128\n  rate = 10 {unit}"))
    assert d.code == "E101" and suggested(d.hint) == f"rate = {written}"


def test_a_unit_dagc_cannot_read_keeps_the_number_in_its_example():
    d = diagnostic(PLAN.replace("generate = 128", "generate = 128\n  rate = 7 zz"))
    assert suggested(d.hint) == "rate = 7 requests/s"


def test_a_shortened_model_preset_names_the_one_it_stands_for():
    d = diagnostic(PLAN.replace('"qwen3-30b-a3b"', '"qwen3-235b"'))
    assert d.hint == "did you mean `qwen3-235b-a22b`?"
    d = diagnostic(PLAN.replace('"qwen3-30b-a3b"', '"qwen3"'))               # two Qwen3 presets: no guess
    assert "did you mean" not in d.hint


@pytest.mark.parametrize("name", ["ttft_99", "TTFT99", "p99_ttft", "ttft-p99"])
def test_a_percentile_written_another_way_is_named(name):
    d = diagnostic(PLAN.replace("ttft <= 1 s", f"{name} <= 1 s"))
    assert d.hint == "did you mean `ttft_p99`?"


def test_a_percentile_dagc_does_not_report_lists_those_it_does():
    d = diagnostic(PLAN.replace("ttft <= 1 s", "ttft_98 <= 1 s"))
    assert "`ttft_p50` … `ttft_p99`" in d.hint


def test_an_empty_engine_names_no_grammar_token():
    d = diagnostic(PLAN.replace("engine = vllm", "engine ="))
    assert d.message == "`engine =` has no value" and d.span.text == "="
    assert "released" not in d.message + d.hint and "`engine = vllm@0.33.0`" in d.hint


def test_an_engine_without_its_release_after_the_at_sign_is_told_to_write_one():
    d = diagnostic(PLAN.replace("engine = vllm", "engine = vllm@"))
    assert "remove" not in d.hint and "`vllm@RELEASE`" in d.hint and "`vllm` alone" in d.hint


def test_a_release_without_its_engine_is_told_to_name_the_engine():
    d = diagnostic(PLAN.replace("engine = vllm", "engine = @1"))
    assert "preset" not in d.hint and "`engine = ENGINE@1`" in d.hint


def test_a_local_build_label_reads_as_its_release():
    """PEP 440's local version label (`+cu12`) names a build of 0.33.0: the same engine, priced the same."""
    built = load_plan_text(PLAN.replace("engine = vllm", "engine = vllm@0.33.0+cu12")).cluster.engine
    plain = load_plan_text(PLAN.replace("engine = vllm", "engine = vllm@0.33.0")).cluster.engine
    assert built == plain and built.release == "0.33.0"
    d = diagnostic(PLAN.replace("engine = vllm", "engine = vllm@0.99.0+cu12"))    # an unknown release stays one
    assert d.code == "E101" and "0.99.0" in d.message


def test_a_cluster_field_in_the_workload_points_to_the_cluster():
    d = diagnostic(PLAN.replace("  engine = vllm\n", "").replace("batch = 16", "batch = 16\n  engine = vllm"))
    assert d.message == "unknown field `engine` in workload" and "`cluster { … }`" in d.hint


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_a_set_mistake_is_hinted_in_set_form(tmp_path, capsys):
    plan = tmp_path / "plan.moe"
    plan.write_text(PLAN)
    code, err = run(capsys, "check", str(plan), "--no-search", "--set", "workload.rate=10 req/s")
    assert code == 4 and "`--set 'workload.rate=10 requests/s'`" in err and "`rate = " not in err
    code, err = run(capsys, "check", str(plan), "--no-search", "--set", "workload.rate=10")
    assert code == 4 and "`--set 'workload.rate=10 requests/s'`" in err and "12" not in err    # the number kept
    code, err = run(capsys, "check", str(plan), "--no-search", "--set", "require.memory=90")
    assert code == 4 and "`--set 'require.memory=90 %'`" in err and "`--set require.memory=0.9`" in err


def test_a_misspelt_command_gets_the_nearest(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["chek", "plan.moe"])
    assert exc.value.code == 2 and "did you mean `check`?" in capsys.readouterr().err


@pytest.mark.parametrize("engine, said", [
    # a release: "did you mean `trtllm`?" dropped it, as if the release were what was wrong
    ("trtllm@1.2", "argument --engine: `trtllm@1.2`: --engine takes an engine's name (vllm, sglang, trtllm), its "
                   "commands being those of the release dagc checked them against; a plan names its release (`engine "
                   "= trtllm@1.2`, or `--set cluster.engine=trtllm@1.2`)"),
    # dagc's own reference engine, which the plan may name: "invalid choice" gave no reason
    ("pytorch", "argument --engine: `pytorch` is dagc's plain reference, which no server runs: it has no launcher "
                "(choose from vllm, sglang, trtllm)"),
    ("VLLM", "invalid choice: 'VLLM' (choose from 'vllm', 'sglang', 'trtllm'); did you mean `vllm`?"),
])
def test_launch_engine_says_what_it_takes(engine, said, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["launch", "plan.moe", "--engine", engine])
    assert exc.value.code == 2 and said in capsys.readouterr().err


def test_an_option_is_written_whole(tmp_path, capsys):
    """`--strateg` is no longer read as `--strategy`: it is refused, naming the option it begins."""
    plan = tmp_path / "plan.moe"
    plan.write_text(PLAN)
    with pytest.raises(SystemExit) as exc:
        main(["check", str(plan), "--no-search", "--strateg", "tp 8"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "unrecognized arguments: --strateg" in err and "`--strategy`" in err
    with pytest.raises(SystemExit):
        main(["search", str(plan), "--rat", "3"])
    assert "did you mean `--rate`?" in capsys.readouterr().err


@pytest.mark.parametrize(("written", "hint"), [("0.06", "write it with a unit: `tpot_p90 <= 0.06 s` (60 ms)"),
                                               ("60", "write it with a unit: `tpot_p90 <= 60 ms`, or "
                                                      "`tpot_p90 <= 60 s`")])
def test_a_time_without_its_unit_keeps_its_number(written, hint):
    """`tpot_p90 <= 0.06` is 0.06 s (60 ms), not a `50 ms` from nowhere; `60` is 60 ms or 60 s, the user's choice;
    each suggestion is itself a legal line of the same figure."""
    text = PLAN.replace("generate = 128", "generate = 128\n  rate = 2 requests/s  requests = 20")
    d = diagnostic(text.replace("ttft <= 1 s", f"tpot_p90 <= {written}"))
    assert d.code == "E102" and d.hint == hint
    for line in re.findall(r"`([^`]+)`", hint):
        target = float(written) * (1e-3 if line.endswith(" ms") else 1.0)
        assert load_plan_text(text.replace("ttft <= 1 s", line)).requirements[0].target == pytest.approx(target)


@pytest.mark.parametrize(("written", "meant"), [("10req/s", "10"), ("10 req/s", "10"), ("600 req/min", "10"),
                                                ("36000 rph", "10"), ("ten", None)])   # rph: per hour
def test_a_rate_option_in_another_spelling_keeps_its_number(tmp_path, capsys, written, meant):
    """`--rate 10req/s` is `--rate 10`, per minute divided by 60: the figure meant, in the option's own form."""
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN)
    with pytest.raises(SystemExit) as exc:
        main(["search", str(plan), "--rate", written])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    if meant is None:
        assert "is not an arrival rate in requests/s (e.g. `--rate 10`)" in err
    else:
        assert f"dagc reads a rate in requests/s: write `--rate {meant}`" in err


@pytest.mark.parametrize("op", ["<=", ">="])
def test_a_comparison_split_by_a_space_is_told_the_operator(op):
    """`ttft < = 1 s` is `ttft <= 1 s`: the hint names the operator meant, and the line with it is legal."""
    d = diagnostic(PLAN.replace("ttft <= 1 s", f"ttft {op[0]} = 1 s"))
    assert d.code == "E001" and d.hint == f"did you mean `{op}`? a comparison is written without a space"
    assert load_plan_text(PLAN.replace("ttft <= 1 s", f"ttft {op} 1 s")).requirements[0].op == op


def test_a_set_engine_without_its_release_is_told_the_release_form(tmp_path, capsys):
    """`--set cluster.engine=sglang@` lacks a release after `@`: the hint writes the option with SGLang's newest
    release (not vLLM's), which is itself accepted."""
    plan = tmp_path / "plan.moe"
    plan.write_text(PLAN.replace("  engine = vllm\n", ""))
    code, err = run(capsys, "check", str(plan), "--no-search", "--set", "cluster.engine=sglang@")
    assert code == 4 and ("a release follows `@`: --set cluster.engine=sglang@0.5.23, or sglang alone for its "
                          "newest") in err
    code, _ = run(capsys, "check", str(plan), "--no-search", "-q", "--set", "cluster.engine=sglang@0.5.23")
    assert code in (0, 1)


@pytest.mark.parametrize(("written", "plain"), [("batch = 1,024", "batch = 1024"),
                                                ("rate = 1,000 requests/s  # fast", "rate = 1000 requests/s"),
                                                ("requests = 1,234,567", "requests = 1234567")])
def test_a_number_with_separators_is_told_its_plain_form(written, plain):
    """dagc prints `1,000 requests`; a plan that copies `1,000` is told the line that reads: the number written plain,
    its unit kept — and that line is itself legal."""
    field = written.split(" =")[0]
    text = re.sub(rf"\n  {field} = [^\n]*", "", PLAN).replace("generate = 128", f"generate = 128\n  {written}")
    if field != "batch":
        text = text.replace("generate = 128", "generate = 128\n  rate = 2 requests/s" if field != "rate" else
                            "generate = 128\n  requests = 20")
    d = diagnostic(text)
    assert d.code == "E001" and d.hint == f"dagc reads a number without separators: `{plain}`"
    load_plan_text(text.replace(written, plain))


def test_a_comma_that_is_no_separator_gets_no_number():
    d = diagnostic(PLAN.replace("generate = 128", "generate = 128, 256"))
    assert "without separators" not in d.hint


@pytest.mark.parametrize(("typo", "fixed", "code_of_field"), [
    ("generate = 64", "genrate = 64", "generate"),
    ("batch = 8", "bacth = 8", "batch"),
])
def test_a_misspelt_required_field_is_one_error_not_two(typo, fixed, code_of_field):
    """`genrate = 64` is E101 "did you mean `generate`?" and nothing else: not also E103 "the workload has no
    `generate`", which points away from the typo."""
    text = ('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
            "workload { batch = 8  prompt = 512  generate = 64 }\nstrategy tp 8\n").replace(typo, fixed)
    with pytest.raises(PlanError) as e:
        load_plan_text(text)
    (d,) = e.value.diagnostics
    assert d.code == "E101" and f"did you mean `{code_of_field}`?" in (d.hint or "")


def test_a_misspelt_field_of_a_custom_gpu_and_model_is_one_error():
    gpu = ('model preset "mixtral-8x7b"\ncluster { gpus = 1  gpu "x" { memroy = 80 GB  flops = 400 TFLOPS  '
           "hbm = 2 TB/s } }\nworkload { batch = 1  prompt = 8  generate = 2 }\nstrategy tp 1\n")
    with pytest.raises(PlanError) as e:
        load_plan_text(gpu)
    assert [d.code for d in e.value.diagnostics] == ["E101"] and "`memory`" in e.value.diagnostics[0].hint
    model = ('model "m" { layrs = 2  hidden = 512  heads = 8  vocab = 1000  ffn = 1024 }\n'
             'cluster { gpus = 1  gpu preset "h100-sxm" }\nworkload { batch = 1  prompt = 8  generate = 2 }\n'
             "strategy tp 1\n")
    with pytest.raises(PlanError) as e:
        load_plan_text(model)
    assert [d.code for d in e.value.diagnostics] == ["E101"] and "`layers`" in e.value.diagnostics[0].hint
    missing = model.replace("layrs = 2  ", "")          # no typo: the field is simply missing
    with pytest.raises(PlanError) as e:
        load_plan_text(missing)
    assert [d.code for d in e.value.diagnostics] == ["E103"]


def test_a_goodput_share_is_told_the_rate_that_share_is():
    """`goodput >= 90 %` means a share of the traffic: the hint works the share out on a rate (90 % of 10 is 9),
    not an unrelated example figure."""
    text = ('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
            "workload { batch = 8  prompt = 512  generate = 64  serving = inflight  rate = 10 requests/s  "
            "requests = 100 }\nrequire { goodput >= 90 % }\nstrategy tp 8\n")
    with pytest.raises(PlanError) as e:
        load_plan_text(text)
    (d,) = e.value.diagnostics
    assert d.code == "E102" and "90 % of 10 requests/s is `goodput >= 9 requests/s`" in d.hint


def test_a_per_gpu_throughput_reads_as_dagc_prints_it():
    """dagc's tables write `tokens/s/GPU`; a requirement pasted from them reads the same as `tokens/s/gpu`."""
    base = ('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
            "workload { batch = 8  prompt = 512  generate = 64 }\nrequire { decode_throughput >= 100 UNIT }\n"
            "strategy tp 8\n")
    upper, lower = (load_plan_text(base.replace("UNIT", u)).requirements[0] for u in ("tokens/s/GPU", "tokens/s/gpu"))
    assert (upper.target, upper.per_gpu) == (lower.target, lower.per_gpu) == (100.0, True)


@pytest.mark.parametrize(("unit", "meant"), [("tokens/s/gpus", "tokens/s/gpu"), ("Tokens/S/GPUs", "tokens/s/gpu"),
                                             ("tokens/ms/gpus", "tokens/ms/gpu"), ("token/s", "tokens/s"),
                                             ("tokns/s", "tokens/s"), ("tokens/sec/gpus", "tokens/s/gpu")])
def test_a_throughput_unit_a_letter_off_keeps_its_scale(unit, meant):
    """`800 tokens/s/gpus` is `800 tokens/s/gpu`, never `800 tokens/ms/gpu` (a thousand times the figure)."""
    base = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
            "workload { batch = 32  prompt = 2000  generate = 300 }\nrequire { decode_throughput >= 800 UNIT }\n"
            "strategy tp 8\n")
    d = diagnostic(base.replace("UNIT", unit))
    assert d.code == "E101" and suggested(d.hint) == f"decode_throughput >= 800 {meant}", d.hint
    assert f"did you mean `{meant}`?" in d.hint
    load_plan_text(base.replace("UNIT", meant))        # the suggestion reads
    assert load_plan_text(base.replace("UNIT", "tokens/s/GPU")).requirements[0].per_gpu


@pytest.mark.parametrize("unit", ["requests/sec", "requets/s"])
def test_a_rate_unit_a_letter_off_keeps_its_number(unit):
    d = diagnostic(PLAN.replace("generate = 128", f"generate = 128\n  rate = 3 {unit}"))
    assert d.code == "E101" and suggested(d.hint) == "rate = 3 requests/s" and "did you mean `requests/s`?" in d.hint


def test_an_unread_per_gpu_throughput_is_exemplified_per_gpu():
    """A unit dagc cannot read gets an example in the unit most like it, per GPU when it says so."""
    base = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
            "workload { batch = 32  prompt = 2000  generate = 300 }\nrequire { decode_throughput >= 800 UNIT }\n"
            "strategy tp 8\n")
    assert suggested(diagnostic(base.replace("UNIT", "tokens/hr/gpu")).hint) == "decode_throughput >= 800 tokens/s/gpu"


@pytest.mark.parametrize(("written", "meant"), [("tp 8 ; ep 8 ; ep 2", "tp 8 ; ep 8"),
                                                ("tp 2 ; ep 4 ; etp 2", "tp 2 ; ep 4 etp 2"),
                                                ("tp 2 ; cp 2 ; ep 8", "tp 2 cp 2 ; ep 8"),
                                                ("ep 4 ; ep 2 ; ep 2", "ep 4")])
def test_a_stage_of_three_domains_is_told_the_two_its_axes_make(written, meant):
    """E201 for more than two domains suggests the axes written, attention then expert, each once — a legal
    strategy — not a canned example of other axes."""
    errors = [d for d in flatten(parse_strategy(written))[1] if d.code == "E201"]
    assert len(errors) == 1 and errors[0].hint == f"write `{meant}`", errors
    strategy, problems = flatten(parse_strategy(meant))
    assert strategy is not None and not problems


def test_a_stage_of_three_domains_with_an_unknown_axis_keeps_the_generic_example():
    errors = [d for d in flatten(parse_strategy("tp 8 ; ep 8 ; xx 2"))[1] if d.code == "E201"]
    assert [d.hint for d in errors] == ["write `tp 2 cp 2 ; ep 8 etp 2`"]


@pytest.mark.parametrize("name", ["ttft_99p", "ttft_99th", "ttft_p99_ms", "TTFT_P99_MS"])
def test_a_percentile_with_a_suffix_is_named(name):
    """`ttft_p99_ms` was told "dagc reports the percentiles 50, 90, 95 and 99", p99 among them; `ttft_99p` got the
    list of every requirement."""
    d = diagnostic(PLAN.replace("ttft <= 1 s", f"{name} <= 1 s"))
    assert d.code == "E101" and d.hint == "did you mean `ttft_p99`?"


@pytest.mark.parametrize("line", ["ttft p99 <= 1 s", "p99 ttft <= 1 s", "tpot median <= 1 s"])
def test_a_percentile_written_as_its_own_word_is_told_to_join_the_name(line):
    d = diagnostic(PLAN.replace("ttft <= 1 s", line))
    assert d.code == "E001" and d.hint.startswith("a percentile is part of the requirement's name: `ttft_p99 <= 2 s`")


def test_a_value_of_serving_written_as_a_field_is_told_the_field():
    """`inflight = true` in the workload names a value of `serving` (until 2026-11-30 the hint listed the workload's
    22 fields, `serving` among them, and never said `serving = inflight`); `continuous_batching = true`, another
    name of it, likewise."""
    d = diagnostic(PLAN.replace("  batch = 16\n", "  batch = 16\n  inflight = true\n"))
    assert (d.code, d.message) == ("E101", "unknown field `inflight` in workload")
    assert d.hint == ("`inflight` is a value of `serving`, not a field: write `serving = inflight` "
                      "(or `serving = static`)")
    d = diagnostic(PLAN.replace("  batch = 16\n", "  batch = 16\n  continuous_batching = true\n"))
    assert d.hint is not None and d.hint.startswith("write `serving = inflight`: continuous (in-flight) batching")
    d = diagnostic(PLAN.replace("  batch = 16\n", "  batch = 16\n  servng = inflight\n"))     # a slip stays a slip
    assert d.hint == "did you mean `serving`?"
