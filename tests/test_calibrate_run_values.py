"""A run file's figure written in quotes (`"p99_ttft_ms": "650.0"`, `"num_prompts": "200"`) is told it is a string,
not a number (`dagc.calibrate.run_values`). It was told it "is not a positive number from 1e-06 up to 1e+12", which
650 is: a user looked for a wrong figure, not for the quotes. The value is never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_calibrate_manifest_sets import RUN

from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError, render

QUOTES = "is a string, not a number: the tools write their figures as JSON numbers, without quotes"


def _refused(tmp_path: Path, **change: object):
    (tmp_path / "run.json").write_text(json.dumps(json.loads(RUN) | change, indent=1))
    with pytest.raises(PlanError) as exc:
        read_runs(tmp_path / "run.json")
    (d,) = exc.value.diagnostics
    assert d.code == "E110"
    return d


@pytest.mark.parametrize(("field", "value"), [("p99_ttft_ms", "650.0"), ("mean_tpot_ms", "31.5"),
                                              ("num_prompts", "200"), ("output_throughput", "1234.5")])
def test_a_figure_in_quotes_is_told_it_is_a_string(tmp_path: Path, field: str, value: str):
    d = _refused(tmp_path, **{field: value})
    assert d.message == f"field `{field}` {QUOTES}"
    assert value not in render(d)


@pytest.mark.parametrize(("value", "kind"), [(True, "true or false"), ([1, 2], "a list"), ({"ms": 3}, "an object")])
def test_another_kind_of_value_is_named(tmp_path: Path, value: object, kind: str):
    d = _refused(tmp_path, mean_ttft_ms=value)
    assert d.message.startswith(f"field `mean_ttft_ms` is {kind}, not a number")


def test_a_number_out_of_range_keeps_its_words(tmp_path: Path):
    assert _refused(tmp_path, mean_ttft_ms=-5).message == \
        "field `mean_ttft_ms` is not a positive number from 1e-06 up to 1e+12"
    assert _refused(tmp_path, num_prompts=2.5).message == "field `num_prompts` is not a positive whole number"


def test_a_rate_in_quotes_is_told_it_is_a_string_and_inf_still_reads(tmp_path: Path):
    d = _refused(tmp_path, request_rate="20")
    assert d.message == 'field `request_rate` is a string other than "inf": a rate is a JSON number, without quotes ' \
                        '("inf", all at once, alone is quoted)'
    assert '"20"' not in render(d)
    assert _refused(tmp_path, request_rate=-1).message == \
        'field `request_rate` is not a rate in requests/s (a positive number, or "inf")'
    (tmp_path / "run.json").write_text(json.dumps(json.loads(RUN) | {"request_rate": "inf"}))
    (run,) = read_runs(tmp_path / "run.json")
    assert run.rate is None
