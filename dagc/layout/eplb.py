"""Expert-parallel load balancing (EPLB) with redundant experts, as DeepSeek publishes it (SPEC 12).

Input: the tokens routed to each expert of one MoE layer (measured: `routing from "expert_load.json"`),
the EP degree, the redundant expert slots and the nodes the EP group spans. Output: `Placement` —
which expert each slot of each rank holds and the share of that expert's tokens it takes — and the
busiest rank's load, against the mean (`busiest_factor`): what the cost model's `routing_imbalance`
states.

The algorithm is DeepSeek's open-sourced `eplb.py` (github.com/deepseek-ai/EPLB):
- **replicate**: each redundant slot goes to the expert with the most tokens per replica so far (the
  first such expert on a tie); an expert's tokens split evenly over its replicas;
- **pack**: the replicas, heaviest first (by index on a tie), each to the least loaded rank that
  still has a free slot (the first such rank on a tie), every rank taking (experts + redundant) / ep;
- **hierarchical** when the EP group spans nodes: the experts are first packed into the nodes (each
  node E / nodes of them, by the same greedy rule), then each node replicates into its share of the
  redundant slots and packs onto its own ranks — so that a token's experts stay inside fewer nodes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..plan.workload import ExpertLoad

__all__ = ["Placement", "balance_figures", "busiest_factor", "contiguous_factor", "ep_nodes", "measured_factor",
           "pack", "place", "replicate"]


@dataclass(frozen=True)
class Placement:
    """Per rank, its slots: (expert, tokens that replica takes)."""

    ranks: tuple[tuple[tuple[int, float], ...], ...]

    @property
    def loads(self) -> tuple[float, ...]:
        """Tokens per rank."""
        return tuple(sum(t for _, t in slots) for slots in self.ranks)


def replicate(loads: Sequence[float], slots: int) -> list[int]:
    """Replicas of each expert when `slots` ≥ experts slots hold them: every expert once, each further
    slot to the expert with the most tokens per replica (the first on a tie).

    Example:
        >>> replicate([6, 3, 2, 1], 6)          # 6 → 3 a replica, then 3 vs 3: the first
        [3, 1, 1, 1]
    """
    count = [1] * len(loads)
    for _ in range(slots - len(loads)):
        best = max(range(len(loads)), key=lambda e: (loads[e] / count[e], -e))
        count[best] += 1
    return count


def pack(items: Sequence[tuple[int, float]], packs: int) -> list[list[tuple[int, float]]]:
    """`items` (id, load) into `packs` packs of equal count: heaviest first (by position on a tie), each
    to the least loaded pack with room (the first on a tie)."""
    per = len(items) // packs
    out: list[list[tuple[int, float]]] = [[] for _ in range(packs)]
    load = [0.0] * packs
    for item in sorted(items, key=lambda x: -x[1]):             # sorted is stable: by position on a tie
        k = min((p for p in range(packs) if len(out[p]) < per), key=lambda p: (load[p], p))
        out[k].append(item)
        load[k] += item[1]
    return out


def place(loads: Sequence[float], ep: int, redundant: int = 0, nodes: int = 1) -> Placement:
    """The EPLB placement of one layer's experts on `ep` ranks with `redundant` extra slots, hierarchical
    over `nodes` nodes when the group spans several (module docstring).

    Example:
        >>> place([6, 3, 2, 1], ep=3, redundant=2).loads     # expert 0 in three replicas of 2
        (4.0, 4.0, 4.0)
    """
    experts = len(loads)
    if (experts + redundant) % ep or (nodes > 1 and (ep % nodes or experts % nodes or redundant % nodes)):
        raise ValueError(f"{experts} experts and {redundant} redundant slots do not split over {ep} ranks in "
                         f"{nodes} nodes")
    groups = [list(range(experts))] if nodes <= 1 else \
        [[e for e, _ in node] for node in pack([(e, float(loads[e])) for e in range(experts)], nodes)]
    ranks: list[tuple[tuple[int, float], ...]] = []
    for members in groups:
        count = replicate([loads[e] for e in members], len(members) + redundant // len(groups))
        replicas = [(e, loads[e] / c) for e, c in zip(members, count, strict=True) for _ in range(c)]
        ranks += [tuple(r) for r in pack(replicas, ep // len(groups))]
    return Placement(tuple(ranks))


def busiest_factor(loads: Sequence[float], ep: int, redundant: int = 0, nodes: int = 1) -> float:
    """The busiest rank's tokens over the mean rank's under the EPLB placement: the `routing_imbalance`
    of this layer's measured routing (1 when no token is routed).

    Example:
        >>> busiest_factor([6, 3, 2, 1], ep=2), busiest_factor([6, 3, 2, 1], ep=2, redundant=2)
        (1.1666666666666667, 1.0)
    """
    total = float(sum(loads))
    if total <= 0:
        return 1.0
    return max(place(loads, ep, redundant, nodes).loads) / (total / ep)


def ep_nodes(ep: int, etp: int, gpus_per_node: int) -> int:
    """Nodes one EP group spans (its ep·etp ranks are consecutive ranks of a stage).

    Example:
        >>> ep_nodes(32, 1, 8), ep_nodes(8, 1, 8), ep_nodes(72, 1, 72)
        (4, 1, 1)
    """
    return max(1, math.ceil(ep * etp / max(1, gpus_per_node)))


def contiguous_factor(loads: Sequence[float], ep: int) -> float:
    """The busiest rank's tokens over the mean rank's when rank r holds experts [r·E/ep, (r+1)·E/ep), as
    engines place them without EPLB (1 when no token is routed).

    Example:
        >>> contiguous_factor([6, 3, 2, 1], ep=2)
        1.5
    """
    total, per = float(sum(loads)), len(loads) // ep
    if total <= 0:
        return 1.0
    return max(sum(loads[r * per:(r + 1) * per]) for r in range(ep)) / (total / ep)


@functools.lru_cache(maxsize=1024)
def measured_factor(load: ExpertLoad, ep: int, redundant: int, nodes: int, eplb: bool = True) -> float:
    """The busiest EP rank's factor of measured loads, averaged over their MoE layers (each layer's
    busiest rank sets that layer's pace, and a pass runs the layers in turn): with `eplb`, of EPLB's
    placement over `redundant` extra slots (`busiest_factor`), hierarchical over `nodes` when they divide
    the ranks, experts and redundant slots (as DeepSeek's `rebalance_experts` falls back to the global
    policy otherwise); else of the contiguous placement (`contiguous_factor`).

    Example:
        >>> load = ExpertLoad(file="l.json", layers=((6, 3, 2, 1), (3, 3, 3, 3)), digest="d")
        >>> measured_factor(load, 2, 0, 1, eplb=False), measured_factor(load, 2, 0, 1), measured_factor(load, 2, 2, 1)
        (1.25, 1.0833333333333335, 1.0)
    """
    if eplb:
        factors = [busiest_factor(layer, ep, redundant, _hierarchy(len(layer), ep, redundant, nodes))
                   for layer in load.layers]
    else:
        factors = [contiguous_factor(layer, ep) for layer in load.layers]
    return sum(factors) / len(factors) if factors else 1.0


def _hierarchy(experts: int, ep: int, redundant: int, nodes: int) -> int:
    """The nodes EPLB places over: the EP group's, when they divide its ranks, experts and slots; else 1."""
    return nodes if nodes > 1 and not (ep % nodes or experts % nodes or redundant % nodes) else 1


def balance_figures(load: ExpertLoad | None, experts: int, ep: int, etp: int, redundant: int, eplb: bool,
                    gpus_per_node: int) -> dict | None:
    """report.json's `eplb` (docs/outputs.md), None when there are neither measured loads nor EPLB: the
    measured loads' busiest EP rank over the mean as placed (by EPLB with the strategy's redundant slots,
    or contiguously), its worst layer, and the contiguous placement's (None when the experts alone do not
    split over ep), with the slots per GPU.

    Example:
        >>> load = ExpertLoad(file="l.json", layers=((6, 3, 2, 1), (3, 3, 3, 3)), digest="d")
        >>> f = balance_figures(load, 4, 2, 1, 2, True, 8)
        >>> f["busiest_factor"], f["busiest_factor_contiguous"], f["slots_per_gpu"]
        (1.0, 1.25, 3)
    """
    if load is None and not eplb:
        return None
    nodes = ep_nodes(ep, etp, gpus_per_node)
    legal = ep >= 1 and (experts + redundant) % ep == 0
    hierarchical = eplb and _hierarchy(experts, ep, redundant, nodes) > 1
    out: dict = {"file": load.file if load else None, "layers": len(load.layers) if load else None,
                 "experts": experts, "ep": ep, "eplb": eplb, "redundant": redundant,
                 "slots_per_gpu": (experts + redundant) // ep if legal else None, "ep_nodes": nodes,
                 "hierarchical": hierarchical, "busiest_factor": None, "worst_layer_factor": None,
                 "busiest_factor_contiguous": None}
    if load is None or not legal:
        return out
    if eplb:
        per_layer = [busiest_factor(layer, ep, redundant, nodes if hierarchical else 1) for layer in load.layers]
    else:
        per_layer = [contiguous_factor(layer, ep) for layer in load.layers]
    out.update(busiest_factor=measured_factor(load, ep, redundant, nodes, eplb), worst_layer_factor=max(per_layer),
               busiest_factor_contiguous=measured_factor(load, ep, 0, 1, False) if experts % ep == 0 else None)
    return out
