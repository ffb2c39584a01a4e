"""Running a fleet's clusters: in this process, in worker processes (`jobs`), or on a Ray cluster.

Input: the sweep's points with their plans and rates (`dagc.lang.fleet.fleet_plans`), the answers
already known (a results file's, `dagc.fleet.results_file`) and where to run. Output: every point's answer
(`dagc.fleet.cluster.answer_cluster`) in the sweep's order, whichever way they ran: each is computed from
its own plan alone (what a process keeps between clusters — timings, runs, DAGs — is keyed by all it
depends on: `dagc.fleet.lanes`), and read back as a results file gives it (`StoredAnswer`), so the answers —
and the ranking made from them — are identical in-process, with `jobs` and on Ray.

`on_answer(point, answer)` is called as each answer arrives (to save it: an interrupted sweep resumes from
what was saved), `progress(done, total)` after it. A worker process that dies (killed, out of memory)
breaks its lane's pool: the point it was answering is run again at the end, in a pool of its own, once, and
its lane goes on with a new worker; a point that fails twice is answered with `failed` (the reason) and
ranked with the clusters that miss. Never a hang: a dead worker ends its pool's futures. Ctrl-C stops the
workers and raises KeyboardInterrupt.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from ..interrupts import ignore_interrupts
from ..lang.fleet import FleetPoint
from ..plan.plan import Plan
from ..search.pool import die_with_parent
from .cluster import Ask, answer_cluster, failed_answer
from .lanes import Lanes, lanes_at_work
from .stored import StoredAnswer

__all__ = ["Answer", "run_fleet"]

Answer = Callable[[FleetPoint, StoredAnswer], None]
Item = tuple[FleetPoint, Plan]


def run_fleet(items: Sequence[Item], ask: Ask, *, jobs: int = 1,
              ray: str | None = None, known: dict[str, StoredAnswer] | None = None, on_answer: Answer | None = None,
              progress: Callable[[int, int], None] | None = None) -> list[tuple[FleetPoint, StoredAnswer]]:
    """Every point's answer, in the sweep's order (module docstring). `known`: answers by point key
    (`FleetPoint.key`), not run again. `ray`: run on Ray — "" a local Ray (or the one this process has
    already started), else the address of a cluster (`dagc.fleet.ray_run`)."""
    known = dict(known or {})
    todo = [(p, plan) for p, plan in items if p.key not in known]
    total, done = len(items), len(items) - len(todo)
    if progress is not None:
        progress(done, total)

    def take(point: FleetPoint, answer: StoredAnswer) -> None:
        nonlocal done
        known[point.key] = answer
        if on_answer is not None:
            on_answer(point, answer)
        done += 1
        if progress is not None:
            progress(done, total)

    if ray is not None and todo:      # every answer resumed: no Ray started, nor its address reached
        from .ray_run import ray_answers
        ray_answers(todo, ask, ray, take)
    elif jobs > 1 and lanes_at_work(todo, jobs) > 1:     # one lane at work: this process's (`lanes_at_work`)
        _in_processes(todo, ask, jobs, take)
    else:
        for point, plan in todo:
            take(point, answer_cluster(plan, _rate(point), ask))
    return [(p, known[p.key]) for p, _ in items]


def _rate(point: FleetPoint) -> float:
    assert point.rate is not None, "fleet_plans gives every point its rate"
    return point.rate


def _init_worker(parent: int) -> None:
    """Workers leave Ctrl-C to the parent, which stops them, and end with it (`dagc.search.pool`)."""
    ignore_interrupts()
    die_with_parent(parent)


def _pool(jobs: int) -> ProcessPoolExecutor:
    # spawn: a fresh interpreter, nothing of the parent's threads (the progress bar's) or state
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(),))


def _in_processes(todo: list[Item], ask: Ask, jobs: int, take: Answer) -> None:
    """`jobs` worker processes, one task a cluster, the clusters of one deployment on one worker (`Lanes`);
    what a dead worker left is run again, each alone."""
    again = _lanes(todo, ask, jobs, take)
    for point, plan in again:
        if _round([(point, plan)], ask, 1, take):
            take(point, failed_answer(plan, "its worker process died twice (killed, or out of memory)"))


def _lanes(todo: list[Item], ask: Ask, jobs: int, take: Answer) -> list[Item]:
    """Run `todo` on `jobs` lanes, each a pool of one worker process fed its next cluster as it answers one
    (`dagc.fleet.lanes.Lanes`); the items whose worker died (or that raised), to run again. A lane whose worker
    died gets a new pool; the others go on."""
    n = min(jobs, len(todo))
    lanes: Lanes[FleetPoint] = Lanes(todo, n)
    pools = [_pool(1) for _ in range(n)]
    running: dict[Future[StoredAnswer], tuple[int, Item]] = {}
    failed: list[Item] = []

    def feed(lane: int) -> None:
        item = lanes.next(lane)
        if item is not None:
            running[pools[lane].submit(answer_cluster, item[1], _rate(item[0]), ask)] = (lane, item)

    try:
        for lane in range(n):
            feed(lane)
        while running:
            finished, _ = wait(running, return_when="FIRST_COMPLETED")
            for f in sorted(finished, key=lambda f: running[f][1][0].index):
                lane, item = running.pop(f)
                try:
                    answer = f.result()
                except Exception as exc:   # its worker died (BrokenProcessPool), or it raised: retried once
                    failed.append(item)
                    if isinstance(exc, BrokenProcessPool):
                        _stop(pools[lane])
                        pools[lane] = _pool(1)
                    feed(lane)
                    continue
                take(item[0], answer)
                feed(lane)
    except BaseException:
        for pool in pools:
            _stop(pool)
        raise
    for pool in pools:
        pool.shutdown(wait=True)
    return sorted(failed, key=lambda it: it[0].index)


def _round(todo: list[Item], ask: Ask, jobs: int, take: Answer) -> list[Item]:
    """Run `todo` in one pool; the items whose worker died (or that raised), to run again."""
    pool = _pool(min(jobs, len(todo)))
    failed: list[Item] = []
    try:
        futures: dict[Future[StoredAnswer], Item] = {pool.submit(answer_cluster, plan, _rate(p), ask): (p, plan)
                                                       for p, plan in todo}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when="FIRST_COMPLETED")
            for f in sorted(finished, key=lambda f: futures[f][0].index):
                try:
                    answer = f.result()
                except Exception:       # BrokenProcessPool (its worker died), or it raised: retried once
                    failed.append(futures[f])
                    continue
                take(futures[f][0], answer)
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
    return sorted(failed, key=lambda it: it[0].index)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the workers now (they hold nothing worth saving)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.kill()
    for proc in processes:
        proc.join(timeout=5)
