"""One notion of "meets" (issue 52), continued: the Pareto front made again over the candidates judged under
the plan's traffic; the judgments shared between objectives without their scores; an optimal verdict that
never calls a strategy worse than one dagc did not simulate, nor compares a strategy with itself; a search
whose traffic is past the load's work budget (W518) says so; `--vary batch` rows say how to paste them."""

from __future__ import annotations

import json
import re

import pytest
from test_meets_load import PLAN

from dagc.cli.main import main
from dagc.export.optimal_words import evidence_json
from dagc.lang.load import load_plan, load_plan_text, parse_strategy
from dagc.plan.objective import OBJECTIVES
from dagc.search.result import front_key
from dagc.search.search import objective_picks, search
from dagc.search.under_traffic import ALL, BEST_LIMIT, JUDGE_LIMIT, STEADY, judge_under_traffic, traffic_floor
from dagc.verdict.check import check_strategy
from dagc.verdict.optimal import judge_optimal
from conftest import one_computation_per_output

# tests/test_meets_load.py's plan: on 2 H200s at 14 requests/s the 1-GPU `tp 1` is the steady state's best and
# misses `tpot_p90 <= 30 ms` under the traffic; the 2-GPU strategies meet every line. The steady state's front
# is a disaggregated pair (`prefill 1 < tp 1 > decode 1 < tp 1 >`) that `tp 2 ; ep 2` dominates.

TP1 = "tp 1 with microbatches 1 overlap none"


def judge_in_words(result, found, **kw):
    """`judge_optimal` with its evidence as report.json gives it, the note in words (`dagc.export.optimal_words`)."""
    optimal, evidence = judge_optimal(result, found, **kw)
    return optimal, evidence_json(evidence, result)


@pytest.fixture(autouse=True)
def _wide_tables(monkeypatch):
    """Tables wide enough for every column, a row on a line: these tests read their cells (tables at the
    widths terminals have are tests/test_cli_widths.py's)."""
    monkeypatch.setenv("COLUMNS", "1000")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    got = capsys.readouterr()
    return code, got.out, got.err


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("meets_more") / "load.moe"
    path.write_text(PLAN)
    return path


@pytest.fixture(scope="module")
def steady(plan_path):
    return search(load_plan(str(plan_path)), top=4)


def _dominates(a, b) -> bool:
    """Whether front point a is no worse than b on decode tokens/s per GPU and TPOT, and better on one."""
    ka, kb = front_key(a), front_key(b)
    return ka[0] <= kb[0] and ka[1] <= kb[1] and (ka[0] < kb[0] or ka[1] < kb[1])


def test_the_front_is_made_again_over_the_judged_candidates(plan_path, steady):
    plan = load_plan(str(plan_path))
    judged = judge_under_traffic(plan, steady, need=3)
    meeting = [c for c in judged.ranked if c.judged == ALL and c.meets_requirements]
    assert meeting and judged.pareto
    # no point of the front is dominated by a candidate judged on every requirement that meets them
    for point in judged.pareto:
        assert point.meets_requirements
        assert not any(_dominates(c, point) for c in meeting), (point.text, [c.text for c in meeting])
    # the best judged on every requirement is on the front; the steady state's pair it dominates is not
    assert judged.best.text in {p.text for p in judged.pareto}
    assert not any(p.text.startswith("prefill 1 < tp 1 > decode 1 < tp 1 >") for p in judged.pareto)
    # a point simulated and found missing is not on it
    assert TP1 not in {p.text for p in judged.pareto}
    # each point judged on every requirement says what check says of it
    for point in judged.pareto:
        if point.judged == ALL:
            r = check_strategy(plan, parse_strategy(point.text), with_capacity=False)
            assert r.verdict.meets_requirements is True


def test_each_objectives_pick_is_what_its_own_search_picks(plan_path):
    """compile's "what each objective would pick" shares the simulations of one plan between objectives, but
    each ranks by its own score: its pick is `dagc search --objective X`'s best (a fresh process: a fresh plan)."""
    plan = load_plan(str(plan_path))
    found = judge_under_traffic(plan, search(plan, top=5, front=False), 1)
    picks = objective_picks(plan, found, top=5)
    for objective in OBJECTIVES:
        alone_plan = load_plan(str(plan_path))          # a memo of its own, as another process has
        alone = judge_under_traffic(alone_plan, search(alone_plan, objective=objective, top=10), 10).best
        assert picks[objective] is not None and alone is not None
        assert (picks[objective].text, picks[objective].score) == (alone.text, alone.score), objective
        assert picks[objective].judged == ALL and picks[objective].meets_requirements


def test_the_verdict_never_calls_a_strategy_worse_than_one_not_simulated(plan_path, steady):
    plan = load_plan(str(plan_path))
    unsimulated = judge_under_traffic(plan, steady, need=1, limit=0)      # the best judged on the steady state
    assert unsimulated.best.text == TP1 and unsimulated.best.judged == STEADY
    own = check_strategy(plan, parse_strategy("tp 2 ; ep 2"), with_capacity=False)
    assert own.verdict.meets_requirements is True           # both meet: the best on the steady state alone
    optimal, ev = judge_in_words(own, unsimulated)
    assert optimal is None, ev["note"]
    assert ev["note"].startswith("not judged: ") and "steady state alone" in ev["note"]
    # judged under the traffic, the same best misses a load line: `tp 2 ; ep 2` is then optimal
    optimal, ev = judge_in_words(own, judge_under_traffic(plan, steady, need=1))
    assert optimal is True


def test_the_verdict_does_not_compare_a_strategy_with_itself(plan_path, steady):
    plan = load_plan(str(plan_path))
    unsimulated = judge_under_traffic(plan, steady, need=1, limit=0)
    own = check_strategy(plan, parse_strategy(TP1), with_capacity=False)      # the search's best, checked
    assert own.verdict.meets_requirements is False
    optimal, ev = judge_in_words(own, unsimulated)
    assert optimal is None
    assert f"`{TP1}`" not in ev["note"] and "is this strategy" in ev["note"]
    assert "`tpot_p90 <= 30 ms`" in ev["note"]
    # a best that is this strategy and meets every requirement by its check: within 5 % of itself
    best = judge_under_traffic(plan, steady, need=1, limit=1, best_limit=1)  # `tp 2 ; ep 2` next, not simulated
    assert best.best.judged == STEADY
    mine = check_strategy(plan, parse_strategy(best.best.text), with_capacity=False)
    assert mine.verdict.meets_requirements is True
    assert judge_in_words(mine, best)[0] is True


@pytest.fixture(scope="module")
def over_budget(tmp_path_factory):
    """The plan with ten million requests: past the load's work budget, nothing is simulated (W518)."""
    path = tmp_path_factory.mktemp("w518") / "big.moe"
    path.write_text(PLAN.replace("requests = 150", "requests = 1e7").replace("strategy tp 1", "strategy tp 2 ; ep 2"))
    return path


def test_search_past_the_work_budget_warns_and_says_nothing_judges_the_load(capsys, over_budget, tmp_path):
    code, out, err = _run(capsys, "search", str(over_budget), "--top", "3", "--svg", str(tmp_path / "p.svg"))
    assert code == 0
    assert "warning[W518]" in err and "no candidate was simulated under the plan's traffic" in err
    assert "yes (steady state)" in out
    assert "judged by `dagc check --strategy`" not in out
    assert "are not judged: the plan's traffic is past the load's work budget (W518)" in out
    code, out, err = _run(capsys, "search", str(over_budget), "-q", "--svg", str(tmp_path / "p.svg"))
    assert "warning[W518]" in err and "judged by `dagc check --strategy`" not in out


def test_a_front_point_not_simulated_is_labelled(capsys, over_budget, tmp_path):
    """Nothing simulated (W518): every point of the front says, in its own row, that it was judged on the
    steady state alone."""
    svg = str(tmp_path / "p.svg")
    with one_computation_per_output():             # one search, printed as JSON and as text
        code, out, _ = _run(capsys, "search", str(over_budget), "--top", "1", "--svg", svg, "--format", "json")
        assert code == 0
        doc = json.loads(out)
        assert doc["pareto"] and all(p["judged"] == STEADY and p["meets_requirements"] for p in doc["pareto"])
        code, out, _ = _run(capsys, "search", str(over_budget), "--top", "1", "--svg", svg)
    title, table = out.split("Pareto front", 1)[1].split("\n", 1)
    assert "`yes (steady state)`: a point not simulated under the plan's traffic" in title
    rows = [[c.strip() for c in line.strip("│").split("│")] for line in table.splitlines() if line.startswith("│")]
    assert {r[0] for r in rows} == {p["strategy"] for p in doc["pareto"]}
    assert all(r[-1] == "yes (steady state)" for r in rows)


@pytest.mark.parametrize("strategy", [None, "tp 1"])
def test_check_past_the_work_budget_does_not_judge_in_words(capsys, over_budget, strategy):
    """Neither this strategy nor the search's best was simulated: "not judged", with the reason — for the
    plan's `tp 2 ; ep 2` (the steady state's best `tp 1` scores higher) and for `tp 1` itself."""
    argv = ["check", str(over_budget), "--format", "json"] + (["--strategy", strategy] if strategy else [])
    code, out, _ = _run(capsys, *argv)
    verdict = json.loads(out)["verdict"]
    assert verdict["meets_requirements"] is None
    assert verdict["optimal"] is None
    note = verdict["optimal_evidence"]["note"]
    assert note.startswith("not judged: ") and "W518" in note
    if strategy == "tp 1":
        assert f"`{TP1}`" not in note and "is this strategy" in note


def test_vary_batch_rows_say_how_to_paste_them(capsys, tmp_path):
    path = tmp_path / "vb.moe"
    path.write_text('model preset "qwen3-30b-a3b"\ncluster { gpus = 2  gpu preset "h200" }\n'
                    "workload { batch = 64  prompt = 1000  generate = 100 }\nrequire { tpot <= 40 ms }\n"
                    "strategy tp 1\n")
    svg = str(tmp_path / "p.svg")
    with one_computation_per_output():      # one search, printed three ways (until 2026-12-02 three searches)
        code, out, _ = _run(capsys, "search", str(path), "--vary", "batch", "--top", "1", "--svg", svg)
        assert code == 0
        assert "paste a row with `--set workload.batch=N`" in out
        code, out, _ = _run(capsys, "search", str(path), "--vary", "batch", "--top", "1", "-q", "--svg", svg)
        # `yes*`: at its largest batch its TPOT's band straddles 40 ms (docs/search.md, "Within dagc's error")
        said = re.search(r"best: (.+) · \d+ GPUs? · meets requirements: yes\*? · batch [\d,]+ "
                         r"\(paste with `--set workload\.batch=(\d+)`\)", out)
        assert said is not None, out
        text, batch = said[1], said[2]
        code, out, _ = _run(capsys, "search", str(path), "--vary", "batch", "--top", "1", "--format", "json",
                            "--svg", svg)
        best = json.loads(out)["candidates"][0]
    assert (best["strategy"], best["workload"]["batch"]) == (text, int(batch))
    # pasted as the line says, it runs that batch and gives the row's figures; the text alone runs the plan's
    code, out, _ = _run(capsys, "check", str(path), "--strategy", text, "--set", f"workload.batch={batch}",
                        "--no-search", "--format", "json")
    pasted = json.loads(out)
    assert pasted["metrics"]["tpot_s"] == pytest.approx(best["metrics"]["tpot_s"], rel=1e-9)
    code, out, _ = _run(capsys, "check", str(path), "--strategy", text, "--no-search", "--format", "json")
    assert json.loads(out)["metrics"]["tpot_s"] != pytest.approx(best["metrics"]["tpot_s"], rel=1e-3)


VB_LOAD = """model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h200" }
workload {
  batch = 64  prompt = 1000  generate = 100  serving = inflight  chunk = 4096
  rate = 2 requests/s  requests = 100
}
require { tpot_p90 <= 30 ms }
strategy tp 1
"""


def test_vary_batch_table_shows_the_figure_meets_judges_beside_the_steady_state(capsys, tmp_path):
    """At 2 requests/s each row's largest batch (744 requests on two GPUs) is never reached: its steady-state
    TPOT (every request of the batch in flight, 53.42 ms) is over `tpot_p90 <= 30 ms`, and the run of the
    traffic that `meets requirements` judges gives a p90 of 8.07 ms. The table used to print `yes` beside the
    53.42 ms alone; it now shows the run's p90 in a `tpot_p90 (traffic)` column, the figure `yes` reads."""
    path = tmp_path / "vb.moe"
    path.write_text(VB_LOAD)
    svg = str(tmp_path / "p.svg")
    with one_computation_per_output():      # one search, printed as text and as JSON (until 2026-12-02 two searches)
        code, out, _ = _run(capsys, "search", str(path), "--vary", "batch", "--top", "3", "--svg", svg)
        code_json, out_json, _ = _run(capsys, "search", str(path), "--vary", "batch", "--top", "3", "--format", "json",
                                      "--svg", svg)
    assert code == 0 == code_json
    header = next(line for line in out.splitlines() if "strategy" in line and "TPOT" in line)
    cells = [c.strip() for c in header.split("┃")[1:-1]]
    assert cells[cells.index("TPOT") + 2] == "tpot_p90 (traffic)" and cells[-2] == "meets requirements"
    table = out.split("best 3", 1)[1].split("└", 1)[0]         # the best's table, not the Pareto front's
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in table.splitlines() if line.startswith("│ ")]
    assert len(rows) == 3 and all(len(row) == len(cells) for row in rows)
    for row in rows:
        steady, traffic = row[cells.index("TPOT")], row[cells.index("tpot_p90 (traffic)")]
        assert steady.endswith(" ms") and float(steady[:-3]) > 30
        assert traffic.endswith(" ms") and float(traffic[:-3]) <= 30 and row[cells.index("meets requirements")] == "yes"
    assert "`tpot_p90 (traffic)`: the figure of that run each load requirement is judged on" in out
    best = json.loads(out_json)["candidates"][0]
    assert best["meets_requirements"] and best["judged"] == ALL
    assert best["load_figures"]["tpot_p90"] <= 0.030 < best["metrics"]["tpot_s"]


# Qwen3-235B-A22B on 8 H200s at 6 requests/s: the search's ten best by the steady state all miss the load
# requirements under the traffic, so the verdict's best is the eleventh — past the ten a pruned search kept exact
QWEN235_AT_6 = """model preset "qwen3-235b-a22b"
cluster { gpus = 8  gpu preset "h200" }
workload { batch = 128 prompt = 2000 generate = 400 serving = inflight rate = 6 requests/s requests = 1000 seed = 7 }
require { ttft_p99 <= 2 s  tpot_p90 <= 40 ms  memory <= 90 % }
strategy dep = tp 1 ; ep 8
"""


@pytest.mark.slow
def test_the_verdicts_best_is_the_same_whether_the_search_keeps_its_front_or_not():
    """`dagc check` searches without the Pareto front, `dagc compile` with it (more candidates evaluated in full):
    both name the same best after judging the candidates under the traffic, as deep as that walk goes."""
    import contextlib

    from dagc.drive.drive import CHECK_RESCORED, judged, searched
    from dagc.schedule.timer import Timer
    from dagc.search.options import SearchOptions

    quiet = lambda *a, **k: contextlib.nullcontext(None)    # noqa: E731
    bests = []
    for front in (False, True):
        plan = load_plan_text(QWEN235_AT_6)         # a plan of its own: as in a process of its own, no judgment kept
        found = searched(plan, SearchOptions(top=CHECK_RESCORED, jobs=1, timer=Timer(plan), front=front), quiet)
        assert found.exact_top >= 10 + JUDGE_LIMIT
        best = judged(plan, found, 1, quiet).best
        assert best is not None
        bests.append(best.text)
    assert bests[0] == bests[1]


@pytest.mark.slow
def test_the_search_says_how_many_it_simulated_missed_when_the_rows_shown_were_not(tmp_path, capsys):
    """`ttft_p99 <= 5 ms` at 3 requests/s (every candidate's steady state carries that rate): the ten best by the
    steady state all miss under the traffic and sink, and so do the twenty the walk simulates next for its best
    alone; the walk has run out, so the ranking is by what is known — the thirty simulated first, each `no:
    ttft_p99`, above those judged on the steady state alone (they used to lead, `yes (steady state)`, and the
    note pointed past the rows shown to the first simulated) — and the note says where they are."""
    plan = tmp_path / "tight.moe"
    plan.write_text(PLAN.replace("ttft_p99 <= 1 s", "ttft_p99 <= 5 ms").replace("rate = 14", "rate = 3"))
    capsys.readouterr()
    assert main(["search", str(plan), "--top", "3", "--svg", str(tmp_path / "p.svg")]) == 0
    text = capsys.readouterr().out
    out = " ".join(text.split())
    assert (f"(dagc simulates at most {JUDGE_LIMIT} of a search's best under the plan's traffic, and up to "
            f"{JUDGE_LIMIT * BEST_LIMIT} while its best is not judged; of those it simulated, "
            f"{JUDGE_LIMIT * BEST_LIMIT} missed a load requirement: ranked above those not simulated, the walk "
            "having run out (dagc ranks by what is known), `no:` with what they miss)") in out
    rows = [line for line in text.splitlines() if re.match(r"│ *\d+ *│", line)]
    assert len(rows) == 3 and all("no: ttft_p99" in r for r in rows)


DSV3_AT_6 = """# DeepSeek-V3 on 16 H200s at 6 requests/s: eight GPUs cannot carry it, the best by the steady state
model preset "deepseek-v3"
cluster { gpus = 16  gpus_per_node = 8  gpu preset "h200"  engine = sglang  inter_node = 50 GB/s }
workload { batch = 128  prompt = 3000  generate = 400  serving = inflight  chunk = 8192
           rate = 6 requests/s  requests = 2000  seed = 7 }
require { ttft_p99 <= 2 s  tpot_p99 <= 50 ms  goodput >= 5 requests/s  memory <= 90 % }
strategy tp 16
"""


@pytest.mark.slow
def test_a_best_short_of_the_rate_is_passed_over_unsimulated():
    """The sixteen best by the steady state, 8-GPU strategies, serve fewer decode tokens a second than 6 requests/s
    of 400 tokens ask: none can carry the traffic, so none is simulated (`short_of_traffic`, one requirement missed
    more); the best the walk names is simulated and meets: a 16-GPU prefill/decode pair. Until 2026-11-26 the walk
    simulated ten of them, each overloaded, and named as best an eleventh it had not simulated, overloaded too."""
    found = search(load_plan_text(DSV3_AT_6), top=1)
    plan = load_plan_text(DSV3_AT_6)                # a plan of its own: no judgment kept
    judged = judge_under_traffic(plan, found, need=1)
    floor = traffic_floor(plan)
    assert floor == pytest.approx(6 * 400 / 1.1)
    short = [c for c in judged.ranked if c.short_of_traffic]
    assert len(short) >= 16 and all(c.gpus == 8 and c.metrics.decode_tokens_per_s < floor for c in short[:16])
    assert sum(1 for c in judged.ranked if c.judged == ALL) <= JUDGE_LIMIT
    best = judged.best
    assert best.judged == ALL and best.meets_requirements and best.gpus == 16 and best.text.startswith("prefill ")
