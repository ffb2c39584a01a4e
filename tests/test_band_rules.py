"""bench/band_rules.py: band rules other than the shipped one, by hand on small ledgers, and what they measured on
the fidelity corpus's halves (docs/bands.md, "A rule chosen on the calibration half")."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import band_rules as br  # noqa: E402, I001
import make_ledger as ml  # noqa: E402, I001

from dagc.verdict.ledger import Regime  # noqa: E402

FINE = "engine=vllm gpu=hopper mode=inflight concurrency=16-127 quantity=tpot"
VLLM = Regime("vllm", "hopper", "inflight", "16-127")
SGLANG = Regime("sglang", "hopper", "inflight", "16-127")


def _obs(family: str, regime: Regime, ratios: list[float], quantity: str = "tpot") -> list[ml.Observation]:
    return [ml.Observation(f"{family}-{i}", family, f"{quantity}_ms", quantity, regime, math.exp(x), 1.0)
            for i, x in enumerate(ratios)]


def test_a_regime_of_too_few_families_states_no_quantiles():
    # 8 runs of vLLM from 2 families: enough runs, too few families for `families>=3`; the quantity holds 3
    obs = _obs("a", VLLM, [0.0] * 4) + _obs("b", VLLM, [0.1] * 4) + _obs("c", SGLANG, [0.2] * 4)
    two, three = br.rule_doc(obs, families=2)["regimes"], br.rule_doc(obs, families=3)["regimes"]
    assert (two[FINE]["families"], two[FINE]["runs"]) == (2, 8) and two[FINE]["log_ratio"] is not None
    assert three[FINE]["log_ratio"] is None and three["quantity=tpot"]["log_ratio"] is not None
    assert three["quantity=tpot"]["families"] == 3
    shipped = ml.ledger_doc(obs)["regimes"]          # one family is enough: the shipped rule's quantiles
    assert {k: v["log_ratio"] for k, v in br.rule_doc(obs)["regimes"].items()} == \
        {k: v["log_ratio"] for k, v in shipped.items()}


def test_families_alike_weighs_a_small_family_as_a_large_one():
    # 9 figures at 0 from one family, 1 at 1.0 from another: alike, the second is half the regime
    obs = _obs("big", VLLM, [0.0] * 9) + _obs("small", VLLM, [1.0])
    r = br.rule_doc(obs, alike=True)["regimes"][FINE]
    assert r["figures"] == 18 and r["log_ratio"][10] == pytest.approx(0.5)    # the median, between the two
    assert br.rule_doc(obs)["regimes"][FINE]["log_ratio"][10] == pytest.approx(0.0)


def test_spread_adds_the_quantitys_between_family_offsets():
    # families' medians 0, 0.2 and 0.4 (offsets −0.2, 0, +0.2); the vLLM regime rests on 2 of them
    obs = _obs("a", VLLM, [0.0] * 4) + _obs("b", VLLM, [0.2] * 4) + _obs("c", SGLANG, [0.4] * 4)
    spread = br.rule_doc(obs, spread_below=3)["regimes"]
    assert spread[FINE]["figures"] == 24 and (spread[FINE]["log_ratio"][0], spread[FINE]["log_ratio"][-1]) == \
        pytest.approx((-0.2, 0.4))
    assert spread["quantity=tpot"]["figures"] == 12         # 3 families: as it is
    assert list(br._spread(np.array([0.0]), np.array([-0.1, 0.1]))) == pytest.approx([-0.1, 0.1])


@pytest.fixture(scope="module")
def calibration():
    return ml.observations(half="calibration")


def test_on_the_calibration_half_bands_resting_on_two_families_or_fewer_cover_a_new_one_worse(calibration):
    """The shipped rule, each calibration family banded by the others': the TTFT and TPOT bands resting on 1 or 2
    families hold 37 of 61 and 57 of 103 of the family left out, those on 3 or more 86 of 90 and 163 of 176 (TTFT's
    2-family bands 34 of 57 until 2026-12-01, when Triton's front end became its calibration fit, 7.92 ms: 36; 35
    since SGLang's admission rule, whose runs' TPOTs it moves: 2-family 51 → 53 of 95)."""
    got = br.by_families(calibration)
    assert [got[("ttft", g)] for g in ("1", "2", "3+")] == [(2, 4), (35, 57), (86, 90)]
    assert [got[("tpot", g)] for g in ("1", "2", "3+")] == [(4, 8), (53, 95), (163, 176)]


def test_three_families_keep_the_calibration_half_in_70_to_90_percent_and_fail_the_held_out_half(calibration):
    """`families>=3`, chosen on the calibration half, keeps its leave-one-family-out coverage within 70–90 % per
    quantity; on the held-out half, whose TTFTs come from 3 families, it leaves TTFT at 15 of 24 (62.5 %) with the
    front-end constant as shipped (17 of 24 with the shipped rule: docs/bands.md). Since the TensorRT-LLM performance
    pages' runs carry their own CUDA graphs and request counts (2026-12-01), their throughput errors are larger and
    the pooled `all` bands they feed wider: the calibration half's throughput left a family out 252 → 265 of 357,
    the held-out TTFTs 13 → 15 (`families>=3`) and 15 → 17 (shipped) of 24. With TensorRT-LLM's Hopper expert scale
    refitted on those runs (2.05 → 2.42, 2026-12-01), its Hopper MoE runs' throughput errors move and the
    calibration half's throughput left a family out 265 → 264 of 357 (74.0 %, within the 70–90 %). With a GB200's
    and GB300's eager launches at their Grace host's rate (2026-12-01), their throughput errors move: the calibration
    half's throughput left a family out 264 → 270 of 357 (75.6 %), and the held-out throughputs, smaller, narrow the
    pooled `all` band the held-out TTFTs of a family left out take: 15 → 13 (`families>=3`) and 17 → 15 (shipped).
    With TensorRT-LLM's Blackwell expert scale (1.68, 2026-12-01), its Blackwell MoE runs' throughput errors move
    and the calibration half's throughput left a family out 270 → 254 of 357 (71.1 %, within the 70–90 %); the
    held-out TTFTs of a family left out 13 → 12 of 24 (`families>=3`), 15 (shipped) unchanged. With Triton's front
    end at its calibration fit (7.92 ms) and the SGLang cookbook's runs warm (`warm`, 2026-12-01), the held-out TTFT
    errors are smaller and the bands two families give the third narrower: 12 → 11 (`families>=3`), 15 → 13
    (shipped). With the performance overview's 1.1 edition in the calibration half and its Blackwell experts at
    their own scale (2026-12-02), the calibration half's throughput left a family out is 336 of 443 (75.8 %)."""
    make = br.RULES["families>=3"]
    loo = br.leave_one_family_out(calibration, make)
    assert (loo["ttft"], loo["tpot"], loo["throughput"]) == ((128, 151), (230, 279), (336, 443))
    assert all(0.70 <= k / n <= 0.90 for k, n in (loo["ttft"], loo["tpot"], loo["throughput"]))
    held_out = ml.observations()
    assert br.leave_one_family_out(held_out, make)["ttft"] == (11, 24)
    assert br.leave_one_family_out(held_out)["ttft"] == (13, 24)
