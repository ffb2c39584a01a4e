"""Error bands (docs/bands.md): the ledger's regimes and fallbacks, a band and a requirement's probability
computed by hand from a small ledger, report.json's `bands` and `requirements[].probability`, the terminal's
requirements table, and the bands' coverage on the held-out half of the fidelity corpus."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

from conftest import ROOT, one_computation_per_output, run_dagc

sys.path.insert(0, str(ROOT / "bench"))
import band_coverage as bc  # noqa: E402, I001
import make_ledger as ml  # noqa: E402, I001

from dagc.export.optimal_words import evidence_json  # noqa: E402
from dagc.lang.load import load_plan_text  # noqa: E402
from dagc.verdict import bands as bands_module  # noqa: E402
from dagc.export.bands_words import odds_text, value_band_text  # noqa: E402
from dagc.verdict.bands import bands_of  # noqa: E402
from dagc.verdict.check import check  # noqa: E402
from dagc.verdict.ledger import Ledger, Regime, ledger, regime_of  # noqa: E402
from dagc.export.result_json import band_json, load_json

LEVELS = (0.0, 0.1, 0.5, 0.9, 1.0)
# TPOT: dagc has been 20 % low to 10 % high (log-ratio −0.2 … 0.1 at the 10th and 90th percentiles);
# throughput: from 30 % low to 20 % high, and a thin engine regime that must not be used.
SMALL = {
    "engine=vllm gpu=hopper mode=static concurrency=2-15 quantity=tpot": {"runs": 2, "figures": 2, "log_ratio": None},
    "engine=vllm gpu=hopper mode=static quantity=tpot": {"runs": 2, "figures": 2, "log_ratio": None},
    "engine=vllm quantity=tpot": {"runs": 5, "figures": 5, "log_ratio": [-0.4, -0.2, 0.0, 0.1, 0.3]},
    "quantity=tpot": {"runs": 9, "figures": 9, "log_ratio": [-0.9, -0.5, 0.0, 0.5, 0.9]},
    "engine=vllm quantity=throughput": {"runs": 1, "figures": 1, "log_ratio": None},
    "quantity=throughput": {"runs": 6, "figures": 6, "log_ratio": [-0.5, -0.3, 0.0, 0.2, 0.4]},
    "quantity=ttft": {"runs": 4, "figures": 4, "log_ratio": [-1.0, -0.6, 0.0, 0.6, 1.0]},
    "all": {"runs": 20, "figures": 30, "log_ratio": [-2.0, -1.0, 0.0, 1.0, 2.0]},
}
SMALL_LEDGER = Ledger(min_runs=4, levels=LEVELS, regimes=SMALL, source="test")

PLAN = """
model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 8  prompt = 512  generate = 64 }
require { tpot <= TARGET  decode_throughput >= 1 tokens/s  memory <= 90 % }
strategy tp 8
"""


def test_regime_of_a_plan():
    plan = load_plan_text(PLAN.replace("TARGET", "1 s"))
    assert regime_of(plan) == Regime("vllm", "hopper", "static", "2-15", traffic=False)
    closed = load_plan_text(PLAN.replace("TARGET", "1 s").replace("generate = 64", "generate = 64  serving = inflight"
                                                                   "  concurrency = 200  requests = 400"))
    assert regime_of(closed) == Regime("vllm", "hopper", "inflight", "128-1023", traffic=True)


def test_fallback_to_the_next_wider_regime_says_so():
    with_traffic = Regime("vllm", "hopper", "static", "2-15", traffic=True)
    e = SMALL_LEDGER.errors(with_traffic, "tpot")
    assert (e.regime, e.runs) == ("engine=vllm quantity=tpot", 5)
    assert "engine=vllm gpu=hopper mode=static concurrency=2-15 (2)" in e.note
    assert "engine=vllm gpu=hopper mode=static (2)" in e.note
    # throughput: the engine's regime has 1 run, fewer than 4: the quantity's
    assert SMALL_LEDGER.errors(with_traffic, "throughput").regime == "quantity=throughput"
    # e2e: no regime at all: every quantity's
    assert SMALL_LEDGER.errors(with_traffic, "e2e").regime == "all"
    # a plan without traffic takes its quantity's widest band, whatever finer regimes hold
    e = SMALL_LEDGER.errors(Regime("vllm", "hopper", "static", "2-15", traffic=False), "tpot")
    assert e.regime == "quantity=tpot" and "no traffic" in e.note


def test_band_and_probability_by_hand():
    e = SMALL_LEDGER.errors(Regime("vllm", "hopper", "static", "2-15"), "tpot")
    # measured = dagc · e^(−r); the 80 % band takes r's 90th and 10th percentiles: 0.1 and −0.2
    low, high = e.band(0.040)
    assert low == pytest.approx(0.040 * math.exp(-0.1), rel=1e-12)
    assert high == pytest.approx(0.040 * math.exp(0.2), rel=1e-12)
    # at 50 %: levels 0.25 and 0.75, linear between the stored ones: r = −0.2 + 0.15/0.4 · 0.2 = −0.125 and
    # 0.0 + 0.25/0.4 · 0.1 = 0.0625
    low, high = e.band(0.040, confidence=0.5)
    assert (low, high) == pytest.approx((0.040 * math.exp(-0.0625), 0.040 * math.exp(0.125)), rel=1e-12)
    # tpot <= 42 ms for a prediction of 40 ms: holds when r ≥ ln(40/42) = −0.04879; F(−0.04879) is
    # 0.1 + 0.4 · (−0.04879 + 0.2) / 0.2 = 0.40242, so p = 0.59758
    p = e.probability(0.040, "<=", 0.042)
    assert p == pytest.approx(1 - (0.1 + 0.4 * (math.log(40 / 42) + 0.2) / 0.2), rel=1e-12)
    assert p == pytest.approx(0.59758, abs=1e-5)
    # the other way round, and past every error the regime has seen
    assert e.probability(0.040, ">=", 0.042) == pytest.approx(1 - p, rel=1e-12)
    assert e.probability(0.040, "<=", 0.080) == 1.0 and e.probability(0.040, "<=", 0.020) == 0.0


def _with_small_ledger(monkeypatch, target: str):
    monkeypatch.setattr(bands_module, "ledger", lambda: SMALL_LEDGER)
    result = check(load_plan_text(PLAN.replace("TARGET", target)))[0]
    return result, bands_of(result)


def test_of_requirements_as_likely_the_closest_is_the_smallest_margin(monkeypatch):
    from dagc.export.bands_words import odds_line, p_shown
    monkeypatch.setattr(bands_module, "ledger", lambda: SMALL_LEDGER)
    # the throughput's target just past the lowest error its quantiles hold (log-ratio −0.5): both p > 0.99, and
    # the throughput (margin ~40 %) closer than the TPOT (~9x %)
    plan = load_plan_text(PLAN.replace("TARGET", "1 s"))
    result = check(plan)[0]
    target = result.metrics.decode_tokens_per_s * math.exp(-0.5) * 0.99
    text = PLAN.replace("TARGET", "1 s").replace("decode_throughput >= 1 tokens/s",
                                                 f"decode_throughput >= {target:.3f} tokens/s")
    result = check(load_plan_text(text))[0]
    b = bands_of(result)
    assert [p_shown(o.probability) for o in b.requirements[:2]] == [1.0, 1.0]
    assert result.requirements[1].margin < result.requirements[0].margin
    assert "(the least sure: `decode_throughput >= " in odds_line(result, b)


def test_a_missed_requirement_without_a_band_is_missed_whatever_the_error(monkeypatch):
    from dagc.export.bands_words import odds_line
    result, b = _with_small_ledger(monkeypatch, "1 s")
    assert odds_line(result, b).startswith("meets? yes")
    monkeypatch.setattr(bands_module, "ledger", lambda: SMALL_LEDGER)
    tight = check(load_plan_text(PLAN.replace("TARGET", "1 s").replace("memory <= 90 %", "memory <= 1 %")))[0]
    assert not tight.verdict.meets_requirements
    assert odds_line(tight, bands_of(tight)) == ("meets? no, whatever dagc's error: `memory <= 1 %` misses "
                                                 "(a figure without a band)")


def test_report_bands_and_requirement_probability(monkeypatch):
    from dagc.export.report import report_json
    result, _ = _with_small_ledger(monkeypatch, "30 ms")
    report = report_json(result)
    tpot = result.metrics.tpot_s
    # no traffic: the quantity's own regime, its 10th and 90th percentiles −0.5 and 0.5
    band = report["bands"]["tpot_s"]
    assert band["regime"] == "quantity=tpot" and band["confidence"] == 0.8 and band["runs"] == 9
    assert band["low"] == pytest.approx(tpot * math.exp(-0.5), rel=1e-12)
    assert band["high"] == pytest.approx(tpot * math.exp(0.5), rel=1e-12)
    thr = result.metrics.decode_tokens_per_s
    band = report["bands"]["decode_tokens_per_s"]
    assert (band["low"], band["high"]) == pytest.approx((thr * math.exp(-0.2), thr * math.exp(0.3)), rel=1e-12)
    assert band["share_of_bound"] == pytest.approx(thr / band["bound"], rel=1e-12) and band["past_bound"] is False
    # tpot <= 30 ms: p = 1 − F(ln(tpot / 30 ms)) on the quantity's quantiles, by hand
    x = math.log(tpot / 0.030)
    q = SMALL["quantity=tpot"]["log_ratio"]
    expected = 1 - float(np.interp(x, q, LEVELS))
    req = report["requirements"]
    assert req[0]["name"] == "tpot" and req[0]["probability"] == pytest.approx(expected, rel=1e-12)
    assert req[0]["class"] == ("meets" if expected >= 0.9 else "misses" if expected <= 0.1 else "uncertain")
    # 1 token/s is far below every band: meets; memory is not banded
    assert (req[1]["probability"], req[1]["class"]) == (1.0, "meets")
    assert (req[2]["probability"], req[2]["class"]) == (None, "meets")


def test_classes_follow_the_band(monkeypatch):
    """A target inside the band is uncertain, beyond its high end met, below its low end missed."""
    result, _ = _with_small_ledger(monkeypatch, "1 s")
    tpot = result.metrics.tpot_s
    low, high = tpot * math.exp(-0.5), tpot * math.exp(0.5)
    for target, klass in ((high * 1.01, "meets"), (tpot, "uncertain"), (low * 0.99, "misses")):
        _, b = _with_small_ledger(monkeypatch, f"{target * 1e3:.9f} ms")
        assert b.requirements[0].klass == klass, (target, b.requirements[0])
    assert bands_of(result).requirements[0].probability == pytest.approx(1.0)


def test_terminal_table_shows_band_and_odds(monkeypatch):
    result, b = _with_small_ledger(monkeypatch, "30 ms")
    q, o = result.requirements[0], b.requirements[0]
    text = value_band_text(q, o)
    tpot = result.metrics.tpot_s
    assert text.startswith(q.value_text() + " [") and text.endswith("]")
    assert f"{tpot * math.exp(-0.5) * 1e3:.4g}" in text
    assert odds_text(o).startswith(o.klass + " (p ")
    import io

    from dagc.cli.print_requirements import print_requirements
    from dagc.cli.printing import make_console
    out = io.StringIO()
    monkeypatch.setenv("COLUMNS", "200")        # one line per row: the cells are not wrapped
    print_requirements(make_console(out), result)
    shown = out.getvalue()
    assert "value [band]" in shown and "odds" in shown and text in shown and "quantity=tpot (9 runs)" in shown


def test_make_ledger_quantiles_by_hand():
    r = Regime("vllm", "hopper", "inflight", "16-127")
    ratios = [-0.2, -0.1, 0.0, 0.1, 0.3]
    obs = [ml.Observation(f"run{i}", "fam", "tpot_ms", "tpot", r, math.exp(x), 1.0) for i, x in enumerate(ratios)]
    obs.append(ml.Observation("run9", "fam", "ttft_ms", "ttft", r, 2.0, 1.0))
    doc = ml.ledger_doc(obs, min_runs=5, levels=(0.0, 0.1, 0.5, 0.9, 1.0))
    tpot = doc["regimes"]["engine=vllm gpu=hopper mode=inflight concurrency=16-127 quantity=tpot"]
    assert (tpot["runs"], tpot["figures"]) == (5, 5)
    # Weibull positions: the k-th of 5 at k/6; level 0.1 is below 1/6: the smallest; 0.5 is the 3rd;
    # 0.9 is above 5/6: the largest
    assert tpot["log_ratio"] == pytest.approx([-0.2, -0.2, 0.0, 0.3, 0.3], abs=1e-6)
    assert doc["regimes"]["quantity=ttft"] == {"runs": 1, "figures": 1, "log_ratio": None}
    assert doc["regimes"]["all"]["runs"] == 6
    # 11 runs: level 0.25 is position 3 of 11 (k/12), level 0.9 position 10.8: 0.8 of the way from the 10th
    vals = [i / 10 for i in range(11)]
    obs = [ml.Observation(f"r{i}", "f", "tpot_ms", "tpot", r, math.exp(x), 1.0) for i, x in enumerate(vals)]
    q = ml.ledger_doc(obs, min_runs=5, levels=(0.25, 0.9))["regimes"]["quantity=tpot"]["log_ratio"]
    assert q == pytest.approx([0.2, 0.9 + 0.8 * 0.1], abs=1e-6)


def test_shipped_ledger_is_the_corpus_s():
    """dagc/data/ledger.json is what bench/make_ledger.py makes of bench/corpus_results.json today."""
    shipped = json.loads((ROOT / "dagc" / "data" / "ledger.json").read_text())
    assert shipped == json.loads(json.dumps(ml.ledger_doc(ml.observations())))
    assert ledger().min_runs == ml.MIN_RUNS


@pytest.fixture(scope="module")
def held_out():
    return ml.observations()


@pytest.mark.parametrize("quantity", ["ttft", "tpot", "throughput"])
def test_80_percent_bands_cover_70_to_90_percent_of_held_out_figures(held_out, quantity):
    inside, n = bc.coverage(held_out, ledger())[quantity]
    assert n >= 20
    assert 0.70 <= inside / n <= 0.90, (quantity, inside, n)
    if quantity == "ttft":
        return      # leaving a family out: pinned by the test below (15 of 24 since 2026-12-01, later)
    inside, n = bc.leave_one_family_out(held_out)[quantity]
    assert 0.70 <= inside / n <= 0.90, (quantity, inside, n)


def test_ttft_leaving_a_family_out_as_docs_bands_says(held_out):
    """The held-out half's 24 TTFTs come from 3 families, so a family left out is banded by at most 2 (docs/bands.md,
    "Why none of them passes"). Since SGLang's cookbook runs on B200 state the chunk SGLang ran them with (16384,
    not 8192), their TTFT errors are smaller, the other two families' band narrower, and the TensorRT-LLM 0.14
    family's TTFTs fall out of it: 15 of 24 (62.5 %), below 70 %, where it read 17 of 24 before. Since the TensorRT-LLM
    performance pages' runs carry their own CUDA graphs and request counts (2026-12-01), the held-out v1.0 family's
    throughput errors are larger; the band a TensorRT-LLM 0.14 TTFT gets with its family left out is the pooled
    `all` regime's (no finer TTFT regime has enough runs), which those errors widen (its lower edge 0.748 → 0.733 of
    dagc's TTFT), and two of that family's TTFTs are back inside: 17 of 24 (70.8 %). Since a GB200's eager launches
    are priced at its Grace host's rate (2026-12-01, docs/cost-model.md), the held-out GB200 runs' throughput errors
    are smaller, the pooled band narrower again, and those two TTFTs out again: 15 of 24 (62.5 %), no TTFT moved.
    Since Triton's front end is its calibration fit (7.92 ms) and the SGLang cookbook's runs state the prompts the runs
    before them cached (`warm`, 2026-12-01), the held-out TTFT's median |error| is 15.0 % (24.7 %) and its worst 42.3 %
    (148.6 %); the SGLang families' errors are narrower, and so the band they give the TensorRT-LLM 0.14 family when
    it is left out, and the Qwen3 family's 64-client summary falls below the band of the other two: 13 of 24 (54.2 %).
    Pinned so that a change to the corpus, the model or the band rule that moves it is seen."""
    assert bc.leave_one_family_out(held_out)["ttft"] == (13, 24)


def _judged_small(monkeypatch, book: Ledger | None = None):
    from dagc.lang.load import load_plan
    from dagc.search.search import search
    from dagc.verdict import ledger as ledger_module
    if book is not None:
        monkeypatch.setattr(ledger_module, "ledger", lambda: book)
    plan = load_plan(str(ROOT / "tests" / "fixtures" / "small.moe"))
    r = check(plan, optimality=search(plan, objective=plan.objective, top=5, jobs=1))[0]
    return evidence_json(r.optimality, r)     # report.json's, the note in words


def test_optimal_verdict_names_a_better_strategy_within_dagc_s_error(monkeypatch):
    # the shipped ledger: tokens per GPU is a throughput; no traffic: the quantity's own regime, whose
    # 80 % band spans e^(Q(0.9) − Q(0.1)) — the stored quantiles at levels 0.9 and 0.1
    shipped = json.loads((ROOT / "dagc" / "data" / "ledger.json").read_text())
    q = shipped["regimes"]["quantity=throughput"]["log_ratio"]
    levels = shipped["levels"]
    ratio = math.exp(q[levels.index(0.9)] - q[levels.index(0.1)])
    e = _judged_small(monkeypatch)
    assert e["error_band_ratio"] == pytest.approx(ratio, rel=1e-12)
    assert e["factor"] > ratio and e["within_error"] is False and "indistinguishable" not in e["note"]
    # a ledger whose throughput band spans e^3 ≈ 20×: the better strategy is within dagc's error
    wide = Ledger(min_runs=1, levels=LEVELS, source="test", regimes={
        "quantity=throughput": {"runs": 9, "figures": 9, "log_ratio": [-2.0, -1.5, 0.0, 1.5, 2.0]},
        "all": {"runs": 9, "figures": 9, "log_ratio": [-2.0, -1.5, 0.0, 1.5, 2.0]}})
    e = _judged_small(monkeypatch, wide)
    assert e["error_band_ratio"] == pytest.approx(math.exp(3.0), rel=1e-12) and e["within_error"] is True
    assert f"indistinguishable within dagc's error: {e['factor']:.3g}× apart" in e["note"]


def test_a_band_past_the_physical_bound_is_a_warning():
    from dagc.export.bands_words import bound_warning
    from dagc.verdict.bands import Band, Bands
    ok = Band(100.0, 80.0, 110.0, 0.8, "quantity=throughput", 9, bound=200.0)
    near = Band(190.0, 150.0, 210.0, 0.8, "quantity=throughput", 9, bound=200.0)
    assert not ok.past_bound and near.past_bound
    assert band_json(near)["share_of_bound"] == pytest.approx(0.95) and band_json(near)["past_bound"] is True
    assert bound_warning(Bands({"a": ok}, (), 0.8)) is None
    warning = bound_warning(Bands({"a": ok, "decode_tokens_per_s": near}, (), 0.8))
    assert "decode_tokens_per_s (95 % of its bound, band to 105 %)" in warning and "a (" not in warning


def _small_in_flight(require: str) -> str:
    """tests/fixtures/small.moe served in flight (4 clients, 40 requests) on `tp 4`, with the requirements `require`."""
    text = (ROOT / "tests" / "fixtures" / "small.moe").read_text()
    text = text.replace("workload { batch = 8  prompt = 128  generate = 8  microbatches = 2 }",
                        "workload { batch = 8  prompt = 128  generate = 8  serving = inflight  chunk = 512  "
                        "concurrency = 4  requests = 40 }")
    return text.replace("require { ttft <= 10 ms  tpot <= 150 us }",
                        f"require {{ {require} }}").replace("pp 2 < tp 2 ; ep 2 >", "tp 4")


def test_load_percentiles_and_capacity_take_their_regime_s_band(monkeypatch):
    """With traffic, the finest regime with enough runs bands the load's figures: the TTFT percentiles the
    TTFT regime's, the capacity and goodput the throughput regime's."""
    text = _small_in_flight("ttft_p99 <= 1 s  goodput >= 1 requests/s")
    fine = "engine=vllm gpu=hopper mode=inflight concurrency=2-15 quantity=ttft"
    book = Ledger(min_runs=4, levels=LEVELS, source="test", regimes={
        fine: {"runs": 4, "figures": 4, "log_ratio": [-1.2, -0.8, -0.5, -0.1, 0.0]},
        "quantity=ttft": {"runs": 9, "figures": 9, "log_ratio": [-9.0, -9.0, 0.0, 9.0, 9.0]},
        "engine=vllm quantity=throughput": {"runs": 5, "figures": 5, "log_ratio": [-0.3, -0.2, 0.0, 0.1, 0.2]},
        "all": {"runs": 20, "figures": 30, "log_ratio": [-2.0, -1.0, 0.0, 1.0, 2.0]}})
    monkeypatch.setattr(bands_module, "ledger", lambda: book)
    result = check(load_plan_text(text, name="small-traffic.moe"))[0]
    load = load_json(result.load)
    b = bands_of(result)
    p99 = b.figures["load.ttft_s.p99"]
    assert p99.regime == fine and p99.note is None
    # dagc has been 10 % to 55 % low here (r from −0.8 to −0.1): the measured p99 lies above dagc's
    assert (p99.low, p99.high) == pytest.approx((load["ttft_s"]["p99"] * math.exp(0.1),
                                                 load["ttft_s"]["p99"] * math.exp(0.8)), rel=1e-12)
    cap = b.figures["load.capacity_requests_per_s"]
    assert cap.regime == "engine=vllm quantity=throughput" and "mode=inflight concurrency=2-15 (0)" in cap.note
    assert (cap.low, cap.high) == pytest.approx((load["capacity_requests_per_s"] * math.exp(-0.1),
                                                 load["capacity_requests_per_s"] * math.exp(0.2)), rel=1e-12)
    # ttft_p99 <= 1 s: p = 1 − F(ln(p99 / 1 s)) on the fine regime's quantiles
    x = math.log(load["ttft_s"]["p99"] / 1.0)
    expected = 1 - float(np.interp(x, book.regimes[fine]["log_ratio"], LEVELS))
    assert b.requirements[0].probability == pytest.approx(expected, rel=1e-12)
    # goodput >= 1 request/s: p = F(ln(goodput / 1)) on the throughput regime's
    x = math.log(load["goodput_requests_per_s"] / 1.0)
    expected = float(np.interp(x, book.regimes["engine=vllm quantity=throughput"]["log_ratio"], LEVELS))
    assert b.requirements[1].probability == pytest.approx(expected, rel=1e-12)


def test_the_verdict_line_gives_the_odds(monkeypatch):
    from dagc.export.bands_words import odds_line
    result, far = _with_small_ledger(monkeypatch, "1 s")
    tpot = result.metrics.tpot_s
    line = odds_line(result, far)
    # 1 s and 1 token/s are past every error: both p > 0.99; the closest is the one of the smaller margin (tpot's
    # +9x %, the throughput's thousands of %), as report.md names it
    assert line.startswith("meets? yes within dagc's error: every 80 % band meets its target (the least sure: "
                           "`tpot <= 1 s` ")
    inside, b = _with_small_ledger(monkeypatch, f"{tpot * 1e3:.9f} ms")     # the target at dagc's figure: p = 0.5
    assert b.requirements[0].probability == pytest.approx(0.5, abs=1e-6)
    text = inside.requirements[0].requirement.text
    assert odds_line(inside, b).startswith(f"meets? uncertain within dagc's error: `{text}` ")
    assert odds_line(inside, b).endswith("→ uncertain (p ≈ 0.50)")
    below, b = _with_small_ledger(monkeypatch, f"{tpot * 0.5 * 1e3:.9f} ms")      # past the band's low end e^−0.5
    assert odds_line(below, b).startswith("meets? within dagc's error, likely not: ")
    import io

    from dagc.cli.print_verdict import print_verdict
    from dagc.cli.printing import make_console
    out = io.StringIO()
    print_verdict(make_console(out), below)
    assert out.getvalue().splitlines()[1].startswith("  meets? within dagc's error, likely not: ")


def test_search_names_the_candidates_within_dagc_s_error_of_the_best():
    from dagc.verdict.ledger import within_error_of_best
    shipped = json.loads((ROOT / "dagc" / "data" / "ledger.json").read_text())
    levels = shipped["levels"]

    def spans(quantity: str) -> float:
        q = shipped["regimes"][f"quantity={quantity}"]["log_ratio"]
        return math.exp(q[levels.index(0.9)] - q[levels.index(0.1)])

    plan = load_plan_text(PLAN.replace("TARGET", "1 s"))       # no traffic: each quantity's own regime
    r = spans("throughput")
    ratio, close = within_error_of_best(plan, "tokens-per-gpu", [100.0, 100.0 / r * 1.001, 100.0 / r * 0.999])
    assert ratio == pytest.approx(r, rel=1e-12) and close == [1]
    r = spans("ttft")            # TTFT scores are negated: lower is better
    ratio, close = within_error_of_best(plan, "ttft", [-1.0, -r * 1.001, -r * 0.999])
    assert ratio == pytest.approx(r, rel=1e-12) and close == [2]
    assert within_error_of_best(plan, "min-gpus", [-1.0, -1.0]) == (None, [])


def test_dagc_search_prints_the_candidates_within_error(tmp_path):

    from dagc.lang.load import load_plan
    from dagc.verdict.ledger import band_ratio
    plan = ROOT / "examples" / "mixtral-8x7b-1node.moe"
    with one_computation_per_output():             # one search, printed as JSON and as text
        proc = run_dagc("search", str(plan), "--top", "5", "--svg", str(tmp_path / "p.svg"), "--format", "json",
                        env={"COLUMNS": "200"})
        text = run_dagc("search", str(plan), "--top", "5", "--svg", str(tmp_path / "p.svg"), env={"COLUMNS": "200"})
    scores = [c["score"] for c in json.loads(proc.stdout)["candidates"][:5]]
    ratio = band_ratio(load_plan(str(plan)), "tokens-per-gpu")
    close = [f"#{i}" for i, s in enumerate(scores[1:], 2) if scores[0] / s <= ratio]
    proc = text
    assert close, scores
    assert (f"indistinguishable within dagc's error from #1 (its 80 % band spans {ratio:.3g}×): " + ", ".join(close)
            + " — the pick could change within the bands") in proc.stdout


def test_an_e2e_with_too_few_e2e_runs_is_banded_by_ttft_and_tpot_composed(monkeypatch):
    """An E2E whose quantity has too few runs is banded by TTFT's and TPOT's errors composed at the load's TTFT
    share of its E2E (never `all`, every quantity's pooled); with enough E2E runs, by E2E's own."""
    text = _small_in_flight("e2e_p90 <= 1 s")
    ttft, tpot = [-1.0, -0.6, 0.0, 0.2, 0.4], [-0.5, -0.3, 0.0, 0.1, 0.3]
    regimes = {"quantity=ttft": {"runs": 9, "figures": 9, "log_ratio": ttft},
               "quantity=tpot": {"runs": 6, "figures": 6, "log_ratio": tpot},
               "quantity=e2e": {"runs": 3, "figures": 3, "log_ratio": None},
               "all": {"runs": 20, "figures": 30, "log_ratio": [-2.0, -1.0, 0.0, 1.0, 2.0]}}
    monkeypatch.setattr(bands_module, "ledger", lambda: Ledger(min_runs=4, levels=LEVELS, source="t", regimes=regimes))
    result = check(load_plan_text(text, name="small-traffic.moe"))[0]
    load = load_json(result.load)
    b = bands_of(result)
    band = b.figures["load.e2e_s.p90"]
    assert band.regime == "composed: quantity=ttft + quantity=tpot" and "E2E has too few runs" in band.note
    s = load["ttft_s"]["p90"] / load["e2e_s"]["p90"]
    assert 0 < s < 1 and band.runs == 6

    def r(level_index: int) -> float:     # the composed log-ratio at a stored level
        return -math.log(s * math.exp(-ttft[level_index]) + (1 - s) * math.exp(-tpot[level_index]))
    assert (band.low, band.high) == pytest.approx((band.value * math.exp(-r(3)), band.value * math.exp(-r(1))),
                                                  rel=1e-12)
    # e2e_p90 <= 1 s is judged on the same composed errors: p = 1 − F(ln(p90 / 1 s))
    expected = 1 - float(np.interp(math.log(band.value / 1.0), [r(i) for i in range(5)], LEVELS))
    assert b.requirements[0].probability == pytest.approx(expected, rel=1e-9)
    assert b.requirements[0].band is not None and b.requirements[0].band.regime == band.regime
    # enough E2E runs of its own: E2E's band, as any quantity's
    regimes["quantity=e2e"] = {"runs": 5, "figures": 5, "log_ratio": [-0.2, -0.1, 0.0, 0.1, 0.2]}
    own = bands_of(result).figures["load.e2e_s.p90"]
    assert own.regime == "quantity=e2e" and (own.low, own.high) == pytest.approx(
        (own.value * math.exp(-0.1), own.value * math.exp(0.1)), rel=1e-12)


def test_e2e_coverage_of_the_held_out_half_is_the_composed_band_s(held_out):
    """The corpus's six held-out E2E figures (the SGLang cookbook's on B200, dagc 10 % below to 1 % above them) are
    judged by the band dagc states for them, TTFT's and TPOT's composed, never the pooled `all`: 6 of 6 lie in it in
    sample, 5 of 6 leaving their family out — above 70–90 % in sample, where six figures read 83 % or 100 %
    (docs/bands.md says why)."""
    e2e = [o for o in held_out if o.quantity == "e2e"]
    assert len(e2e) == 6 and all(o.ttft_share is not None and 0 < o.ttft_share < 0.1 for o in e2e)
    assert all(bc._errors(o, ledger()).regime.startswith("composed: ") for o in e2e)
    assert bc.coverage(held_out, ledger())["e2e"] == (6, 6)
    assert bc.leave_one_family_out(held_out)["e2e"] == (5, 6)


def test_a_requirement_missed_by_a_run_that_falls_behind_is_not_said_to_lack_a_band():
    """Qwen3-30B-A3B on one H200 at 20 requests/s: the queue keeps growing, so every load requirement is missed
    whatever its figure (TPOT p90 36.5 ms against 100 ms among them) — none of them is `memory` or `gpus`, the
    requirements dagc does not band: the odds line names the figures that miss, never "a figure without a band"."""
    from dagc.export.bands_words import odds_line
    from dagc.lang.load import parse_strategy
    from dagc.verdict.check import check_strategy
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 1  gpu preset "h200" } '
                          "workload { batch = 64  prompt = 4000  generate = 600  serving = inflight "
                          "rate = 20 requests/s  requests = 1000  seed = 7 } "
                          "require { ttft_p99 <= 5 s  tpot_p90 <= 100 ms  goodput >= 15 requests/s } strategy tp 1")
    r = check_strategy(plan, parse_strategy("tp 1"), with_capacity=False)
    assert r.load is not None and not r.load.carries_traffic
    tpot = next(q for q in r.requirements if q.requirement.name == "tpot_p90")
    assert tpot.met is False and tpot.value < 0.1                       # its figure holds; the traffic is not carried
    line = odds_line(r)
    assert line is not None and "without a band" not in line and "`tpot_p90" not in line
    assert line.startswith("meets? within dagc's error, likely not: `ttft_p99 <= 5 s`")


def test_a_met_figure_of_a_deployment_that_falls_behind_is_not_said_to_be_off():
    """report.md's margin: `× off` is for a figure past its target, not one within it whose deployment does not
    carry its traffic (TPOT p90 36.5 ms against 100 ms read `+63.5 %; 2.737× off`)."""

    from dagc.export.summary import margin_text
    from dagc.plan.workload import Requirement, RequirementKind
    from dagc.verdict.verdict import RequirementResult
    req = Requirement(kind=RequirementKind.TPOT, op="<=", target=0.1, percentile=90, text="tpot_p90 <= 100 ms")
    within = RequirementResult(req, 0.03654, unmet="the queue keeps growing")
    assert within.met is False and margin_text(within) == "+63.5 %"
    goodput = Requirement(kind=RequirementKind.GOODPUT, op=">=", target=15.0, text="goodput >= 15 requests/s")
    past = RequirementResult(goodput, 0.2, unmet="the queue keeps growing")             # its figure misses too
    assert margin_text(past) == "-98.7 %; 75× off"


def test_a_missed_requirement_without_a_band_leaves_the_banded_ones_it_misses_named(monkeypatch):
    # seed 003's 1,024 GPUs miss `gpus <= 64` and a decode throughput by 99.7 %: the verdict's line named the
    # GPUs alone (until 2026-11-30), while the requirements table below marked both missed
    from dagc.export.bands_words import odds_line
    monkeypatch.setattr(bands_module, "ledger", lambda: SMALL_LEDGER)
    text = PLAN.replace("TARGET", "1 ms").replace("memory <= 90 %", "memory <= 1 %")
    result = check(load_plan_text(text))[0]
    assert [q.requirement.text for q in result.requirements if q.met is False] == ["tpot <= 1 ms", "memory <= 1 %"]
    line = odds_line(result, bands_of(result))
    assert line.startswith("meets? no, whatever dagc's error: `memory <= 1 %` misses (a figure without a band); "
                           "and within dagc's error: `tpot <= 1 ms` ")
    assert line.endswith(" → misses (p < 0.01)")
    assert "decode_throughput" not in line        # met, and sure: not named
