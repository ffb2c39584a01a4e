"""A calibrated plan's error bands: from its calibration's cross-validated residuals instead of the ledger's.

Input: a plan with `calibration from "FILE"` (`Plan.calibration`, docs/calibrate.md) and the ledger's errors of a
quantity in the plan's regime. Output: `Errors` of the quantity from the calibration's residuals — ln(dagc /
measured) of each run's figures predicted by a fit that left that run out — estimated as the ledger is (Weibull
plotting positions at the ledger's levels), its regime `calibration=FILE quantity=Q`; or the ledger's, saying
why, when the calibration has fewer than `MIN_FIGURES` figures of the quantity (or the plan none).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..plan.plan import Plan
from .ledger import Errors

__all__ = ["MIN_FIGURES", "calibrated_errors"]

MIN_FIGURES = 8     # residuals of a quantity a calibration needs for its own band (else the ledger's)


def calibrated_errors(plan: Plan, quantity: str, ledger_errors: Errors) -> Errors:
    """The errors a figure of `quantity` takes its band from in `plan`."""
    cal = plan.calibration
    if cal is None:
        return ledger_errors
    xs = cal.residuals.get(quantity, ())
    if len(xs) < MIN_FIGURES:
        said = f"calibration `{cal.file}` has {len(xs)} {quantity} figures, fewer than {MIN_FIGURES}: the ledger's"
        return replace(ledger_errors, note=f"{said}; {ledger_errors.note}" if ledger_errors.note else said)
    levels = ledger_errors.levels
    q = np.quantile(np.asarray(xs, dtype=float), levels, method="weibull")
    return Errors(f"calibration={cal.file} quantity={quantity}", len(cal.runs), levels,
                  tuple(float(x) for x in q), None)
