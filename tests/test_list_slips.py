"""Lists of values written as other languages write them, and blocks without a name, get hints that write the
line as dagc reads it (dagc.lang.list_slips, through dagc.lang.syntax_errors): `gpus = [1 2 4]` was told to
"remove" the 2, `[1..4]` and `[1-4]` that "fields are written `name = value`", `gpus = 1, 2, 4` and `model { … }`
hints that named nothing they had written."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.fleet import fleet_plans, load_fleet
from dagc.lang.load import load_plan
from conftest import plan_text

FLEET = 'fleet {{\n  gpu preset "h100-sxm" {{ price = 2.49 $/h }}\n  {}\n}}'


def e001(tmp_path, **parts: str):
    path = tmp_path / "plan.moe"
    path.write_text(plan_text(**parts))
    with pytest.raises(PlanError) as exc:
        load_plan(path)
    (d,) = exc.value.diagnostics
    assert d.code == "E001"
    return d


@pytest.mark.parametrize(("line", "shown", "message", "hint"), [
    ("gpus = [1 2 4]", "2", "unexpected `2` in the list of `gpus`", "separate the values with `,`: `gpus = [1, 2, 4]`"),
    ("engine = [vllm sglang]", "sglang", "unexpected `sglang` in the list of `engine`",
     "separate the values with `,`: `engine = [vllm, sglang]`"),
    ("gpus = [1; 2]", ";", "unexpected `;` in the list of `gpus`", "separate the values with `,`: `gpus = [1, 2]`"),
    ("gpus = [1..4]", ".4", "unexpected `.4` in the list of `gpus`",
     "a run of whole numbers is written with commas around `...`, the first two values giving the step: "
     "`gpus = [8, 16, ..., 64]`"),
    ("gpus = [1-4]", "-4", "unexpected `-4` in the list of `gpus`", None),
    ("gpus = [1 ... 4]", "...", "unexpected `...` in the list of `gpus`", None),
    ("gpus = 1, 2, 4", ",", "unexpected `,` after `gpus =`", "a fleet sweeps a list in brackets: `gpus = [1, 2, 4]`"),
    ("engine = vllm, sglang", ",", "unexpected `,` after `engine =`",
     "a fleet sweeps a list in brackets: `engine = [vllm, sglang]`"),
    ("gpus = (1, 2, 4)", "(", "unexpected `(` after `gpus =`", "a fleet sweeps a list in brackets: `gpus = [1, 2, 4]`"),
    ("gpus = [1, 2, 4", "}", "unexpected `}` in the list of `gpus`", "close the list with `]` on its line: "
     "`gpus = [1, 2, 4]`"),
])
def test_a_fleet_list_written_otherwise(tmp_path, line, shown, message, hint):
    d = e001(tmp_path, strategy="strategy tp 8\n" + FLEET.format(line))
    assert d.message == message and d.span.text == shown
    assert d.hint == (hint or "a run of whole numbers is written with commas around `...`, the first two values "
                      "giving the step: `gpus = [8, 16, ..., 64]`")


@pytest.mark.parametrize(("cluster", "shown"), [
    ('cluster { gpus = [8, 16]  gpu preset "h100-sxm"  engine = pytorch }', "["),
    ('cluster { gpus = 8, 16  gpu preset "h100-sxm"  engine = pytorch }', ","),
])
def test_several_values_in_a_cluster_are_a_fleet_sweep(tmp_path, cluster, shown):
    d = e001(tmp_path, cluster=cluster)
    assert d.message == f"unexpected `{shown}` after `gpus =`" and d.span.text == shown
    assert d.hint == ("a field takes one value; to compare several, sweep them in a fleet: `fleet { gpus = [8, 16] }` "
                      "(docs/fleet.md)")


def test_several_values_in_a_workload_are_runs_or_mixes(tmp_path):
    d = e001(tmp_path, workload="workload { batch = 8, 16  prompt = 2048  generate = 256 }")
    assert d.message == "unexpected `,` after `batch =`"
    assert d.hint.startswith("a field takes one value: `batch = 8`; to compare several, run each "
                             "(`--set workload.batch=…`)")


def test_a_number_with_separators_keeps_its_own_hint(tmp_path):
    d = e001(tmp_path, workload="workload { batch = 64  prompt = 2,048  generate = 256 }")
    assert d.hint == "dagc reads a number without separators: `workload { batch = 64  prompt = 2048  generate = 256 }`"


@pytest.mark.parametrize(("part", "text", "hint"), [
    ("model", "model { layers = 4  hidden = 1024 }",
     'a model is `model preset "qwen3-30b-a3b"`, `model from "config.json"`, or one written out with its name: '
     '`model "my-moe" { layers = … }`'),
    ("cluster", "cluster { gpus = 8  gpu { memory = 80 GB }  engine = pytorch }",
     'a GPU is `gpu preset "h100-sxm"`, or one written out with its name: `gpu "my-gpu" { memory = … }`'),
])
def test_a_block_without_a_name_says_how_it_is_named(tmp_path, part, text, hint):
    d = e001(tmp_path, **{part: text})
    assert d.span.text == "{" and d.hint == hint


@pytest.mark.parametrize(("parts", "shown", "hint"), [
    ({"cluster": 'cluster { gpus = 8  gpu = "h100-sxm"  engine = pytorch }'}, "=",
     'a GPU is `gpu preset "h100-sxm"`, or one written out with its name: `gpu "my-gpu" { memory = … }`'),
    ({"cluster": 'cluster { gpus = 8  gpu "h200"  engine = pytorch }'}, "engine",
     'did you mean `gpu preset "h200"`? `gpu "NAME" { … }` is a GPU written out, with its figures'),
    ({"model": 'model = "mixtral-8x7b"'}, "=",
     'a model is `model preset "qwen3-30b-a3b"`, `model from "config.json"`, or one written out with its name: '
     '`model "my-moe" { layers = … }`'),
    ({"strategy": "strategy tp 8\n" + FLEET.format("mix { weight = 1 }")}, "{",
     'a traffic mix is named: `mix "chat" { weight = 0.8 }`'),
    ({"strategy": "strategy tp 8\n" + FLEET.format("gpu = [h100-sxm, h200]")}, "=",
     'a fleet names each GPU type with its price, one a line: `gpu preset "h100-sxm" { price = 2.49 $/h }`'),
])
def test_a_statement_written_another_way_says_its_form(tmp_path, parts, shown, hint):
    d = e001(tmp_path, **parts)
    assert d.span.text == shown and d.hint == hint


def test_a_list_of_rates_is_one_rate(tmp_path):
    path = tmp_path / "plan.moe"
    path.write_text(plan_text(strategy="strategy tp 8\n" + FLEET.format("rate = [4 requests/s, 8 requests/s]")))
    with pytest.raises(PlanError) as exc:
        load_fleet(path)
    # it was E101 "unknown field `rate`", hinted "did you mean `rate`?" (beside the E103: the workload has no rate)
    (d,) = [d for d in exc.value.diagnostics if d.code != "E103"]
    assert d.code == "E104" and d.span.text == "rate = [4 requests/s, 8 requests/s]"
    assert d.message == "the fleet's `rate` is one value, not a list: the clusters are compared at one rate"
    assert d.hint.startswith("write one, `rate = 8 requests/s`") and "did you mean" not in d.hint


def test_a_log_in_a_mix_points_at_the_workloads(tmp_path):
    """A mix reads no file: its hint was "write `requests = …`", as if the log were to be replaced by a count; each mix
    replays the workload's log at its own rate (here 50 of its requests at 6 requests/s)."""
    path = tmp_path / "plan.moe"
    path.write_text(plan_text(strategy="strategy tp 8\n" + FLEET.format('mix "peak" { requests from "t.csv" }')))
    with pytest.raises(PlanError) as exc:
        load_fleet(path)
    (d,) = [d for d in exc.value.diagnostics if d.code != "E103"]
    assert d.code == "E104" and d.message == "`requests` cannot be read from a file in fleet.mix"
    assert d.hint.startswith('a request log is the workload\'s, `workload { requests from "…" }`: each mix replays it')
    (tmp_path / "t.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "".join(
        f"2023-11-16 18:17:{i:02d}.0,100,10\n" for i in range(60)))
    path.write_text(plan_text(workload='workload { batch = 8  prompt = 100  generate = 10  serving = inflight  '
                                       'requests from "t.csv" }',
                              strategy="strategy tp 8\n" + FLEET.format('mix "peak" { rate = 6 requests/s  '
                                                                        'requests = 50 }')))
    _, fleet = load_fleet(path)[:2]
    ((_, plan),) = fleet_plans(path, fleet)
    traffic = plan.workload.traffic
    assert (traffic.requests, traffic.rate, len(traffic.log.arrival)) == (50, 6.0, 50)
