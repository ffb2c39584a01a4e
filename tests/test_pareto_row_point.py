"""A Pareto point that is a ranked row is printed once, as the row: its figures and the row's, apart by float noise
alone (a `--vary speculative` row re-scored, its TTFT 1e-15 from the point's), are one point of the front
(`front_key` reads TTFT and memory to `SCORE_DIGITS`, as it reads the axes). Until 2026-12-03 the point stayed
beside the row, printed `≈` as an estimate while the row read exact (DeepSeek-V3 on 32 H200, `--objective tpot
--vary speculative`)."""

from __future__ import annotations

from dataclasses import replace

from dagc.lang.load import load_plan_text
from dagc.search.result import front_key, pareto_front
from dagc.search.search import search
from conftest import plan_text


def test_a_row_and_its_point_apart_by_float_noise_are_one_point():
    found = search(load_plan_text(plan_text(), "p.moe", needs_strategy=False), top=3)
    point = found.pareto[0]
    m = point.metrics
    row = replace(point, exact=not point.exact,
                  metrics=replace(m, ttft_s=m.ttft_s * (1 + 1e-15)),
                  memory_fraction=point.memory_fraction * (1 - 1e-15))
    assert front_key(row) == front_key(point)
    pool = {front_key(c): c for c in (point, row)}        # as `dagc.search.shown.exact_shown` joins them
    assert list(pareto_front(pool.values())) == [row]
