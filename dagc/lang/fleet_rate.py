"""The arrival rate a plan's `fleet` statement writes, read on its own (docs/fleet.md).

Input: a plan's syntax tree and its source. Output: the fleet's `rate` in requests per second, or None. A
workload that names its traffic without a rate (`requests = 1000` alone) is read at the fleet's rate — by
`dagc fleet`, and by every command that reads the plan without its fleet (`dagc check`, `search`, `compile`,
`launch`: `dagc.lang.overrides.load_plan_with`), so that a plan `dagc fleet` accepts is one they accept.
"""

from __future__ import annotations

from lark import Token, Tree

from ..source import SourceFile
from .blocks import Collector, Value, child_tree, read_value, subtrees
from .fields import WORKLOAD_FIELDS
from .lower import Lowering
from .model import ImportRoots

__all__ = ["written_fleet_rate"]


def written_fleet_rate(tree: Tree[Token], src: SourceFile) -> float | None:
    """The `rate` of the plan's (first) `fleet` statement, in requests per second: None when the plan has no
    fleet, its fleet no rate, or a rate that does not read (the fleet's own error, which `dagc fleet` says).

    Example:
        >>> from dagc.lang.parse import parse
        >>> src = SourceFile("p.moe", 'fleet { gpu preset "h200"  rate = 10 requests/s }')
        >>> written_fleet_rate(parse(src), src)
        10.0
    """
    fleet = next((st for st in subtrees(tree.children) if st.data == "fleet"), None)
    if fleet is None:
        return None
    for item in subtrees(fleet.children):
        if item.data == "fleet_value" and str(item.children[0]) == "rate":
            value = Lowering(src, ImportRoots.of(None, ())).transform(child_tree(item, 1))
            got = read_value(Collector(), value, WORKLOAD_FIELDS["rate"], "fleet.rate") \
                if isinstance(value, Value) else None
            return got if isinstance(got, float) else None
    return None
