"""`calibrate from "cal.json"` — the command's name (`dagc calibrate`) written for the statement that reads its file —
is E001 at `calibrate`, hinted `calibration`, before a strategy as after one; it was "docs/language.md describes what
may stand here", and after a strategy located at the string, the parser having read `calibrate from` as axes."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

HEAD = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 512  generate = 128 }
"""


@pytest.mark.parametrize("text, line", [
    (HEAD + 'calibrate from "cal.json"\nstrategy tp 8\n', 4),
    (HEAD + 'strategy tp 8\ncalibrate from "cal.json"\n', 5),
])
def test_calibrate_for_calibration_is_hinted_the_statement(tmp_path, text, line):
    with pytest.raises(PlanError) as exc:
        load_plan_text(text, base_dir=tmp_path)
    (d,) = exc.value.diagnostics
    assert (d.code, d.span.line, d.span.column, d.span.text) == ("E001", line, 1, "calibrate")
    assert d.hint == "did you mean `calibration`?"
