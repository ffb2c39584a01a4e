"""A search the time budget (`--search-budget`) stopped before it found a legal strategy says that the budget stopped
it and that a larger budget examines more — not that none is legal. Until 2026-11-30 it said "0 of the 743
strategies examined are legal" with the rules' hints ("more GPUs" among them), or, having examined none, printed an
empty table "best 0" and "no candidate meets the requirements" (`--quiet`: "best: none — no legal strategy on this
cluster"), of plans whose whole search finds legal strategies. A search that examined every candidate keeps its
words (tests/test_search_rejections.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from dagc.cli.print_search import print_search, print_search_verdict
from dagc.lang.load import load_plan_text
from dagc.search.rejections import budget_stopped_line
from dagc.search.result import RejectedBy, SearchResult
from conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h100-sxm" }
workload { batch = 32  prompt = 1024  generate = 256 }
"""
STOPPED = ("no legal strategy found yet: the time budget stopped the search after 0 of {total} strategies (best bound "
           "first), which does not say that none is legal: a larger `--search-budget S` examines more, and without "
           "`--search-budget` the search examines every candidate")
E402 = RejectedBy("E402", 743, "tp 1", "every rank needs 96 GB", "more GPUs")


def _found(**kw) -> SearchResult:
    base = dict(objective="tokens-per-gpu", evaluated=743, legal=0, seconds=0.3, ranked=(), total=1_544,
                stopped="budget", best_first=True, rejected_by=(E402,))
    return SearchResult(**{**base, **kw})   # type: ignore[arg-type]


def test_a_search_the_budget_stopped_says_so_not_that_none_is_legal() -> None:
    line = budget_stopped_line(_found())
    assert line == ("no legal strategy found yet: the time budget stopped the search after 743 of 1,544 strategies "
                    "(best bound first) (the rules rejected them: E402 (a rank's memory exceeds the GPU's memory) "
                    "743), which does not say that none is legal: a larger `--search-budget S` examines more, and "
                    "without `--search-budget` the search examines every candidate")


@pytest.mark.parametrize("kw", [{"evaluated": 1_544}, {"stopped": "cap"}, {"stopped": None, "evaluated": 1_544}])
def test_a_search_that_examined_all_or_hit_its_cap_keeps_its_words(kw) -> None:
    assert budget_stopped_line(_found(**kw)) == ""


def test_quiet_says_the_budget_stopped_it_without_the_rules_hints() -> None:
    console = Console(width=400, file=io.StringIO())
    print_search_verdict(console, _found(), load_plan_text(PLAN + "strategy tp 2\n"))
    said = console.file.getvalue()     # type: ignore[attr-defined]
    assert said.startswith("best: none — no legal strategy found yet: the time budget stopped the search after 743 ")
    assert "0 of the 743 strategies examined are legal" not in said and "no legal strategy on this cluster" not in said


def test_the_counts_are_followed_by_the_budget_not_the_rules_hints(tmp_path: Path) -> None:
    console = Console(width=400, file=io.StringIO())
    print_search(console, _found(), 10, tmp_path / "pareto.svg", load_plan_text(PLAN + "strategy tp 2\n"))
    lines = console.file.getvalue().splitlines()     # type: ignore[attr-defined]
    assert lines[0].startswith("743 of 1,544 strategies examined (the search stopped early, best bound first): "
                               "743 rejected by the rules, 0 legal; in 0.30 s")
    assert lines[1] == budget_stopped_line(_found())
    assert lines[2:] == [f"wrote {tmp_path / 'pareto.svg'}"]          # not "E402, e.g. `tp 1`" nor "help: more GPUs"


@pytest.mark.parametrize("quiet", [False, True])
def test_a_budget_spent_before_any_candidate_says_so(tmp_path: Path, quiet: bool) -> None:
    """A budget of a microsecond is spent before the first candidate: 0 of the space's examined."""
    (tmp_path / "q.moe").write_text(PLAN)
    proc = run_dagc("search", "q.moe", "--search-budget", "0.000001", *(["-q"] if quiet else []), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr     # it answered nothing: "not judged" (0 until 2026-12-02)
    total = proc.stderr.split("0 of ", 1)[1].split(" candidates", 1)[0]
    assert (("best: none — " if quiet else "") + STOPPED.format(total=total)) in proc.stdout.splitlines()
    assert "best 0" not in proc.stdout and "no candidate meets" not in proc.stdout
    assert "no legal strategy on this cluster" not in proc.stdout


def test_the_rate_conclusion_says_the_budget_stopped_the_search() -> None:
    """`dagc search --rate 2 --search-budget …`: nothing to simulate because the budget stopped the search, not
    because "the rules reject every one it examined"."""
    from dagc.cli.print_rate import rate_conclusion
    from dagc.plan.workload import Traffic
    from dagc.search.at_rate import RankedAtRate
    stopped = RankedAtRate(2.0, Traffic(requests=1000, rate=2.0), (), budget_stopped=True)
    assert rate_conclusion(stopped, 256) == [
        "conclusion: no strategy on 256 GPUs could be simulated at 2 requests/s: the time budget stopped the search "
        "before it found a legal strategy (its counts above); a larger `--search-budget S` examines more"]
    whole = RankedAtRate(2.0, Traffic(requests=1000, rate=2.0), ())
    assert rate_conclusion(whole, 256) == [
        "conclusion: no strategy on 256 GPUs could be simulated at 2 requests/s: the search found no legal strategy "
        "(its counts above: the rules reject every one it examined; `dagc check --strategy TEXT` says why of one, "
        "such as its memory)"]


def test_rank_at_rate_marks_a_search_the_budget_stopped(tmp_path: Path) -> None:
    from dagc.search.at_rate import rank_at_rate
    plan = load_plan_text(PLAN + "strategy tp 2\n")
    assert rank_at_rate(plan, _found(), 2.0).budget_stopped
    assert not rank_at_rate(plan, _found(evaluated=1_544), 2.0).budget_stopped


def test_a_budget_spent_before_any_legal_strategy_exits_1_in_json_too(tmp_path: Path) -> None:
    """A CI job reading `--format json` is told by the exit code too that the search answered nothing (docs/limits.md,
    "Exit codes": 1, not judged); the same search without the budget answers, and exits 0."""
    (tmp_path / "q.moe").write_text(PLAN)
    proc = run_dagc("search", "q.moe", "--search-budget", "0.000001", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert '"stopped": "budget"' in proc.stdout and '"candidates": []' in proc.stdout
    whole = run_dagc("search", "q.moe", "--format", "json", "--top", "1", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
