"""A fleet whose plan names a calibration (`calibration from "cal.json"`): E109 at each value of the fleet the
calibration was not fitted on (docs/fleet.md).

Input: the plan's path, its `Fleet` and where the fleet writes each `--set` option of its points. Output: one E109 a
fleet value — a GPU type, an engine — located at the value and naming what it is, rather than one a point that
names every field in which that point differs, at the first value it quotes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from ..diagnostics import Diagnostic, PlanError, quote
from ..source import Span
from .calibration import CALIBRATION_CODE
from .fleet_ir import Fleet
from .overrides import SET_SOURCE, load_plan_with

__all__ = ["calibration_errors", "miscalibrated_at_plan"]


def miscalibrated_at_plan(d: Diagnostic) -> bool:
    """Whether `d` is a point's E109 — the plan's calibration fitted on another GPU or engine than the point's —
    said at the plan's `calibration from` (`calibration_errors` says it at the fleet's values instead)."""
    return d.code == CALIBRATION_CODE and d.span is not None and d.span.source.path != SET_SOURCE


def calibration_errors(path: str | Path, fleet: Fleet, spans: dict[str, Span],
                       allow_paths: Sequence[Path]) -> list[Diagnostic]:
    """E109 at each value of the fleet that the plan's calibration was not fitted on — a GPU type, an engine — once
    each, naming that value alone: the plan read with the value's `--set` option alone (its other fields the plan's,
    which the calibration matches, else the plan's own E109 stops it first). A point's E109 names every field in
    which it differs, the GPU type's and the engine's together, and was said at the first value it quoted."""
    options = [*(f"cluster.gpu={g.name}" for g in fleet.gpus),
               *(f"cluster.{s.field}={v}" for s in fleet.sweeps for v in s.values)]
    found: list[Diagnostic] = []
    for option in (o for o in options if o in spans):
        try:
            load_plan_with(path, (option,), allow_paths=allow_paths, rate=fleet.rate_requests_per_s,
                           needs_strategy=False)
        except PlanError as exc:
            value = quote(option.partition("=")[2])
            found += [dataclasses.replace(d, span=spans[option], message=d.message.replace("the plan's", "the fleet's"),
                                          hint=f"a calibration holds one GPU's and engine's terms: drop `{value}` from "
                                               "the fleet, or compare it in a fleet of a plan without `calibration "
                                               "from` (or with one fitted on its runs)")
                      for d in exc.diagnostics if miscalibrated_at_plan(d)]
    return found
