"""The capacity `dagc check` reports is within `CAPACITY_TOLERANCE` (1 %) of the figures a reference version of
dagc computed (tests/data/capacity_recorded.json, written by bench/record_capacities.py, which names the version):
every strategy of every in-flight example under traffic and of bench/bench_traffic.py's 16-GPU Qwen3-235B-A22B
plan at 10 requests/s. tests/test_capacity_reference.py compares the bisection with a plain one over the same
step prices and runs; this holds the prices, the surrogate and the runs themselves to the recorded capacities,
so that a faster check (shared prices, another grid, fewer trials) cannot move a capacity unseen.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from dagc.verdict.under_load import CAPACITY_TOLERANCE

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from record_capacities import capacities_of, names  # noqa: E402

from conftest import checked_with_traffic  # noqa: E402

RECORDED = json.loads((ROOT / "tests" / "data" / "capacity_recorded.json").read_text())["capacities"]


def test_every_plan_recorded_is_a_plan_measured():
    # a new in-flight example: record its capacities (bench/record_capacities.py) with the version that adds it
    assert sorted(RECORDED) == sorted(names())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RECORDED))
def test_capacity_is_the_recorded_ones_within_its_tolerance(name):
    got, want = capacities_of(checked_with_traffic(name)[1]), RECORDED[name]     # `capacities(plan_named(name))`
    assert sorted(got) == sorted(want)
    for text, recorded in want.items():
        assert (got[text] is None) == (recorded is None), (text, got[text], recorded)
        if recorded is not None:
            assert abs(got[text] - recorded) <= CAPACITY_TOLERANCE * recorded, (text, got[text], recorded)
