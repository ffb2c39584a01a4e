"""DeepSeek's EPLB placement (`dagc.layout.eplb`), worked by hand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from test_adversarial_52_outputs import _replicas_by_scan

from dagc.layout import eplb
from dagc.layout.eplb import ExpertSplit, balance_figures, busiest_factor, place, replicas, replicate
from dagc.plan.workload import ExpertLoad


def test_three_ranks_worked_by_hand():
    """Four experts with 6, 3, 2 and 1 tokens on three ranks with two redundant slots (two slots a rank).

    Replicate: expert 0 has the most per replica (6), gets a second (3 each); then expert 0 (3) ties
    expert 1 (3): the first, expert 0, gets a third (2 each). The slots, as DeepSeek's phy2log orders
    them: experts 0, 1, 2, 3, then the copies 0, 0, carrying 2, 3, 2, 1, 2, 2. Pack, heaviest first (by
    slot on a tie), each to the least loaded rank with room: expert 1's 3 → rank 0; expert 0's 2 → rank
    1; expert 2's 2 → rank 2; a copy of 0 → rank 1 (2 = 2 < 3: the first); the other → rank 2; expert
    3's 1 → rank 0, the only one with room. Every rank carries 4 tokens: the mean, where without
    redundancy 12 tokens on three ranks cannot even be placed (4 experts do not split over 3)."""
    assert replicas([6, 3, 2, 1], 6) == [0, 1, 2, 3, 0, 0] and replicate([6, 3, 2, 1], 6) == [3, 1, 1, 1]
    p = place([6, 3, 2, 1], ep=3, redundant=2)
    assert p.ranks == (((1, 3.0), (3, 1.0)), ((0, 2.0), (0, 2.0)), ((2, 2.0), (0, 2.0)))
    assert p.loads == (4.0, 4.0, 4.0) and busiest_factor([6, 3, 2, 1], ep=3, redundant=2) == 1.0
    with pytest.raises(ValueError):
        place([6, 3, 2, 1], ep=3)


def test_without_redundancy_the_hot_expert_sets_the_pace():
    """Two ranks, no redundant slot: 6 → rank 0, 3 → rank 1, 2 → rank 1 (3 < 6), 1 → rank 0 (full rank 1):
    7 and 5 tokens, the busiest 7/6 of the mean; two redundant slots bring both to 6."""
    assert place([6, 3, 2, 1], ep=2).loads == (7.0, 5.0)
    assert busiest_factor([6, 3, 2, 1], ep=2) == pytest.approx(7 / 6)
    assert busiest_factor([6, 3, 2, 1], ep=2, redundant=2) == 1.0


def test_deepseeks_published_example_exactly():
    """DeepSeek's EPLB README: two layers of 12 experts in 4 groups, 16 slots on 8 GPUs in 2 nodes; its
    printed phy2log, the expert of each slot, GPU by GPU (hierarchical: the groups packed into the nodes
    first). github.com/deepseek-ai/EPLB, README.md at d52c72d."""
    weight = [[90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86],
              [20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27]]
    published = [[5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1],
                 [7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1]]
    for loads, phy2log in zip(weight, published, strict=True):
        p = place(loads, ep=8, redundant=4, nodes=2, groups=4)
        assert [e for slots in p.ranks for e, _ in slots] == phy2log
        assert sum(p.loads) == pytest.approx(sum(loads))
    # one group (most models), or nodes that do not divide the groups: the global policy
    assert place(weight[0], ep=8, redundant=4, nodes=2, groups=1) == place(weight[0], ep=8, redundant=4)
    assert place(weight[0], ep=8, redundant=4, nodes=2, groups=3) == place(weight[0], ep=8, redundant=4)


def test_hierarchical_packs_groups_into_nodes_first():
    """Eight experts in 4 groups of 2 on 4 ranks in 2 nodes, 4 redundant slots. Groups (0, 1), (2, 3),
    (4, 5), (6, 7) carry 9, 2, 8 and 5 tokens; packed heaviest first to the lighter node with room: 9 →
    node 0, 8 → node 1, 5 → node 1 (8 < 9), 2 → node 0: nodes of experts {0, 1, 2, 3} (11 tokens) and
    {4, 5, 6, 7} (13). Each node then replicates into its 2 slots and packs its 2 ranks."""
    loads = [8, 1, 1, 1, 4, 4, 2, 3]
    p = place(loads, ep=4, redundant=4, nodes=2, groups=4)
    assert {e for slots in p.ranks[:2] for e, _ in slots} == {0, 1, 2, 3}              # node 0's ranks
    assert sum(p.loads[:2]) == pytest.approx(11) and sum(p.loads[2:]) == pytest.approx(13)
    assert all(len(slots) == 3 for slots in p.ranks)                                   # (8 + 4) / 4 slots
    assert busiest_factor(loads, ep=4, redundant=4, nodes=2, groups=4) < busiest_factor(loads, ep=4)


def test_no_tokens_no_imbalance():
    assert busiest_factor([0, 0, 0, 0], ep=2) == 1.0


def _greedy_replicas(loads, slots):
    """The reference: DeepSeek's replicate_experts one slot at a time — each extra slot to the expert with the
    most tokens per replica so far, the first on a tie (a linear scan, no heap, no sort;
    tests/test_adversarial_52_outputs.py's, which the heaps were checked against first)."""
    return _replicas_by_scan(loads, slots)


_LOADS = st.lists(st.one_of(st.integers(0, 40).map(float), st.floats(0, 1e6, allow_subnormal=False)),
                  min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(loads=_LOADS, extra=st.integers(0, 300))
def test_replicas_are_the_greedy_picks_slot_for_slot(loads, extra):
    # integers make ties (3/2 = 6/4 = 1.5), floats arbitrary quotients: the sort must pick as the greedy does
    assert replicas(loads, len(loads) + extra) == _greedy_replicas(loads, len(loads) + extra)


@settings(max_examples=150, deadline=None)
@given(loads=_LOADS, ep=st.sampled_from([1, 2, 3, 4]), extra=st.integers(0, 40), nodes=st.sampled_from([1, 2]))
def test_place_is_the_placement_of_the_greedy_replicas(loads, ep, extra, nodes):
    redundant = extra + (-(len(loads) + extra)) % ep                  # slots split over the ranks
    new = place(loads, ep, redundant, nodes, groups=len(loads))      # hierarchical where the nodes divide them
    with pytest.MonkeyPatch.context() as m:
        m.setattr(eplb, "replicas", _greedy_replicas)
        assert new == place(loads, ep, redundant, nodes, groups=len(loads))


def test_65536_redundant_slots_are_placed_as_the_greedy_places_them():
    loads = [1.0 + i for i in range(8)]                # Mixtral's experts as a routing dump of 1 … 8 tokens
    fast = replicas(loads, 8 + 65_536)
    assert fast == _greedy_replicas(loads, 8 + 65_536)
    # 65,544 slots over 36 tokens: 1,820.67 slots a token, the 3 and 6 exact and each of the rest rounded
    assert replicate(loads, 8 + 65_536) == [1821, 3642, 5462, 7283, 9103, 10924, 12744, 14565]


def test_identical_layers_are_placed_once(monkeypatch):
    # 32 layers of one routing (a dump that repeats a layer): report.json's eplb figures place it once, not 32 times
    load = ExpertLoad(file="l.json", layers=((6, 3, 2, 1),) * 31 + ((3, 3, 3, 3),), digest="32 layers")
    calls = []
    real = eplb.place
    monkeypatch.setattr(eplb, "place", lambda *a: calls.append(a) or real(*a))
    figures = balance_figures(load, ExpertSplit(4, 2, redundant=2, nodes=1, eplb=True))
    assert len(calls) == 2
    assert figures is not None and figures["worst_layer_factor"] == 1.0
    assert figures["busiest_factor"] == 1.0
