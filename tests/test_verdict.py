"""Verdicts: requirements met / failed / not judged, and the optimal verdict's evidence."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from dagc.export.optimal_words import evidence_json
from dagc.export.result_json import requirement_json
from dagc.lang.load import load_plan_text
from dagc.plan.strategy import Strategy
from dagc.plan.workload import Overlap
from dagc.units import Dimension, format_figure, format_si
from dagc.verdict.check import check
from dagc.verdict.optimal import OPTIMAL_TOLERANCE, judge_optimal
from dagc.verdict.steady import InstanceMetrics
from dagc.verdict.verdict import RequirementResult, Verdict, judge_requirements, verdict
from conftest import plan_text

CLUSTER = 'cluster { gpus = 4  gpus_per_node = 8  gpu preset "h100-sxm" }'
WORKLOAD = "workload { batch = 4  prompt = 128  generate = 8  microbatches = 2  routing = uniform }"
MODEL = 'model preset "mixtral-8x7b" { layers = 2 }'


def judge_in_words(result, found, **kw):
    """`judge_optimal` with its evidence as report.json gives it, the note in words (`dagc.export.optimal_words`)."""
    optimal, evidence = judge_optimal(result, found, **kw)
    return optimal, evidence_json(evidence, result)


def _check(require: str, strategy: str = "strategy tp 2 ; ep 2"):
    text = plan_text(model=MODEL, cluster=CLUSTER, workload=WORKLOAD, require=require, strategy=strategy)
    return check(load_plan_text(text))[0]


@pytest.fixture(scope="module")
def result():
    return _check("require { tpot <= 1 s  ttft <= 1 ms  decode_throughput >= 1 tokens/s/gpu  memory <= 90 %  "
                  "gpus <= 2  prefill_throughput >= 100 tokens/s }")


def test_met_and_failed_requirements(result):
    m = result.metrics
    tpot, ttft, decode, mem_frac, gpus, prefill = result.requirements
    assert (tpot.value, tpot.met) == (m.tpot_s, True)            # about 1.2 ms <= 1 s
    assert (ttft.value, ttft.met) == (m.ttft_s, False)           # about 2.6 ms > 1 ms
    assert ttft.margin == pytest.approx((1e-3 - m.ttft_s) / 1e-3) and ttft.margin < 0
    assert (gpus.value, gpus.met) == (2.0, True)                    # tp 2 ; ep 2 uses 2 GPUs
    assert (prefill.value, prefill.met) == (m.prefill_tokens_per_s, True)
    assert result.verdict == Verdict(correct=True, meets_requirements=False, optimal=None)


def test_per_gpu_requirement_is_divided_by_gpus_used(result):
    decode = result.requirements[2]
    assert decode.requirement.per_gpu
    assert decode.value == pytest.approx(result.metrics.decode_tokens_per_s / 2)
    assert decode.value == pytest.approx(result.metrics.decode_tokens_per_s_per_gpu)
    assert decode.met is True
    assert requirement_json(decode)["name"] == "decode_throughput_per_gpu"
    assert decode.value_text().endswith(" " + decode.requirement.text.split()[-1])     # the requirement's own unit


def test_memory_as_fraction_and_as_bytes(result):
    worst = result.memory.worst
    # by hand: 2 layers × 4 local experts × 3 · 4096 · 14336 params × 2 bytes (bf16)
    assert worst.routed_expert_bytes == 2 * 4 * 3 * 4096 * 14336 * 2 == 2_818_572_288
    total = worst.weights_bytes + worst.kv_cache_bytes + worst.activation_bytes + worst.reserve_bytes
    assert worst.reserve_bytes == 4 * 2**30                          # the default reserve
    mem_frac = result.requirements[3]
    (mem_bytes,) = _check("require { memory <= 8 GB }").requirements
    assert mem_frac.requirement.memory_is_fraction and mem_frac.requirement.target == pytest.approx(0.9)
    assert mem_frac.value == pytest.approx(total / (81_559 * 2**20))   # h100-sxm: 81,559 MiB
    assert mem_frac.met is True
    assert mem_frac.value_text() == f"{total / (81_559 * 2**20) * 100:.1f} %"       # in %, as the memory table
    assert not mem_bytes.requirement.memory_is_fraction and mem_bytes.requirement.target == 8e9
    assert mem_bytes.value == pytest.approx(total)                  # about 3.19 GB + 4 GiB <= 8 GB
    assert mem_bytes.met is True


def test_all_met():
    r = _check("require { tpot <= 1 s  gpus <= 2  memory <= 90 % }")
    assert [q.met for q in r.requirements] == [True, True, True]
    assert r.verdict == Verdict(True, True, None)


def test_unjudged_requirements_are_none_never_guessed(result):
    reqs = judge_requirements(result.plan, None, None, None)
    assert [q.value for q in reqs] == [None] * 6
    assert [q.met for q in reqs] == [None] * 6
    assert all(q.margin is None and q.value_text() == "not computed" for q in reqs)
    assert verdict([], reqs) == Verdict(True, None, None)
    # a figure the metrics do not have stays unjudged too (a pool's instance alone has its TTFT and TPOT, no
    # throughput), while gpus/memory are judged
    partial = judge_requirements(result.plan, result.layout, result.memory,
                                 InstanceMetrics(ttft_s=0.0, tpot_s=0.5, concurrency_effective=1))
    assert [q.met for q in partial] == [True, True, None, True, True, None]
    assert verdict([], partial).meets_requirements is None
    # one failed requirement outweighs the unjudged ones
    assert verdict([], (*partial, RequirementResult(result.requirements[1].requirement, 2.0))).meets_requirements \
        is False


def test_an_invalid_strategy_meets_nothing():
    r = _check("require { gpus <= 64 }", strategy="strategy tp 3 ; ep 2")
    assert not r.valid
    assert r.verdict.correct is False
    assert r.verdict.meets_requirements is False
    # even with requirements that would all be met
    met = (RequirementResult(r.plan.requirements[0], 1.0),)
    assert met[0].met is True
    assert verdict(list(r.diagnostics), met) == Verdict(False, False, None)


# ------------------------------------------------------------------ judge_optimal

def _found(best, complete=True, evaluated=40, total=40):
    """A search's result as `dagc.verdict.searched.Searched` reads it: its best alone in its ranking."""
    return SimpleNamespace(complete=complete, evaluated=evaluated, total=total, best=best,
                           ranked=(best,) if best is not None else (), left_out=None, rescore_cut=False, rejected_by=(),
                           objective="tokens-per-gpu", order="fewest GPUs first",
                           stop_reason=lambda: "" if complete else "at its cap of 10 candidates")


def _best(score: float, text="tp 1 ; ep 2", gpus=2, meets=True, microbatches=2, misses=None):
    metrics = SimpleNamespace(decode_tokens_per_s=score * gpus, ttft_s=1.0, tpot_s=0.01, throughput_tokens_per_s=1.0)
    return SimpleNamespace(text=text, score=score, gpus=gpus, microbatches=microbatches, overlap=Overlap.NONE,
                           meets_requirements=meets, metrics=metrics, memory_fraction=0.5, memory_figures=None,
                           batch=None,
                           misses=(0 if meets else 1) if misses is None else misses, binding=None, judged="all",
                           load_missed=(), exact=True, speculative_tokens=None, engine_refusals=(),
                           load_figures=(), strategy=Strategy(text=text), capacity_judged=False, odds_basis=None)


@pytest.fixture(scope="module")
def plain():
    r = _check("")
    assert r.verdict.meets_requirements is True     # no requirements: all (none) met
    return r


def test_a_better_candidate_is_not_optimal(plain):
    own = plain.metrics.decode_tokens_per_s / 2
    optimal, ev = judge_in_words(plain, _found(_best(own * 2)))
    assert optimal is False
    assert ev["own_score"] == pytest.approx(own)
    assert ev["factor"] == pytest.approx(2.0)
    assert ev["note"] == (f"`tp 1 ; ep 2` gives 2.00× the decode throughput per GPU ({format_figure(own * 2)} vs "
                          f"{format_figure(own)} tokens/s per GPU) on 2 GPUs")
    # the evidence puts the better strategy's figures beside this one's
    assert ev["best_figures"]["decode_tokens_per_s_per_gpu"] == pytest.approx(own * 2)
    assert ev["own_figures"]["ttft_s"] == plain.metrics.ttft_s and ev["own_figures"]["gpus"] == 2


def test_a_candidate_on_fewer_gpus_is_named_with_both_throughputs_under_min_gpus(plain):
    own = plain.metrics.decode_tokens_per_s / 2
    found = _found(_best(own * 1.5, text="tp 1", gpus=1))
    found.objective = "min-gpus"
    optimal, ev = judge_in_words(plain, found)
    assert optimal is False
    assert ev["note"] == (f"`tp 1` needs fewer GPUs (1 vs 2), decoding {format_figure(own * 1.5)} vs "
                          f"{format_figure(own)} tokens/s per GPU")


def test_within_tolerance_is_optimal(plain):
    own = plain.metrics.decode_tokens_per_s / 2
    assert OPTIMAL_TOLERANCE == 0.05
    best = own / 0.96                                 # 4.2 % better: own >= best · 0.95
    optimal, ev = judge_in_words(plain, _found(_best(best), evaluated=12, total=12))
    assert optimal is True
    assert ev["note"] == (f"within 5 % of the best of 12 strategies by tokens-per-gpu (`tp 1 ; ep 2`: "
                          f"{format_figure(best)} tokens/s per GPU)")
    # just beyond the tolerance: 1/0.94 is 6.4 % better
    assert judge_in_words(plain, _found(_best(own / 0.94)))[0] is False


def test_partial_search_that_found_nothing_better_is_not_judged(plain):
    own = plain.metrics.decode_tokens_per_s / 2
    optimal, ev = judge_in_words(plain, _found(_best(own), complete=False, evaluated=10, total=300))
    assert optimal is None
    assert ev["note"].startswith("not judged: no better strategy among the 10 evaluated")
    assert "stopped after 10 of 300 candidates" in ev["note"]


def test_a_better_strategy_whose_rescoring_the_budget_cut_says_its_figures_are_estimates(plain):
    own = plain.metrics.decode_tokens_per_s / 2
    best = _best(own * 2)
    best.exact = False
    found = _found(best, complete=False, evaluated=10, total=300)
    found.rescore_cut = True
    optimal, ev = judge_in_words(plain, found)
    assert optimal is False
    assert ev["note"].endswith("at its cap of 10 candidates); its figures are the search's estimate: the time "
                               "budget left no time to re-score it")
    best.exact = True                                  # re-scored: nothing to add
    assert "estimate" not in judge_in_words(plain, found)[1]["note"]


def test_partial_search_that_found_nothing_is_none(plain):
    optimal, ev = judge_in_words(plain, _found(None, complete=False, evaluated=10, total=300))
    assert optimal is None
    assert ev["complete"] is False
    assert ev["note"] == ("not judged: the search stopped after 10 of 300 candidates (fewest GPUs first, "
                          "at its cap of 10 candidates) before finding a legal strategy")


def test_complete_search_that_found_nothing_is_none(plain):
    # an illegal strategy: nothing on the cluster is legal, as far as the search looked
    optimal, ev = judge_in_words(SimpleNamespace(valid=False, diagnostics=()), _found(None, evaluated=300, total=300))
    assert optimal is None
    assert ev["note"] == "no legal strategy was found on this cluster (all 300 candidates evaluated)"
    # a legal one never reads "no legal strategy" beside its correct: yes
    optimal, ev = judge_in_words(plain, _found(None, evaluated=300, total=300))
    assert optimal is None and plain.valid and "no legal strategy" not in ev["note"]
    assert ev["note"].startswith("not judged: this strategy is legal, but none of the search's 300 candidates is")


def test_a_candidate_that_meets_beats_one_that_does_not(plain):
    failing = replace(plain, verdict=replace(plain.verdict, meets_requirements=False))
    own = plain.metrics.decode_tokens_per_s / 2
    optimal, ev = judge_in_words(failing, _found(_best(own * 0.5, gpus=4)))
    assert optimal is False
    assert ev["note"] == (f"`tp 1 ; ep 2` meets the requirements on 4 GPUs (TTFT 1 s, TPOT 10 ms, "
                          f"{format_figure(own * 0.5)} tokens/s per GPU); this strategy does not")


def test_margin_of_a_met_equality_is_zero_not_minus_zero():
    from dagc.cli.print_requirements import requirement_rows
    from dagc.export.summary import margin_text
    r = check(load_plan_text(plan_text(require="require { gpus == 8 }")))[0]
    (q,) = r.requirements
    assert q.met is True and q.margin == 0.0 and str(q.margin) == "0.0"
    assert q.margin_percent() == "0 %" and margin_text(q) == "0 %"
    cols, rows = requirement_rows(r, 80)
    assert cols[2].header == "margin" and [row[2] for row in rows] == ["0 %"]
    assert RequirementResult(q.requirement, 6.0).margin_percent() == "-25.0 %"     # (8 − 6) / 8


def test_margin_percent_of_a_near_miss_keeps_its_sign():
    (req,) = load_plan_text(plan_text(require="require { ttft <= 1 s }")).requirements
    assert RequirementResult(req, 1.0001).margin_percent() == "-<0.1 %"
    assert RequirementResult(req, 0.9999).margin_percent() == "+<0.1 %"
    assert RequirementResult(req, 0.75).margin_percent() == "+25.0 %"


def test_a_candidate_that_misses_fewer_requirements_is_better():
    """When no strategy meets every line, the one that misses fewer is better, whatever its score."""
    r = _check("require { gpus <= 1  tpot <= 1 ns }")
    assert [q.met for q in r.requirements] == [False, False]
    own = r.metrics.decode_tokens_per_s / r.layout.gpus_used
    optimal, ev = judge_in_words(r, _found(_best(own / 10, gpus=1, meets=False, misses=1)))
    assert optimal is False
    assert ev["note"] == ("`tp 1 ; ep 2` misses fewer requirements on 1 GPU (1 against 2: `gpus <= 1`, "
                          "`tpot <= 1 ns` for this strategy)")


@pytest.mark.parametrize(("require", "complete", "tail"), [
    ("tpot <= 1 ns", True, "; it misses a requirement too, as this strategy misses `tpot <= 1 ns`: no strategy "
                           "dagc searched meets them all"),
    ("tpot <= 1 ns  ttft <= 1 ns", False, "; it misses 2 requirements too, as this strategy misses `tpot <= 1 ns`, "
                                          "`ttft <= 1 ns`: no strategy of those evaluated meets them all"),
])
def test_a_better_strategy_that_misses_requirements_too_says_so(require, complete, tail):
    """A requirement no strategy meets (N604): the better strategy the verdict names misses it too, and
    the note says so rather than leave the reader to take it for a fix."""
    r = _check(f"require {{ {require} }}")
    misses = sum(q.met is False for q in r.requirements)
    assert misses == len(r.requirements)
    own = r.metrics.decode_tokens_per_s / r.layout.gpus_used
    best = _closer(_best(own * 2, meets=False, misses=misses), r)       # no further from any line than this one
    optimal, ev = judge_in_words(r, _found(best, complete=complete, evaluated=40 if complete else 10))
    assert optimal is False
    assert ev["note"].startswith("`tp 1 ; ep 2` gives 2.00× the decode throughput per GPU")
    assert tail in ev["note"]


def test_a_better_strategy_that_meets_what_this_one_meets_says_nothing_more(plain):
    own = plain.metrics.decode_tokens_per_s / 2
    _, ev = judge_in_words(plain, _found(_best(own * 2)))
    assert "too, as this strategy misses" not in ev["note"]


@pytest.mark.parametrize(("batch", "words"), [(1, "serving 1 request at"), (264, "serving 264 requests at")])
def test_the_requests_a_better_strategy_serves_are_counted_in_words(plain, batch, words):
    """With `batch = max` the note says how many requests the better strategy serves: one request, or
    several requests."""
    own = plain.metrics.decode_tokens_per_s / 2
    best = _best(own * 2)
    best.batch = batch
    _, ev = judge_in_words(plain, _found(best))
    assert words in ev["note"] and f"(this strategy: {plain.layout.batch:,} at" in ev["note"]


def _closer(best, r):
    """`best` with a TTFT and TPOT a tenth of `r`'s: no further than `r` from any time requirement."""
    best.metrics = SimpleNamespace(**{**vars(best.metrics), "ttft_s": r.metrics.ttft_s / 10,
                                      "tpot_s": r.metrics.tpot_s / 10})
    return best


def test_when_both_miss_a_line_the_note_gives_both_figures():
    """When no strategy meets every requirement, the note names each missed line with the better
    strategy's figure and this one's, in the line's unit."""
    r = _check("require { tpot <= 1 ns  gpus <= 4 }")
    own = r.metrics.decode_tokens_per_s / r.layout.gpus_used
    best = _closer(_best(own * 2, meets=False, misses=1), r)
    optimal, ev = judge_in_words(r, _found(best))
    tpot = r.metrics.tpot_s
    assert optimal is False
    assert ev["note"].endswith(f"no strategy dagc searched meets them all (`tpot <= 1 ns`: "
                               f"{format_si(tpot / 10, Dimension.TIME)} against this strategy's "
                               f"{format_si(tpot, Dimension.TIME)})")     # `gpus <= 4`, met by both: unnamed


def test_a_better_score_further_from_a_line_both_miss_is_not_better():
    """When no strategy meets every requirement, the best by the objective among those that miss the
    fewest is no better than this one if it misses a line by more (here a TPOT of 10 ms against
    about 1.9 ms, under `tpot <= 1 ns`): the verdict is not judged, and says why with both figures."""
    r = _check("require { tpot <= 1 ns  gpus <= 4 }")
    own = r.metrics.decode_tokens_per_s / r.layout.gpus_used
    optimal, ev = judge_in_words(r, _found(_best(own * 2, meets=False, misses=1)))
    tpot = format_si(r.metrics.tpot_s, Dimension.TIME)       # as every time reads
    assert optimal is None
    assert ev["note"] == (f"not judged: no strategy dagc searched meets every requirement, and `tp 1 ; ep 2`, the best "
                          f"by tokens-per-gpu of those that miss the fewest, gives 2.00× the decode throughput per GPU "
                          f"({format_figure(own * 2)} vs {format_figure(own)} tokens/s per GPU) but is further than "
                          f"this strategy from `tpot <= 1 ns` (`tpot <= 1 ns`: 10 ms against this strategy's "
                          f"{tpot})")


@pytest.mark.parametrize(("own", "best", "factor"), [(100.0, 185.12, "1.85×"), (100.0, 105.36, "1.054×"),
                                                     (100.0, 109.99, "1.100×"), (100.0, 300.0, "3.00×")])
def test_a_gain_near_the_tolerance_is_not_rounded_into_it(plain, own, best, factor):
    """'optimal: no' with 'gives 1.05×' would read as within the 5 % tolerance: the factor keeps the
    digits that tell it from 1.05."""
    scale = plain.metrics.decode_tokens_per_s / 2 / own
    optimal, ev = judge_in_words(plain, _found(_best(best * scale)))
    assert optimal is False and f"gives {factor} the decode throughput per GPU" in ev["note"]


def test_a_strategy_with_errors_meets_no_line_in_its_table():
    """A strategy with errors (E401: more GPUs than the cluster has) has figures as if it could run;
    its requirements table says `no: it has errors` on each line, as its verdict says no."""
    from dagc.verdict.verdict import met_text
    r = _check("require { ttft <= 100 s }", strategy="strategy dp 8 < tp 2 ; ep 2 >")
    assert r.verdict.correct is False and r.verdict.meets_requirements is False
    (q,) = r.requirements
    assert q.met is True and met_text(q, r.verdict.correct) == "no: it has errors"
    assert met_text(q, True) == "yes" and met_text(q, None) == "yes"


def test_a_figure_near_its_requirement_is_shown_with_the_digits_that_tell_them_apart():
    """Within half a percent of a requirement's target a figure is shown in the requirement's unit with
    enough digits; elsewhere, and without a requirement on it, as the table would print it."""
    from dagc.plan.workload import RequirementKind as K
    from dagc.verdict.verdict import near_text
    plan = load_plan_text(plan_text(model=MODEL, cluster=CLUSTER, workload=WORKLOAD,
                                    require="require { ttft <= 2 s  memory <= 80 % }", strategy="strategy tp 2"))
    assert near_text(plan, K.TTFT, 1.99983, "2.0 s") == "1.99983 s"
    assert near_text(plan, K.TTFT, 2.02, "2.0 s") == "2.0 s"              # 1 % off: as printed
    assert near_text(plan, K.TTFT, 1.5, "1.5 s") == "1.5 s"
    assert near_text(plan, K.MEMORY, 0.79967, "80 %") == "79.97 %"
    assert near_text(plan, K.TPOT, 0.0199, "19.9 ms") == "19.9 ms"         # no requirement on TPOT
    assert near_text(plan, K.TTFT, None, "—") == "—"


def test_fewer_misses_are_counted_as_the_verdict_counts_them_when_this_strategy_does_not_carry_its_traffic():
    """A strategy past its capacity misses every load requirement, as the search counts (`requirements_missed`): the
    note says so. A new user's Qwen3-30B-A3B at 9 requests/s read "`tp 1 ; ep 2 …` misses fewer requirements on 2
    GPUs (2 against 2: `tpot_p90 <= 9 ms`, `decode_throughput >= 20000 tokens/s` for this strategy)"."""
    text = plan_text(model=MODEL, cluster=CLUSTER, strategy="strategy tp 2 ; ep 2",
                     workload="workload { batch = 4  prompt = 128  generate = 8  serving = inflight  "
                              "rate = 2 requests/s  requests = 50 }",
                     require="require { ttft_p99 <= 10 s  tpot_p90 <= 1 s  decode_throughput >= 1e9 tokens/s }")
    r = check(load_plan_text(text))[0]
    assert [q.met for q in r.requirements] == [True, True, False] and r.load is not None
    short = replace(r, load=replace(r.load, not_carried_because="its capacity is below the rate"))  # not carried
    optimal, ev = judge_in_words(short, _found(_best(1.0, gpus=1, meets=False, misses=2)))
    assert optimal is False
    assert ev["note"] == ("`tp 1 ; ep 2` misses fewer requirements on 1 GPU (2 against 3: "
                          "`decode_throughput >= 1e9 tokens/s` for this strategy, and its 2 load requirements, "
                          "which a strategy that does not carry its traffic misses whatever its run's figures)")
    # missing none of its steady-state lines, it misses its load requirements alone
    met = replace(short, requirements=short.requirements[:2])
    assert judge_in_words(met, _found(_best(1.0, gpus=1, meets=False, misses=1)))[1]["note"] == (
        "`tp 1 ; ep 2` misses fewer requirements on 1 GPU (1 against 2: this strategy's 2 load requirements, which a "
        "strategy that does not carry its traffic misses whatever its run's figures)")
