"""A fleet's clusters on a Ray cluster: one Ray Core task a cluster search (`dagc fleet --ray [ADDRESS]`).

Input: the points to answer with their plans and rates, and the cluster's address ("" for a local Ray, or
the one this process already started). Output: each answer handed to `take` as it arrives (`ray.wait`), in
the order they finish; `dagc.fleet.run` orders them. As many tasks run at once as the Ray cluster has CPUs,
each lane fed its next cluster as one ends, the clusters of one deployment in one lane (`dagc.fleet.lanes`), so
that Ray, which gives a lane's next task to a worker it just freed, keeps what they share in one process.
Each task carries its plan (the model, the cluster
with its kernel profile, the workload with its requests) as its argument: a worker reads no file. A task
whose worker dies, or that raises, is retried once by Ray (`max_retries=1`, `retry_exceptions=True`); one
that fails twice is answered with `failed`. Ray is the optional extra `dagc[ray]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..lang.fleet import FleetPoint
from ..plan.plan import Plan
from .cluster import answer_cluster, failed_answer
from .lanes import Lanes

__all__ = ["RAY_INSTALL", "RayMissing", "ray_answers"]

RAY_INSTALL = "pip install 'dagc[ray]'"


class RayMissing(ImportError):
    """`--ray` without Ray installed."""


def ray_answers(todo: list[tuple[FleetPoint, Plan]], top: int, address: str,
                take: Callable[[FleetPoint, dict[str, Any]], None]) -> None:
    """Answer `todo` on Ray (module docstring); a Ray this call started is shut down when it ends.

    Raises:
        RayMissing: Ray is not installed (`RAY_INSTALL` says how).
    """
    try:
        import ray
    except ImportError:
        raise RayMissing(f"--ray needs Ray: {RAY_INSTALL}") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False, configure_logging=False)
    refs: dict[object, tuple[int, FleetPoint, Plan]] = {}        # Ray object ref → its lane and item
    try:
        task = ray.remote(max_retries=1, retry_exceptions=True)(answer_cluster)
        n = max(1, min(len(todo), int(ray.cluster_resources().get("CPU", 1))))
        lanes: Lanes[FleetPoint] = Lanes(todo, n)

        def feed(lane: int) -> None:
            item = lanes.next(lane)
            if item is not None:
                refs[task.remote(item[1], item[0].rate, top)] = (lane, *item)

        for lane in range(n):
            feed(lane)
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                lane, point, plan = refs.pop(ref)
                try:
                    answer = ray.get(ref)
                except Exception as exc:       # the task failed twice: its worker died, or it raised
                    answer = failed_answer(plan, f"its Ray task failed twice ({type(exc).__name__})")
                take(point, answer)
                feed(lane)
    except BaseException:
        for ref in list(refs):
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()
