"""A fleet whose GPU types are priced but one is E103 at that one (every cluster would otherwise be ranked in
GPU-hours and the prices given go unused, silently); the hint for the cluster's own GPU offers the cluster's price."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.fleet import load_fleet

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 2  gpu preset "h100-sxm" {price} }}
workload {{ batch = 64  prompt = 1000  generate = 200  serving = inflight  rate = 4 requests/s  requests = 500 }}
strategy tp 2
fleet {{
  gpu preset "h100-sxm"{h100}
  gpu preset "h200"
  gpu preset "b200" {{ price = 0.5 $/h }}
  gpus = [2]
}}
"""


def _errors(tmp_path: Path, price: str = "", h100: str = " { price = 2.49 $/h }") -> list:
    (tmp_path / "f.moe").write_text(PLAN.format(price=price, h100=h100))
    with pytest.raises(PlanError) as exc:
        load_fleet(tmp_path / "f.moe")
    return [d for d in exc.value.diagnostics if d.code == "E103"]


def test_one_unpriced_gpu_type_among_priced_ones_is_e103_at_it(tmp_path):
    (d,) = _errors(tmp_path)
    assert (d.span.line, d.span.column) == (7, 3)
    assert d.message == ("the fleet's GPU type `h200` has no price (`h100-sxm`, `b200` have one: without this one's, "
                         "every cluster is ranked in GPU-hours and those prices go unused)")


def test_the_clusters_own_gpu_is_offered_the_clusters_price(tmp_path):
    h100, h200 = _errors(tmp_path, price=" price = 2 $/h", h100="")
    assert h100.hint == 'write it: `gpu preset "h100-sxm" { price = 2 $/h }` (one GPU\'s rent per hour)'
    assert h200.hint == 'write it: `gpu preset "h200" { price = 2.5 $/h }` (one GPU\'s rent per hour)'
    assert "the cluster's `price` is its own GPU's" in h100.message


def test_a_fleet_with_no_price_at_all_is_ranked_in_gpu_hours_without_an_error(tmp_path):
    (tmp_path / "f.moe").write_text(PLAN.format(price="", h100="").replace(" { price = 0.5 $/h }", ""))
    plan, fleet = load_fleet(tmp_path / "f.moe")
    assert all(g.price_per_gpu_hour is None for g in fleet.gpus)
