"""The search's worker processes: a pool that evaluates chunks of candidates, and its stopping.

Input: a plan, chunks of candidates (`dagc.search.space.Item`) and the function that
evaluates a chunk in a worker. Output: the chunks' results, taken in order by a callback.

Worker processes (`jobs` > 1) ignore Ctrl-C: the parent stops them. On any way out of the
search — finished, budget spent, Ctrl-C, an error — the parent cancels the pending chunks,
kills the workers that still run (SIGKILL: they hold nothing worth saving) and joins them and
the pool's manager thread with a timeout; meanwhile further Ctrl-Cs are noted, not raised, so
a second or third Ctrl-C cannot abandon workers half-stopped (the first one, or one that came
during a normal finish, raises KeyboardInterrupt once they are gone). A worker also dies with
its parent however the parent ends (SIGKILL, or a `timeout` that signals it alone): on Linux
by PR_SET_PDEATHSIG, elsewhere by a thread polling its parent twice a second.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Protocol, TypedDict, TypeVar

from ..interrupts import ignore_interrupts
from ..plan.plan import Plan
from ..schedule.timer import Timer as _Timer
from .bar import Bar
from .bound import Pruner
from .rejections import Rejections
from .result import Candidate
from .space import Item

if TYPE_CHECKING:                      # imported by the searches that start workers (`dagc.search.chunks.process_pool`)
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.process import BaseProcess

__all__ = ["StartPool", "WorkerInit", "Workers", "calls_ahead", "cpu_count", "die_with_parent", "DEADLINE_GRACE_S",
           "WORKER_STOP_TIMEOUT_S"]

DEADLINE_GRACE_S = 0.5          # how long past the deadline the parent waits for a worker's last candidate
WORKER_STOP_TIMEOUT_S = 5.0     # how long the parent waits for each step of stopping its workers

class _Worker(TypedDict, total=False):
    """What a worker process of the search holds, set by its initializer."""

    plan: Plan
    objective: str
    timer: _Timer
    pruner: Pruner


WORKER: _Worker = {}
_T = TypeVar("_T")
_PR_SET_PDEATHSIG = 1           # <linux/prctl.h>
_PARENT_POLL_S = 0.5            # where PR_SET_PDEATHSIG is missing: how often a worker looks for its parent


def _init_worker(plan: Plan, objective: str, parent: int | None = None) -> None:
    """Worker processes leave Ctrl-C to the parent, which stops them (no traceback from a worker),
    and end with their parent (`die_with_parent`)."""
    ignore_interrupts()
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if parent is not None:
        die_with_parent(parent)
    timer = _Timer(plan)
    WORKER.update({"plan": plan, "objective": objective, "timer": timer, "pruner": Pruner(plan, objective, timer)})


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True                 # it exists, and is not ours to signal
    return True


def die_with_parent(parent: int) -> None:
    """End this worker when the process that started it ends, however that one ends (SIGKILL, a
    `timeout --foreground` that signals it alone, a crash): an orphaned worker would wait for
    work forever. On Linux the kernel sends SIGKILL (PR_SET_PDEATHSIG); elsewhere a daemon
    thread polls the parent's pid. `parent` is the searching process; the direct parent can be
    a fork server instead, which itself ends with the searching process."""
    ppid = os.getppid()
    if ppid != parent and not _pid_alive(parent):
        os._exit(1)                 # the search ended before this worker started
    if sys.platform.startswith("linux"):
        try:
            armed = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
        if armed:
            if os.getppid() != ppid:
                os._exit(1)         # the parent ended before the signal was armed
            return
    threading.Thread(target=_watch_parent, args=(ppid,), name="dagc-watch-parent", daemon=True).start()


def _watch_parent(ppid: int) -> None:
    while os.getppid() == ppid:
        time.sleep(_PARENT_POLL_S)
    os._exit(1)


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# What a worker runs on a chunk: (items, deadline, bar) → (the legal candidates, how many items were
# evaluated, how many of those the bar pruned, the rules that rejected the others: a count and an item per code).
ChunkResult = tuple[list[Candidate], int, int, Rejections]
TakeChunk = Callable[[list[Candidate], int, int, Rejections], None]    # what takes a chunk's result, in order
ChunkRunner = Callable[[list[Item], float | None, Bar], ChunkResult]


def _submit(pool: ProcessPoolExecutor, run: Callable[..., _T], *args: object) -> Future[_T]:
    # Worker processes (and the pool's threads) start at a submit: SIGINT stays blocked in them
    # until a worker's initializer ignores it; the threads never take it from the main thread.
    if not hasattr(signal, "pthread_sigmask"):
        return pool.submit(run, *args)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return pool.submit(run, *args)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _InterruptGuard:
    """Ctrl-C while worker processes run: the first raises KeyboardInterrupt; once the workers are
    being stopped (`stopping`) later ones are only noted (`seen`), so that none can break off
    the stopping. Installed only in the main thread over Python's default handler (a program's
    own handler, or SIG_IGN, is left alone)."""

    def __init__(self) -> None:
        self.seen = self.raised = self.stopping = False
        self.previous: Callable[[int, FrameType | None], object] | None = None

    def install(self) -> None:
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            signal.signal(signal.SIGINT, self._on_sigint)
            self.previous = signal.default_int_handler

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.seen = True
        if not (self.stopping or self.raised):
            self.raised = True
            raise KeyboardInterrupt

    def restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None


def _stop_workers(pool: ProcessPoolExecutor, workers: list[BaseProcess], manager: threading.Thread | None,
                  results: object, kill: bool) -> None:
    """Stop the pool without ever waiting unboundedly: cancel the pending chunks, kill the workers
    (`kill`; else idle workers exit on their own, or are killed after a timeout), join them and
    the pool's manager thread (which the interpreter would join at exit) with a timeout. Can be
    called again if it was interrupted."""
    pool.shutdown(wait=False, cancel_futures=True)
    if not kill and manager is not None:
        manager.join(WORKER_STOP_TIMEOUT_S)
    workers = [p for p in workers if not getattr(p, "_closed", False)]
    for p in workers:
        if p.exitcode is None:
            p.kill()
    for p in workers:
        p.join(WORKER_STOP_TIMEOUT_S)
    if manager is not None and manager.is_alive():
        # A worker killed while writing its result leaves half a message, which the manager thread
        # would wait for forever: with the parent's write end closed too, it reads end-of-file.
        writer = getattr(results, "_writer", None)
        if writer is not None:
            try:
                writer.close()
            except OSError:
                pass
        manager.join(WORKER_STOP_TIMEOUT_S)
    if manager is None or not manager.is_alive():
        # Release the pipes now rather than in finalizers run later, outside any Ctrl-C guard.
        for p in workers:
            if p.exitcode is not None:
                p.close()
        close = getattr(results, "close", None)
        if close is not None:
            close()


WorkerInit = Callable[[Plan, str, int | None], None]     # what each worker process runs first (`_init_worker`)


class StartPool(Protocol):
    """What starts a search's worker processes (`dagc.search.chunks.process_pool`, a `ProcessPoolExecutor`)."""

    def __call__(self, *, max_workers: int, initializer: WorkerInit,
                 initargs: tuple[Plan, str, int | None]) -> ProcessPoolExecutor: ...


@dataclass(frozen=True)
class Workers:
    """How chunks are evaluated in worker processes: `jobs` of them, started by `executor` (a
    `ProcessPoolExecutor`), each chunk by `run` (a module-level function: it is pickled by name), with at
    most `in_flight` chunks (default 2·jobs) handed out and not yet taken."""

    jobs: int
    run: ChunkRunner
    executor: StartPool
    in_flight: int | None = None


class _Started:
    """A pool being used, and what stopping it needs: its worker processes, its manager thread and its
    result queue, noted at every submit (a submit starts them) and once more before stopping."""

    def __init__(self) -> None:
        self.pool: ProcessPoolExecutor | None = None
        self.workers: dict[int, BaseProcess] = {}
        self.manager: threading.Thread | None = None
        self.results: object = None

    def start(self, spec: Workers, plan: Plan, objective: str) -> None:
        self.adopt(spec.executor(max_workers=spec.jobs, initializer=_init_worker,
                                 initargs=(plan, objective, os.getpid())))

    def adopt(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool
        self.results = getattr(pool, "_result_queue", None)

    def note(self) -> None:
        """Remember the pool's workers and thread (before shutdown forgets them)."""
        self.workers.update(getattr(self.pool, "_processes", None) or {})
        self.manager = getattr(self.pool, "_executor_manager_thread", None) or self.manager

    def submit(self, run: ChunkRunner, chunk: tuple[list[Item], Bar], deadline: float | None) -> Future[ChunkResult]:
        items, bar = chunk
        return self.call(run, items, deadline, bar)

    def call(self, run: Callable[..., _T], *args: object) -> Future[_T]:
        assert self.pool is not None
        fut = _submit(self.pool, run, *args)
        self.note()
        return fut

    def stop(self, kill: bool) -> None:
        assert self.pool is not None
        self.note()      # also the workers and thread of a submit that Ctrl-C cut short
        _stop_workers(self.pool, list(self.workers.values()), self.manager, self.results, kill)


def evaluate_in_workers(plan: Plan, objective: str, spec: Workers, chunks: Iterator[tuple[list[Item], Bar]],
                         deadline: float | None, take: TakeChunk) -> str | None:
    """Evaluate the chunks (each with the bar it is evaluated against) in the worker processes of `spec`,
    taking their results in order: a chunk is asked of `chunks` only once the one `spec.in_flight` before it
    is taken. Returns "budget" when the deadline stopped it. However it ends (also by Ctrl-C, however
    many), no worker process is left behind."""
    guard = _InterruptGuard()
    started = _Started()
    finished = False
    try:
        guard.install()
        started.start(spec, plan, objective)
        stopped = _take_in_order(started, spec, chunks, deadline, take)
        finished = stopped is None
        return stopped
    finally:
        _wind_up(guard, started, finished)


def _wind_up(guard: _InterruptGuard, started: _Started, finished: bool) -> None:
    """Stop the started pool's workers (killed unless every result was taken), however many Ctrl-Cs come meanwhile;
    then one KeyboardInterrupt if any came that was not raised already."""
    guard.stopping = True
    interrupted = False
    while started.pool is not None:
        try:
            started.stop(kill=not finished or interrupted)
            break
        except KeyboardInterrupt:       # a program's own SIGINT handler: stop them all the same
            interrupted = True
    guard.restore()
    if interrupted or (guard.seen and not guard.raised):
        raise KeyboardInterrupt


def _take_in_order(started: _Started, spec: Workers, chunks: Iterator[tuple[list[Item], Bar]],
                   deadline: float | None, take: TakeChunk) -> str | None:
    """Hand out the chunks to the started pool, a bounded number in flight, and `take` their results in
    order; "budget" when the deadline stopped it, else None."""
    pending: deque[tuple[Future[ChunkResult], int]] = deque()
    for chunk in itertools.islice(chunks, spec.in_flight or 2 * spec.jobs):
        pending.append((started.submit(spec.run, chunk, deadline), len(chunk[0])))
    while pending:
        fut, n = pending[0]
        wait = None if deadline is None else max(0.0, deadline - time.monotonic()) + DEADLINE_GRACE_S
        try:
            found, k, pruned, rejected = fut.result(wait)
        except TimeoutError:
            return "budget"                     # its last candidate overran: what it did is lost
        pending.popleft()
        take(found, k, pruned, rejected)
        if k < n or (deadline is not None and time.monotonic() >= deadline):
            return "budget"
        nxt = next(chunks, None)
        if nxt is not None:
            pending.append((started.submit(spec.run, nxt, deadline), len(nxt[0])))
    return None


def _init_ahead(parent: int) -> None:
    """A worker process of `calls_ahead`: it leaves Ctrl-C to the parent, and ends with it."""
    ignore_interrupts()
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    die_with_parent(parent)


def calls_ahead(run: Callable[..., _T], calls: Iterable[tuple[object, ...]], jobs: int
                ) -> Generator[Callable[[], _T], None, None]:
    """Each call of `run` (a module-level function: it is pickled by name) on the arguments `calls` gives, in their
    order, as a function returning its result: with `jobs` 1 the call is made in this process when that function is
    called (a result never asked for is never made); with more, the first call is made in this process as the
    iterator gives it, and the workers start after it, with what it made (kernel tables, op prices: without them
    every worker made them again), then up to 2·`jobs` calls run ahead in `jobs` worker processes (a result not
    asked for is work lost, never seen). Close the iterator (`contextlib.closing`): however it ends — exhausted,
    closed early, an error in a call (raised where its result is asked for), Ctrl-C however many — no worker
    process is left behind, as `evaluate_in_workers` stops the search's."""
    if jobs <= 1:
        for args in calls:
            yield functools.partial(run, *args)
        return
    todo = iter(calls)
    first = next(todo, None)
    if first is None:
        return
    made = run(*first)
    yield lambda: made
    from concurrent.futures import ProcessPoolExecutor
    guard, started, finished = _InterruptGuard(), _Started(), False
    try:
        guard.install()
        started.adopt(ProcessPoolExecutor(max_workers=jobs, initializer=_init_ahead, initargs=(os.getpid(),)))
        pending = deque(started.call(run, *args) for args in itertools.islice(todo, 2 * jobs))
        while pending:
            yield pending.popleft().result
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(started.call(run, *nxt))
        finished = True
    finally:
        _wind_up(guard, started, finished)
