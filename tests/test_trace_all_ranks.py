"""`--all-ranks` draws every GPU whenever the trace fits its event budget: whether it fits is judged on a bound of
what the trace holds (`dagc.export.trace_ranks.rank_events_at_most`) that is never below the events written and not
far above them. Until 2026-12-02 the bound counted a counter sample per slice, twice the trace, and every rank of
examples/10b-moe-1024-vs-64gpu.moe's `original` (1,024 GPUs, about 570,000 events) fell back to two."""

from __future__ import annotations

import json

from dagc.export.trace import write_trace
from dagc.export.trace_ranks import rank_events_at_most, traced_ranks
from dagc.export.trace_writer import EVENT_BUDGET
from conftest import checked_example
from trace_checker import check_trace


def _strategy(example: str, name: str):
    return next(r for r in checked_example(example) if r.strategy.name == name).compiled


def test_every_rank_of_a_1024_gpu_plan_fits_the_budget():
    c = _strategy("10b-moe-1024-vs-64gpu.moe", "original")
    assert c.layout.gpus_used == 1024
    ranks, representative, warning = traced_ranks(c.dag, c.layout, True, EVENT_BUDGET)
    assert (len(ranks), representative, warning) == (1024, False, None)
    # past the bound, representative ranks, and the warning gives the bound
    bound = rank_events_at_most(c.dag, c.layout)
    ranks, representative, warning = traced_ranks(c.dag, c.layout, True, bound - 1)
    assert representative and ranks == [0, 15] and f"up to {bound:,} events" in warning


def test_the_bound_holds_every_event_of_an_all_ranks_trace_and_is_close(tmp_path):
    c = checked_example("10b-moe-pp16-ep16-256gpu.moe")[0].compiled
    info = write_trace(c, tmp_path / "all.json", all_ranks=True)
    assert not info.representative and len(info.ranks) == 256 and not check_trace(info.path)
    events = json.loads(info.path.read_text())["traceEvents"]
    written = sum(1 for e in events if e["ph"] in ("X", "C", "M"))
    bound = rank_events_at_most(c.dag, c.layout)
    assert written <= bound <= 1.25 * written, (written, bound)


def test_a_trace_cut_to_representative_ranks_by_the_budget_says_why(tmp_path):
    c = checked_example("10b-moe-pp16-ep16-256gpu.moe")[0].compiled
    info = write_trace(c, tmp_path / "t.json", all_ranks=True, budget=50_000)
    meta = json.loads(info.path.read_text())["metadata"]
    assert meta["ranks"] == "representative" and "budget" in meta["warning"]
    # it was asked for every rank: the note does not tell the user to ask for them
    assert "compile with all ranks" not in meta["ranks_note"] and "event budget" in meta["ranks_note"]
    default = write_trace(c, tmp_path / "d.json")
    assert "compile with all ranks" in json.loads(default.path.read_text())["metadata"]["ranks_note"]
