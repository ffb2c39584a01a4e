"""`batch = max` (SPEC 3.3) and `dagc search --vary batch`: the largest batch each strategy serves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from dagc.analyse import analyse
from dagc.batch_max import BATCH_LIMIT, choose_batch, fast_largest_batch, largest_batch
from dagc.check import check
from dagc.diagnostics import PlanError
from dagc.export.report import report_json
from dagc.fastsched import Timer
from dagc.flatten import flatten
from dagc.load import load_plan_text
from dagc.search import search

ROOT = Path(__file__).resolve().parent.parent
QWEN = (ROOT / "examples" / "qwen3-30b-a3b-4gpu.moe").read_text()
MIXTRAL = (ROOT / "examples" / "mixtral-8x7b-1node.moe").read_text()


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


def _served_exactly(plan, strategy, workload) -> tuple[bool, object]:
    a = analyse(plan, strategy, workload)
    ok = a.valid and all(r.met is not False for r in a.requirements
                         if r.requirement.kind.value in ("ttft", "tpot", "memory"))
    return ok, a


@pytest.mark.parametrize("text", [QWEN, MIXTRAL.replace("tpot <= 50 ms", "tpot <= 30 ms"),
                                  MIXTRAL.replace("ttft <= 2 s", "ttft <= 20 s")])
def test_check_chooses_the_boundary_exactly(text):
    """At the batch chosen the strategy fits and meets its limits; one more request breaks the one named."""
    plan = load_plan_text(with_max(text))
    for r in check(plan):
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
        else:
            assert named == "memory (E402)" and any(d.code == "E402" for d in more.diagnostics)


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
    found = search(plan, top=5, rescore=0)
    assert found.pruned == 0 and found.ranked
    timer = Timer(plan)
    for c in found.ranked[:5]:
        workload = plan.workload.model_copy(update={"microbatches": c.microbatches, "overlap": c.overlap})
        assert c.batch == fast_largest_batch(plan, c.strategy, workload, timer).batch
        assert c.metrics["decode_tokens_per_s"] == pytest.approx(c.batch / c.metrics["tpot_s"])
        # what binds it is what one more request breaks (N605), a requirement or memory
        assert c.binding == fast_largest_batch(plan, c.strategy, workload, timer).batch_breaks.replace("`", "")
    batches = {c.batch for c in found.ranked}
    assert len(batches) > 1                       # strategies differ in what they serve
    exact = search(plan, top=3)                   # the shown are re-scored by the full check at their batch
    assert all(c.exact and c.batch for c in exact.ranked[:3])
    fast = {c.text: c.binding for c in found.ranked}
    assert all(c.binding == fast[c.text] for c in exact.ranked[:3])     # re-scoring keeps what binds it


def test_cli_search_vary_batch(tmp_path):
    plan = tmp_path / "small.moe"
    plan.write_text((ROOT / "tests" / "fixtures" / "small.moe").read_text())
    proc = subprocess.run([sys.executable, "-m", "dagc", "search", str(plan), "--vary", "batch", "--top", "3",
                           "--format", "json", "--svg", str(tmp_path / "p.svg")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [c["workload"]["batch"] for c in data["candidates"]] and all(
        c["workload"]["batch"] >= 1 for c in data["candidates"])


def test_an_uneven_chosen_batch_is_kept_and_said_in_n605_not_w503():
    """docs/decisions.md: the largest batch served is kept when it does not split evenly; W503 is not
    raised for it, N605 names the even batch below. Mixtral, tp 1 ; ep 8: attention DP 8, 1 micro-batch."""
    from dagc.load import parse_strategy
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
