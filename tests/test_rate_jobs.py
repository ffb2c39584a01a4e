"""`dagc search --rate R --jobs N`: the candidates' checks at the rate run ahead in N worker processes
(`dagc.search.pool.calls_ahead`), taken in the order one process takes them — the same rows, the same candidates
left out of reach, no worker left behind however the ranking stops."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest

from dagc.export.search_json import ranked_at_rate_json
from dagc.lang.load import load_plan
from dagc.search import at_rate
from dagc.search.at_rate import rank_at_rate
from dagc.search.pool import calls_ahead, cpu_count
from dagc.search.search import search
from conftest import EXAMPLES, ctrl_c_when_ready, run_dagc

CALLS: list[int] = []       # the calls `_square` made in this process


def _square(x: int) -> tuple[int, int]:
    CALLS.append(x)
    return x * x, os.getpid()


def _fails(x: int) -> int:
    if x == 3:
        raise ValueError("the third call fails")
    return x


def test_one_job_makes_a_call_only_when_its_result_is_asked_for():
    CALLS.clear()
    got = calls_ahead(_square, ((x,) for x in range(5)), 1)
    first, second = next(got), next(got)
    assert CALLS == []                            # asked for nothing yet
    assert second() == (1, os.getpid()) and CALLS == [1]
    assert first()[0] == 0 and CALLS == [1, 0]
    assert [f()[0] for f in got] == [4, 9, 16]


def test_workers_give_every_result_in_order_and_are_gone_after():
    with_workers = [f() for f in calls_ahead(_square, ((x,) for x in range(9)), 2)]
    assert [r for r, _ in with_workers] == [x * x for x in range(9)]
    # the first here, before the workers start (they start with what it made); the rest in the workers
    assert with_workers[0][1] == os.getpid() and all(pid != os.getpid() for _, pid in with_workers[1:])
    assert multiprocessing.active_children() == []


def test_closing_early_or_a_failing_call_leaves_no_worker_behind():
    got = calls_ahead(_square, ((x,) for x in range(50)), 2)
    assert next(got)()[0] == 0
    got.close()                                   # 49 calls never asked for: some were running ahead
    assert multiprocessing.active_children() == []
    failing = calls_ahead(_fails, ((x,) for x in range(6)), 2)
    with pytest.raises(ValueError, match="third call"):
        for f in failing:
            f()
    failing.close()
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("shown", [1, None])
def test_two_processes_rank_as_one(shown, monkeypatch):
    """gpt-oss-120b on one H100 at 0.7122 requests/s: with one row shown, 15 candidates are out of reach — the
    ranking stops while the workers have checks running ahead; with none, every candidate is run."""
    plan = load_plan(str(EXAMPLES / "gpt-oss-120b-1xh100.moe"))
    found = search(plan, top=10)
    one = rank_at_rate(plan, found, 0.7122, shown=shown)
    pids: set[int] = set()

    def spied(run, calls, jobs):
        for get in calls_ahead(run, calls, jobs):
            pids.update(p.pid for p in multiprocessing.active_children())
            yield get

    monkeypatch.setattr(at_rate, "calls_ahead", spied)
    two = rank_at_rate(plan, found, 0.7122, shown=shown, jobs=2)
    assert len(pids) == 2                       # the checks ran in two worker processes
    assert multiprocessing.active_children() == []
    assert one.beyond == two.beyond == (15 if shown == 1 else 0)
    assert (one.skipped, len(one.ranked)) == (two.skipped, len(two.ranked))
    rows = 1 if shown == 1 else len(one.ranked)
    assert json.dumps(ranked_at_rate_json(one, rows), sort_keys=True) == \
        json.dumps(ranked_at_rate_json(two, rows), sort_keys=True)


def test_the_command_with_jobs_prints_what_it_prints_without(tmp_path):
    def rows(jobs: str) -> dict:
        done = run_dagc("search", str(EXAMPLES / "gpt-oss-120b-1xh100.moe"), "--rate", "0.7122", "--top", "3",
                        "--format", "json", "--jobs", jobs, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["at_rate"]

    assert rows("2") == rows("1")


INTERRUPTED = """
import multiprocessing, os, signal, sys, time
from dagc.lang.load import load_plan
from dagc.search.at_rate import rank_at_rate
from dagc.search.search import search
plan = load_plan(sys.argv[1])
found = search(plan, top=10)
def progress(done, total):
    if done == 2:
        workers = multiprocessing.active_children()
        for p in workers:
            os.kill(p.pid, signal.SIGINT)       # Ctrl-C reaches the workers: they leave it to this process
        print("running", len(workers), flush=True)
        time.sleep(60)                          # Ctrl-C comes here, the workers' checks running ahead
"""


@pytest.mark.skipif(cpu_count() < 2 or not hasattr(os, "killpg"), reason="needs 2 CPUs and process groups")
def test_ctrl_c_while_the_workers_run_ahead_stops_cleanly(tmp_path):
    call = "rank_at_rate(plan, found, 0.7122, progress=progress, jobs=2)"
    code, out, err, _ = ctrl_c_when_ready(tmp_path, INTERRUPTED, call, str(EXAMPLES / "gpt-oss-120b-1xh100.moe"),
                                          "running 2")
    assert code == 130, (out, err)
    assert "Traceback" not in err, err
    assert out.strip() == "interrupted 0"           # no worker left behind
