"""A manifest's `set` value the plan refuses is located in the manifest — its entry, the value's line and column —
and never echoed, as the manifest never is (dagc.calibrate.manifest_sets; docs/calibrate.md, "The manifest")."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.calibrate.manifest import jobs_of_manifest
from dagc.diagnostics import PlanError, render

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 256  prompt = 1024  generate = 128  serving = inflight  rate = 4 requests/s  requests = 200 }
require { ttft_p99 <= 2 s  tpot_p90 <= 50 ms }
strategy tp 2
"""
RUN = ('{"date":"20261120-101500","endpoint_type":"openai","backend":"vllm","label":null,'
       '"model_id":"Qwen/Qwen3-30B-A3B","tokenizer_id":"Qwen/Qwen3-30B-A3B","num_prompts":200,"request_rate":4.0,"burstiness":1.0,'
       '"max_concurrency":null,"duration":51.28,"completed":200,"failed":0,"total_input_tokens":204800,'
       '"total_output_tokens":25600,"request_throughput":3.9,"request_goodput":null,"output_throughput":499.23,'
       '"total_token_throughput":4493.08,"mean_ttft_ms":100.0,"median_ttft_ms":100.01,"std_ttft_ms":8.2,'
       '"p99_ttft_ms":120.49,"mean_tpot_ms":11.25,"median_tpot_ms":11.23,"std_tpot_ms":0.83,"p99_tpot_ms":13.28,'
       '"mean_itl_ms":11.25,"median_itl_ms":11.21,"std_itl_ms":1.4,"p99_itl_ms":14.73,"mean_e2el_ms":1528.8,'
       '"median_e2el_ms":1525.36,"std_e2el_ms":104.97,"p99_e2el_ms":1767.81}')


@pytest.fixture
def qwen(tmp_path: Path) -> Path:
    (tmp_path / "runs").mkdir()
    (tmp_path / "qwen.moe").write_text(PLAN)
    (tmp_path / "runs" / "vllm-rate4.json").write_text(RUN + "\n")
    return tmp_path


def refused(path: Path, more: int = 0):
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(path)
    d, *rest = exc.value.diagnostics
    assert len(rest) == more
    return d, "\n".join(render(x) for x in exc.value.diagnostics)


def test_a_json_manifests_set_value_is_located_in_it_unechoed(qwen: Path):
    text = ('{"plan":"qwen.moe","run":[{"file":"runs/vllm-rate4.json","set":["workload.rate=4 requests/s",'
            '"workload.prompt=\\"SECRET_Q\\""]}]}')
    (qwen / "man3.json").write_text(text)
    d, shown = refused(qwen / "man3.json")
    # was `--set:1:17: error[E102] … not "SECRET_Q"`, the option's text echoed under it
    assert d.code == "E102" and d.span.source.path.endswith("man3.json")
    # the value's string has escapes (`\"`): located at its opening quote, column 94 of line 1
    assert (d.span.line, d.span.column) == (1, text.index('"workload.prompt') + 1) == (1, 94)
    assert d.message == "run entry 1: a `set` value: `prompt` takes a plain number, not `…`"
    assert "SECRET" not in shown and "--set:" not in shown and "workload.rate=4" not in shown
    # an entry's `set` written before its `file`: its own string, not another entry's
    entry = '{"set":["workload.prompt=SECRET_Q"],"file":"runs/vllm-rate4.json"}'
    text = '{"plan":"qwen.moe","run":[' + entry.replace("SECRET_Q", "1024") + "," + entry + "]}"
    (qwen / "man3.json").write_text(text)
    d, shown = refused(qwen / "man3.json")
    assert d.message.startswith("run entry 2: a `set` value: ") and "SECRET" not in shown
    assert d.span.column == text.rindex('"workload.prompt=SECRET_Q"') + 1 + len("workload.prompt=") + 1


def test_a_toml_manifests_set_value_is_located_at_the_column_it_goes_wrong(qwen: Path):
    (qwen / "m.toml").write_text('plan = "qwen.moe"\n[[run]]\nfile = "runs/vllm-rate4.json"\n'
                                 'set = ["workload.rate=SECRET_SET requests/s"]\n')
    d, shown = refused(qwen / "m.toml")
    # `requests/s` follows the value: line 4, the string's quote at column 8, the option's column 26 → 8 + 26
    assert d.code == "E001" and (d.span.line, d.span.column) == (4, 34)
    assert d.message.startswith("run entry 1: a `set` value: --set takes one value; `…` follows")
    assert "SECRET" not in shown and "requests/s" not in d.message


def test_a_plan_line_a_manifests_value_wrote_is_located_not_echoed():
    from dagc.calibrate.manifest_sets import in_manifest
    from dagc.diagnostics import Diagnostic, Severity
    from dagc.source import SourceFile
    plan = SourceFile("qwen.moe", "workload { batch = 99999 }\n", overrides=("workload.batch=99999",),
                      original="workload { batch = 256 }\n")
    manifest = SourceFile("m.toml", 'set = ["workload.batch=99999"]\n', echo=False)
    d = Diagnostic("E402", Severity.ERROR, "`99999` requests do not fit", plan.span(0, 8), None)
    (out,) = in_manifest([d], manifest, 0, 1, ["workload.batch=99999"])
    shown = render(out)
    assert out.span.source.path == "qwen.moe" and (out.span.line, out.span.column) == (1, 1)
    assert "99999" not in shown and out.message == "`…` requests do not fit"


def test_a_run_listed_twice_in_a_manifest_is_refused_at_its_second_entry(qwen: Path):
    entry = '[[run]]\nfile = "runs/vllm-rate4.json"\nset = ["workload.rate=4 requests/s"]\n'
    (qwen / "m.toml").write_text('plan = "qwen.moe"\n' + entry + entry.replace('"runs/', '"./runs/') + entry)
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(qwen / "m.toml")
    # was "3 runs" and terms fitted on one measurement; both repeats are said in one run, each at its entry
    d, third = exc.value.diagnostics
    assert d.code == "E110" and (d.span.line, d.span.column) == (6, 8)      # its `file`
    assert d.message.startswith("run entry 2: run vllm-rate4.json is entry 1's too (the same file and run)")
    assert (third.span.line, third.span.column) == (9, 8) and third.message.startswith("run entry 3: run vllm-rate4")
    # the same file's other run (`run = 2` of a file of two) is another measurement
    (qwen / "runs" / "two.jsonl").write_text(RUN + "\n" + RUN.replace('"date":"20261120-101500"', '"date":"x"') + "\n")
    (qwen / "m.toml").write_text('plan = "qwen.moe"\n' + '[[run]]\nfile = "runs/two.jsonl"\nrun = 1\n'
                                 '[[run]]\nfile = "runs/two.jsonl"\nrun = 2\n')
    assert len(jobs_of_manifest(qwen / "m.toml")) == 2


def test_a_run_file_given_twice_on_the_command_line_is_refused(qwen: Path, monkeypatch: pytest.MonkeyPatch):
    from dagc.calibrate.manifest import jobs_of
    monkeypatch.chdir(qwen)
    with pytest.raises(PlanError) as exc:
        jobs_of(["runs/vllm-rate4.json", "runs/vllm-rate4.json", "./runs/vllm-rate4.json"], "qwen.moe")
    d, third = exc.value.diagnostics           # both repeats, in one run (as a manifest's)
    assert d.code == "E110" and d.span.source.path == "runs/vllm-rate4.json"
    assert d.message.startswith("run vllm-rate4.json is given twice (run files 1 and 2 are one file)")
    assert third.message.startswith("run vllm-rate4.json is given twice (run files 1 and 3 are one file)")
    assert (d.span.line, d.span.column) == (1, RUN.index('"num_prompts"') + 1)


@pytest.mark.parametrize("option, said", [
    ("SECRETX.y=1", "unknown statement `…` in --set"),
    ("gpus=SECRET_GPUS", "unknown statement `gpus` in --set"),     # a field of the plan: its hint names its path
    ("workload.SECRETF=3", "unknown field `…` in workload"),
    # an unknown field with a bad value: the unknown field first, then the value (docs/cli.md, `--set` errors)
    ("workload.SECRETF=SECRET # x", "unknown field `…` in workload"),
    ("model=SECRET_MODEL", "unknown model preset `…`"),
    ("require.ttft=SECRET s", "--set takes one value; `…` follows the value of `require.ttft`"),
])
def test_a_name_the_manifest_writes_is_not_shown_but_a_plans_field_is(qwen: Path, option, said):
    (qwen / "m.toml").write_text(f'plan = "qwen.moe"\n[[run]]\nfile = "runs/vllm-rate4.json"\nset = ["{option}"]\n')
    d, shown = refused(qwen / "m.toml", more=int("#" in option))
    assert d.message == f"run entry 1: a `set` value: {said}" and "SECRET" not in shown
    assert d.span.line == 4 and d.span.source.path.endswith("m.toml")


def test_a_set_values_hint_is_written_as_the_manifest_writes_it(qwen: Path):
    """The hints name a `set` list's element, `"workload.prompt=16"`, not a command line's `--set` option."""
    (qwen / "m.toml").write_text('plan = "qwen.moe"\n[[run]]\nfile = "runs/vllm-rate4.json"\n'
                                 'set = ["workload.prompt=abc"]\n')
    d, shown = refused(qwen / "m.toml")
    assert d.code == "E102" and d.hint == 'for example `"workload.prompt=16"`' and "--set" not in shown
    (qwen / "m.toml").write_text('plan = "qwen.moe"\n[[run]]\nfile = "runs/vllm-rate4.json"\n'
                                 'set = ["workload.prompt"]\n')
    d, shown = refused(qwen / "m.toml")
    assert d.code == "E001" and d.message == 'run entry 1: a `set` value: not of the form "FIELD=VALUE"'
    assert '"workload.batch=256"' in d.hint and "--set" not in shown


def test_a_set_list_copied_from_the_command_line_is_said_whole(qwen: Path):
    """`set = ["--set", "…"]`: the element `--set` is the value, and the option's own words are no piece of it."""
    (qwen / "m.toml").write_text('plan = "qwen.moe"\n[[run]]\nfile = "runs/vllm-rate4.json"\n'
                                 'set = ["--set", "workload.rate=4 requests/s"]\n')
    d, shown = refused(qwen / "m.toml")
    # was `a `set` value: … takes FIELD=VALUE` and `e.g. … workload.batch=256 or … require.ttft='2 s'`
    assert d.code == "E001" and (d.span.line, d.span.column) == (4, 9)
    assert d.message == 'run entry 1: a `set` value: not of the form "FIELD=VALUE"'
    assert d.hint == ('a plan field by its dotted path and a value written as in the plan, e.g. '
                      '"workload.batch=256" or "require.ttft=2 s"')


def test_a_value_without_its_unit_is_hinted_with_the_unit_and_the_value_hidden(qwen: Path):
    (qwen / "m.toml").write_text('plan = "qwen.moe"\n[[run]]\nfile = "runs/vllm-rate4.json"\n'
                                 'set = ["workload.rate=4"]\n')
    d, shown = refused(qwen / "m.toml")
    # was `write it with a unit, e.g. `…``: the example, which holds the value, hidden whole
    assert d.code == "E102" and d.message == "run entry 1: a `set` value: `rate` takes an arrival rate: `…` has no unit"
    assert d.hint == 'write it with a unit, e.g. `"workload.rate=… requests/s"`'
    (qwen / "m.toml").write_text('plan = "qwen.moe"\n[[run]]\nfile = "runs/vllm-rate4.json"\n'
                                 'set = ["workload.rate=4 requests/s", "require.ttft_p99=7"]\n')
    d, shown = refused(qwen / "m.toml")
    assert d.hint == 'write it with a unit: `"require.ttft_p99=… ms"`, or `"require.ttft_p99=… s"`'
    assert "7" not in d.hint and "7" not in d.message


def test_a_field_without_its_block_is_hinted_with_its_value_hidden(qwen: Path):
    """The command line's hint, `--set workload.rate=4 requests/s` unquoted, is one option: written as a `set`
    element its value stays out, as a whole (not `"workload.rate=4" requests/s`, the value's number shown)."""
    (qwen / "m.toml").write_text('plan = "qwen.moe"\n[[run]]\nfile = "runs/vllm-rate4.json"\n'
                                 'set = ["rate=4 requests/s"]\n')
    d, shown = refused(qwen / "m.toml")
    assert d.code == "E101" and d.hint == "`rate` is a field of the workload: `…`"


@pytest.mark.parametrize("manifest, message, hint", [
    # was "`run entry 1: set` is not a list of …", the entry's name in the key's backquotes, and the manifest's form
    ('[[run]]\nfile = "runs/vllm-rate4.json"\nset = "workload.rate=4 requests/s"\n',
     "run entry 1: `set` is a string, not a list",
     'write it in brackets, a list of "FIELD=VALUE" strings: `set = ["workload.rate=4 requests/s"]`'),
    ('set = ["workload.rate=4 requests/s", 4]\n[[run]]\nfile = "runs/vllm-rate4.json"\n',
     'the manifest\'s `set` is not a list of "FIELD=VALUE" strings',
     'a manifest is `[[run]]` tables of `file`, `plan`, `set` (a list of "FIELD=VALUE"), `strategy` and `run` '
     '(docs/calibrate.md)'),
])
def test_a_set_that_is_no_list_of_strings_is_said_whose_it_is(qwen: Path, manifest, message, hint):
    (qwen / "m.toml").write_text('plan = "qwen.moe"\n' + manifest)
    d, shown = refused(qwen / "m.toml")
    assert (d.code, d.message, d.hint) == ("E110", message, hint)
    assert d.span.column == 7 and "workload.rate=4 requests/s\"\n" not in shown
