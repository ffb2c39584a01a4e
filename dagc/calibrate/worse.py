"""W542 of `dagc calibrate`: a quantity the calibrated terms predict worse than the engine's own.

Input: a `Calibrated` (its jobs, dagc's figures at the engine's own terms, at the fit and cross-validated). Output:
one warning a quantity (TPOT, TTFT, E2E, throughput) whose median |error| over the runs, calibrated or
cross-validated, is further off than the uncalibrated by `WORSE_POINTS` percentage points and by `WORSE_SHARE` of it
or more, as the command prints them (to 0.1 %), located at the figure of that quantity the fit moved furthest from its
run's measured value (`worse_warnings`).

The threshold: a change smaller than either is nothing a plan's verdict can see — the bands dagc draws around a
figure span tens of per cent (docs/bands.md) —, and the warning's advice, to leave the calibration out of verdicts on
that quantity, would give up the terms that brought the other quantities closer for it. Until 2026-12-02 any change
the summary showed fired it: a new user's three gpt-oss-120b runs, throughput 0.1 % → 0.4 % off (the fit bought TPOT,
26.4 % → 20.9 %), were told to leave the calibration out of throughput verdicts; and trial72's TTFT, 54.7 % → 55.3 %.

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
from ..rules.calibration import calibration_worse
from .figures import quantity_of

if TYPE_CHECKING:
    from .calibrate import Calibrated

__all__ = ["QUANTITIES", "WORSE_POINTS", "WORSE_SHARE", "worse_warnings"]

QUANTITIES = ("tpot", "ttft", "e2e", "throughput")     # in the summary's order
WORSE_POINTS = 1.0       # percentage points of median |error| further off, at least (module doc: the threshold)
WORSE_SHARE = 0.1        # … and at least this share of the uncalibrated median |error|


def _worse(was: float, now: float) -> bool:
    """Whether a median |error| of `now` % is further off than `was` % by the threshold (module doc).

    Example:
        >>> _worse(0.1, 0.4), _worse(54.7, 55.3), _worse(32.6, 38.5), _worse(2.0, 3.0), _worse(30.0, 31.5)
        (False, False, True, True, False)
    """
    return now - was >= WORSE_POINTS - 1e-9 and now >= was * (1 + WORSE_SHARE) - 1e-9


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
    worse = [q for q, (was, now, left) in shown.items() if _worse(was, max(now, left))]
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
