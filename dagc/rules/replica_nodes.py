"""Replicas that sit on nodes otherwise than the one dagc prices: W544.

dagc builds and prices one replica's DAG (`dp` replicas run alike), placed from rank 0. A replica of `pp × G` GPUs
that neither divides a node nor takes whole nodes starts at another place in a node in each replica: a group (TP,
EP, the stage's) that sits inside a node in replica 0 may cross a node boundary in another, where its exchange runs
over the network — slower than the figures say (Kimi-K2 on GB200 racks of 72, `dp 18 < tp 1 ; ep 64 >`: replicas 1–7
straddle two racks; it ranked above the rack-aligned `dp 16 < tp 1 ; ep 72 >` on replica 0's figures, until
2026-12-03 silently).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from ..layout.layout import Layout
from .base import RuleContext, diag, make_rule

__all__ = ["RULES"]

_MOST_REPLICAS = 4096          # replicas compared with the first (a cluster's replicas repeat with the node's period)


def _crossings(lay: Layout, replica: int) -> tuple[bool, ...]:
    """Whether each stage's groups (attention TP, expert, the whole stage) cross a node boundary in `replica`."""
    g, base = lay.group_size, replica * lay.pp * lay.group_size
    spans = (lay.tp * lay.cp, lay.ep * lay.etp, g)
    return tuple(lay.blocks_cross_nodes(base + stage * g, g, span) for stage in range(lay.pp) for span in spans)


def check_replicas_on_nodes(ctx: RuleContext) -> Iterator[Diagnostic]:
    """Replicas whose groups cross node boundaries where the priced one's do not (or the other way).

    dagc prices one replica (`dp` replicas run alike), placed from the cluster's first GPU. When a replica's GPUs
    (pp × stage group) neither divide a node's nor take whole nodes, each replica starts at another place in its
    node: a TP or EP group inside one node in the first replica may span two in another, its all-reduce or
    all-to-all over the network (`inter_node`) — those replicas run slower than dagc's figures, which are the first
    replica's. Choose a replica that divides the node's GPUs or takes whole nodes (fewer or more GPUs to an expert
    group, more or fewer replicas), or leave the GPUs that break the alignment unused.

    Bad:
        cluster { gpus = 1152  gpus_per_node = 72  gpu preset "gb200" }
        strategy dp 18 < tp 1 ; ep 64 >          # replicas of 64 on racks of 72: replica 1 spans ranks 64–127
    Fixed:
        strategy dp 16 < tp 1 ; ep 72 >          # a rack a replica
    """
    lay = ctx.layout
    replica, node = lay.pp * lay.group_size, lay.gpus_per_node
    if lay.dp <= 1 or replica % node == 0 or node % replica == 0:
        return
    first = _crossings(lay, 0)
    other = next((d for d in range(1, min(lay.dp, _MOST_REPLICAS)) if _crossings(lay, d) != first), None)
    if other is None:
        return
    below = max(k for k in range(1, node + 1) if node % k == 0 and k <= replica)
    sizes = sorted({below, -(-replica // node) * node})
    yield diag("W544", Severity.WARNING,
               f"replica {other} of the {lay.dp:,} replicas of {replica:,} GPUs sits on nodes of {node:,} otherwise "
               "than the first: a group that stays inside a node in one crosses a node boundary in the other, and "
               "dagc prices the first replica's placement alone",
               ctx.strategy.span_of("dp"),
               f"a replica of {' or '.join(f'{s:,}' for s in sizes)} GPUs (a divisor of the node's {node:,}, or whole "
               "nodes) is placed alike in every replica; else expect the replicas whose groups cross a node to run "
               "slower than these figures")


RULES = (
    make_rule("W544", Severity.WARNING, "replicas placed on nodes otherwise than the one priced",
              check_replicas_on_nodes),
)
