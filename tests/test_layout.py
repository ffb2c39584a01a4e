"""Layout: GPUs used, stage groups, layer splits, rank coordinates, expert placement."""

from __future__ import annotations

import numpy as np
import pytest

from dagc.lang.load import load_plan_text
from dagc.layout.stages import default_split
from dagc.verdict.check import check
from conftest import plan_text


def layout_of(strategy: str, **parts):
    r = check(load_plan_text(plan_text(strategy=f"strategy {strategy}", **parts)))[0]
    assert r.layout is not None, [d.message for d in r.diagnostics]
    return r.layout


CLUSTER_64 = 'cluster { gpus = 64  gpus_per_node = 8  gpu preset "h100-sxm" }'


@pytest.mark.parametrize("strategy, used, g, adp, edp", [
    ("tp 8", 8, 8, 1, 1),
    ("tp 2 ; ep 8", 8, 8, 4, 1),
    ("ep 8 ; tp 2", 8, 8, 4, 1),
    ("tp 8 ; ep 4", 8, 8, 1, 2),
    ("tp 4 cp 2 ; ep 4 etp 2", 8, 8, 1, 1),
    ("pp 4 < tp 2 ; ep 8 >", 32, 8, 4, 1),
    ("dp 2 < pp 2 < tp 2 ; ep 4 > >", 16, 4, 2, 1),
    ("dp 8", 8, 1, 1, 1),
    ("dp 2 < pp 4 < tp 2 ; ep 8 > >", 64, 8, 4, 1),
])
def test_gpus_used_is_dp_pp_g_never_the_product(strategy, used, g, adp, edp):
    lay = layout_of(strategy, cluster=CLUSTER_64)
    assert (lay.gpus_used, lay.group_size, lay.adp, lay.edp) == (used, g, adp, edp)


def test_experts_follow_tp_without_expert_domain():
    lay = layout_of("tp 4 cp 2", cluster=CLUSTER_64)
    assert (lay.ep, lay.etp, lay.edp, lay.expert_domain_written) == (1, 4, 2, False)


def test_default_split_first_stages_take_one_more():
    assert default_split(61, 4) == (16, 15, 15, 15)
    assert default_split(32, 3) == (11, 11, 10)
    assert default_split(16, 16) == (1,) * 16
    lay = layout_of("pp 3 < tp 2 >", cluster=CLUSTER_64)
    assert lay.stage_layers == ((0, 11), (11, 22), (22, 32))


def test_explicit_split():
    lay = layout_of("pp 4 [10, 8, 8, 6] < tp 2 >", cluster=CLUSTER_64)
    assert lay.split_is_explicit and lay.layers_per_stage == (10, 8, 8, 6)
    assert lay.stage_layers[3] == (26, 32) and lay.stage_of_layer(25) == 2


def test_rank_coordinates():
    lay = layout_of("dp 2 < pp 2 < tp 2 ; ep 4 > >", cluster=CLUSTER_64)
    c = lay.coords
    # rank = ((d·pp)+p)·G + local; G = 4
    r = 13  # d = 1, p = 1, local = 1
    assert (c["replica"][r], c["stage"][r], c["local"][r]) == (1, 1, 1)
    assert (c["tp"][r], c["cp"][r], c["adp"][r]) == (1, 0, 0)      # tp fastest
    assert (c["etp"][r], c["ep"][r], c["edp"][r]) == (0, 1, 0)     # etp fastest
    assert c["node"][r] == 1
    assert list(lay.stage_ranks(1, 0)) == [8, 9, 10, 11]
    # every (replica, stage, local) appears exactly once
    keys = c["replica"] * 100 + c["stage"] * 10 + c["local"]
    assert len(np.unique(keys)) == lay.gpus_used == 16


def test_attention_coordinates_with_cp_and_adp():
    lay = layout_of("tp 2 cp 2 ; ep 8", cluster=CLUSTER_64)
    c = lay.coords
    assert list(c["tp"]) == [0, 1] * 4
    assert list(c["cp"]) == [0, 0, 1, 1] * 2
    assert list(c["adp"]) == [0] * 4 + [1] * 4
    assert list(c["ep"]) == list(range(8))


def test_expert_placement_contiguous():
    lay = layout_of("tp 2 ; ep 4", cluster=CLUSTER_64)
    assert [list(lay.experts_of(e)) for e in range(4)] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    qwen = layout_of("tp 1 ; ep 4", model='model preset "qwen3-30b-a3b"', cluster=CLUSTER_64)
    assert list(qwen.experts_of(3)) == list(range(96, 128))


def test_every_expert_on_exactly_edp_times_etp_ranks_per_stage():
    lay = layout_of("pp 2 < tp 4 ; ep 4 etp 2 >", cluster=CLUSTER_64)
    c = lay.coords
    stage0 = c["stage"] == 0
    holders = np.zeros(8, dtype=int)
    for ep_index in c["ep"][stage0 & (c["replica"] == 0)]:
        for e in lay.experts_of(int(ep_index)):
            holders[e] += 1
    assert list(holders) == [lay.edp * lay.etp] * 8


def test_node_crossing():
    lay = layout_of("tp 8 ; ep 8", cluster=CLUSTER_64)
    assert not lay.group_crosses_nodes(8)
    # whole blocks only: 8 ranks on one node hold two whole blocks of 3 (0-2, 3-5), neither crossing
    assert not lay.blocks_cross_nodes(0, 8, 3) and lay.blocks_cross_nodes(0, 16, 3)
    lay = layout_of("tp 4 ; ep 16", model='model preset "qwen3-30b-a3b"', cluster=CLUSTER_64)
    assert lay.group_crosses_nodes(16) and not lay.group_crosses_nodes(4)


CLUSTER_12 = 'cluster { gpus = 48  gpus_per_node = 12  gpu preset "h100-sxm" }'


@pytest.mark.parametrize("strategy, cluster, batch", [
    ("pp 4 < tp 2 ; ep 8 >", CLUSTER_64, 64),
    ("dp 2 < pp 3 < tp 8 > >", CLUSTER_12, 45),
    ("pp 6 < tp 4 ; ep 8 >", CLUSTER_12, 7),
])
def test_a_layout_carries_where_its_stages_sit_and_its_request_rows(strategy, cluster, batch):
    """What the search's timer reads of a layout is the layout's own: each stage's node offset, whether its send
    crosses nodes and whether it is the last (`Layout.placements`); replica 0's requests per micro-batch as tuples
    (`Layout.request_rows`)."""
    lay = layout_of(strategy, cluster=cluster, workload=f"workload {{ batch = {batch}  prompt = 512  generate = 64 }}")
    assert lay.placements == tuple((lay.node_offset(s), lay.send_crosses_nodes(s), s == lay.pp - 1)
                                   for s in range(lay.pp))
    assert lay.request_rows == tuple(tuple(row) for row in lay.requests().tolist())


def test_a_sketch_answers_placements_and_request_rows_without_its_layout():
    """A search candidate's sketch answers both from its degrees, its layout never made, and as the layout would."""
    from dagc.layout.sketch import LayoutDegrees, LayoutSketch, StageGroup

    lay = layout_of("dp 2 < pp 3 < tp 8 > >", cluster=CLUSTER_12,
                    workload="workload { batch = 45  prompt = 512  generate = 64 }")

    def unmade():
        raise AssertionError("the sketch resolved its layout")

    sketch = LayoutSketch(LayoutDegrees(lay.dp, lay.pp, lay.tp, lay.cp, lay.sp, lay.ep, lay.etp), lay.dims,
                          StageGroup(lay.group_size, lay.adp, lay.stage_layers, lay.stage_counts), lay.microbatches,
                          lay.batch, lay.gpus_per_node, unmade)
    assert (sketch.placements, sketch.request_rows) == (lay.placements, lay.request_rows)
