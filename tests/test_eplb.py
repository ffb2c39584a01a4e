"""DeepSeek's EPLB placement (`dagc.layout.eplb`), worked by hand."""

from __future__ import annotations

import pytest

from dagc.layout.eplb import busiest_factor, pack, place, replicate


def test_three_ranks_worked_by_hand():
    """Four experts with 6, 3, 2 and 1 tokens on three ranks with two redundant slots (two slots a rank).

    Replicate: expert 0 has the most per replica (6), gets a second (3 each); then expert 0 (3) ties
    expert 1 (3): the first, expert 0, gets a third (2 each). Replicas: 2, 2, 2 (expert 0), 3, 2, 1.
    Pack, heaviest first, each to the least loaded rank with room: 3 → rank 0; the three 2s of expert 0
    → ranks 1, 2, then rank 1 (2 < 3); expert 2's 2 → rank 2 (2 < 3 < 4); expert 3's 1 → rank 0, the only
    one with room. Every rank carries 4 tokens: the mean, where without redundancy 12 tokens on three
    ranks cannot even be placed (4 experts do not split over 3)."""
    assert replicate([6, 3, 2, 1], 6) == [3, 1, 1, 1]
    p = place([6, 3, 2, 1], ep=3, redundant=2)
    assert p.ranks == (((1, 3.0), (3, 1.0)), ((0, 2.0), (0, 2.0)), ((0, 2.0), (2, 2.0)))
    assert p.loads == (4.0, 4.0, 4.0) and busiest_factor([6, 3, 2, 1], ep=3, redundant=2) == 1.0
    with pytest.raises(ValueError):
        place([6, 3, 2, 1], ep=3)


def test_without_redundancy_the_hot_expert_sets_the_pace():
    """Two ranks, no redundant slot: 6 → rank 0, 3 → rank 1, 2 → rank 1 (3 < 6), 1 → rank 0 (full rank 1):
    7 and 5 tokens, the busiest 7/6 of the mean; two redundant slots bring both to 6."""
    assert place([6, 3, 2, 1], ep=2).loads == (7.0, 5.0)
    assert busiest_factor([6, 3, 2, 1], ep=2) == pytest.approx(7 / 6)
    assert busiest_factor([6, 3, 2, 1], ep=2, redundant=2) == 1.0


def test_hierarchical_packs_nodes_first():
    """Eight experts on 4 ranks in 2 nodes, 4 redundant slots. The experts are packed into the nodes
    first, four each, heaviest first to the lighter node: 8 → node 0; 4 → node 1; 4 → node 1 (4 < 8);
    3 → node 0 (8 = 8: the first); 2 → node 1 (8 < 11); 1 → node 1 (10 < 11), now full; the last two 1s
    → node 0: nodes of 13 and 11 tokens. Then each node replicates into its 2 slots and packs its 2 ranks."""
    loads = [8, 1, 1, 1, 4, 4, 2, 3]
    nodes = pack([(e, float(x)) for e, x in enumerate(loads)], 2)
    assert [sorted(e for e, _ in n) for n in nodes] == [[0, 2, 3, 7], [1, 4, 5, 6]]
    assert [sum(x for _, x in n) for n in nodes] == [13.0, 11.0]
    p = place(loads, ep=4, redundant=4, nodes=2)
    assert {e for slots in p.ranks[:2] for e, _ in slots} == {0, 2, 3, 7}              # node 0's ranks
    assert sum(p.loads) == pytest.approx(sum(loads)) and len(p.ranks) == 4
    assert all(len(slots) == 3 for slots in p.ranks)                                   # (8 + 4) / 4 slots
    assert busiest_factor(loads, ep=4, redundant=4, nodes=2) < busiest_factor(loads, ep=4)


def test_no_tokens_no_imbalance():
    assert busiest_factor([0, 0, 0, 0], ep=2) == 1.0
