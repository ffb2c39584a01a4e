"""Which rows of a search run an engine instance the plan's calibration never measured (W540's test of a strategy:
`dagc.rules.engine.calibration_range`), said under the search's table: their figures, and the narrow bands a
calibration's own errors give, are extrapolated (docs/calibrate.md, "In a plan: `calibration from`").

Input: the plan (its `calibration`) and the rows shown, each with its strategy. Output: one line, or None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..layout.layout import stage_group
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..units import count_text

__all__ = ["instance_gpus", "outside_calibration"]


class _Row(Protocol):
    @property
    def strategy(self) -> Strategy: ...


def _gpus(s: Strategy, replicas: bool) -> int:
    return (s.dp if replicas else 1) * s.pp * stage_group(s.tp, s.cp, s.ep, s.etp)[2]


def instance_gpus(s: Strategy) -> tuple[int, ...]:
    """The GPUs of each engine instance of `s`: one data-parallel replica of an aggregated strategy, each pool's
    instance of a disaggregated one (as `dagc check` compares them with a calibration's `instance_gpus`)."""
    if s.pools:
        return tuple(_gpus(p.strategy, True) for p in s.pools)
    return (_gpus(s, False),)


def outside_calibration(plan: Plan, rows: Sequence[_Row]) -> str | None:
    """The line naming the rows (#k, counted from 1) that run an engine instance on another number of GPUs than the
    runs of the plan's calibration; None without a calibration, or when every row's instances are the runs'."""
    cal = plan.calibration
    if cal is None:
        return None
    low, high = cal.instance_gpus or (cal.gpus, cal.gpus)
    out: dict[int, list[int]] = {}
    for k, row in enumerate(rows, 1):
        for gpus in instance_gpus(row.strategy):
            if not low <= gpus <= high:
                out.setdefault(gpus, []).append(k)
    if not out:
        return None
    runs = count_text(low, "GPU") if low == high else f"{low:,}–{high:,} GPUs"
    said = "; ".join(f"{_listed(ks)} run{'s' if len(ks) == 1 else ''} instances of {count_text(g, 'GPU')}"
                     for g, ks in sorted(out.items()))
    return (f"outside the runs of calibration `{cal.file}` (engine instances of {runs}): {said} — their figures and "
            "bands are extrapolated (W540 in `dagc check --strategy`)")


def _listed(ks: list[int]) -> str:
    names = [f"#{k}" for k in sorted(set(ks))]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
