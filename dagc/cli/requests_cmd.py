"""`--requests-out FILE` of `dagc check` and `dagc compile`: every simulated request as a JSON line.

FILE is a file name written in the output directory (`dagc.export.requests_out`): `dagc compile`'s
(`-o DIR`, default `out/<plan>`), where `dagc.export.compile` writes it with the rest of the set; for
`dagc check`, which has no output directory of its own, `out/<plan>` as `dagc search` writes its plot there
(a marked dagc output directory whose manifest lists the file). A name that is a path, hidden, or one of
dagc's own files, and a target that is a link, FIFO, device or directory, are refused (exit 5), and so are
requests past the output budget (`--output-budget`, 2 GiB by default: nothing written); a plan without
traffic has no requests to write (exit 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..diagnostics import printable
from ..exit_codes import EXIT_OUTPUT, EXIT_USAGE

if TYPE_CHECKING:
    from argparse import Namespace

    from rich.console import Console

    from ..plan.plan import Plan
    from ..verdict.check import StrategyResult

__all__ = ["requests_refused", "write_check_requests"]


def requests_refused(args: Namespace, err: Console, plan: Plan | None = None) -> int | None:
    """The exit code that refuses `--requests-out` (with its one line on stderr), None when it is fine or
    not given: without `plan`, its name (before any work); with it, that the plan has traffic."""
    name = getattr(args, "requests_out", None)
    if name is None:
        return None
    from ..export.requests_out import check_requests_name
    from ..export.write import OutputError
    try:
        check_requests_name(name)
    except OutputError as exc:
        err.print(f"error: {printable(str(exc))}", markup=False)
        return EXIT_OUTPUT
    if plan is not None and plan.workload.traffic is None:
        err.print("error: --requests-out: the plan's workload has no traffic to simulate (give it `rate = … "
                  "requests/s`, `concurrency = …` or `requests from \"…\"`, or --set workload.concurrency=64)",
                  markup=False)
        return EXIT_USAGE
    return None


def write_check_requests(args: Namespace, err: Console, out: Console, plan: Plan,
                         results: list[StrategyResult]) -> int | None:
    """`dagc check --requests-out FILE`: the requests of every simulated strategy in `out/<plan>/FILE`; the
    exit code when refused or not written, else None (a line on stdout names the file, in text)."""
    name = getattr(args, "requests_out", None)
    if name is None:
        return None
    refused = requests_refused(args, err, plan)
    if refused is not None:
        return refused
    from ..export.compile import OUTPUT_BUDGET_BYTES, requests_runs
    from ..export.output_dir import default_output_dir, plot_dir
    from ..export.requests_out import over_budget, requests_bytes_at_least, write_requests
    from ..export.write import OutputError
    path, runs = None, requests_runs(results)
    budget = getattr(args, "output_budget", None) or OUTPUT_BUDGET_BYTES
    try:
        if requests_bytes_at_least(runs) > budget:          # refused before out/<plan> is made
            raise over_budget(name, budget)
        path = plot_dir(default_output_dir(plan.name), name)
        lines = write_requests(path, runs, budget)
    except OutputError as exc:
        err.print(f"error: {printable(str(exc))}", markup=False)
        return EXIT_OUTPUT
    except OSError as exc:
        err.print(f"error: cannot write {printable(str(path or name))}: {printable(exc.strerror or str(exc))}",
                  markup=False)
        return EXIT_OUTPUT
    if getattr(args, "format", "text") == "text" and getattr(args, "volume", 0) >= 0:
        out.print(f"Requests: {lines:,} simulated requests, a JSON line each, in {printable(str(path))}", markup=False)
    return None
