"""The units a field takes, listed in an unknown unit's hint, come in one order on every run: a set's order moved
with Python's hash seed, and `price = 2.49 USD/h` read "in `$/hour`, `$/h`" on some runs, "in `$/h`, `$/hour`" on
others (a golden, a diff of two reports or a user's script comparing outputs saw it change)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROBE = """
from dagc.lang.hints import unit_hint
from dagc.units import Dimension
for d in Dimension:
    if d is not Dimension.COUNT:
        print(unit_hint("2.49", "zorks", d, "f", "f ="))
"""


def _hints(seed: int) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          check=True).stdout


def test_the_units_a_field_takes_come_in_one_order_whatever_the_hash_seed():
    runs = {_hints(seed) for seed in range(6)}     # six seeds: before, the price's two units swapped among them
    assert len(runs) == 1
    (text,) = runs
    assert "`f` takes a price per GPU-hour in `$/h`, `$/hour`, e.g. `f = 2.49 $/h`" in text.splitlines()
