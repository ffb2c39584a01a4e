"""A node larger than its GPU's NVLink domain: W535.

`gpus_per_node` is one NVLink domain: every GPU of a node talks to the others at `intra_node` bandwidth. A GPU
preset's domain is what its systems hold — 8 GPUs on an HGX or MI300X board, 72 in a GB200 or GB300 NVL72 rack
(`dagc presets`, "per node") —, and a node written larger prices the collectives between boards or racks at NVLink
bandwidth: a fleet sweeping `gpus_per_node = [72, 144]` over GB200s ranked 144 GPUs as one rack.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity, code
from ..lang.fleet_ir import Fleet, FleetPoint
from ..plan.cluster import DEFAULT_GPUS_PER_NODE, Vendor
from ..plan.plan import Plan
from ..source import Span
from .base import RuleContext, diag, make_rule

__all__ = ["RULES", "fleet_nodes_beyond_domain", "node_beyond_domain"]


def check_node_beyond_domain(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A node of more GPUs than the GPU preset's NVLink domain holds.

    A node is one NVLink domain: its GPUs exchange at `intra_node` bandwidth (900 GB/s a GB200), GPUs of two nodes
    over the network (`inter_node`, 50 GB/s unless set). A GB200 or GB300 NVL72 rack holds 72 GPUs in one domain;
    an HGX board of H100s, H200s or B200s, or an MI300X platform, 8. A node written larger than its preset's domain
    prices the traffic between racks or boards as if it ran over NVLink, and every figure that rests on it —
    EP all-to-alls, TP all-reduces, KV transfers between pools — is faster than those GPUs run. A custom GPU
    (`gpu "name" { … }`) states its own node and is not judged.

    Bad:
        cluster { gpus = 144  gpus_per_node = 144  gpu preset "gb200" }
    Fixed:
        cluster { gpus = 144  gpus_per_node = 72  gpu preset "gb200" }     # two NVL72 racks
    """
    return node_beyond_domain(ctx.plan)


def node_beyond_domain(plan: Plan, at: Span | None = None) -> Iterator[Diagnostic]:
    """W535 of `plan` on its own cluster (`check_node_beyond_domain`), at `at` when given (else the plan's
    `gpus_per_node`)."""
    c = plan.cluster
    if c.gpu.vendor is None:
        return
    domain = c.gpu.nvlink_domain or DEFAULT_GPUS_PER_NODE
    if c.gpus_per_node <= domain or min(c.gpus, c.gpus_per_node) <= domain:
        return
    what = f"an NVL{domain} rack" if c.gpu.nvlink_domain else f"a board of {domain}"
    link = "Infinity Fabric" if c.gpu.vendor is Vendor.AMD else "NVLink"      # an MI300X's (until 2026-12-03 NVLink)
    yield diag("W535", Severity.WARNING,
               f"a node of {c.gpus_per_node:,} GPUs: one {code(c.gpu.name)}'s {link} domain holds {domain} ({what}), "
               f"and dagc prices every GPU of a node at {link} bandwidth, so collectives between {domain}-GPU domains "
               "are priced as if inside one",
               at or plan.span_of("cluster.gpus_per_node") or plan.span_of("cluster"),
               f"write `gpus_per_node = {domain}` (the {code(c.gpu.name)}'s own, its default): GPUs of two nodes "
               f"talk at `inter_node`; keep a larger node only for a larger {link} domain than the preset's")


def fleet_nodes_beyond_domain(fleet: Fleet, items: list[tuple[FleetPoint, Plan]]) -> Iterator[Diagnostic]:
    """W535 of each cluster `dagc fleet` sweeps (`items`: its points and their plans), at the value of the fleet's
    `gpus_per_node = [...]` that makes it when the fleet sweeps it."""
    swept = {f"cluster.gpus_per_node={v}": at for s in fleet.sweeps if s.field == "gpus_per_node"
             for v, at in zip(s.values, s.spans, strict=True)}
    for point, plan in items:
        yield from node_beyond_domain(plan, next((swept[o] for o in point.options if o in swept), None))


RULES = (
    make_rule("W535", Severity.WARNING, "a node larger than its GPU's NVLink domain", check_node_beyond_domain,
              plan_level=True),
)
