"""A request log of one's own service, as a new user first gives it (trial 46): its own column names, epoch times,
`+0000` offsets. dagc reads Azure's CSV and Mooncake's JSON lines only, so each refusal must say what to do — which of
the user's columns goes where, that epoch seconds are not read and what is — and docs/language.md's conversion recipe
must make a log dagc reads. Also `--allow-path`, which every file a plan names is read under, not `model from` alone.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from dagc.lang.azure_log import azure_log
from dagc.lang.log_fields import LogError
from dagc.lang.request_log import parse_request_log

DOCS = Path(__file__).resolve().parent.parent / "docs"
HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens"


def refused(lines: list[str]) -> LogError:
    with pytest.raises(LogError) as exc:
        azure_log(lines, "service.csv")
    return exc.value


@pytest.mark.parametrize("header", ["request_id,arrived_at,prompt_tokens,completion_tokens",
                                    "TIMESTAMP,ContextTokens,GeneratedTokens,request_id", "TIMESTAMP,ContextTokens"])
def test_a_header_of_ones_own_says_which_column_holds_what(header):
    # until 2026-11-30: "the header is `TIMESTAMP,ContextTokens,GeneratedTokens`", leaving the user to guess that
    # ContextTokens is the prompt, and that a column of their own (a request id) must go
    e = refused([header, "x"])
    assert e.line == 1
    assert "arrival time `TIMESTAMP`" in e.hint and "prompt's tokens `ContextTokens`" in e.hint
    assert "output's tokens `GeneratedTokens`" in e.hint and "drop its other columns" in e.hint


@pytest.mark.parametrize(("stamp", "line"), [("1762074000.5", 2), ("1762074000500", 2), ("2023", 2)])
def test_an_epoch_time_is_said_to_be_a_number_and_what_to_write(stamp, line):
    # until 2026-11-30: "not a date and time", its hint a date to write, as if the number had been mistyped
    e = refused([HEADER, f"{stamp},100,10", f"{stamp},100,10"])
    assert (e.line, e.message) == (line, "`TIMESTAMP` is a bare number, not a date and time")
    assert "no epoch seconds or milliseconds" in e.hint and "Mooncake JSON lines" in e.hint
    assert "1678 to 2261" in e.hint


def test_a_date_that_does_not_read_is_not_called_a_number():
    e = refused([HEADER, "2026/11/02 09:00:00,100,10"])
    assert e.message == "`TIMESTAMP` is not a date and time (with a UTC offset if the first line's has one)"


def test_an_offset_without_a_colon_is_read_as_its_hours_and_minutes():
    # `+0000`, as strftime's %z writes it: until 2026-11-30 "not a date and time"
    log = azure_log([HEADER, "2026-11-02T09:00:00+0000,100,10", "2026-11-02T10:00:01.5+0100,100,10",
                     "2026-11-02 04:00:03-0500,100,10"], "service.csv")
    assert log.arrival.tolist() == [0.0, 1.5, 3.0]


def test_an_azure_date_far_away_is_not_told_of_mooncakes_milliseconds():
    e = refused([HEADER, "1969-12-31 23:59:59,100,10", "2026-01-01 00:00:00,100,10"])
    assert e.line == 3 and "Mooncake" not in e.hint and "check its date" in e.hint
    with pytest.raises(LogError) as exc:          # a Mooncake time in seconds is still told of its unit
        parse_request_log(b'{"timestamp": 0, "input_length": 9, "output_length": 9}\n'
                          b'{"timestamp": 2000000000000, "input_length": 9, "output_length": 9}\n', "t.jsonl")
    assert "milliseconds" in exc.value.hint


def test_the_docs_recipe_makes_a_log_dagc_reads(tmp_path):
    # docs/language.md, "A log of your own service": its Python, run on a service's log of epoch times, out of order
    text = (DOCS / "language.md").read_text()
    at = text.index("**A log of your own service.**")
    recipe = re.search(r"```python\n(.*?)```", text[at:], re.S)
    assert recipe is not None
    (tmp_path / "service.csv").write_text("request_id,arrived_at,prompt_tokens,completion_tokens,route\n"
                                          "b,1762074001.25,700,90,chat\na,1762074000.5,1200,300,chat\n"
                                          "c,1762074003.5,40,7,code\n")
    subprocess.run([sys.executable, "-c", recipe.group(1)], cwd=tmp_path, check=True)
    log = parse_request_log((tmp_path / "requests.csv").read_bytes(), "requests.csv")
    assert log.arrival.tolist() == [0.0, 0.75, 3.0]
    assert log.prompt.tolist() == [1200, 700, 40] and log.output.tolist() == [300, 90, 7]


def test_allow_path_says_it_reads_a_request_log_too():
    from dagc.cli.parser import build_parser
    helps = {a.help for p in build_parser()._subparsers._group_actions[0].choices.values()  # type: ignore[union-attr]
             for a in p._actions if "--allow-path" in a.option_strings}
    assert helps and all(h is not None and "`requests from`" in h for h in helps)


@pytest.mark.parametrize(("sep", "said"), [("\t", "tabs"), (";", "semicolons")])
@pytest.mark.parametrize("quote", ["", '"'])
def test_a_log_separated_by_tabs_or_semicolons_is_told_so(sep, said, quote):
    # a TSV, or a CSV as a spreadsheet writes it where the decimal mark is a comma: until 2026-11-30 "the header's
    # column 1 is no column of an Azure log", and (since this morning) a hint to rename columns already right
    row = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"], ["2026-01-01 00:00:00", "100", "10"]
    data = "".join(sep.join(f"{quote}{c}{quote}" for c in r) + "\n" for r in row).encode()
    with pytest.raises(LogError) as exc:
        parse_request_log(data, "service.csv")
    assert (exc.value.line, exc.value.message) == (1, f"the header's fields are separated by {said}, not commas")
    assert "comma-separated" in exc.value.hint


@pytest.mark.parametrize("header", ["KEY=value", "a;b", "x\ty"])
def test_a_file_that_is_no_log_is_still_not_told_of_its_separators(header):
    assert refused([header, "1"]).message == "the header's column 1 is no column of an Azure log"


def test_a_json_field_of_ones_own_says_which_mooncake_field_holds_what():
    with pytest.raises(LogError) as exc:
        parse_request_log(b'{"ts": 0, "prompt_tokens": 100, "completion_tokens": 10}\n', "service.jsonl")
    e = exc.value
    assert (e.line, e.message) == (1, "a field is no field of a Mooncake log")   # never the field's name (issue 52)
    assert '"input_length" (the prompt\'s tokens)' in e.hint and '"output_length" (the output\'s tokens)' in e.hint
    assert "drop the others" in e.hint


@pytest.mark.parametrize("text", ['[{"timestamp": 0, "input_length": 100, "output_length": 10}]\n',
                                  '[\n  {"timestamp": 0, "input_length": 100, "output_length": 10}\n]\n'])
def test_a_json_array_is_told_to_be_written_one_object_a_line(text):
    # `json.dump(records)` writes an array: until 2026-11-30 line 1 "is not one JSON object"
    with pytest.raises(LogError) as exc:
        parse_request_log(text.encode(), "service.json")
    e = exc.value
    assert (e.line, e.message) == (1, "is a JSON array: a Mooncake log is JSON lines, one object a line")
    assert "jq -c '.[]'" in e.hint


def test_epoch_milliseconds_in_a_mooncake_log_are_read_as_the_gaps_between_them():
    # the epoch hint of an Azure log offers this: it must hold
    log = parse_request_log(b'{"timestamp": 1762074000500, "input_length": 100, "output_length": 10}\n'
                            b'{"timestamp": 1762074001750, "input_length": 100, "output_length": 10}\n', "s.jsonl")
    assert log.arrival.tolist() == [0.0, 1.25]


def plan_error(tmp_path, path: str):
    from dagc import PlanError, load_plan
    from conftest import plan_text
    (tmp_path / "logs").mkdir(parents=True, exist_ok=True)
    plan = tmp_path / "plan.moe"
    plan.write_text(plan_text(workload="workload { batch = 8  prompt = 2048  generate = 64  serving = inflight  "
                                       f'requests from "{path}" }}'))
    with pytest.raises(PlanError) as exc:
        load_plan(plan)
    (d,) = exc.value.diagnostics
    return d


@pytest.mark.parametrize(("path", "said"), [
    ("logs", "request log `logs`: the path is a directory, not a request log"),
    ("logs/", "request log `logs/`: the path is a directory, not a request log"),
    ("logs/service.csv", "request log `logs/service.csv`: the file does not exist"),
    ("", '`requests from ""` names no file'),
    (" ", '`requests from ""` names no file')])
def test_a_log_path_that_names_no_log_is_said_as_the_plan_writes_it(tmp_path, path, said):
    # until 2026-11-30 the resolved file's name: `requests from ""` read "request log `<the plan's directory>`: the
    # path is a directory", and `logs/service.csv` was "request log `service.csv`"
    d = plan_error(tmp_path, path)
    assert (d.code, d.message, d.span.text) == ("E108", said, f'"{path}"')


def test_a_home_path_is_told_that_dagc_does_not_expand_it(tmp_path):
    d = plan_error(tmp_path, "~/service.csv")
    assert d.message == "request log `~/service.csv`: the file does not exist"
    assert "does not expand `~`" in d.hint and "--allow-path" in d.hint


def test_length_cv_with_a_prefix_is_the_spread_of_the_prompts_drawn_rest():
    # docs/language.md, "Lengths and a shared prefix": prompt 1500, prefix 300, length_cv 0.9 → the prompts' own
    # spread is 0.72 (1200 / 1500 of 0.9), the outputs' 0.9 — as a user's synthetic traffic showed
    import numpy as np

    from dagc.plan.workload import Traffic, Workload
    from dagc.serve.requests import request_lengths
    text = (DOCS / "language.md").read_text()
    assert "the prompts' own spread is 0.72, the outputs' 0.9" in text
    traffic = Traffic(requests=200_000, rate=1.0, lengths="lognormal", length_cv=0.9, prefix=300, seed=7)
    prompt, output = request_lengths(traffic, Workload(batch=8, prompt=1500, generate=250))
    assert prompt.mean() == pytest.approx(1500, abs=1) and output.mean() == pytest.approx(250, abs=1)
    assert float(np.std(prompt) / prompt.mean()) == pytest.approx(0.72, abs=0.02)
    assert float(np.std(output) / output.mean()) == pytest.approx(0.9, abs=0.03)


@pytest.mark.parametrize("link", ["service.csv", "logs/service.csv"])
def test_a_log_linked_beside_the_plan_is_told_it_leads_outside(tmp_path, link):
    # `ln -s /data/logs/service.csv .`: until 2026-11-30 told to "move the file beside the plan", where it was
    outside = tmp_path.parent / f"{tmp_path.name}-data"
    outside.mkdir()
    (outside / "service.csv").write_text(f"{HEADER}\n2026-01-01 00:00:00,100,10\n")
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    if link.startswith("logs/"):                 # a linked directory beside the plan, the log in it
        (plan_dir / "logs").symlink_to(outside)
    else:
        (plan_dir / link).symlink_to(outside / "service.csv")
    d = plan_error(plan_dir, link)
    assert (d.code, d.message) == ("E002", f"cannot read the request log `{link}`: it leads outside the plan's "
                                           "directory through a symbolic link")
    assert "--allow-path" in d.hint and "move the file beside the plan" not in d.hint
    d = plan_error(tmp_path / "again", "../plan/../../x.csv")   # no link: a path that is outside as written
    assert d.message.endswith("it is outside the plan's directory")


@pytest.mark.parametrize(("name", "text", "line"), [
    ("s.csv", f"{HEADER}\n2026-01-01 00:00:00,100,10\n\n", 3),          # a blank line at the end, as tools leave one
    ("s.csv", f"{HEADER}\n\n2026-01-01 00:00:00,100,10\n", 2),
    ("s.csv", f"{HEADER}\n2026-01-01 00:00:00,100,10\n  \n", 3),
    ("s.jsonl", '{"timestamp": 0, "input_length": 9, "output_length": 9}\n\n', 2)])
def test_an_empty_line_is_told_to_be_deleted(name, text, line):
    # until 2026-11-30 an empty line's hint restated the format, as if the line were a request written wrong
    with pytest.raises(LogError) as exc:
        parse_request_log(text.encode(), name)
    assert (exc.value.line, exc.value.message) == (line, "is empty")
    assert exc.value.hint.startswith("delete the empty line")


@pytest.mark.parametrize("second", ["", '{"timestamp": 5, "input_length": 100, "output_length": 10}\n'])
def test_a_field_written_twice_is_refused_at_its_line(second):
    # a new user's `{"timestamp": 0, "input_length": 100, "input_length": 200, …}` was read with the last value
    # (W536 said a mean prompt of 200), where `dagc calibrate` refuses the same in a run file: which value is the
    # request's cannot be told (since 2026-12-03), alone in the log or beside a plain line
    text = second + '{"timestamp": 6, "input_length": 100, "input_length": 200, "output_length": 10}\n'
    with pytest.raises(LogError) as exc:
        parse_request_log(text.encode(), "service.jsonl")
    e = exc.value
    assert (e.line, e.message) == (2 if second else 1, "writes a field twice: which value is the request's cannot "
                                   "be told")
    assert e.hint == "write each field once"
