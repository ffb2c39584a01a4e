"""The search's ranking does not depend on `--top`, only how many rows are printed (issue: Qwen3-235B-A22B on 8 H200s
at 6 requests/s, where no strategy meets the requirements).

Until the fix a candidate short of the traffic (`dagc.search.floor`) counted one requirement missed while one
simulated under the traffic counted each load line it missed, so a candidate simulated — the rows printed decide
which — sank below every one that was not: `tp 4 ; ep 4 with microbatches 2` (171.3 tokens/s per GPU, TPOT 187 ms)
ranked first, `tp 8 ; ep 8 with microbatches 1` (251.7 tokens/s per GPU, TPOT 64 ms) 74th, out of `--top 64`, and
`dagc check --strategy "tp 8 ; ep 8"` named the first as the search's best while saying it gives 0.681× this one's
throughput (the issue's figures; TensorRT-LLM's admission as its scheduler admits has moved them since). A
deployment that does not carry its traffic now misses every load line, simulated or not
(`dagc.search.floor.traffic_misses`, `dagc.verdict.carrying.requirements_missed`). And a decode pool's bound sized
its KV cache under the plan's memory limit, which the pool's instances are not evaluated under: on the vLLM plan with
`tpot_p90 <= 30 ms` the search printing 5 rows pruned the pools whose pairs rank 11th to 22nd.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from dagc.cli.main import main
from dagc.lang.load import load_plan_text
from dagc.search.floor import traffic_floor, traffic_misses
from dagc.search.search import search

# The issue's plans with 600 requests in place of 1,000 (the same defects, 60 % of the simulations' work). The
# traffic asks 6 requests/s × 400 tokens = 2,400 decode tokens/s. With TensorRT-LLM no strategy on 8 H200s serves
# that many at its steady state (`tp 8 ; ep 8`, the most, 235.2 tokens/s per GPU × 8 = 1,881.6), so none carries the
# traffic and each misses both load lines (`ttft_p99`, `tpot_p90`). With vLLM and `tpot_p90 <= 30 ms`, which none
# meets, the search printing 5 rows ranked `tp 4 ; ep 4 with microbatches 2` first (301.0 tokens/s per GPU, TPOT
# 107 ms, not simulated) and the one printing 80 `dp 2 < tp 4 ; ep 4 >` first, `tp 4 ; ep 4 with microbatches 1`
# (493.1 tokens/s per GPU, TPOT 65 ms) second, simulated: the walk for the best alone had run out in that search
# alone. (Without that, the rows re-scored after the walk were ranked again by `rank_key` alone, which undid its
# "what is known first": `dagc.search.under_traffic.known_key`.)
PLAN = """model preset "qwen3-235b-a22b"
cluster { gpus = 8  gpu preset "h200"  engine = ENGINE }
workload { batch = 128  prompt = 2000  generate = 400
  serving = inflight  chunk = 8192
  rate = 6 requests/s  requests = 600  lengths = lognormal  length_cv = 0.8  seed = 3 }
require { ttft_p99 <= 3 s  tpot_p90 <= TPOT  memory <= 90 % }
strategy tp8 = tp 8
strategy dep = tp 1 ; ep 8
strategy tp4ep = tp 8 ; ep 8
"""
TRTLLM = PLAN.replace("ENGINE", "trtllm").replace("TPOT", "60 ms")
VLLM = PLAN.replace("ENGINE", "vllm").replace("TPOT", "30 ms")


def _json(capsys, *argv: str) -> dict:
    capsys.readouterr()
    assert main(list(argv)) in (0, 1)            # check: 1 when the strategy misses a requirement
    return json.loads(capsys.readouterr().out)


def _rows(path, top: int) -> list[dict]:
    """`dagc search PATH --top TOP --format json`'s rows."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["search", str(path), "--top", str(top), "--format", "json",
                     "--svg", str(path.with_suffix(".svg"))]) == 0         # beside the plan, in its temp dir
    rows: list[dict] = json.loads(buffer.getvalue())["candidates"]
    return rows


@pytest.fixture(scope="module")
def trtllm(tmp_path_factory):
    path = tmp_path_factory.mktemp("rank") / "trtllm.moe"
    path.write_text(TRTLLM)
    return path


@pytest.fixture(scope="module")
def rows(trtllm):
    """The TensorRT-LLM plan's rows with `--top 5` and `--top 80`."""
    return {top: _rows(trtllm, top) for top in (5, 80)}


@pytest.fixture(scope="module")
def vllm_rows(tmp_path_factory):
    """The vLLM plan's rows with `--top 5` and `--top 80`."""
    path = tmp_path_factory.mktemp("rank") / "vllm.moe"
    path.write_text(VLLM)
    return {top: _rows(path, top) for top in (5, 80)}


def _names(rows: list[dict]) -> list[str]:
    return [r["strategy"] for r in rows]


def test_the_floor_and_its_misses_by_hand():
    plan = load_plan_text(TRTLLM)
    assert traffic_floor(plan) == pytest.approx(6 * 400 / 1.1)     # the rate's tokens, less the ceiling's 10 %
    assert traffic_misses(plan) == 2                 # ttft_p99 and tpot_p90; memory is judged on the steady state


def _ranking(rows: list[dict]) -> list[tuple[str, str, int]]:
    """Each row's strategy, score (to its 10th digit: the last bits of a score are the cost model's float noise)
    and requirements missed."""
    return [(r["strategy"], f"{r['score']:.10g}", r["requirements_missed"]) for r in rows]


@pytest.mark.parametrize("plan", ["rows", "vllm_rows"])
def test_the_ranking_is_the_same_whatever_top(plan, request):
    ranked = request.getfixturevalue(plan)
    five, eighty = ranked[5], ranked[80]
    assert len(five) == 5 and len(eighty) == 80
    assert not any(r["meets_requirements"] for r in eighty)
    assert _ranking(five) == _ranking(eighty[:5])


def test_the_vllm_plans_best_is_the_best_by_its_figures(vllm_rows):
    """`tp 4 ; ep 4 with microbatches 1` misses as many requirements as its `microbatches 2` (both load lines, the
    latter short of the traffic: 301.0 × 4 = 1,204 tokens/s against 2,400) and is better on both figures."""
    names = _names(vllm_rows[80])
    one, two = (vllm_rows[80][names.index(f"tp 4 ; ep 4 with microbatches {k} overlap none")] for k in (1, 2))
    assert two["short_of_traffic"] and two["requirements_missed"] == 2 == one["requirements_missed"]
    assert one["score"] == pytest.approx(493.09, abs=0.01) and two["score"] == pytest.approx(300.97, abs=0.01)
    assert one["metrics"]["tpot_s"] < two["metrics"]["tpot_s"]
    assert names.index(one["strategy"]) < names.index(two["strategy"])
    # every row misses both load lines, as its check counts them: `tp 4 ; ep 4` short of the traffic, and the pairs
    # whose decode instance `tp 4 ; ep 4` carries its tokens (304.02 × 8 = 2,432 tokens/s ≥ 2,400) but whose runs
    # miss `tpot_p90` at the rate (52.6 ms), so that their capacities — the highest rate at which their percentiles
    # hold, 0.63 requests/s for the first — lie below it; until 2026-12-03 those pairs counted the one line their
    # runs missed and ranked first, while `dagc check --strategy` of each said it misses 2. So the most tokens/s per
    # GPU is first: `tp 4 ; ep 4`
    best = vllm_rows[5][0]
    assert (best["strategy"], best["requirements_missed"]) == (one["strategy"], 2)
    assert all(r["requirements_missed"] == 2 for r in vllm_rows[80])
    pair = names.index("prefill 1 < tp 4 ; ep 4 > decode 1 < tp 4 ; ep 4 > with microbatches 1 overlap none")
    row = vllm_rows[80][pair]
    assert row["load_requirements_missed"] == ["tpot_p90 <= 30 ms"] and row["score"] == pytest.approx(304.02, abs=0.01)


def test_when_none_meets_the_rows_rank_by_misses_then_the_objective(rows):
    eighty = rows[80]
    assert not any(r["meets_requirements"] for r in eighty)
    # none carries the traffic: each misses both load lines, whether simulated or not
    assert all(r["requirements_missed"] >= 2 for r in eighty)
    assert {r["judged"] for r in eighty} == {"all", "steady-state"}
    # scores equal to their 13th digit tie (`score_key`) and rank by GPUs, TTFT, …: read to the 10th
    keys = [(r["requirements_missed"], -float(f"{r['score']:.10g}")) for r in eighty]
    assert keys == sorted(keys)


def test_the_strategy_check_accepts_is_ranked_by_its_figures(rows):
    names = _names(rows[80])
    mb1, mb2 = "tp 8 ; ep 8 with microbatches 1 overlap none", "tp 4 ; ep 4 with microbatches 2 overlap none"
    # missing from --top 64 before (74th); now 3rd, after `tp 4 ; ep 4` and `tp 4 ; ep 2 etp 2`
    assert _names(rows[5])[2] == mb1
    row = rows[80][names.index(mb1)]
    assert row["score"] == pytest.approx(235.20, abs=0.01) and row["requirements_missed"] == 2
    # 134.3 tokens/s per GPU on 4 GPUs: 537.1 tokens/s against the 2,400 the traffic asks, short of it
    short = rows[80][names.index(mb2)]
    assert short["short_of_traffic"] and short["requirements_missed"] == 2
    assert short["score"] == pytest.approx(134.27, abs=0.01) and short["gpus"] == 4
    assert names.index(mb1) < names.index(mb2)
    # the same strategy with one micro-batch is better on both figures: it ranks first
    one = rows[80][names.index("tp 4 ; ep 4 with microbatches 1 overlap none")]
    assert one["score"] > short["score"] and one["metrics"]["tpot_s"] < short["metrics"]["tpot_s"]
    assert names[0] == "tp 4 ; ep 4 with microbatches 1 overlap none"


def test_the_checks_optimal_line_names_the_searchs_best(capsys, trtllm, rows):
    report = _json(capsys, "check", str(trtllm), "--strategy", "tp 8 ; ep 8", "--format", "json")
    evidence = report["verdict"]["optimal_evidence"]
    assert evidence["best_strategy"] == rows[80][0]["strategy"]
    assert evidence["best_score"] == pytest.approx(rows[80][0]["score"], rel=1e-9)
    # the best it names is no worse by the objective (it said 0.681× before)
    assert evidence["best_score"] > evidence["own_score"] == pytest.approx(235.20, abs=0.01)
    assert "gives 1.069×" in evidence["note"]          # 251.3 / 235.2


def test_a_decode_pools_bound_prunes_no_pair_of_the_exact_top():
    """The branch and bound keeps the best `exact_top` as the exhaustive search ranks them: the pairs of decode
    instance `tp 4 ; ep 4` (under the plan's memory limit, as `dagc check` evaluates a pool and its bound sizes it)
    rank 5th to 8th at 304.02 tokens/s per GPU. (Until 2026-11-28 its pairs with a prefill instance of one GPU,
    `tp 1 ; ep 4` and `tp 1 ; ep 1 etp 4`, ranked 10th and 11th: vLLM does not start that instance, whose KV cache
    holds 3,357 tokens, short of the longest request the traffic sends — E732, which `dagc check` gives it — and the
    search leaves such instances out, `dagc.search.kv_screen`.) (Evaluated on the whole GPU, as `dagc check` did
    until 2026-11-28, the pairs of decode instance `tp 1 ; ep 4` ranked 11th to 22nd, holding 128 requests in
    98.6 % of a GPU; under the limit it runs ≈ 16.)"""
    plan = load_plan_text(VLLM)
    pruned = search(plan, top=5, rescore=0)
    whole = search(plan, top=5, rescore=0, prune=False)
    assert pruned.exact_top == 10 + 30      # SPLIT_CANDIDATES (more than 5 rows), and the walk's 30 under the traffic
    keys = [(c.text, c.score) for c in pruned.ranked[:pruned.exact_top]]
    assert keys == [(c.text, c.score) for c in whole.ranked[:pruned.exact_top]]
    text = "prefill 1 < tp 4 ; ep 4 > decode 1 < tp 4 ; ep 4 > with microbatches 1 overlap none"
    assert text in [t for t, _ in keys]
    pools = [i + 1 for i, (t, _) in enumerate(keys) if t.endswith("decode 1 < tp 4 ; ep 4 > with microbatches 1 "
                                                                 "overlap none")]
    assert pools == [5, 6, 7, 8]
    assert not any(t.startswith("prefill 1 < tp 1 ;") for t, _ in keys)
