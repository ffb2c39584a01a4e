"""A `PlanError` raised by the library reads as its first diagnostic's header, located (`p.moe:3:24:
error[E101]: …`), as the README promises "located diagnostics"; its diagnostics stay on it."""

from __future__ import annotations

import pytest

import dagc


def test_a_plan_error_says_where(tmp_path):
    path = tmp_path / "b4.moe"
    path.write_text('model preset "mixtral-8x7b"\ncluster { gpus = 8 gpu preset "h100-sxm" }\n'
                    "workload { batch = 16  promt = 1024 generate = 64 }\nstrategy tp 8\n")
    with pytest.raises(dagc.PlanError) as exc:
        dagc.load_plan(str(path))
    assert str(exc.value) == f"{path}:3:24: error[E101]: unknown field `promt` in workload"
    assert exc.value.diagnostics[0].code == "E101"


def test_a_plan_error_without_diagnostics_is_said_so():
    assert str(dagc.PlanError([])) == "invalid plan"
