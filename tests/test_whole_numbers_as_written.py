"""A count (`batch`, `gpus`, `layers`, …) is whole as written, not as a float rounds it: until 2026-11-30
`batch = 8.0000000000000000000000000001` was read as 8 (float() drops the tail) and `prompt = 0.5` refused, and a
5,000-digit `9.99…9` (written `99…9e-4999`) was taken as 10; both are now E104 with the whole numbers around them."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from conftest import plan_text


def _errors(workload: str) -> list[tuple[str, str, str | None]]:
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(workload=workload), "p.moe")
    return [(d.code, d.message, d.hint) for d in exc.value.diagnostics]


@pytest.mark.parametrize(("written", "hint"), [
    ("8.0000000000000000000000000001", "write `batch = 8` or `batch = 9`"),
    ("7.99999999999999999999", "write `batch = 7` or `batch = 8`"),
    ("9" * 60 + "e-59", "write `batch = 9` or `batch = 10`"),
    ("8.5", "write `batch = 8` or `batch = 9`"),
])
def test_a_count_with_a_fraction_as_written_is_refused(written, hint):
    assert _errors(f"workload {{ batch = {written}  prompt = 512  generate = 32 }}") == [
        ("E104", f"`batch` must be a whole number, not {written}", hint)]


@pytest.mark.parametrize("written", ["8.000", "8e0", "0.8e1", "80e-1", "8_0e-1", "1" + "0" * 40 + "e-40"])
def test_a_whole_count_written_with_a_point_or_an_exponent_is_read(written):
    plan = load_plan_text(plan_text(workload=f"workload {{ batch = {written}  prompt = 512  generate = 32 }}"),
                          "p.moe")
    assert plan.workload.batch == (1 if written.startswith("1" + "0" * 40) else 8)
