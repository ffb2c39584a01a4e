"""`batch = max` (SPEC 3.3) and `dagc search --vary batch`: the largest batch each strategy serves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from dagc.diagnostics import PlanError
from dagc.export.optimal_words import evidence_json
from dagc.export.report import report_json
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text, parse_strategy
from dagc.schedule.timer import Timer
from dagc.search.search import search
from dagc.search.space import count_candidates
from dagc.units import Dimension, format_si
from dagc.verdict.analyse import analyse
from dagc.verdict.batch_max import BATCH_LIMIT, bounded_largest_batch, choose_batch, fast_largest_batch, largest_batch
from dagc.verdict.check import check
from conftest import cache_by_arguments, run_dagc
from plans import plan_texts

ROOT = Path(__file__).resolve().parent.parent
QWEN = (ROOT / "examples" / "qwen3-30b-a3b-4gpu.moe").read_text()
MIXTRAL = (ROOT / "examples" / "mixtral-8x7b-1node.moe").read_text()


@pytest.fixture(autouse=True)
def _wide_tables(monkeypatch):
    """Tables wide enough for every column, a row on a line: these tests read their cells (tables at the
    widths terminals have are tests/test_cli_widths.py's)."""
    monkeypatch.setenv("COLUMNS", "1000")


def with_max(text: str) -> str:
    lines = [("  batch = max" if line.strip().startswith("batch =") else line) for line in text.splitlines()]
    assert lines != text.splitlines()
    return "\n".join(lines) + "\n"


@given(st.integers(0, 5000), st.integers(1, 6000))
def test_largest_batch_finds_the_boundary_of_any_monotone_predicate(boundary, limit):
    probes: list[int] = []

    def served(b):
        probes.append(b)
        return None if b <= boundary else f"broken at {b}"

    batch, why = largest_batch(served, limit)
    assert min(probes) == 1 and max(probes) <= limit                   # never beyond the limit
    assert len(set(probes)) == len(probes)                              # no batch checked twice
    assert batch == min(boundary, limit)
    assert why == (None if batch == limit else f"broken at {batch + 1}")
    assert len(probes) <= 2 * limit.bit_length() + 2                 # doubling, then bisection


@cache_by_arguments
def _checked(text: str) -> tuple:
    """`(plan, check(plan))` of `load_plan_text(with_max(text))`, once in this module: the tests that only read
    the check of the same plan (its chosen batches, what one more request breaks) share it."""
    plan = load_plan_text(with_max(text))
    return plan, tuple(check(plan))


@cache_by_arguments
def _searched(objective: str | None = None, front: bool = True, prune: bool = True, top: int | None = None,
              rescore: int | None = None):
    """`search(load_plan_text(with_max(QWEN)), …)` with these options, once in this module: the tests that read the
    same search of the Qwen example at its largest batches (the exhaustive one; the one whose best 5 are re-scored)
    share it."""
    options = {"objective": objective, "top": top, "rescore": rescore}
    return search(load_plan_text(with_max(QWEN)), front=front, prune=prune,
                  **{k: v for k, v in options.items() if v is not None})


def _served_exactly(plan, strategy, workload) -> tuple[bool, object]:
    a = analyse(plan, strategy, workload)
    ok = a.valid and all(r.met is not False for r in a.requirements
                         if r.requirement.kind.value in ("ttft", "tpot", "memory"))
    return ok, a


@pytest.mark.parametrize("text", [QWEN, MIXTRAL.replace("tpot <= 50 ms", "tpot <= 30 ms"),
                                  MIXTRAL.replace("ttft <= 2 s", "ttft <= 20 s"),
                                  QWEN.replace("memory <= 80 %", "")])       # bound by the GPU's memory itself
def test_check_chooses_the_boundary_exactly(text):
    """At the batch chosen the strategy fits and meets its limits; one more request breaks the one named."""
    plan, results = _checked(text)
    for r in results:
        assert r.valid
        batch = r.plan.workload.batch
        assert batch > 1 and batch != BATCH_LIMIT           # a boundary found, not the search's limit
        note = next(d for d in r.diagnostics if d.code == "N605")
        assert f"batch = max: {batch:,} requests" in note.message and f"{batch + 1:,} would break" in note.message
        strategy, _ = flatten(r.decl)
        assert strategy is not None
        own = strategy.workload_for(plan.workload)
        ok, _ = _served_exactly(plan, strategy, own.model_copy(update={"batch": batch}))
        assert ok
        ok, more = _served_exactly(plan, strategy, own.model_copy(update={"batch": batch + 1}))
        assert not ok
        named = note.message.split("; it does not split evenly")[0].rpartition("would break ")[2]
        workload = report_json(r)["workload"]                   # report.json states the batch and its limit
        assert (workload["batch"], workload["batch_max"], workload["batch_breaks"]) == (batch, True, named)
        if named.startswith("`"):
            assert any(r2.met is False and f"`{r2.requirement.text}`" == named for r2 in more.requirements)
            assert "relax the requirement named" in (note.hint or "")
        else:
            assert named == "the GPU's memory (E402)" and any(d.code == "E402" for d in more.diagnostics)
            assert "the memory table shows what fills a GPU" in (note.hint or "")    # no requirement to relax


def test_the_fast_probe_and_the_full_check_agree_without_overlap():
    plan = load_plan_text(with_max(MIXTRAL.replace("tpot <= 50 ms", "tpot <= 30 ms")))
    timer = Timer(plan)
    for decl in plan.strategies:
        strategy, _ = flatten(decl)
        assert strategy is not None
        own = strategy.workload_for(plan.workload)
        assert fast_largest_batch(plan, strategy, own, timer) == choose_batch(plan, strategy, own, timer)


def test_not_even_one_request_says_so():
    plan = load_plan_text(with_max(MIXTRAL.replace("tpot <= 50 ms", "tpot <= 10 us")))
    for r in check(plan):
        assert r.plan.workload.batch == 1
        note = next(d for d in r.diagnostics if d.code == "N605")
        assert "not even one request" in note.message and "tpot <= 10 us" in note.message
        assert r.verdict.meets_requirements is False


def test_batch_max_is_written_and_misspelt():
    plan = load_plan_text(with_max(QWEN))
    assert plan.workload.batch_max and plan.workload.batch_note is None
    with pytest.raises(PlanError) as e:
        load_plan_text(with_max(QWEN).replace("batch = max", "batch = maximum"))
    d = e.value.diagnostics[0]
    assert d.code == "E101" and "batch = max" in (d.hint or "")


def test_search_compares_every_strategy_at_its_own_largest_batch():
    plan = load_plan_text(with_max(QWEN))
    # the exhaustive search, as the pruning test below runs it (the same 243 candidates ranked as `top=5` ranks them)
    found = _searched("tokens-per-gpu", front=False, prune=False, rescore=0)
    assert found.pruned == 0 and found.ranked
    timer = Timer(plan)
    for c in found.ranked[:5]:
        workload = plan.workload.model_copy(update={"microbatches": c.microbatches, "overlap": c.overlap})
        assert c.batch == fast_largest_batch(plan, c.strategy, workload, timer).batch
        assert c.metrics.decode_tokens_per_s == pytest.approx(c.batch / c.metrics.tpot_s)
        # what binds it is what one more request breaks (N605), a requirement or memory
        assert c.binding == fast_largest_batch(plan, c.strategy, workload, timer).batch_breaks.replace("`", "")
    batches = {c.batch for c in found.ranked}
    assert len(batches) > 1                       # strategies differ in what they serve
    exact = _searched(top=5, front=False)        # the shown are re-scored by the full check at their batch
    assert all(c.exact and c.batch for c in exact.ranked[:5])
    fast = {c.text: c.binding for c in found.ranked}
    assert all(c.binding == fast[c.text] for c in exact.ranked[:5])     # re-scoring keeps what binds it


def test_cli_search_vary_batch(tmp_path):
    plan = tmp_path / "small.moe"
    plan.write_text((ROOT / "tests" / "fixtures" / "small.moe").read_text())
    proc = run_dagc("search", str(plan), "--vary", "batch", "--top", "3", "--format", "json",
                    "--svg", str(tmp_path / "p.svg"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [c["workload"]["batch"] for c in data["candidates"]] and all(
        c["workload"]["batch"] >= 1 for c in data["candidates"])


def test_an_uneven_chosen_batch_is_kept_and_said_in_n605_not_w503():
    """docs/decisions.md: the largest batch served is kept when it does not split evenly; W503 is not
    raised for it, N605 names the even batch below. Mixtral, tp 1 ; ep 8: attention DP 8, 1 micro-batch."""
    from conftest import plan_text
    plan = load_plan_text(plan_text(workload="workload { batch = max  prompt = 2048  generate = 256 }"))
    (r,) = check(plan, parse_strategy("tp 1 ; ep 8"))
    codes = {d.code for d in r.diagnostics}
    assert "W503" not in codes
    (note,) = [d for d in r.diagnostics if d.code == "N605"]
    batch = r.layout.batch
    assert batch % 8, "the case needs an uneven batch"
    assert note.message.startswith(f"batch = max: {batch:,} requests, the largest this strategy serves")
    assert note.message.endswith(f"; it does not split evenly over dp 1 × attention DP 8 × 1 micro-batch = 8 parts "
                                 f"(some carry one request more; {batch // 8 * 8:,} would split evenly)")
    fixed = plan_text(workload=f"workload {{ batch = {batch}  prompt = 2048  generate = 256 }}")
    written = check(load_plan_text(fixed), parse_strategy("tp 1 ; ep 8"))[0]
    assert "W503" in {d.code for d in written.diagnostics}          # a batch the user wrote still gets W503


def probes_of(boundary: int, limit: int = BATCH_LIMIT, need=None):
    """The batches `bounded_largest_batch` probes for a `served` broken above `boundary`, and its answer."""
    probes: list[int] = []

    def served(b: int) -> str | None:
        probes.append(b)
        return None if b <= boundary else "memory"

    return probes, bounded_largest_batch(served, limit, need)


def test_without_a_need_the_probes_are_largest_batchs():
    """1, the powers of two up to the first broken, then the bisection: what every strategy's search
    probes, so that their stage costs are shared."""
    probes, found = probes_of(37)
    assert found == (37, "memory") == largest_batch(lambda b: None if b <= 37 else "memory")
    assert probes == [1, 2, 4, 8, 16, 32, 64, 48, 40, 36, 38, 37]
    assert probes_of(5, limit=5) == ([1, 2, 4, 5], (5, None))
    assert probes_of(0) == ([1], (0, "memory"))


@given(st.integers(0, 3000), st.integers(1, 4000), st.integers(1, 5000))
def test_a_need_stops_exactly_the_searches_whose_answer_would_not_matter(boundary, least, limit):
    """With `need` (the search's branch and bound: the answer matters only from `least` requests on),
    the answer is `largest_batch`'s when it reaches `least` (or is 0: not even one request), None
    otherwise; and while no batch is known broken, every probe is a power of two or the limit."""
    def need(lo: int, most: int) -> int | None:
        return max(lo, least) if most >= least else None

    whole = largest_batch(lambda b: None if b <= boundary else "memory", limit)
    probes, found = probes_of(boundary, limit, need)
    if whole[0] >= least or whole[0] == 0:
        assert found == whole
    else:
        assert found in (whole, None)             # None unless the bracket closed before `need` was asked
    unbroken = probes[:next((i for i, b in enumerate(probes) if b > boundary), len(probes)) + 1]
    assert all(b & (b - 1) == 0 or b == limit for b in unbroken)
    assert len(probes) <= len(probes_of(boundary, limit)[0])


def test_the_search_prunes_batch_max_candidates_to_the_exhaustive_answer():
    """Branch and bound with `batch = max`: a candidate's search of its largest batch stops once no
    batch it can still end with can matter (`Pruner.batch_needed`); the best, the front and every
    count but the pruned are the exhaustive search's (with and without a front, under two objectives)."""
    plan = load_plan_text(with_max(QWEN))
    for objective, front in (("tokens-per-gpu", False), ("ttft", True)):
        pruned = search(plan, objective=objective, rescore=0, front=front)
        whole = _searched(objective, front=front, prune=False, rescore=0)
        k = pruned.exact_top
        # under vLLM (the default engine) 78 and 142 candidates are pruned, on the plain reference 136 and 149
        assert k == 10 and pruned.pruned > 70 and whole.pruned == 0
        assert [figures(c) for c in pruned.ranked[:k]] == [figures(c) for c in whole.ranked[:k]]
        assert [figures(c) for c in pruned.pareto] == [figures(c) for c in whole.pareto]
        assert pruned.evaluated == whole.evaluated


def figures(c):
    return (c.text, c.gpus, c.batch, c.binding, c.meets_requirements, c.score, c.metrics, c.memory_fraction)


# 3 generated plans a run (5 until 2026-12-02: a fifth of this file's CPU s), new ones on each run, each searched pruned
# and exhaustively. What it asserts is asserted on a fixed plan too: the Qwen example at its largest batches, under two
# objectives, with and without a front (test_the_search_prunes_batch_max_candidates_to_the_exhaustive_answer), and in
# flight with `batch = max` (tests/test_inflight.py's test_pruned_in_flight_search_is_the_exhaustive_one, its third).
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(plan_texts(), st.sampled_from(["300 us", "2 ms", "20 ms"]), st.sampled_from(["2 GB", "20 GB"]))
def test_pruned_batch_max_search_equals_the_exhaustive_one_on_generated_plans(text, tpot, memory):
    text = re.sub(r"batch = \d+", "batch = max", text).replace("gpus = 1024", "gpus = 4")
    text = text.replace("memory = 10 TB", f"memory = {memory}") + f"\nrequire {{ tpot <= {tpot} }}\n"
    plan = load_plan_text(text)
    assume(count_candidates(plan) <= 400)
    pruned = search(plan, rescore=0)
    whole = search(plan, rescore=0, prune=False)
    k = pruned.exact_top
    assert [figures(c) for c in pruned.ranked[:k]] == [figures(c) for c in whole.ranked[:k]]
    assert [figures(c) for c in pruned.pareto] == [figures(c) for c in whole.pareto]


def test_the_verdict_says_what_each_strategy_serves():
    """With `batch = max` the better strategy's line answers the capacity question: the requests each
    serves, at what TPOT, and what one more request would break."""
    plan = load_plan_text(with_max(QWEN))
    found = _searched(top=5, front=False)
    tp = next(r for r in check(plan, optimality=found) if r.label == "tp")
    note, best = evidence_json(tp.optimality, tp)["note"], found.best
    assert note.startswith(f"`{best.text}` gives ")
    assert best.binding == tp.plan.workload.batch_breaks.strip("`") == "memory <= 80 %"
    ev = evidence_json(tp.optimality, tp)
    assert ev["best_batch_breaks"] == "memory <= 80 %" and ev["best_batch"] == best.batch
    t = lambda s: format_si(s, Dimension.TIME)      # noqa: E731  (the one rounding rule of times)
    # (the note goes on to say whether the two are apart by more than dagc's error: docs/bands.md)
    assert (f", serving {best.batch:,} requests at TPOT {t(best.metrics.tpot_s)}, limited "
            f"by `memory <= 80 %` (this strategy: {tp.layout.batch:,} at "
            f"{t(tp.metrics.tpot_s)}, limited by `memory <= 80 %`)") in note


def test_a_strategy_the_rules_reject_is_told_to_fix_them_not_to_relax_a_requirement():
    plan = load_plan_text(with_max(QWEN).replace("strategy tp = tp 4", "strategy tp = tp 4 ; ep 16"))
    (n605,) = [d for r in check(plan) if r.label == "tp" for d in r.diagnostics if d.code == "N605"]
    assert "it breaks the rules (E401)" in n605.message
    assert n605.hint == "fix the error above: no batch serves a strategy the rules reject"


@pytest.mark.parametrize("value", ['"max"', "max 64", "{ }"])
def test_batch_written_neither_as_a_number_nor_max(value):
    with pytest.raises(PlanError) as e:
        load_plan_text(with_max(QWEN).replace("batch = max", f"batch = {value}"))
    (d,) = e.value.diagnostics
    assert d.code in ("E102", "E001") and d.hint
    if d.code == "E102":
        assert d.hint == "write `batch = 128`, or `batch = max` (unquoted) for the largest that fits"


def test_the_resident_batch_is_where_weights_and_kv_cache_stop_fitting():
    """`MemoryScreen.resident_batch`, the bound's largest batch, is exact: at it the weights, KV cache and
    reserve fit on every stage (`dagc.memory.memory.memory`, what `check` judges E402 by first); one
    request more and they do not."""
    from dagc.layout.layout import resolve
    from dagc.memory.memory import memory
    from dagc.search.bound import Pruner

    plan = load_plan_text(with_max(MIXTRAL))
    pruner = Pruner(plan, "tokens-per-gpu", Timer(plan))

    def resident_fits(strategy, batch):
        workload = plan.workload.model_copy(update={"batch": batch, "microbatches": 1})
        lay = resolve(plan.model, plan.cluster, workload, strategy)
        return all(st.weights_bytes + st.kv_cache_bytes + st.reserve_bytes <= st.capacity_bytes
                   for st in memory(plan.model, workload, plan.cluster, lay).stages), lay

    checked = 0
    for text in ("tp 8", "tp 2 ; ep 8", "dp 2 < tp 4 >", "pp 2 < tp 4 >", "tp 1 ; ep 8", "dp 4 < tp 2 >"):
        strategy, _ = flatten(parse_strategy(text))
        _, lay = resident_fits(strategy, 1)
        most = pruner.memory.resident_batch(lay.tp, lay.cp, lay.ep, lay.etp, lay.stage_layers, lay.dp, lay.adp)
        assert 0 < most < BATCH_LIMIT
        assert resident_fits(strategy, most)[0] and not resident_fits(strategy, most + 1)[0], text
        checked += 1
    assert checked == 6


def test_check_and_search_say_each_strategys_batch_and_what_limits_it(tmp_path):
    """`check` prints a strategy's chosen batch and what one more request would break under its GPUs
    line; `dagc search --vary batch` adds each front point's binding requirement."""
    plan = tmp_path / "qwen.moe"
    plan.write_text(with_max(QWEN))
    checked = run_dagc("check", str(plan), "--no-search")
    lines = checked.stdout.splitlines()
    for r in _checked(QWEN)[1]:
        # the strategy's section leads with its verdicts and requirements; its GPUs line follows them
        rule = next(i for i, line in enumerate(lines) if f"strategy {r.label} = " in line)
        at = next(i for i, line in enumerate(lines) if line.startswith("GPUs: ") and i > rule)
        assert lines[at + 1] == r.plan.workload.batch_note, (lines[at - 1:at + 2], r.plan.workload.batch_note)
    searched = run_dagc("search", str(plan), "--vary", "batch", "--svg", str(tmp_path / "p.svg"))
    front = searched.stdout[searched.stdout.index("Pareto front"):]
    assert "binding" in front and front.count("memory <= 80 %") >= 3


def test_the_clusters_bound_is_the_same_whatever_batch_a_strategy_chose():
    """N604 is a note about the plan: with `batch = max`, where each strategy runs its own batch, it bounds
    every strategy at any batch (a throughput at the largest batch dagc considers, a time at one
    request), so `--strategy` cannot change it; W506 stays each strategy's own, at its batch."""
    from dagc.lang.fields import BATCH_LIMIT
    from dagc.lang.load import parse_strategy
    from dagc.rules.bounds import bounds
    from conftest import EXAMPLES
    text = re.sub(r"batch = \d+", "batch = max", (EXAMPLES / "10b-moe-pp16-ep16-256gpu.moe").read_text())
    plan = load_plan_text(text)
    notes = set()
    for strategy in ("pp 16 < ep 16 >", "tp 4 ; ep 16 with microbatches 1 overlap none"):
        (r,) = check(plan, parse_strategy(strategy))
        notes |= {d.message for d in r.diagnostics if d.code == "N604"}
    (note,) = notes
    loosest = bounds(plan.model, plan.workload.model_copy(update={"batch": BATCH_LIMIT}), plan.cluster,
                     gpus=plan.cluster.gpus, dp=1).decode_tokens_per_s / plan.cluster.gpus
    assert note.endswith(f"in one replica, at any batch, the decode throughput per GPU is at most "
                         f"{loosest / 1e3:.3g} tokens/ms/gpu")


def test_the_comparison_report_says_what_limits_each_batch(tmp_path):
    """compile's side-by-side report gives each strategy's batch with what one more request would break."""
    from dagc.export.compile import CompileOptions, compile_results
    plan, results = _checked(QWEN)
    compile_results(plan, list(results), tmp_path / "out", CompileOptions())
    report = (tmp_path / "out" / "report.md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| batch (batch = max) |"))
    cells = [c.strip() for c in row.strip("|").split("|")][1:]
    assert cells == [f"{r.plan.workload.batch:,} (one more breaks {r.plan.workload.batch_breaks})" for r in results]
    assert all("`memory <= 80 %`" in c for c in cells)


def test_under_an_overlap_the_schedule_has_the_last_word_above_a_pessimistic_estimate():
    """Under `overlap microbatch` the fast check estimates the overlap; where it is pessimistic (it said 3
    requests break `tpot <= 50 ms` where the schedule gives 45.9 ms), `choose_batch` asks the schedule above
    it: the batch chosen meets at itself and breaks one request more, both as `--set workload.batch` gives them."""
    plan = load_plan_text('model preset "deepseek-v3" cluster { gpus = 32 gpus_per_node = 8 gpu preset "h200" } '
                          "workload { batch = max prompt = 4000 generate = 500 serving = inflight } "
                          "require { ttft <= 1 s tpot <= 50 ms } strategy tp 8 ; ep 8")
    s, _ = flatten(parse_strategy("pp 2 < tp 2 ; ep 1 etp 4 > with microbatches 2 overlap microbatch"))
    assert s is not None
    chosen = choose_batch(plan, s, plan.workload)
    tpot = {b: analyse(plan, s, plan.workload.model_copy(update={"batch": b})).metrics.tpot_s
            for b in (chosen.batch, chosen.batch + 1)}
    assert tpot[chosen.batch] <= 0.05 < tpot[chosen.batch + 1], (chosen.batch, tpot)
    assert chosen.batch >= 3 and "`tpot <= 50 ms`" in (chosen.batch_breaks or "")


def test_the_search_gives_an_overlapped_strategy_the_largest_batch_check_gives_it():
    """Qwen3-235B-A22B (fp8) on 8 H100s, `--vary batch`: under `overlap microbatch` the fast check puts 9 requests
    past `tpot <= 40 ms` (its estimate 40.18 ms), where the schedule gives 34.17 ms; the search's row said 8 and
    `dagc check --set workload.batch=max` 16 (17 breaks tpot). The search's exact figures are the check's: batch
    16, TPOT 39.87 ms, 17 would break `tpot <= 40 ms`."""
    from dagc.plan.workload import Overlap
    from dagc.search.rescore import exact_figures
    from dagc.search.score import evaluate
    from dagc.verdict.check import check_strategy
    plan = load_plan_text('model preset "qwen3-235b-a22b" { weights = fp8 } '
                          'cluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm } '
                          "workload { batch = max  prompt = 3000  generate = 1000  serving = inflight } "
                          "require { ttft <= 2 s  tpot <= 40 ms  memory <= 90 % } strategy tp 8")
    text = "pp 4 < tp 2 sp ; ep 2 > with microbatches 4 overlap microbatch"
    s, _ = flatten(parse_strategy(text))
    assert s is not None
    estimate = evaluate(plan, s, 4, Overlap.MICROBATCH, plan.objective, Timer(plan))
    assert estimate is not None and estimate.batch == 8         # the fast check's answer
    exact = exact_figures(plan, estimate, plan.objective)
    checked = check_strategy(plan, parse_strategy(text))      # `dagc check --strategy TEXT`, batch = max
    assert exact is not None and exact.text == text
    assert exact.batch == checked.plan.workload.batch == 16
    assert exact.metrics.tpot_s == pytest.approx(0.03987, abs=5e-6)
    assert exact.binding == "tpot <= 40 ms" and checked.plan.workload.batch_breaks == "`tpot <= 40 ms`"
