"""An empty run file — a benchmark stopped before it wrote its result, a file made by `touch` or a shell redirect —
is said to be empty, not "not valid JSON (truncated?)" with the hint of the formats dagc reads (the words of a file
cut short, which read as a damaged file rather than none written)."""

from __future__ import annotations

import pytest

from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError


@pytest.mark.parametrize("text", ["", "\n", "  \n\n\t\n"])
def test_an_empty_run_file_is_said_empty(tmp_path, text):
    path = tmp_path / "rate4.json"
    path.write_text(text)
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("E110", 1, 1)
    assert d.message == "the run file is empty"
    assert d.hint == ("a benchmark writes its result when its run ends (vLLM's `--save-result`, SGLang's "
                      "`--output-file`, AIPerf's export): one stopped before then leaves none — run it again")
