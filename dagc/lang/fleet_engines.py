"""The engines a fleet may sweep: those a deployment is served with. `pytorch` is dagc's plain reference — unfused
and eager, what bench/calibration measured (`dagc.plan.engines`) — which no one serves and `dagc launch` starts none
of; a fleet that swept it ranked "2 x h100-sxm on pytorch" among the clusters to rent (until 2026-12-03).

Input: a `Fleet`. Output: E104 at each `pytorch` value of its `engine` sweep.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Severity
from .fleet_ir import Fleet

__all__ = ["reference_engines"]

REFERENCE = "pytorch"


def reference_engines(fleet: Fleet) -> list[Diagnostic]:
    """E104 at each value of the fleet's `engine` list that names the plain reference (`REFERENCE`, with a release or
    without), whose hint leaves it out and gives its figures' command."""
    out = []
    for sweep in fleet.sweeps:
        if sweep.field != "engine":
            continue
        others = [v for v in sweep.values if v.partition("@")[0] != REFERENCE]
        for value, span in zip(sweep.values, sweep.spans, strict=True):
            if value.partition("@")[0] != REFERENCE:
                continue
            keep = f"`engine = [{', '.join(others)}]`" if others else "an engine one serves with, `engine = [vllm]`"
            said = (f"`{value}` is dagc's plain reference (unfused, eager), which no one serves and `dagc launch` "
                    "starts none of: a fleet compares the clusters one rents and serves on")
            out.append(Diagnostic("E104", Severity.ERROR, said, span,
                                  f"list {keep}; `dagc check PLAN --set cluster.engine={REFERENCE}` gives the "
                                  "reference's figures"))
    return out
