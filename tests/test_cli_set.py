"""`--set FIELD=VALUE` what-ifs (re-lowered from the plan's text, a bad one located in the option),
`--quiet` and `--verbose` on check, compile and search, and `--search-budget` named alike on all
three (`search --budget` kept, hidden). Outputs go to temporary directories only."""

from __future__ import annotations

import json

import pytest

from dagc.cli.main import main
from dagc.diagnostics import PlanError
from dagc.lang.overrides import SET_SOURCE, load_plan_with
from conftest import EXAMPLES, plan_text

MIXTRAL = str(EXAMPLES / "mixtral-8x7b-1node.moe")
QWEN = str(EXAMPLES / "qwen3-30b-a3b-4gpu.moe")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def set_error(plan, *options: str):
    """The one diagnostic of loading `plan` with `options`."""
    with pytest.raises(PlanError) as exc:
        load_plan_with(plan, options)
    (d,) = exc.value.diagnostics
    return d


# ------------------------------------------------------------------ --set: good

@pytest.mark.parametrize("option, read", [
    ("workload.batch=256", lambda p: p.workload.batch == 256),
    ("workload.batch = 32", lambda p: p.workload.batch == 32),
    ("workload.serving=inflight", lambda p: p.workload.serving.value == "inflight"),
    ("workload.speculative.tokens=2", None),        # a block the plan lacks: added, then checked (E103 here)
    ("cluster.gpus=16", lambda p: p.cluster.gpus == 16),
    ("cluster.gpu=h200", lambda p: p.cluster.gpu.name == "h200"),
    ("cluster.efficiency.compute=50 %", lambda p: p.cluster.efficiency.compute == 0.5),
    ("cluster.inter_node=50 GB/s", lambda p: p.cluster.inter_node_bytes_per_s == 50e9),
    ("model=qwen3-30b-a3b", lambda p: p.model.name == "qwen3-30b-a3b"),
    ("model.layers=8", lambda p: p.model.layers == 8),
    ("require.ttft=1 s", lambda p: [(r.kind.value, r.op, r.target) for r in p.requirements] == [("ttft", "<=", 1.0)]),
    ("require.tpot=20 ms", lambda p: any(r.kind.value == "tpot" for r in p.requirements)),
    ("objective=ttft", lambda p: p.objective == "ttft"),
])
def test_a_field_is_set_by_its_dotted_path(option, read, write_plan):
    path = write_plan(plan_text(require="require { ttft <= 2 s }"))
    if read is None:
        with pytest.raises(PlanError) as exc:
            load_plan_with(path, [option])
        assert {d.code for d in exc.value.diagnostics} == {"E103"}
        assert {d.span.source.path for d in exc.value.diagnostics} == {SET_SOURCE}
        return
    plan = load_plan_with(path, [option])
    assert read(plan), option
    assert plan.name == "plan"                     # the same plan, its output directory unchanged


def test_overrides_leave_the_rest_of_the_plan_as_written(write_plan):
    path = write_plan(plan_text(require="require { ttft <= 2 s  memory <= 90 % }"))
    base = load_plan_with(path, [])
    plan = load_plan_with(path, ["workload.batch=8", "require.ttft=3 s", "cluster.gpu=h200"])
    assert (plan.workload.batch, plan.cluster.gpu.name) == (8, "h200")
    assert [r.target for r in plan.requirements] == [3.0, base.requirements[1].target]
    assert plan.workload.prompt == base.workload.prompt and plan.strategies[0].text == base.strategies[0].text
    assert plan.model == base.model


def test_a_requirement_the_plan_lacks_is_added_with_its_direction(write_plan):
    plan = load_plan_with(write_plan(plan_text()), ["require.decode_throughput=10 tokens/s/gpu"])
    (r,) = plan.requirements
    assert (r.kind.value, r.op) == ("decode_throughput", ">=")


def test_check_prints_the_override_and_uses_it(capsys):
    code, out, _ = run(capsys, "check", MIXTRAL, "--no-search", "--set", "workload.batch=256")
    assert "overrides (--set, not in the plan): workload.batch=256" in out
    assert "batch 256 ×" in out
    code, out, _ = run(capsys, "check", MIXTRAL, "--no-search", "--format", "json", "--set", "workload.batch=16")
    report = json.loads(out)
    assert isinstance(report, list) and code in (0, 1)


# ------------------------------------------------------------------ --set: bad, located in the option

@pytest.mark.parametrize("option, code, caret, hint", [
    ("workload.bacth=256", "E101", "bacth", "did you mean `batch`?"),
    ("workload.batch=2k", "E101", "k", "`2k` is not read as a number: write `--set workload.batch=2000`"),
    ("workload.batch=0", "E104", "0", "write `--set workload.batch=1` or more"),
    ("cluster.gpu=h200-sxm", "E101", "h200-sxm", "did you mean `h200`? (the SXM module)"),
    ("cluster.inter_node=400 Gb/s", "E101", "Gb/s", "`Gb/s` is gigabits per second, 8 bits a byte"),
    ("cluster.gpus=8 ms", "E102", "ms", "for example `--set cluster.gpus=16`"),
    ("worklaod.batch=4", "E101", "worklaod", "did you mean `workload`?"),
    ("workload.batch", "E001", "workload.batch", "a plan field by its dotted path"),
    ("workload=4", "E104", "workload=4", "e.g. --set workload.batch=…"),
    # an acceptance above 1 is a length: the tokens a step emits per request, `accept_length`
    ("workload.speculative.acceptance=1.5", "E104", "1.5", "a drafted token's odds of acceptance; 1.5 "
     "tokens a step: `--set workload.speculative.accept_length=1.5`"),
    ("workload.speculative.acceptance=90", "E104", "90", "did you mean `--set 'workload.speculative.acceptance=90 %'`"),
    # a preset is chosen by its name, not a `preset` field (no brace was written: none is said)
    ("cluster.gpu.preset=b200", "E104", "cluster.gpu.preset=b200", "--set cluster.gpu=b200"),
    ("model.preset=qwen3-30b-a3b", "E104", "model.preset=qwen3-30b-a3b", "--set model=qwen3-30b-a3b"),
    # nor the plan's keyword before the name, as the plan writes `gpu preset "h200"`: until 2026-11-30 "a number with
    # its unit, a name or a quoted string …" (quoted) and "unknown GPU preset `preset h200`" (bare)
    ('cluster.gpu=preset "h200"', "E001", "preset", "name the preset alone: --set cluster.gpu=h200"),
    ("cluster.gpu=preset h200", "E001", "preset", "name the preset alone: --set cluster.gpu=h200"),
    ('model=preset "qwen3-30b-a3b"', "E001", "preset", "name the preset alone: --set model=qwen3-30b-a3b"),
    # a strategy is no field: until 2026-11-30 "expected one of: `model`, `cluster`, …", none of which sets it
    ("strategy=tp 4", "E101", "strategy", "a strategy is given by `--strategy 'tp 4'` (check, compile, launch)"),
])
def test_a_bad_override_gets_the_plans_own_diagnostic_in_the_option(option, code, caret, hint, write_plan):
    d = set_error(write_plan(plan_text()), option)
    assert d.code == code and d.span is not None
    assert d.span.source.path == SET_SOURCE and d.span.source.text == option
    assert d.span.text == caret and d.hint is not None and d.hint.startswith(hint), (d.span.text, d.hint)


def test_the_preset_the_hint_names_is_taken(write_plan):
    """The option `--set cluster.gpu=preset "h200"`'s hint gives is one dagc reads, and sets the GPU."""
    path = write_plan(plan_text())
    hint = set_error(path, 'cluster.gpu=preset "h200"').hint
    assert load_plan_with(path, [hint.rsplit("--set ", 1)[1]]).cluster.gpu.name == "h200"


@pytest.mark.parametrize("option, meant, target", [
    ("require.ttft<=1 s", "require.ttft=1 s", 1.0),             # the plan's own `ttft <= 1 s`, pasted
    ("require.tpot < 40 ms", "require.tpot=40 ms", 0.040),
    ("require.ttft>=2 s", "require.ttft=2 s", 2.0),
])
def test_a_requirement_written_with_its_comparison_gets_the_option_that_sets_it(option, meant, target, write_plan):
    """Until 2026-11-29 its hint was the general one, "a plan field by its dotted path and a value …"."""
    path = write_plan(plan_text(require="require { ttft <= 3 s }"))
    d = set_error(path, option)
    assert d.code == "E001" and d.span is not None and d.span.text == option
    assert d.hint is not None and d.hint.startswith(f"a requirement is set by its target alone: --set '{meant}' ")
    (req,) = [r for r in load_plan_with(path, [meant]).requirements if r.text.startswith(meant.split(".")[1][:4])]
    assert (req.op, req.target) == ("<=", pytest.approx(target))


# A value is one value: put into the plan's text, a `#`, a brace, a quote or a second field would change
# more than the field (`require.ttft=2 s #` commented out the rest of the plan's line, `tpot <= 1 ms` with it).
@pytest.mark.parametrize("option, caret", [
    ("require.ttft=2 s #", "#"),
    ('model=mixtral-8x7b" { layers = 1 } #', '" { layers = 1 } #'),
    ("workload.batch=16  prefix = 10", "prefix = 10"),
    ("require.ttft=2 s  gpus <= 1", "gpus <= 1"),
    ("workload.batch=16 }", "}"),
    ("objective=ttft # cost", "# cost"),
    ('cluster.gpu=h200" }', '" }'),
])
def test_a_value_that_is_more_than_one_value_is_refused_in_the_option(option, caret, capsys, write_plan):
    path = write_plan(plan_text(model='model preset "mixtral-8x7b"', require="require { ttft <= 2 s  tpot <= 1 ms\n}"))
    d = set_error(path, option)
    assert d.code == "E001" and d.span is not None and d.span.source.path == SET_SOURCE
    assert d.span.text == caret and "one value" in d.message and "its own --set" in (d.hint or "")
    code, out, err = run(capsys, "check", str(path), "--no-search", "-q", "--set", option)
    assert code == 4 and out == "" and "--set:1:" in err and "error[E001]" in err
    assert f"{path}:" not in err


@pytest.mark.parametrize("option", ["workload.batch=16", "require.ttft=2 s", "workload.rate=4 requests/s",
                                    "model.weights=fp8", "cluster.gpus=32", "model=mixtral-8x7b",
                                    'model="mixtral-8x7b"', "cluster.efficiency.compute=50 %",
                                    "require.decode_throughput=10 tokens/s/gpu"])
def test_a_value_alone_is_still_taken(option, write_plan):
    path = write_plan(plan_text(model='model preset "mixtral-8x7b"', require="require { ttft <= 2 s  tpot <= 1 ms\n}"))
    plan = load_plan_with(path, [option])
    assert plan.overrides and any(r.kind.value == "tpot" for r in plan.requirements)


def test_a_path_set_twice_is_refused(write_plan):
    d = set_error(write_plan(plan_text()), "workload.batch=4", "workload.batch=8")
    assert d.code == "E104" and d.span.text == "workload.batch=8" and "workload.batch=4" in d.hint


def test_the_command_line_names_the_option_and_exits_as_for_the_plan(capsys, tmp_path):
    code, out, err = run(capsys, "check", MIXTRAL, "--no-search", "--set", "workload.batch=2k")
    assert code == 4 and out == ""
    assert "--set:1:17: error[E101]: unknown unit `k`" in err and " 1 | workload.batch=2k" in err
    code, _, err = run(capsys, "search", QWEN, "--svg", str(tmp_path / "p.svg"), "--set", "cluster.gpuz=4")
    assert code == 4 and "--set:1:9: error[E101]: unknown field `gpuz` in cluster" in err


# ------------------------------------------------------------------ --quiet, --verbose

def test_quiet_check_prints_the_verdicts_alone_with_the_same_exit_code(capsys):
    loud, full, _ = run(capsys, "check", MIXTRAL, "--no-search")
    code, out, err = run(capsys, "check", MIXTRAL, "--no-search", "--quiet")
    assert code == loud
    lines = out.splitlines()
    assert len(lines) == 2 and all(line.startswith("strategy ") and " · optimal not judged" in line for line in lines)
    assert lines[0] == "strategy tensor = tp 8: correct yes · meets requirements yes · optimal not judged"


def test_quiet_check_sends_errors_to_stderr(capsys):
    code, out, err = run(capsys, "check", MIXTRAL, "--no-search", "-q", "--strategy", "tp 3")
    assert code == 3 and out.startswith("strategy tp 3: correct no") and "error[E" in err


def test_verbose_check_says_what_the_search_examined(capsys):
    code, out, _ = run(capsys, "check", QWEN, "--verbose")
    assert "\nsearch: " in out and " strategies examined" in out
    _, out, _ = run(capsys, "check", QWEN)
    assert "\nsearch: " not in out


def test_quiet_and_verbose_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", MIXTRAL, "-q", "-v"])
    assert exc.value.code == 2


def test_quiet_compile_writes_everything_and_prints_the_verdicts(capsys, tmp_path):
    code, out, _ = run(capsys, "compile", QWEN, "--no-search", "-q", "-o", str(tmp_path / "out"))
    assert code == 0 and all(line.startswith("strategy ") for line in out.splitlines()) and "wrote" not in out
    assert (tmp_path / "out" / "report.md").exists()


def test_verbose_compile_prints_each_strategys_check_first(capsys, tmp_path):
    _, out, _ = run(capsys, "compile", QWEN, "--no-search", "-v", "-o", str(tmp_path / "out"))
    assert "verdict: correct: yes" in out and out.index("verdict: correct") < out.index("wrote ")


def test_quiet_search_prints_the_best_strategy(capsys, tmp_path):
    code, out, _ = run(capsys, "search", QWEN, "-q", "--svg", str(tmp_path / "p.svg"))
    assert code == 0 and len(out.splitlines()) == 1 and out.startswith("best: ")
    assert "GPU" in out and out.rstrip().endswith(("meets requirements: yes", "meets requirements: no"))


def test_the_search_budget_has_one_name_and_the_old_one_still_works(capsys, tmp_path):
    svg = str(tmp_path / "p.svg")
    for option in ("--search-budget", "--budget"):
        code, out, _ = run(capsys, "search", QWEN, "-q", "--svg", svg, option, "60")
        assert code == 0 and out.startswith("best: ")
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    helped = capsys.readouterr().out
    assert "--search-budget S" in helped and "--budget" not in helped


def test_the_reports_name_the_overrides_they_are_for(tmp_path, capsys):
    code, _, _ = run(capsys, "compile", str(EXAMPLES / "mixtral-8x7b-1node.moe"), "-o", str(tmp_path / "out"),
                     "--no-search", "--set", "workload.batch=32")
    assert code in (0, 1)
    reports = sorted((tmp_path / "out").glob("*/report.json"))
    assert reports and all(json.loads(p.read_text())["overrides"] == ["workload.batch = 32"] for p in reports)
    assert all("Overrides (`--set`, not in the plan): `workload.batch = 32`" in p.with_suffix(".md").read_text()
               for p in reports)
    assert all(json.loads(p.read_text())["workload"]["batch"] == 32 for p in reports)


def test_two_fields_of_a_preset_without_a_block_go_into_one_new_block(write_plan):
    plan = load_plan_with(MIXTRAL, ["model.weights=fp8", "model.kv_cache=fp8"])
    assert plan.model.weights.value == "fp8" and plan.model.kv_cache.value == "fp8"
    with pytest.raises(PlanError) as err:                    # the second's diagnostic is still its own
        load_plan_with(MIXTRAL, ["model.weights=fp8", "model.kv_cache=fp9"])
    (d,) = err.value.diagnostics
    assert d.code == "E101" and d.span.source.path == SET_SOURCE and d.span.text == "fp9"


def test_a_rule_diagnostic_on_a_line_a_set_changed_says_the_line_is_the_sets(tmp_path):
    """`--set workload.chunk=16` writes `chunk = 16` into the workload's line; E307, found after the plan is read,
    quotes that line as the options make it — and says so, since the file has no `chunk` there. A diagnostic on a
    line the options left alone says nothing of them."""
    from dagc.diagnostics import render
    from dagc.lang.overrides import load_plan_with
    from dagc.verdict.check import check
    path = tmp_path / "p.moe"
    path.write_text('model preset "qwen3-30b-a3b"\ncluster { gpus = 4  gpu preset "h200" }\n'
                    "workload { batch = 64  prompt = 2000  generate = 300  serving = inflight }\n"
                    "strategy dep = tp 1 ; ep 4\n")
    (r,) = check(load_plan_with(path, ["workload.chunk=16"]))
    e307 = next(d for d in r.diagnostics if d.code == "E307")
    text = render(e307)
    assert "chunk = 16" in text
    assert "= note: this line is shown with --set workload.chunk=16 applied, not as the file has it" in text
    other = next(d for d in r.diagnostics if d.span is not None and d.span.line == 4)      # the strategy's line
    assert "= note:" not in render(other)


def test_a_set_that_adds_a_line_is_not_said_to_replace_one(tmp_path, capsys):
    """`--set require.gpus=8` on a plan without a `gpus` requirement adds one: report.md said "With `--set` what-ifs in
    place of the plan's own values: `require.gpus = 8`", a value the plan never had (trial14); now as the terminal's
    line says it, "overrides (--set, not in the plan)"."""
    code, _, _ = run(capsys, "compile", str(EXAMPLES / "mixtral-8x7b-1node.moe"), "-o", str(tmp_path / "out"),
                     "--no-search", "--set", "require.gpus=8")
    assert code in (0, 1)
    reports = sorted((tmp_path / "out").glob("*/report.md"))
    assert reports and all("Overrides (`--set`, not in the plan): `require.gpus = 8`." in p.read_text()
                           and "in place of the plan's own values" not in p.read_text() for p in reports)
