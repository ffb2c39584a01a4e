"""A TTFT's or E2E's band stops at the prompt's prefill alone at the GPUs' peak (dagc.verdict.band_floor, docs/bands.md
"A band's floor"): errors measured elsewhere — a calibration's few runs, one of them far off — reached below what any
deployment can compute. Until 2026-12-02 a calibrated gpt-oss-120b plan's `ttft_p99` of 96.6 ms was banded
[609.9 us–170.2 ms], its 2,000-token prefill alone 9.6 ms at the two H100s' peak."""

from __future__ import annotations

import pytest

from dagc.export.result_json import band_json
from dagc.lang.load import load_plan_text
from dagc.rules.bounds import bounds
from dagc.verdict import bands as bands_module
from dagc.verdict.bands import bands_of
from dagc.verdict.check import check
from dagc.verdict.ledger import Ledger

LEVELS = (0.0, 0.1, 0.5, 0.9, 1.0)
# TTFT and E2E: dagc has read some runs as if overloaded, up to e^5 ≈ 150 times what they measured (a calibration's
# rate-8 run of the new user's); TPOT as widely, and not floored
WILD = [-0.5, -0.2, 0.0, 4.9, 5.1]
LEDGER = Ledger(min_runs=4, levels=LEVELS, source="test", regimes={
    "quantity=ttft": {"runs": 9, "figures": 9, "log_ratio": WILD},
    "quantity=e2e": {"runs": 9, "figures": 9, "log_ratio": WILD},
    "quantity=tpot": {"runs": 9, "figures": 9, "log_ratio": WILD},
    "quantity=throughput": {"runs": 9, "figures": 9, "log_ratio": [-0.5, -0.3, 0.0, 0.2, 0.4]},
    "all": {"runs": 20, "figures": 30, "log_ratio": [-2.0, -1.0, 0.0, 1.0, 2.0]}})

PLAN = """
model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 16  prompt = 2048  generate = 64  serving = inflight  rate = 2 requests/s  requests = 40 TRAFFIC }
require { ttft_p99 <= TARGET }
strategy tp 8
"""


def banded(monkeypatch, target: str = "2 s", traffic: str = ""):
    monkeypatch.setattr(bands_module, "ledger", lambda: LEDGER)
    result = check(load_plan_text(PLAN.replace("TARGET", target).replace("TRAFFIC", traffic)))[0]
    floor = bounds(result.plan.model, result.plan.workload, result.plan.cluster, 8, 1, batch=1).ttft_s
    return result, bands_of(result), floor


def test_a_ttft_band_stops_at_the_prefill_alone(monkeypatch):
    result, b, floor = banded(monkeypatch)
    assert 5e-3 < floor < 10e-3                  # 2,048 tokens of Mixtral's 12.9 B active on 8 H100 at their peak
    for key in ("ttft_s", "ttft_server_s", "load.ttft_s.p99", "load.ttft_s.mean", "load.e2e_s.p50"):
        band = b.figures[key]
        unfloored = band.value * 2.718281828 ** -5.0          # the ledger's 90th percentile, 4.9–5.1: e^-5
        assert unfloored < floor and band.low == pytest.approx(floor, rel=1e-12), key
        assert band.floored is not None and "prompt's prefill alone at the GPUs' peak" in band.floored
        assert band_json(band)["floored"] == band.floored          # report.json says why
    tpot = b.figures["load.tpot_s.p90"]                            # a TPOT is not floored
    assert tpot.floored is None and tpot.low < floor
    (odds,) = b.requirements
    assert odds.band is not None and odds.band.low == pytest.approx(floor, rel=1e-12)
    assert odds.klass == "meets"


def test_a_target_below_the_floor_is_missed_for_certain(monkeypatch):
    _, b, floor = banded(monkeypatch, target="4 ms")
    assert floor > 4e-3
    (odds,) = b.requirements
    assert odds.probability == 0.0 and odds.klass == "misses"


@pytest.mark.parametrize("traffic", ["prefix = 1024", "lengths = exponential", "warm = 4"])
def test_prompts_not_all_prefilled_whole_have_no_floor(monkeypatch, traffic):
    """A cached prefix is not prefilled, and a drawn prompt may be shorter than the mean: no floor is certain."""
    _, b, floor = banded(monkeypatch, traffic=f" {traffic}")
    band = b.figures["load.ttft_s.p99"]
    assert band.floored is None and band.low < floor
