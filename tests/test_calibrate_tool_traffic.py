"""How the tools write a traffic dagc does or does not express, read as they write it.

SGLang's bench_serving (python/sglang/bench_serving.py, `benchmark`'s `result`) writes `"request_rate": "trace"` for a
run that replayed a trace's timestamps (`--dataset-name mooncake --use-trace-timestamps`): dagc told its user the
rate was `a string other than "inf": a rate is a JSON number, without quotes` — as though the file were edited, when
the tool wrote it so, and no number in its place makes the run one of a rate.
"""

from __future__ import annotations

import pytest

from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError, render
from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "calibrate"


def _refused(path):
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    assert d.code == "E110" and "Traceback" not in render(d)
    return d


def test_an_sglang_trace_replay_is_refused_as_a_trace_not_as_a_quoted_number():
    path = FIXTURES / "sglang_trace.jsonl"       # SGLang's line of `--dataset-name mooncake --use-trace-timestamps`
    d = _refused(path)
    assert d.span.start == path.read_text().index('"request_rate"')
    assert d.message == ("field `request_rate` is `trace`: the run replayed the timestamps of a trace "
                         "(`--use-trace-timestamps`), not a fixed rate or clients, the traffic `dagc calibrate` "
                         "matches a run to its plan by")
    assert d.hint == ("calibrate on runs at a fixed `--request-rate` (or clients alone, `--max-concurrency` with "
                      "`--request-rate inf`)")
