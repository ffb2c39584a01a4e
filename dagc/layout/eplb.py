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
- **hierarchical** when the EP group spans nodes that divide the model's expert groups (group-limited
  routing: DeepSeek-V3's 8 groups of 32): the groups are first packed into the nodes by the same greedy
  rule, then each node replicates its experts into its share of the redundant slots and packs them
  onto its own ranks — so that a token's experts stay inside fewer nodes. Otherwise (one group, as most
  models) the **global** policy replicates and packs over every rank of the group.

`tests/test_eplb.py` reproduces the published example of DeepSeek's README exactly.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..plan.workload import ExpertLoad

if TYPE_CHECKING:
    import numpy as np

    from ..jsontypes import JSON

__all__ = ["ExpertSplit", "Placement", "balance_figures", "busiest_factor", "contiguous_factor", "ep_nodes",
           "hierarchical", "measured_factor", "pack", "place", "replicas", "replicate"]


@dataclass(frozen=True, slots=True)
class ExpertSplit:
    """How a model's routed experts are split over an EP group: the experts, the group's `ep` ranks, the
    `redundant` extra slots, the `nodes` the group spans, whether EPLB places them (`eplb`; else contiguously)
    and the model's expert `groups`."""

    experts: int
    ep: int
    redundant: int = 0
    nodes: int = 1
    eplb: bool = False
    groups: int = 1


@dataclass(frozen=True)
class Placement:
    """Per rank, its slots: (expert, tokens that replica takes)."""

    ranks: tuple[tuple[tuple[int, float], ...], ...]

    @property
    def loads(self) -> tuple[float, ...]:
        """Tokens per rank."""
        return tuple(sum(t for _, t in slots) for slots in self.ranks)


def replicas(loads: Sequence[float], slots: int) -> list[int]:
    """The expert each of `slots` ≥ experts slots holds (DeepSeek's `replicate_experts`, its phy2log): every
    expert once in order, then each further slot the expert with the most tokens per replica so far (the
    first on a tie). That greedy rule is D'Hondt's apportionment: the extra slots are the largest quotients
    load/j (j ≥ 1) in descending order, the first expert on a tie, so they are read off a sort of the few
    quotients above a threshold every greedy pick reaches (`_quotients`) — 65,536 slots in milliseconds.

    Example:
        >>> replicas([6, 3, 2, 1], 6)          # 6 → 3 a replica, then 3 vs 3: the first
        [0, 1, 2, 3, 0, 0]
        >>> replicas([0, 0], 4), replicas([1, 0], 4)
        ([0, 1, 0, 0], [0, 1, 0, 0])
    """
    import numpy as np

    extra = slots - len(loads)
    out = list(range(len(loads)))
    if extra <= 0:
        return out
    x = np.asarray(loads, dtype=np.float64)
    total = float(x.sum())
    if not (np.isfinite(total) and total > 0 and (x >= 0).all()):
        return out + _greedy(loads, extra)
    q, e = _quotients(x, total / (extra + len(loads)))
    order = np.lexsort((e, -q))[:extra]        # most tokens per replica first, then the first expert
    picks: list[int] = e[order].tolist()
    return out + picks


def _quotients(x: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Each expert's quotients load/j for j = 1 … ⌊load / floor⌋ + 2, and their experts: at `floor` =
    total / (slots) at least `slots - experts` of them are ≥ floor, so every quotient left out (< floor)
    ranks below all the greedy picks (the + 2 covers rounding)."""
    import numpy as np

    counts = np.floor(x / floor).astype(np.int64) + 2
    e = np.repeat(np.arange(len(x)), counts)
    j = np.arange(len(e)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    return x[e] / j, e


def _greedy(loads: Sequence[float], extra: int) -> list[int]:
    """`extra` slots one greedy step each (the rule of `replicas`, for loads its sort does not cover:
    none positive, or some negative or not finite)."""
    count = [1] * len(loads)
    out: list[int] = []
    heap = [(-float(x), e) for e, x in enumerate(loads)]     # most tokens per replica first, then the first expert
    heapq.heapify(heap)
    for _ in range(extra):
        _, best = heapq.heappop(heap)
        count[best] += 1
        out.append(best)
        heapq.heappush(heap, (-(loads[best] / count[best]), best))
    return out


def replicate(loads: Sequence[float], slots: int) -> list[int]:
    """Replicas of each expert under `replicas`.

    Example:
        >>> replicate([6, 3, 2, 1], 6)
        [3, 1, 1, 1]
    """
    count = [0] * len(loads)
    for e in replicas(loads, slots):
        count[e] += 1
    return count


def pack(items: Sequence[tuple[int, float]], packs: int) -> list[list[tuple[int, float]]]:
    """`items` (id, load) into `packs` packs of equal count (DeepSeek's `balanced_packing`): heaviest first
    (by position on a tie), each to the least loaded pack with room (the first on a tie); one item a pack
    keeps them in order."""
    per = len(items) // packs
    if per == 1:
        return [[item] for item in items]
    out: list[list[tuple[int, float]]] = [[] for _ in range(packs)]
    room = [(0.0, p) for p in range(packs)]        # the least loaded pack with room, then the first
    for item in sorted(items, key=lambda x: -x[1]):             # sorted is stable: by position on a tie
        load, k = heapq.heappop(room)
        out[k].append(item)
        if len(out[k]) < per:
            heapq.heappush(room, (load + item[1], k))
    return out


def hierarchical(experts: int, ep: int, redundant: int, nodes: int, groups: int) -> bool:
    """Whether EPLB places hierarchically: the EP group spans several nodes and they divide the model's
    expert groups (as DeepSeek's `rebalance_experts` chooses; else the global policy), its ranks and
    its slots."""
    return (nodes > 1 and groups % nodes == 0 and experts % groups == 0 and ep % nodes == 0
            and (experts + redundant) % nodes == 0)


def place(loads: Sequence[float], ep: int, redundant: int = 0, nodes: int = 1, groups: int = 1) -> Placement:
    """The EPLB placement of one layer's experts on `ep` ranks with `redundant` extra slots (module
    docstring): hierarchical over `nodes` nodes when `hierarchical` says so — the model's `groups`
    expert groups (contiguous experts) packed into the nodes, then each node's experts replicated into
    its share of the slots and packed onto its ranks — else global over every rank.

    Example:
        >>> place([6, 3, 2, 1], ep=3, redundant=2).loads     # expert 0 in three replicas of 2
        (4.0, 4.0, 4.0)
    """
    experts = len(loads)
    if (experts + redundant) % ep:
        raise ValueError(f"{experts} experts and {redundant} redundant slots do not split over {ep} ranks")
    if not hierarchical(experts, ep, redundant, nodes, groups):
        nodes, groups = 1, 1
    size = experts // groups
    grouped = [(g, float(sum(loads[g * size:(g + 1) * size]))) for g in range(groups)]
    ranks: list[tuple[tuple[int, float], ...]] = []
    for node in pack(grouped, nodes):
        members = [g * size + j for g, _ in node for j in range(size)]
        held = replicas([loads[e] for e in members], (experts + redundant) // nodes)
        count = [0] * len(members)
        for i in held:
            count[i] += 1
        slots = [(members[i], loads[members[i]] / count[i]) for i in held]
        ranks += [tuple(r) for r in pack(slots, ep // nodes)]
    return Placement(tuple(ranks))


def busiest_factor(loads: Sequence[float], ep: int, redundant: int = 0, nodes: int = 1, groups: int = 1) -> float:
    """The busiest rank's tokens over the mean rank's under the EPLB placement (`place`): the
    `routing_imbalance` of this layer's measured routing (1 when no token is routed).

    Example:
        >>> busiest_factor([6, 3, 2, 1], ep=2), busiest_factor([6, 3, 2, 1], ep=2, redundant=2)
        (1.1666666666666667, 1.0)
    """
    shares = _shares(loads)
    if shares is None:
        return 1.0
    return max(place(shares, ep, redundant, nodes, groups).loads) / (sum(shares) / ep)


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
    shares, per = _shares(loads), len(loads) // ep
    if shares is None:
        return 1.0
    return max(sum(shares[r * per:(r + 1) * per]) for r in range(ep)) / (sum(shares) / ep)


def _shares(loads: Sequence[float]) -> tuple[float, ...] | None:
    """Each load over the largest (None when no token is routed): a factor of loads is one of their shares,
    and a mean of subnormal loads (5e-324 over 8 ranks) would be 0.

    Example:
        >>> _shares([5e-324, 0.0]), _shares([0, 0])
        ((1.0, 0.0), None)
    """
    top = max(loads, default=0.0)
    if not top > 0:
        return None
    return tuple(x / top for x in loads)


@functools.lru_cache(maxsize=1024)
def measured_factor(load: ExpertLoad, ep: int, redundant: int, nodes: int, eplb: bool = True,
                    groups: int = 1) -> float:
    """The busiest EP rank's factor of measured loads, averaged over their MoE layers (each layer's
    busiest rank sets that layer's pace, and a pass runs the layers in turn): with `eplb`, of EPLB's
    placement over `redundant` extra slots (`busiest_factor`: hierarchical over the `nodes` the group
    spans when they divide the model's expert `groups`); else of the contiguous placement.

    Example:
        >>> load = ExpertLoad(file="l.json", layers=((6, 3, 2, 1), (3, 3, 3, 3)), digest="d")
        >>> measured_factor(load, 2, 0, 1, eplb=False), measured_factor(load, 2, 0, 1), measured_factor(load, 2, 2, 1)
        (1.25, 1.0833333333333335, 1.0)
    """
    if eplb:      # a layer's placement once per distinct layer: dumps often repeat one
        placed = {layer: busiest_factor(layer, ep, redundant, nodes, groups) for layer in set(load.layers)}
        factors = [placed[layer] for layer in load.layers]
    else:
        factors = [contiguous_factor(layer, ep) for layer in load.layers]
    return sum(factors) / len(factors) if factors else 1.0


def balance_figures(load: ExpertLoad | None, split: ExpertSplit) -> dict[str, JSON] | None:
    """report.json's `eplb` (docs/outputs.md), None when there are neither measured loads nor EPLB: the
    measured loads' busiest EP rank over the mean as placed (by EPLB with the strategy's redundant slots,
    or contiguously), its worst layer, and the contiguous placement's (None when the experts alone do not
    split over ep), with the slots per GPU.

    Example:
        >>> load = ExpertLoad(file="l.json", layers=((6, 3, 2, 1), (3, 3, 3, 3)), digest="d")
        >>> f = balance_figures(load, ExpertSplit(4, 2, redundant=2, nodes=1, eplb=True))
        >>> f["busiest_factor"], f["busiest_factor_contiguous"], f["slots_per_gpu"]
        (1.0, 1.25, 3)
    """
    experts, ep, redundant, nodes, eplb, groups = (split.experts, split.ep, split.redundant, split.nodes,
                                                   split.eplb, split.groups)
    if load is None and not eplb:
        return None
    legal = ep >= 1 and (experts + redundant) % ep == 0
    out: dict[str, JSON] = {"file": load.file if load else None, "layers": len(load.layers) if load else None,
                 "experts": experts, "ep": ep, "eplb": eplb, "redundant": redundant,
                 "slots_per_gpu": (experts + redundant) // ep if legal else None, "ep_nodes": nodes,
                 "hierarchical": eplb and hierarchical(experts, ep, redundant, nodes, groups),
                 "busiest_factor": None, "worst_layer_factor": None, "busiest_factor_contiguous": None}
    if load is None or not legal:
        return out
    if eplb:      # once per distinct layer, as measured_factor
        placed = {layer: busiest_factor(layer, ep, redundant, nodes, groups) for layer in set(load.layers)}
        per_layer = [placed[layer] for layer in load.layers]
    else:
        per_layer = [contiguous_factor(layer, ep) for layer in load.layers]
    out.update(busiest_factor=sum(per_layer) / len(per_layer), worst_layer_factor=max(per_layer),
               busiest_factor_contiguous=measured_factor(load, ep, 0, 1, False) if experts % ep == 0 else None)
    return out
