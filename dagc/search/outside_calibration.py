"""Which rows of a search run an engine instance the plan's calibration never measured (W540's test of a strategy:
`dagc.rules.calibration.calibration_range`), said under the search's table: their figures, and the narrow bands a
calibration's own errors give, are extrapolated (docs/calibrate.md, "In a plan: `calibration from`").

Input: the plan (its `calibration`) and the rows shown, each with its strategy. Output: one line, or None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..layout.layout import instance_gpus
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..units import count_text

__all__ = ["best_extrapolated", "instance_gpus", "outside_calibration", "outside_runs"]


class _Row(Protocol):
    @property
    def strategy(self) -> Strategy: ...


def outside_calibration(plan: Plan, rows: Sequence[_Row]) -> str | None:
    """The line naming the rows (#k, counted from 1) that run an engine instance on another number of GPUs than the
    runs of the plan's calibration; None without a calibration, or when every row's instances are the runs'."""
    return outside_runs(plan, [(row.strategy,) for row in rows])


def outside_runs(plan: Plan, rows: Sequence[Sequence[Strategy]]) -> str | None:
    """`outside_calibration` of rows of several strategies each (a fleet's cluster under several traffic mixes, one
    pick a mix: `dagc.fleet.calibrated`): a row is named when one of its strategies runs such an instance."""
    cal = plan.calibration
    if cal is None:
        return None
    low, high = cal.instance_gpus or (cal.gpus, cal.gpus)
    out: dict[int, list[int]] = {}
    for k, strategies in enumerate(rows, 1):
        for gpus in sorted({g for s in strategies for g in instance_gpus(s)}):
            if not low <= gpus <= high:
                out.setdefault(gpus, []).append(k)
    if not out:
        return None
    runs = count_text(low, "GPU") if low == high else f"{low:,}–{high:,} GPUs"
    said = "; ".join(f"{_listed(ks)} run{'s' if len(ks) == 1 else ''} instances of {count_text(g, 'GPU')}"
                     for g, ks in sorted(out.items()))
    return (f"outside the runs of calibration `{cal.file}` (engine instances of {runs}): {said} — their figures and "
            "bands are extrapolated (W540 in `dagc check --strategy`)")


def best_extrapolated(plan: Plan, instances: tuple[int, ...]) -> str:
    """After an optimal verdict's note that names the search's best: that it runs engine instances of
    `instances` GPUs outside the runs of the plan's calibration, so its figures and bands are extrapolated ('' when
    inside, or without a calibration). A new user's note read "`tp 2 ; ep 2 …` gives 2.08× the decode throughput per
    GPU … on 2 GPUs" of a calibration of 4-GPU instances, which `dagc check --strategy` of it called W540."""
    cal = plan.calibration
    if cal is None:
        return ""
    low, high = cal.instance_gpus or (cal.gpus, cal.gpus)
    far = sorted({g for g in instances if not low <= g <= high})
    if not far:
        return ""
    runs = count_text(low, "GPU") if low == high else f"{low:,}–{high:,} GPUs"
    sizes = " and ".join(f"{g:,}" for g in far)
    return (f"; the search's best runs engine instances of {sizes} GPU{'' if far == [1] else 's'}, outside the runs of "
            f"calibration `{cal.file}` ({runs}): its figures and bands are extrapolated (W540)")


def _listed(ks: list[int]) -> str:
    names = [f"#{k}" for k in sorted(set(ks))]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
