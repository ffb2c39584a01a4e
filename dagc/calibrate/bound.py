"""W541 of `dagc calibrate`: a fitted term that stopped at one of its bounds, located at the run it leaves furthest
off, naming the likelier cause.

Input: a calibration's jobs and its `JointFit` (`JointFit.at_bound`: the side, the run, the figure, and a term
the runs had no room for that would take the rest). Output: one warning a term at its bound (`at_bound_warnings`).

A multiplier at 5× or 0.2×, a front end of a minute or a step of a second is no engine's: the runs would take the
term further, and dagc does not follow them. The likelier cause is named: a term the runs had no room to fit beside
the others (3 runs fit 2 terms: a fourth run lets it in), else a run that differs from its plan — another model,
GPU count, quantisation or engine setting — or a cost of the engine dagc does not model (docs/calibrate.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..diagnostics import Diagnostic, Severity, code
from ..units import count_text, said_list

if TYPE_CHECKING:
    from .calibrate import Job
    from .solve import JointFit

__all__ = ["AT_BOUND_CODE", "at_bound_warnings", "term_text"]

AT_BOUND_CODE = "W541"


def term_text(name: str, value: float) -> str:
    """A term as dagc shows it: seconds in ms, a time scale as a multiplier.

    Example:
        >>> term_text("frontend_s", 0.0591), term_text("compute_time_scale", 5.0)
        ('59.100 ms', '5.000×')
    """
    if name == "step_request_s":
        return f"{value * 1e6:.2f} µs"
    return f"{value * 1e3:.3f} ms" if name.endswith("_s") else f"{value:.3f}×"


def at_bound_warnings(jobs: Sequence[Job], fit: JointFit) -> list[Diagnostic]:
    """W541 for each fitted term at one of its bounds (module doc)."""
    out = []
    for name, b in fit.at_bound().items():
        job = jobs[b.run]
        m, x = job.run.measured.get(b.key), fit.at[b.run].get(b.key)
        # dagc's figure off the measured one as the summary's errors are, |dagc − measured| / measured (until
        # 2026-11-28 the fit's log residual: 7.04 ms against 0.1 ms read "425 %" beside the summary's 6,940 %)
        off = (f"; run {code(job.run.id)}'s {code(job.run.fields.get(b.key, b.key))} is still "
               f"{abs(x / m - 1):,.0%} from dagc's there".replace("%", " %")
               if m and x else "")
        runs = len(jobs)
        if b.likelier is not None:
            why = (f"likelier: `{b.likelier}`, which {runs} runs have no room to fit beside {_beside(fit, name)} (a "
                   "calibration fits at most one term fewer than its runs at once): add a run of other traffic, and "
                   "dagc fits it too")
        else:
            why = ("likelier than such an engine: a run that differs from its plan — another model, GPU count, "
                   "quantisation or engine setting — or a cost of the engine dagc does not model (docs/calibrate.md, "
                   "\"The corpus\")")
        out.append(Diagnostic(
            AT_BOUND_CODE, Severity.WARNING,
            f"`{name}` stopped at its {b.side} bound, {term_text(name, b.value)}: the runs would take it further, "
            f"which dagc does not follow{off}", job.run.span(b.key), why))
    return out


_QUANTITY = {"tpot": "TPOT", "ttft": "TTFT"}


def _beside(fit: JointFit, name: str) -> str:
    """The terms the term at its bound was fitted with: its stage's on that stage's quantity where the runs were fitted
    in stages (until 2026-12-01 every term fitted, `3 terms` on 3 runs, beside "a calibration fits one term fewer than
    its runs"), else every term fitted."""
    stage = next((g for g in fit.stages if name in g.fitted), None)
    if stage is None:
        return count_text(len(fit.fitted), "term")
    return (f"{said_list([f'`{t}`' for t in stage.fitted])} on the "
            f"{_QUANTITY.get(stage.quantity, stage.quantity)} figures")

