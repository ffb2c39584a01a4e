"""A fleet's clusters on a Ray cluster: one Ray Core task a cluster search (`dagc fleet --ray [ADDRESS]`).

Input: the points to answer with their plans and rates, and the cluster's address ("" for a local Ray, or
the one this process already started). Output: each answer handed to `take` as it arrives (`ray.wait`), in
the order they finish; `dagc.fleet.run` orders them. As many tasks run at once as the Ray cluster has CPUs,
each lane fed its next cluster as one ends, the clusters of one deployment in one lane (`dagc.fleet.lanes`), so
that Ray, which gives a lane's next task to a worker it just freed, keeps what they share in one process.
Each task carries its plan (the model, the cluster
with its kernel profile, the workload with its requests) as its argument: a worker reads no file. A task
whose worker dies, or that raises, is retried once by Ray (`max_retries=1`, `retry_exceptions=True`); one
that fails twice is answered with `failed`. Ray is the optional extra `ray` (`pip install -e '.[ray]'` in dagc's
checkout; `dagc.extras.extra_install`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from ..extras import extra_install
from ..lang.fleet import FleetPoint
from ..plan.plan import Plan
from .cluster import Ask, answer_cluster, failed_answer
from .lanes import Lanes
from .stored import StoredAnswer

__all__ = ["RAY_CONNECT_S", "RayMissing", "RayUnreachable", "ray_answers", "reach"]

RAY_CONNECT_S = 10.0    # how long `--ray ADDRESS` waits for the cluster's port to answer before saying it does not


class RayMissing(ImportError):
    """`--ray` without Ray installed."""


class RayUnreachable(ConnectionError):
    """`--ray ADDRESS` names no address, or one whose port does not answer within `RAY_CONNECT_S`."""


def reach(address: str, timeout_s: float = RAY_CONNECT_S) -> None:
    """Check that `--ray ADDRESS` answers before Ray is started on it: `ray.init` retries an address that does
    not answer for minutes, printing only its own retries. No address is the environment's `RAY_ADDRESS`, as for
    `ray.init`. `auto` and `local` (and none) name no port, and an address of another scheme than `ray://` is a
    Ray Client plugin's (`anyscale://…`): those are left to Ray. The connection waits `timeout_s` for each address
    the host resolves to; resolving the name is the system's.

    Raises:
        RayUnreachable: `address` is not HOST:PORT (or ray://HOST:PORT), or nothing answers there in time.
    """
    address = address or os.environ.get("RAY_ADDRESS", "")
    if address in ("", "auto", "local") or ("://" in address and not address.startswith("ray://")):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    host = host.strip("[]")                         # an IPv6 address is written in brackets
    if not host or not port.isascii() or not port.isdigit() or len(port) > 5 or not 0 < int(port) < 65536:
        raise RayUnreachable(f"--ray {address!r} is not an address: write HOST:PORT (the head node's GCS port, "
                             "6379 by default), ray://HOST:PORT for a Ray Client server, or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except (OSError, UnicodeError) as exc:           # refused, unresolvable, timed out; a host IDNA cannot encode
        reason = f"no answer in {timeout_s:g} s" if isinstance(exc, TimeoutError) else \
            (exc.strerror or str(exc) or type(exc).__name__) if isinstance(exc, OSError) else "not a host name"
        raise RayUnreachable(f"the Ray cluster at {address!r} cannot be reached ({reason}): start it with "
                             "`ray start --head`, or check the address") from None


def _start(init: Callable[..., object], address: str) -> None:
    """Start Ray (`ray.init`) on `address` ("" for a local Ray) once `reach` finds it answering.

    Raises:
        RayUnreachable: `address` does not answer, or answers but Ray finds no cluster there (`_init_failed`).
    """
    reach(address)
    try:
        init(address=address or None, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except ConnectionError as exc:    # its port answers, but no Ray there (retried for up to minutes)
        raise RayUnreachable(_init_failed(address, exc)) from None


def _init_failed(address: str, exc: ConnectionError) -> str:
    """Why `ray.init` could not connect, after `reach` found the address's port answering: what answers there is
    not a Ray cluster's GCS (or its head has failed). Ray's ConnectionError is an OSError, which the CLI would
    otherwise take for a failing standard output.

    Example:
        >>> _init_failed("10.0.0.5:8080", ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:8080"))
        "the Ray cluster at '10.0.0.5:8080' cannot be reached (its port answers, but Ray found no cluster there: \
Failed to connect to Ray cluster at 10.0.0.5:8080): check that ADDRESS is the head node's GCS port (6379 by \
default, as `ray start --head` prints it), or ray://HOST:PORT for a Ray Client server"
    """
    address = address or os.environ.get("RAY_ADDRESS", "")
    said = str(exc) or type(exc).__name__
    if not address:
        return f"a local Ray could not be started ({said})"
    return (f"the Ray cluster at {address!r} cannot be reached (its port answers, but Ray found no cluster there: "
            f"{said}): check that ADDRESS is the head node's GCS port (6379 by default, as `ray start --head` "
            "prints it), or ray://HOST:PORT for a Ray Client server")


def ray_answers(todo: list[tuple[FleetPoint, Plan]], ask: Ask, address: str,
                take: Callable[[FleetPoint, StoredAnswer], None]) -> None:
    """Answer `todo` on Ray (module docstring); a Ray this call started is shut down when it ends.

    Raises:
        RayMissing: Ray is not installed (`dagc.extras.extra_install` says how).
        RayUnreachable: `address` is not one, does not answer (`reach`), or answers but Ray finds no cluster there.
    """
    try:
        import ray
    except ImportError:
        raise RayMissing(f"--ray needs Ray, the optional extra `ray`: {extra_install('ray')}") from None
    started = not ray.is_initialized()
    if started:
        _start(ray.init, address)
    refs: dict[object, tuple[int, FleetPoint, Plan]] = {}        # Ray object ref → its lane and item
    try:
        search: Callable[[Plan, float, Ask], StoredAnswer] = answer_cluster     # looked up now: tests replace it
        task = ray.remote(max_retries=1, retry_exceptions=True)(search)
        n = max(1, min(len(todo), int(ray.cluster_resources().get("CPU", 1))))
        lanes: Lanes[FleetPoint] = Lanes(todo, n)

        def feed(lane: int) -> None:
            item = lanes.next(lane)
            if item is not None:
                assert item[0].rate is not None, "fleet_plans gives every point its rate"
                refs[task.remote(item[1], item[0].rate, ask)] = (lane, *item)

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
