"""W542 of `dagc calibrate`: a quantity the calibrated terms predict worse than the engine's own.

Input: a `Calibrated` (its jobs, dagc's figures at the engine's own terms, at the fit and cross-validated). Output:
one warning a quantity (TPOT, TTFT, E2E, throughput) whose median |error| over the runs, calibrated or
cross-validated, is above the uncalibrated as the command prints them (to 0.1 %), located at the figure of that
quantity the fit moved furthest from its run's measured value (`worse_warnings`).

The fit weighs every run's TPOT, TTFT and throughput together; with few runs it can buy one quantity with another
(three SGLang runs of DeepSeek-V3: throughput 3.9 % → 3.2 % off while TPOT went 32.6 % → 38.5 %), and a plan that
uses the file then gets those figures worse than without it. The likelier cause is runs too alike to tell the terms
apart: runs of other traffic (other rates, clients or prompt lengths) let the fit find the terms each quantity
calls for.
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING

from ..diagnostics import Diagnostic, quote
from ..rules.engine import calibration_worse
from .figures import quantity_of

if TYPE_CHECKING:
    from .calibrate import Calibrated

__all__ = ["QUANTITIES", "worse_warnings"]

QUANTITIES = ("tpot", "ttft", "e2e", "throughput")     # in the summary's order


def _shown(errors: list[float]) -> float:
    """The median |error| in percent as the summary prints it (to 0.1 %)."""
    return round(statistics.median(abs(e) for e in errors) * 100, 1)


def worse_warnings(cal: Calibrated) -> list[Diagnostic]:
    """W542 for each quantity the calibration predicts worse than the engine's own terms (module doc)."""
    before, after, cross = cal.errors("before"), cal.errors("after"), cal.errors("cross_validated")
    shown = {q: (_shown(before[q]), _shown(after.get(q, before[q])), _shown(cross.get(q, before[q])))
             for q in QUANTITIES if q in before}
    # the hint names what the fit bought and with what: closer calibrated and cross-validated, or further off either
    better = [q for q, (was, now, left) in shown.items() if max(now, left) < was]
    worse = [q for q, (was, now, left) in shown.items() if max(now, left) > was]
    out = []
    for q in worse:
        was, now, left = shown[q]
        # the figure of the quantity the fit moved furthest from its measured value
        moved = [(abs(math.log(a[k] / m)) - abs(math.log(b[k] / m)), n, k)
                 for n, (j, b, a) in enumerate(zip(cal.jobs, cal.before, cal.after, strict=True))
                 for k, m in j.run.measured.items()
                 if quantity_of(k) == q and m > 0 and b.get(k, 0) > 0 and a.get(k, 0) > 0]
        _, n, key = max(moved) if moved else (0.0, 0, "requests")
        run = cal.jobs[n].run
        out.append(calibration_worse(q, (was, now, left if cal.cross_validates else None),
                                     f"`{quote(run.id)}`'s `{quote(run.fields.get(key, key))}`", run.span(key),
                                     cal.fit.fitted, better, [w for w in worse if w != q]))
    return out
