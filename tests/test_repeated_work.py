"""bench/repeated_work.py: the calls a run of tests makes again with the same inputs, and what they cost."""

from __future__ import annotations

import itertools
import json
import sys

from dagc.lang.load import load_plan_text
from dagc.search.options import SearchOptions
from conftest import ROOT, TINY

sys.path.insert(0, str(ROOT / "bench"))
import repeated_work  # noqa: E402


def test_a_search_is_keyed_on_its_plan_and_options_not_its_progress_or_timer():
    plan = load_plan_text(TINY)
    key = repeated_work.search_key
    assert key(plan, top=3) == key(plan, top=3, progress=print) == key(load_plan_text(TINY), top=3)
    assert key(plan, SearchOptions(top=3)) == key(plan, SearchOptions(top=3, progress=print))
    assert len({key(plan, top=3), key(plan, top=4), key(plan, SearchOptions(top=3)),
                key(load_plan_text(TINY.replace("batch = 1", "batch = 2")), top=3)}) == 4
    ticks, other = itertools.count(), itertools.count()
    assert key(plan, clock=lambda: next(ticks)) != key(plan, clock=lambda: next(other))   # a test's own clock


def test_repeats_are_the_calls_after_the_first_with_the_same_key():
    lines = [json.dumps(row) for row in (
        ["search", "a", 2.0, 0, "t.py::one"], ["check", "b", 1.0, 0, "t.py::one"],
        ["search", "a", 1.5, 0, "t.py::two"], ["check_strategy", "c", 0.25, 1, "t.py::one"],
        ["check_strategy", "c", 0.5, 1, "t.py::two"], ["search", "a", 0.5, 0, "t.py::three"])]
    outermost, again = repeated_work.repeats(lines)
    assert outermost == 5.0             # 2.0 + 1.0 + 1.5 + 0.5: the calls made inside another are counted in it
    assert again == [(2.0, "search", 3, 0, ["t.py::one", "t.py::three", "t.py::two"]),
                     (0.5, "check_strategy", 2, 1, ["t.py::one", "t.py::two"])]


def test_the_plugin_records_every_holders_calls_and_puts_them_back(tmp_path, monkeypatch):
    import dagc.search.search as search_module
    import dagc.verdict.check as check_module

    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv(repeated_work.LOG, str(log))
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "tests/t.py::one (call)")
    real_search, real_check = search_module.search, check_module.check
    plan = load_plan_text(TINY)
    try:
        repeated_work.pytest_collection_finish(None)
        assert search_module.search.__wrapped__ is real_search          # type: ignore[attr-defined]
        search_module.search(plan, rescore=0)
        check_module.check(plan, "tp 2")
    finally:
        repeated_work.pytest_sessionfinish(None)
    assert search_module.search is real_search and check_module.check is real_check
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(name, depth, test) for name, _, _, depth, test in rows if depth == 0] == [
        ("search", 0, "tests/t.py::one"), ("check", 0, "tests/t.py::one")]
    assert rows[0][1] == repeated_work.search_key(plan, rescore=0) and all(r[2] >= 0 for r in rows)
