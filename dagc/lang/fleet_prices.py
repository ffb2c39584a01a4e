"""The prices a `fleet` statement's GPU types need (docs/fleet.md): E103 at a GPU type without one where it is needed.

Input: the fleet's GPU types and the plan. Output: diagnostics added to the fleet's `Collector`
(`dagc.lang.fleet` reads the fleet and calls it).
"""

from __future__ import annotations

from ..diagnostics import code
from ..plan.objective import OBJECTIVES
from ..plan.plan import Plan
from .blocks import Collector
from .fleet_ir import FleetGpu

__all__ = ["unpriced"]


def unpriced(out: Collector, gpus: list[FleetGpu], plan: Plan) -> None:
    """A GPU type without a price, where one is needed: under the `cost` objective, when the cluster has a price
    (which is its own GPU's: a fleet does not carry it to another), or when another GPU type of the fleet has one
    (without this one's, every cluster would be ranked in GPU-hours and the prices given go unused — until
    2026-11-28 silently). The hint offers the cluster's own price for the cluster's own GPU."""
    priced = [g.name for g in gpus if g.price_per_gpu_hour is not None]
    own = plan.cluster.price_per_gpu_hour
    for g in gpus:
        if g.price_per_gpu_hour is not None or g.own:      # the cluster's own: the plan's price, or none
            continue
        why = (f"the plan's objective is `{plan.objective}`" if OBJECTIVES[plan.objective].priced else
               "the cluster's `price` is its own GPU's" if own is not None else
               f"{', '.join(code(n) for n in priced)} {'has' if len(priced) == 1 else 'have'} one: without this "
               "one's, every cluster is ranked in GPU-hours and those prices go unused" if priced else None)
        if why is not None:
            rent = f"{own:g}" if own is not None and g.name == plan.cluster.gpu.name else "2.5"
            out.error("E103", f"the fleet's GPU type {code(g.name)} has no price ({why})", g.span,
                      f'write it: `gpu preset "{g.name}" {{ price = {rent} $/h }}` (one GPU\'s rent per hour)')
