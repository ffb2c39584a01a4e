"""A fleet's `...` that dagc cannot continue is told what is wrong with that run and given the line in the forms a fleet
reads — each value listed, or a run counting up (docs/fleet.md). Until 2026-12-02 `gpus = [8, ..., 4]` read "`...`
in the fleet's `gpus` continues whole numbers", and `gpus = [16, 8, ..., 64]` was hinted `16, 8, ..., -440`, a
negative count of GPUs (`dagc.lang.fleet_runs`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.fleet import load_fleet

HEAD = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 4 requests/s  requests = 20 }
"""


def _said(tmp_path: Path, values: str) -> tuple[str, str, int, str | None]:
    line = f'fleet {{ gpu preset "h200"  gpus = {values} }}'
    (tmp_path / "p.moe").write_text(HEAD + line + "\n")
    with pytest.raises(PlanError) as e:
        load_fleet(tmp_path / "p.moe")
    (d,) = e.value.diagnostics
    assert d.span is not None and d.span.line == 4 and d.span.column == line.index("...") + 1   # at the `...`
    return d.code, d.message, d.span.column, d.hint


@pytest.mark.parametrize(("values", "message", "hint"), [
    ("[8, ..., 4]", "`...` in the fleet's `gpus` continues a run of whole numbers: it needs two before it and one "
     "after it", "list each value, `gpus = [8, 4]`, or write a run: two values before `...`, their difference its "
     "step, and the last after it, `gpus = [8, 16, ..., 64]`"),
    ("[1, ..., 8]", "`...` in the fleet's `gpus` continues a run of whole numbers: it needs two before it and one "
     "after it", "list each value, `gpus = [1, 8]`, or write a run: two values before `...`, their difference its "
     "step, and the last after it, `gpus = [1, 2, ..., 8]`"),
    ("[16, 8, ..., 64]", "`16, 8, ..., 64` counts down (steps of -8): a run counts up to the value after `...`",
     "write it upward: `gpus = [8, 16, ..., 64]`"),
    ("[64, 56, ..., 8]", "`64, 56, ..., 8` counts down (steps of -8): a run counts up to the value after `...`",
     "write it upward: `gpus = [8, 16, ..., 64]`"),
    ("[64, 32, ..., 8]", "`64, 32, ..., 8` counts down (steps of -32): a run counts up to the value after `...`",
     "list each value, `gpus = [64, 32, 8]`"),
    ("[8, 16, ..., 4]", "`8, 16, ..., 4` ends at 4, not above 16: the value after `...` is the run's last",
     "list each value, `gpus = [8, 16, 4]`, or end the run above 16: `gpus = [8, 16, ..., 32]`"),
    ("[8, 8, ..., 64]", "`8, 8, ..., 64` has no step: the two values before `...` are equal",
     "list each value, `gpus = [8, 64]`, or give the run its step: `gpus = [8, 16, ..., 64]`"),
    ("[2, 8, 16, ..., 60, 128]", "`8, 16, ..., 60` does not reach 60 in steps of 8",
     "the last value is the second plus a whole number of steps: `gpus = [2, 8, 16, ..., 56, 128]` or "
     "`gpus = [2, 8, 16, ..., 64, 128]`"),
])
def test_a_run_dagc_cannot_continue_is_told_why_with_the_forms_it_reads(tmp_path, values, message, hint):
    code, said, _, help_ = _said(tmp_path, values)
    assert (code, said, help_) == ("E104", message, hint)


def test_each_hinted_line_is_read(tmp_path):
    for values in ("[8, 4]", "[1, 2, ..., 8]", "[8, 16, ..., 64]", "[64, 32, 8]", "[8, 16, ..., 32]",
                   "[2, 8, 16, ..., 56, 128]"):
        (tmp_path / "p.moe").write_text(HEAD + f'fleet {{ gpu preset "h200"  gpus = {values} }}\n')
        _, fleet = load_fleet(tmp_path / "p.moe")
        assert all(int(v) > 0 for v in fleet.sweeps[0].values)
