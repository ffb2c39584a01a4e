"""The clusters within dagc's error of the fleet's best: those whose cost band — the rent over the tokens of the
pick's goodput, so its band from the goodput's (`dagc.fleet.rank.cost_band`) — overlaps the best's. Two clusters
that both carry the rate, their goodput the rate whatever dagc's error, cost what their rents say: a price ratio is
no estimate dagc could be wrong about (it named 2 H200s at $3.49/h within error of 2 H100s at $2.49/h, their costs
1.401× apart, the price ratio)."""

from __future__ import annotations

import pytest
from fleet_answers import ranked, row_of

from dagc.export.fleet_json import fleet_json
from dagc.fleet.rank import cost_band
from dagc.lang.fleet import FleetGpu
from dagc.lang.fleet_ir import Fleet, FleetPoint


def _row(gpu: str, cost: float, band: tuple[float, float] | None) -> dict:
    return {"meets_requirements": True, "per_million_tokens": cost, "gpu_hours_per_million_tokens": cost / 3,
            "rent_per_hour": 5.0, "instances": 1, "binding": None, "tokens_per_s": 1.0,
            "cluster": {"gpu": gpu, "gpus": 2, "gpus_per_node": 8, "engine": "vllm@0.33.0"},
            "pick": {"score": 5.0, "strategy": "tp 2", "gpus": 2, "load": {"goodput_requests_per_s": 8.0},
                     "goodput_band": None if band is None else {"low": band[0], "high": band[1]}}}


def _within(rows: list[dict], ratio: float = 1.54) -> list[int]:
    points = [FleetPoint(k, r["cluster"]["gpu"], None, (), k, rate=8.0) for k, r in enumerate(rows)]
    fleet = Fleet(tuple(FleetGpu(r["cluster"]["gpu"], "1 $/h", 1.0, None) for r in rows), (), 8.0, None)
    result = ranked(fleet, list(zip(points, rows, strict=True)), "cost", ratio)
    return fleet_json(result)["within_error_of_best_index"]


def test_clusters_that_both_carry_the_rate_are_told_apart_by_their_rents() -> None:
    rows = [_row("h100-sxm", 0.1351, (8.0, 8.0)), _row("h200", 0.1893, (8.0, 8.0))]
    assert cost_band(row_of(rows[0])) == (0.1351, 0.1351)
    assert _within(rows) == []


def test_a_goodput_band_reaching_below_the_rate_widens_the_cost_band() -> None:
    # the best's goodput may be as low as 5.5 requests/s: its cost as high as 0.1351 × 8 / 5.5 = 0.1965 > 0.1893
    rows = [_row("h100-sxm", 0.1351, (5.5, 8.0)), _row("h200", 0.1893, (8.0, 8.0))]
    low, high = cost_band(row_of(rows[0]))
    assert low == pytest.approx(0.1351) and high == pytest.approx(0.1351 * 8 / 5.5)
    assert _within(rows) == [1]
    # but not when the best's reaches only to 6.0 requests/s: 0.1351 × 8 / 6.0 = 0.1801 < 0.1893
    assert _within([_row("h100-sxm", 0.1351, (6.0, 8.0)), _row("h200", 0.1893, (8.0, 8.0))]) == []


def test_rows_without_a_goodput_band_keep_the_regime_s_cost_ratio() -> None:
    rows = [_row("h100-sxm", 0.1351, None), _row("h200", 0.1893, None)]
    assert cost_band(row_of(rows[0])) is None
    assert _within(rows, 1.54) == [1] and _within(rows, 1.3) == []
