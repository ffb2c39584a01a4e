"""The command line: exit codes, JSON report, explain, presets, every example."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from conftest import EXAMPLES, ROOT, one_computation_per_output, plan_text, run_dagc

EXAMPLE_PLANS = sorted(EXAMPLES.glob("*.moe"))
MISTAKES = sorted((EXAMPLES / "mistakes").glob("*.moe"))
REPORT_KEYS = {"plan", "strategy", "valid", "gpus", "model", "memory", "metrics", "requirements", "diagnostics",
               "verdict"}


@pytest.fixture(autouse=True)
def _wide_tables(monkeypatch):
    """Tables wide enough for every column, a row on a line: these tests read their cells (tables at the
    widths terminals have are tests/test_cli_widths.py's)."""
    monkeypatch.setenv("COLUMNS", "1000")


def dagc(*args: str, search: bool = False) -> subprocess.CompletedProcess:
    """Run the CLI (in this process); check and compile skip the strategy search unless a test is about it."""
    if args and args[0] in ("check", "compile") and not search and len(args) > 1:
        args = (*args, "--no-search")
    return run_dagc(*args)


def test_version_and_help():
    assert dagc("--version").stdout.startswith("dagc ")
    out = dagc("--help").stdout
    assert "examples:" in out and "exit codes:" in out and "check" in out
    assert dagc("check", "--help").returncode == 0


def test_no_command_and_bad_args_are_usage_errors():
    assert dagc().returncode == 2
    assert dagc("check").returncode == 2
    assert dagc("check", "x.moe", "--format", "yaml").returncode == 2


# What `dagc check EXAMPLE --no-search` computes, kept for the module (`one_computation_per_output`): the text and
# the JSON of one check, each read by its own test below; no other test of this module reads it.
_EXAMPLE_CHECKS: dict = {}


@pytest.mark.parametrize("path", EXAMPLE_PLANS, ids=lambda p: p.name)
def test_every_example_is_valid(path):
    with one_computation_per_output(_EXAMPLE_CHECKS):
        proc = dagc("check", str(path.relative_to(ROOT)))
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "verdict: correct: yes" in proc.stdout
    first = path.read_text().splitlines()[0]
    assert first.startswith("# "), "each example opens with a comment saying what it shows"


@pytest.mark.parametrize("path", EXAMPLE_PLANS, ids=lambda p: p.name)
def test_example_json_report(path):
    with one_computation_per_output(_EXAMPLE_CHECKS):       # the check the text of the test above printed
        proc = dagc("check", str(path.relative_to(ROOT)), "--format", "json")
    data = json.loads(proc.stdout)
    reports = data if isinstance(data, list) else [data]
    for r in reports:
        assert REPORT_KEYS <= set(r)
        assert r["valid"] is True and r["verdict"]["correct"] is True
        assert r["gpus"]["used"] <= r["gpus"]["available"]
        assert {"ttft_s", "tpot_s", "prefill_tokens_per_s", "decode_tokens_per_s",
                "throughput_tokens_per_s"} <= set(r["metrics"])
        assert all(r["metrics"][k] > 0 for k in ("ttft_s", "tpot_s", "decode_tokens_per_s"))
        assert set(r["memory"]["max_rank"]) == {"rank", "weights_bytes", "kv_cache_bytes", "activation_bytes",
                                                "reserve_bytes", "total_bytes"}
        for d in r["diagnostics"]:
            assert set(d) == {"code", "severity", "message", "file", "line", "column", "hint"}
        for q in r["requirements"]:
            assert {"name", "op", "target", "value", "met", "probability", "class"} <= set(q)


EXPECTED_MISTAKES = {
    "ep256-more-than-16-experts.moe": (3, {"E301", "E401"}),
    "10b-moe-on-2gpus-kv-cache.moe": (3, {"E402"}),
    "tp4-ep16-multiplied-degrees.moe": (3, {"E202"}),
    "wrong-hierarchy-order.moe": (3, {"E201"}),
    "30b-moe-16gpu-strategy-on-8gpus.moe": (3, {"E401"}),
    "typos.moe": (4, {"E101", "E102"}),
    "cp-short-prompt.moe": (3, {"E306"}),
}


def test_mistakes_are_all_covered():
    assert {p.name for p in MISTAKES} == set(EXPECTED_MISTAKES)


@pytest.mark.parametrize("path", MISTAKES, ids=lambda p: p.name)
def test_mistakes_rejected_with_located_messages(path):
    code, expected = EXPECTED_MISTAKES[path.name]
    proc = dagc("check", str(path.relative_to(ROOT)))
    assert proc.returncode == code
    assert "Traceback" not in proc.stdout + proc.stderr
    text = proc.stdout + proc.stderr
    for c in expected:
        assert f"error[{c}]" in text
    assert f"{path.relative_to(ROOT)}:" in text and "^" in text and "= help:" in text


def test_mistake_json_lists_errors():
    proc = dagc("check", "examples/mistakes/ep256-more-than-16-experts.moe", "--format", "json")
    r = json.loads(proc.stdout)
    assert r["valid"] is False and r["verdict"]["correct"] is False
    by_code = {d["code"]: d for d in r["diagnostics"]}
    assert by_code["E301"]["line"] == 13 and by_code["E301"]["column"] == 18


def test_requirements_not_met_exit_1(tmp_path):
    path = tmp_path / "p.moe"
    path.write_text(plan_text(require="require { memory <= 10 % }"))
    proc = dagc("check", str(path))
    assert proc.returncode == 1 and "NO" in proc.stdout


def test_input_errors_exit_4(tmp_path):
    assert dagc("check", str(tmp_path / "missing.moe")).returncode == 4
    assert dagc("check", str(tmp_path)).returncode == 4
    bad = tmp_path / "bad.moe"
    bad.write_text("model {")
    proc = dagc("check", str(bad), "--format", "json")
    assert proc.returncode == 4 and json.loads(proc.stdout)["diagnostics"][0]["code"] == "E001"


def test_strategy_override(tmp_path):
    proc = dagc("check", "examples/mixtral-8x7b-1node.moe", "--strategy", "tp 4 ; ep 8", "--format", "json")
    r = json.loads(proc.stdout)
    assert r["strategy"] == "tp 4 ; ep 8" and r["gpus"]["used"] == 8 and r["layout"]["attention_dp"] == 2
    bad = dagc("check", "examples/mixtral-8x7b-1node.moe", "--strategy", "tp 4 ep 8")
    assert bad.returncode == 3 and "error[E202]" in bad.stdout
    syntax = dagc("check", "examples/mixtral-8x7b-1node.moe", "--strategy", "tp 4 <")
    assert syntax.returncode == 4 and "--strategy:1:" in syntax.stderr


def test_strategy_option_takes_a_strategys_name_from_the_plan(tmp_path):
    """`--strategy expert` is the plan's `strategy expert = tp 2 ; ep 8`, for check and launch alike (as E110 of
    `dagc calibrate` asks: "name it with --strategy"); a name the plan does not have is read as an expression."""
    plan = "examples/mixtral-8x7b-1node.moe"
    named = json.loads(dagc("check", plan, "--strategy", "expert", "--format", "json").stdout)
    own = json.loads(dagc("check", "examples/mixtral-8x7b-1node.moe", "--format", "json").stdout)[1]
    assert named["strategy_name"] == "expert" and named["strategy"] == own["strategy"] == "expert = tp 2 ; ep 8"
    assert named["metrics"] == own["metrics"]
    launch = dagc("launch", "examples/mixtral-8x7b-1node.moe", "--strategy", "expert")
    assert launch.returncode == 0 and "strategy `expert = tp 2 ; ep 8`" in launch.stdout
    from dagc.lang.load import load_plan
    from dagc.verdict.check import check
    (lib,) = check(load_plan(ROOT / plan), "expert")      # the library takes the name as the CLI does
    assert lib.metrics.tpot_s == own["metrics"]["tpot_s"]
    unknown = dagc("check", "examples/mixtral-8x7b-1node.moe", "--strategy", "experts")
    assert unknown.returncode == 4 and "--strategy:1:" in unknown.stderr


def test_multiple_strategies_json_is_a_list():
    data = json.loads(dagc("check", "examples/mixtral-8x7b-1node.moe", "--format", "json").stdout)
    assert [r["strategy_name"] for r in data] == ["tensor", "expert"]


def test_explain():
    proc = dagc("explain", "E202")
    assert proc.returncode == 0 and "Bad:" in proc.stdout and "Fixed:" in proc.stdout and "tp 2 ; ep 4" in proc.stdout
    assert dagc("explain", "E999").returncode == 2


def test_presets():
    out = dagc("presets").stdout
    for name in ("mixtral-8x7b", "deepseek-v3", "qwen3-235b-a22b", "h800", "generic-400t", "mi300x"):
        assert name in out


def test_check_runs_the_search_for_the_optimal_verdict():
    with one_computation_per_output():             # one check with its search, printed as text and as JSON
        proc = dagc("check", "examples/mixtral-8x7b-1node.moe", search=True)
        printed = dagc("check", "examples/mixtral-8x7b-1node.moe", "--format", "json", search=True)
    assert proc.returncode == 0
    assert "optimal: no" in proc.stdout
    better = re.search(r"optimal\? `([^`]+)` gives [0-9.]+× the decode throughput", proc.stdout)
    assert better
    data = json.loads(printed.stdout)
    assert data[0]["verdict"]["optimal"] is False
    assert data[0]["verdict"]["optimal_evidence"]["best_strategy"] == better.group(1)


def test_empty_strategy_is_an_input_error(tmp_path):
    for text in ("", "   "):
        for command in ("check", "compile"):
            extra = ("-o", str(tmp_path / "out")) if command == "compile" else ()
            proc = dagc(command, "examples/mixtral-8x7b-1node.moe", "--strategy", text, *extra)
            assert proc.returncode == 4, (command, text, proc.stdout, proc.stderr)
            assert "--strategy:1:1: error[E001]" in proc.stderr and "Traceback" not in proc.stderr
            assert "verdict" not in proc.stdout and not (tmp_path / "out").exists()
    proc = dagc("check", "examples/mixtral-8x7b-1node.moe", "--strategy", "")
    assert "the strategy expression is empty" in proc.stderr


def test_strategy_keyword_in_strategy_option_has_a_hint():
    proc = dagc("check", "examples/mixtral-8x7b-1node.moe", "--strategy", "strategy tp 8")
    assert proc.returncode == 4 and "error[E101]: unknown axis `strategy`" in proc.stderr
    assert "help: drop the `strategy` keyword: --strategy takes the expression" in proc.stderr
    from dagc.diagnostics import PlanError
    from dagc.lang.load import parse_strategy
    with pytest.raises(PlanError) as exc:                     # a named line pasted whole does not parse
        parse_strategy("strategy fast = tp 4 ; ep 8")
    (d,) = exc.value.diagnostics
    assert d.code == "E001" and d.hint == "drop the `strategy` keyword: --strategy takes the expression"
    with pytest.raises(PlanError) as exc:                     # other parse errors keep their own hint
        parse_strategy("tp 4 <")
    assert exc.value.diagnostics[0].hint.startswith("`<` opens the scope of dp or pp")


@pytest.mark.parametrize("old, new, hint", [
    ('gpu preset "h100-sxm"', 'gpu presset "h100-sxm"', "did you mean `preset`?"),
    ('gpu preset "h100-sxm"', 'gpu presett "h100-sxm"', "did you mean `preset`?"),    # a keyword and more
    ("workload {", "workloda {", "did you mean `workload`?"),
    ("prompt = 2048", "prompt = 2048 tokns", "`prompt` takes a plain number: `prompt = 2048`"),
    ("strategy tp 8", "strategy tp 8 {", "`{ … }` opens the blocks"),
    ("strategy tp 8", "strategy tp 8 @", "remove it; docs/language.md"),
    ("strategy tp 8", "strategy tp 4 ;; ep 8", "a `;` has axes on both sides, the attention axes then the expert"),
])
def test_a_mistake_gets_a_hint_that_mends_it(old, new, hint):
    """A misspelt keyword is named (not "quote it", which gives another error); a unit is suggested only
    among those its field takes; every syntax error has a hint."""
    from dagc.diagnostics import PlanError
    from dagc.lang.load import load_plan_text
    from conftest import plan_text
    text = plan_text()
    assert old in text
    with pytest.raises(PlanError) as exc:
        load_plan_text(text.replace(old, new, 1))
    (d,) = exc.value.diagnostics
    assert d.hint is not None and d.hint.startswith(hint), d.hint


@pytest.mark.parametrize("written, meant", [("requirements", "require"), ("requirement", "require"),
                                             ("strategies", "strategy")])
def test_a_keyword_written_as_the_reports_speak_is_named(written, meant):
    """`requirements { … }` (as the reports and the SPEC say it) is `require`: the hint names the keyword,
    not the docs alone."""
    from dagc.diagnostics import PlanError
    from dagc.lang.load import load_plan_text
    from conftest import plan_text
    text = plan_text(require="require { tpot <= 50 ms }", strategy="strategy a = tp 8")
    with pytest.raises(PlanError) as exc:
        load_plan_text(text.replace(f"{meant} ", f"{written} ", 1))
    (d,) = exc.value.diagnostics
    assert d.code == "E001" and d.hint == f"did you mean `{meant}`?", d.hint


@pytest.mark.parametrize("line, block", [("engine = vllm", "cluster"), ("gpus = 8", "cluster"),
                                         ("batch = 64", "workload"), ("layers = 32", "model")])
def test_a_blocks_field_at_the_top_level_is_sent_to_its_block(line, block):
    """`engine = vllm` written between the blocks: E001 at the field, its hint the block it belongs in."""
    from dagc.diagnostics import PlanError
    from dagc.lang.load import load_plan_text
    from conftest import plan_text
    text = plan_text(strategy="strategy tp 8")
    with pytest.raises(PlanError) as exc:
        load_plan_text(text.replace("strategy tp 8", f"{line}\nstrategy tp 8", 1))
    (d,) = exc.value.diagnostics
    name = line.split()[0]
    assert d.code == "E001" and d.hint == f"`{name}` is a field of `{block} {{ … }}`: move the line there", d.hint


@pytest.mark.parametrize("line, hint", [
    ("tpot <= 40", "write it with a unit: `tpot <= 40 ms`, or `tpot <= 40 s`"),
    ("tpot <= 40 GB", "for example `tpot <= 50 ms`"),
    ("decode_throughput >= 2 GB", "for example `decode_throughput >= "),
])
def test_a_requirements_examples_are_written_with_its_comparison(line, hint):
    """A requirement's value gets examples written as requirements are, `tpot <= 50 ms`, never with `=`."""
    from dagc.diagnostics import PlanError
    from dagc.lang.load import load_plan_text
    from conftest import plan_text
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(require=f"require {{ {line} }}"))
    (d,) = exc.value.diagnostics
    assert d.hint is not None and d.hint.startswith(hint), d.hint


def test_output_streams(tmp_path):
    """docs/cli.md, "Output streams": check's report and its rule diagnostics on stdout, input
    errors on stderr; compile's per-strategy errors on stderr; JSON alone on stdout."""
    plan = "examples/mixtral-8x7b-1node.moe"
    rule = dagc("check", plan, "--strategy", "tp 3")                    # E302: a rule error
    assert rule.returncode == 3
    assert "error[E302]" in rule.stdout and "verdict: correct: no" in rule.stdout and rule.stderr == ""
    notes = dagc("check", plan, "--strategy", "tp 4 ; ep 8")             # notes (N602) on stdout too
    assert "note[N602]" in notes.stdout and "N602" not in notes.stderr
    typo = dagc("check", plan, "--strategy", "tq 8")                     # E101: an input error
    assert typo.returncode == 4 and "error[E101]" in typo.stderr and "E101" not in typo.stdout
    unread = dagc("check", str(tmp_path / "missing.moe"))
    assert unread.returncode == 4 and unread.stdout == "" and "error[E002]" in unread.stderr
    compiled = dagc("compile", plan, "--strategy", "tp 3", "-o", str(tmp_path / "out"))
    assert compiled.returncode == 3
    assert "error[E302]" in compiled.stderr and "E302" not in compiled.stdout and "wrote" in compiled.stdout
    as_json = dagc("check", plan, "--strategy", "tp 3", "--format", "json")
    assert json.loads(as_json.stdout)["diagnostics"][0]["code"] == "E302" and as_json.stderr == ""


def test_a_strategy_that_ends_too_early_says_so():
    from dagc.diagnostics import PlanError
    from dagc.lang.load import load_plan_text, parse_strategy
    with pytest.raises(PlanError) as exc:
        parse_strategy("tp 8 ;")
    (d,) = exc.value.diagnostics
    assert d.message == "the strategy ends too early; expected a name"
    assert d.hint == "the domain after `;` needs its axes, e.g. `tp 4 ; ep 8`"
    assert (d.span.line, d.span.column) == (1, 6)
    with pytest.raises(PlanError) as exc:                     # in a plan file it is the plan that ends
        load_plan_text(plan_text(strategy="strategy tp 8 ;"))
    assert exc.value.diagnostics[0].message.startswith("the plan ends too early")


def test_search_counts_add_up_in_its_first_line(tmp_path):
    proc = dagc("search", "examples/mixtral-8x7b-1node.moe", "--top", "1", "--svg", str(tmp_path / "p.svg"))
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    m = re.match(r"([0-9,]+) strategies examined: ([0-9,]+) pruned by their bounds; of the other ([0-9,]+), "
                 r"([0-9,]+) rejected by the rules, ([0-9,]+) legal; in ", first)
    assert m, first
    total, pruned, other, rejected, legal = (int(g.replace(",", "")) for g in m.groups())
    assert total == pruned + other and other == rejected + legal and legal > 0 and rejected > 0


def test_search_json_counts_add_up_as_documented(tmp_path):
    """docs/outputs.md: `evaluated` = `pruned` + `rejected` + `legal`, every key in `dagc search`'s JSON."""
    proc = dagc("search", "examples/mixtral-8x7b-1node.moe", "--top", "1", "--svg", str(tmp_path / "p.svg"),
                "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["evaluated"] == d["pruned"] + d["rejected"] + d["legal"] and d["rejected"] > 0 and d["legal"] > 0


def test_a_domain_that_does_not_divide_the_stage_group_has_no_data_parallel_degree(tmp_path):
    """`tp 3 ; ep 8` on 8 GPUs (E203): 3 does not divide 8, so there is no attention DP to print —
    not the rounded quotient 8 // 3 = 2 — in the terminal or in report.md."""
    plan = tmp_path / "p.moe"
    plan.write_text('model preset "qwen3-30b-a3b"\ncluster { gpus = 8 gpu preset "h100-sxm" }\n'
                    "workload { batch = 64 prompt = 4096 generate = 512 }\nstrategy tp 3 ; ep 8\n")
    proc = dagc("check", str(plan))
    assert proc.returncode == 3 and "E203" in proc.stdout
    assert "attention DP — (3 GPUs do not divide the stage group of 8)" in proc.stdout
    assert "attention DP 2" not in proc.stdout and "expert DP 1" in proc.stdout
    out = tmp_path / "out"
    assert dagc("compile", str(plan), "-o", str(out)).returncode == 3
    report = next(out.rglob("report.md")).read_text()
    assert "attention DP — (3 GPUs do not divide the stage group of 8)" in report and "expert DP 1" in report
    # nor does the batch-split warning divide by one: `pp 3 < tp 3 ; ep 8 >` with 3 micro-batches
    plan.write_text(plan.read_text().replace("strategy tp 3 ; ep 8", "strategy pp 3 < tp 3 ; ep 8 >"))
    proc = dagc("check", str(plan))
    assert "E203" in proc.stdout and "W503" not in proc.stdout and "attention DP 2" not in proc.stdout


def test_compile_says_each_warning_in_a_line(tmp_path, write_plan):
    """`dagc compile` summarises each strategy on the terminal: its verdict and figures, the batch
    chosen, a line per warning (report.md holds them whole), its errors in full on stderr."""
    plan = write_plan(plan_text(strategy="strategy pp 3 < tp 2 >"))     # 32 layers in 3 stages: W501
    proc = dagc("compile", str(plan), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr                           # warnings do not fail a compile
    lines = proc.stdout.splitlines()
    # the plan's line first, as `dagc check` opens (tests/test_compile_lines.py), then the strategy's verdict
    assert lines[0].startswith(f"plan {plan} · model ") and lines[1].startswith("strategy pp 3 < tp 2 >: correct yes")
    assert "  warning[W501]: uneven layer split [11, 11, 10]: the largest stage has 10.0 % more layers than the " \
           "smallest" in lines
    report = (tmp_path / "out" / "report.md").read_text()
    assert "W501" in report and "W501" not in proc.stderr


def test_the_better_strategys_figures_stand_beside_this_ones():
    """Under a verdict that names a better strategy, `check` prints both strategies' GPUs, TTFT, TPOT,
    tokens/s per GPU and memory — report.json's best_figures and own_figures, in the terminal (TTFT and
    TPOT in the unit of the plan's requirement on them)."""
    from dagc.export.summary import metric_text
    from dagc.lang.load import load_plan
    from dagc.plan.workload import RequirementKind
    from dagc.units import format_figure

    plan = str(ROOT / "examples" / "qwen3-30b-a3b-4gpu.moe")
    loaded = load_plan(plan)
    with one_computation_per_output():             # one check with its search, printed as text and as JSON
        text = dagc("check", plan, search=True)
        report = json.loads(dagc("check", plan, "--format", "json", search=True).stdout)[0]
    ev = report["verdict"]["optimal_evidence"]
    assert report["verdict"]["optimal"] is False
    lines = text.stdout.splitlines()
    at = lines.index(f"  optimal? {ev['note']}")
    for line, label, fig in ((lines[at + 1], "the better one:", ev["best_figures"]),
                             (lines[at + 2], "this strategy: ", ev["own_figures"])):
        assert line == (f"    {label} {fig['gpus']} GPU{'s' if fig['gpus'] > 1 else ''} · "
                        f"TTFT {metric_text(loaded, RequirementKind.TTFT, fig['ttft_s'])} · "
                        f"TPOT {metric_text(loaded, RequirementKind.TPOT, fig['tpot_s'])} · "
                        f"{format_figure(fig['decode_tokens_per_s_per_gpu'])} tokens/s per GPU · "
                        f"memory {fig['memory_fraction'] * 100:.1f} %")


def test_an_optimal_strategy_shows_no_better_one():
    """Under "optimal: yes" there is no better strategy: no figures are put beside this one's."""
    plan = str(ROOT / "examples" / "qwen3-30b-a3b-4gpu.moe")
    text = dagc("check", plan, "--strategy", "tp 2 ; ep 2 with microbatches 1 overlap none", search=True).stdout
    assert "optimal: yes" in text and "optimal? within" in text
    assert "the better one:" not in text and "this strategy: " not in text


def test_progress_bar_appears_after_a_second_on_a_terminal(monkeypatch):
    """The search's progress bar: nothing for a second, nor when stderr is no terminal; then a bar
    (rich.progress, imported only then), which `close` takes down."""
    import io

    from dagc.cli.printing import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    quiet = ProgressBar("searching strategies")
    quiet.t0 -= 2.0
    quiet(1, 10)
    assert quiet.bar is None                       # not a terminal
    monkeypatch.setattr(sys, "stderr", Terminal())
    early = ProgressBar("searching strategies")
    early(1, 10)
    assert early.bar is None                       # within the first second
    late = ProgressBar("searching strategies")
    late.t0 -= 2.0
    late(3, 10)
    assert late.bar is not None and late.bar.tasks[0].completed == 3 and late.bar.tasks[0].total == 10
    late.close()
    assert not late.bar.live.is_started


def test_without_a_search_the_optimal_verdict_says_why_it_is_not_judged():
    proc = dagc("check", "examples/mixtral-8x7b-1node.moe")          # --no-search
    assert proc.returncode == 0, proc.stderr
    verdicts = [line for line in proc.stdout.splitlines() if line.startswith("verdict:")]
    reasons = [line for line in proc.stdout.splitlines() if line.startswith("  optimal? ")]
    assert len(verdicts) == len(reasons) == 2 and all(v.endswith("optimal: not judged") for v in verdicts)
    assert set(reasons) == {"  optimal? not judged: no strategy search was run (--no-search)"}


def test_the_search_table_shows_the_objectives_figure_to_the_digit_that_ranks_it(tmp_path):
    """Under `ttft` the TTFT column ranks the rows: times keep four significant digits, the one rounding rule
    of every output (a TTFT of 1.9 s on every row of a prefill plan told nothing), so the rows read in order."""
    proc = dagc("search", "examples/mixtral-8x7b-1node.moe", "--objective", "ttft", "--svg", str(tmp_path / "p.svg"))
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("│") for line in proc.stdout.splitlines() if re.match(r"│\s+\d+ │", line)]
    assert len(rows) == 10
    ttft, tpot = [r[5].strip() for r in rows], [r[6].strip() for r in rows]
    four = r"(?=[\d.]*\d)(\d{1,3}(\.\d{1,3})?) (s|ms|us)"                # 1 to 4 significant digits
    assert all(re.fullmatch(four, t) and len(re.sub(r"\D", "", t.split()[0]).lstrip("0")) <= 4 for t in ttft + tpot)
    seconds = [float(t.split()[0]) * {"s": 1, "ms": 1e-3, "us": 1e-6}[t.split()[1]] for t in ttft]
    assert seconds == sorted(seconds)                                    # the figure shown ranks them


@pytest.mark.parametrize(("extra", "plan_line", "said"), [
    ((), "", "the most decode tokens/s per GPU (objective tokens-per-gpu, the default)"),
    (("--objective", "ttft"), "", "the shortest TTFT (objective ttft, from --objective)"),
    ((), "objective = min-gpus\n", "the fewest GPUs, then the most decode tokens/s per GPU (objective min-gpus, "
                                   "the plan's `objective`)"),
])
def test_check_says_what_optimal_means_and_where_that_comes_from(tmp_path, extra, plan_line, said):
    plan = tmp_path / "p.moe"
    plan.write_text(plan_line + (EXAMPLES / "mixtral-8x7b-1node.moe").read_text())
    proc = dagc("check", str(plan), *extra)
    assert proc.returncode in (0, 1), proc.stderr
    assert proc.stdout.splitlines()[1] == (f"optimal means: {said}, subject to the plan's requirements; within 5 % "
                                           "of the best counts as optimal")


def test_a_figure_beside_its_requirement_keeps_the_digits_that_tell_them_apart(tmp_path):
    """The Mixtral example's better strategy on the plain reference (engine = pytorch) has a TTFT of
    1.99983 s against `ttft <= 2 s`: the evidence line says so, not '2.0 s'."""
    text = (ROOT / "examples" / "mixtral-8x7b-1node.moe").read_text()
    path = tmp_path / "mixtral-8x7b-1node.moe"
    path.write_text(text.replace('gpu preset "h100-sxm"', 'gpu preset "h100-sxm"  engine = pytorch', 1))
    proc = dagc("check", str(path), search=True)
    assert "    the better one: 4 GPUs · TTFT 1.99983 s · TPOT 17.86 ms · " in proc.stdout


def test_the_comparison_report_says_what_optimal_means_and_what_each_objective_picks(tmp_path):
    out = tmp_path / "out"
    proc = dagc("compile", "examples/mixtral-8x7b-1node.moe", "-o", str(out), search=True)
    assert proc.returncode == 0, proc.stderr
    report = (out / "report.md").read_text()
    assert "Optimal means the most decode tokens/s per GPU (objective `tokens-per-gpu`, the default), subject to " \
           "the plan's requirements; within 5 % of the best counts as optimal." in report
    picks = report[report.index("## What each objective would pick"):]
    for objective in ("tokens-per-gpu", "min-gpus", "ttft", "tpot", "throughput"):
        assert re.search(rf"^\| (\*\*)?{objective}(\*\*)? ", picks, re.M), objective
    assert (out / "tensor" / "report.md").read_text().count("| **tokens-per-gpu** (this report's) |") == 1


def test_a_bad_strategy_option_is_read_before_the_search_and_blamed_on_itself():
    """`--strategy` with a syntax error fails at once (the search, a second on a large plan, does not
    run first) and the last line names `--strategy`, not the plan file."""
    proc = dagc("check", "examples/mixtral-8x7b-1node.moe", "--strategy", "tp 4 ;; ep 8", search=True)
    assert proc.returncode == 4
    assert proc.stderr.splitlines()[-1] == "error: --strategy: 1 error; nothing was checked"
    assert "--strategy:1:7: error[E001]" in proc.stderr


def test_compile_writes_the_trace_gzipped_by_default_and_plain_on_request(tmp_path):
    import gzip
    plan = EXAMPLES / "qwen3-30b-a3b-4gpu.moe"
    assert dagc("compile", str(plan), "-o", str(tmp_path / "gz"), "--strategy", "tp 4").returncode == 0
    assert not (tmp_path / "gz" / "trace.json").exists()
    events = json.loads(gzip.decompress((tmp_path / "gz" / "trace.json.gz").read_bytes()))["traceEvents"]
    assert dagc("compile", str(plan), "-o", str(tmp_path / "plain"), "--strategy", "tp 4",
                "--trace-format", "json").returncode == 0
    assert not (tmp_path / "plain" / "trace.json.gz").exists()
    assert json.loads((tmp_path / "plain" / "trace.json").read_text())["traceEvents"] == events
    assert "trace.json.gz" in (tmp_path / "gz" / "report.md").read_text()      # the report links what exists
    assert dagc("compile", str(plan), "-o", str(tmp_path / "old"), "--strategy", "tp 4", "--gzip").returncode == 0
    assert (tmp_path / "old" / "trace.json.gz").exists()                       # the older spelling still works
