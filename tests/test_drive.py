"""The library's `dagc.check` and `dagc.compile` run the commands' own driver (`dagc.drive.drive`): the same
plan gives, from Python, the verdicts, optimal evidence, next steps and files that `dagc check` and `dagc
compile` give."""

from __future__ import annotations

import json
import subprocess
from contextlib import contextmanager

import pytest

import dagc
from dagc.drive.drive import CheckOptions, DriveOptions, Stage, drive
from dagc.export.report import report_json
from dagc.search.search import search
from conftest import EXAMPLES, one_computation_per_output, run_dagc

# misses a requirement (next steps), a better strategy found by the search (optimal: no, with its figures)
PLAN = EXAMPLES / "10b-moe-tp4-ep16-64gpu.moe"


def _command(*args: str) -> subprocess.CompletedProcess:
    """`dagc ARGS` as `python -m dagc ARGS` runs it, in this process (`run_dagc`)."""
    proc = run_dagc(*args)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _reports(results) -> list[dict]:
    return json.loads(json.dumps([report_json(r) for r in results], allow_nan=False))


def test_the_library_check_is_the_command():
    """`dagc.check(plan)` and `dagc check --format json`: the same report.json, the search's evidence and the
    next steps included."""
    proc = _command("check", str(PLAN), "--format", "json")
    assert proc.returncode == 1, proc.stderr        # a requirement missed
    command = json.loads(proc.stdout)
    library = _reports(dagc.check(dagc.load_plan(PLAN)))
    assert library == command
    first = library[0]
    assert first["verdict"]["optimal"] is False
    evidence = first["verdict"]["optimal_evidence"]
    assert evidence["best_strategy"] == "tp 1 ; ep 8 with microbatches 1 overlap none"
    assert evidence["factor"] > 1.05 and evidence["evaluated"] == evidence["total"] > 0
    assert first["next_steps"], "the strategy misses a requirement: the command gives next steps"


def test_the_library_check_without_a_search_is_no_search():
    proc = _command("check", str(PLAN), "--format", "json", "--no-search")
    library = _reports(dagc.check(dagc.load_plan(PLAN), search=False))
    assert library == json.loads(proc.stdout)
    assert all(r["verdict"]["optimal"] is None and r["verdict"]["optimal_evidence"] is None for r in library)
    assert library[0]["next_steps"]


def test_the_library_compile_writes_the_commands_files(tmp_path):
    """`dagc.compile(plan, out)` writes the files `dagc compile -o out` writes, with the same contents (each
    objective's pick and pareto.svg among them)."""
    # the library's traces are plain JSON unless `CompileOptions(gzip=True)` (docs/outputs.md). What the two write
    # is compared, so the search and the judging they run are run once (`one_computation_per_output`): that they give
    # the same figures twice is tests/test_reproducible.py's
    with one_computation_per_output():
        proc = _command("compile", str(PLAN), "-o", str(tmp_path / "command"), "--trace-format", "json")
        assert proc.returncode == 1, proc.stderr
        written = dagc.compile(dagc.load_plan(PLAN), tmp_path / "library")
    assert {w.directory.name for w in written} >= {"library"}

    def files(root):
        return {p.relative_to(root): p for p in sorted(root.rglob("*")) if p.is_file()}

    command, library = files(tmp_path / "command"), files(tmp_path / "library")
    assert command.keys() == library.keys()
    assert any(p.name == "pareto.svg" for p in command)
    for name, path in command.items():
        if name.suffix in (".json", ".md", ".svg"):
            assert library[name].read_bytes() == path.read_bytes(), name
    report = json.loads(next(p for n, p in library.items() if n.name == "report.json").read_text())
    assert report["verdict"]["optimal_evidence"]["by_objective"]


def test_progress_follows_every_stage_and_a_bad_strategy_fails_before_the_search():
    """The driver reports each stage it runs through the caller's callbacks (the CLI's progress bars), and reads
    the strategy before it searches."""
    seen: list[Stage] = []
    calls: dict[Stage, int] = {}

    @contextmanager
    def progress(stage):
        seen.append(stage)

        def tick(done: int, total: int) -> None:
            calls[stage] = calls.get(stage, 0) + 1
            assert 0 <= done <= total

        yield tick

    plan = dagc.load_plan(PLAN)
    driven = drive(plan, DriveOptions(picks=True, progress=progress))
    assert seen == [Stage.SEARCH, Stage.PICKS]          # no traffic: nothing judged or simulated under it
    assert calls[Stage.SEARCH] > 0
    assert driven.found is not None and driven.found.best is not None
    assert [r.verdict.optimal for r in driven.results] == [False] * len(plan.strategies)
    seen.clear()
    with pytest.raises(dagc.PlanError):
        drive(plan, DriveOptions(strategy="tp 4 ;; ep 8", progress=progress))
    assert seen == []


def test_check_and_compile_take_their_options_or_the_former_keywords(tmp_path):
    """`dagc.check(plan, strategy, CheckOptions(…))` is `dagc.check(plan, strategy, **fields)`, a search's result
    passed as `optimality` among them; `dagc.compile`'s keywords are the check's (`DriveKeywords`); an unknown
    keyword, or a search's result by position where the options go, is refused."""
    plan = dagc.load_plan(EXAMPLES / "qwen3-30b-a3b-4gpu.moe")
    by_options = _reports(dagc.check(plan, "tp 1 ; ep 4", CheckOptions(search=False)))
    assert by_options == _reports(dagc.check(plan, "tp 1 ; ep 4", search=False))
    found = search(plan, objective=plan.objective, top=5, front=False)
    given = dagc.check(plan, "tp 1 ; ep 4", CheckOptions(optimality=found))
    assert _reports(given) == _reports(dagc.check(plan, "tp 1 ; ep 4", optimality=found))
    assert given[0].verdict.optimal is not None
    with pytest.raises(TypeError):
        dagc.check(plan, None, found)
    with pytest.raises(TypeError):
        dagc.check(plan, searches=False)
    with pytest.raises(TypeError):
        dagc.compile(plan, tmp_path / "out", searches=False)
    written = dagc.compile(plan, tmp_path / "out", "tp 1 ; ep 4", search=False, jobs=1)
    assert [w.directory for w in written] == [tmp_path / "out"]
