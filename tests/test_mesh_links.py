"""An MI300X node is a full mesh of Infinity Fabric links (64 GB/s a direction to each other GPU), not a switch: a
group of n of its GPUs exchanges over n − 1 links (docs/cost-model.md, "A node that is a mesh"). Until 2026-12-03
every group was priced at the GPU's 448 GB/s, a `tp 2` all-reduce 7× too fast."""

from __future__ import annotations

import pytest

from dagc.cost.cost_model import CostModel
from dagc.lang.load import load_plan_text
from dagc.plan.cluster import Cluster
from dagc.plan.presets import GPU_PRESETS
from dagc.serve.disagg import transfer_link
from dagc.verdict.check import check
from conftest import plan_text

MI300X = GPU_PRESETS["mi300x"]


@pytest.mark.parametrize("group, gbs", [(1, 448), (2, 64), (3, 128), (4, 192), (8, 448)])
def test_a_group_gets_its_links_to_the_others(group, gbs):
    cm = CostModel.from_cluster(Cluster(gpus=8, gpu=MI300X, intra_node_bytes_per_s=448e9))
    bw, alpha = cm.link(False, group)
    assert bw == pytest.approx(gbs * 1e9 * 0.8) and alpha == 10e-6          # × the network efficiency, 10 µs
    assert cm.link(True, group)[0] == pytest.approx(50e9 * 0.8)              # across nodes: the network's


def test_a_switched_node_is_not_a_mesh():
    cm = CostModel.from_cluster(Cluster(gpus=8, gpu=GPU_PRESETS["h200"], intra_node_bytes_per_s=900e9))
    assert cm.link(False, 2)[0] == cm.link(False, 8)[0] == pytest.approx(900e9 * 0.8)


def test_kv_transfer_inside_a_mesh_takes_one_link_from_each_sender_to_each_receiver():
    c = Cluster(gpus=8, gpu=MI300X, intra_node_bytes_per_s=448e9)
    # 4 sending ranks to 1 receiving one: 4 links of 64 GB/s (256), below the receiver's 448; × 0.8
    assert transfer_link(c, 8, 4, 1) == pytest.approx(4 * 64e9 * 0.8)
    assert transfer_link(c, 8, 4, 4) == pytest.approx(16 * 64e9 * 0.8)     # 16 links (1,024), below 4 × 448
    assert transfer_link(c, 8, 8, 8) == pytest.approx(8 * 448e9 * 0.8)     # 64 links: each rank's 448 binds
    assert transfer_link(c, 16, 4, 1) == pytest.approx(50e9 * 0.8)          # two nodes: the network


def test_a_tp_2_pair_is_priced_at_one_link():
    """A pair's all-reduce at one link: the same figures as the node written at 64 GB/s."""
    text = plan_text(model='model preset "mixtral-8x7b"', cluster='cluster { gpus = 8  gpu preset "mi300x" }',
                     workload="workload { batch = 8  prompt = 512  generate = 64 }", strategy="strategy tp 2")
    [mesh] = check(load_plan_text(text))
    [one_link] = check(load_plan_text(text.replace('"mi300x" }', '"mi300x"  intra_node = 64 GB/s }')))
    assert mesh.metrics.tpot_s == pytest.approx(one_link.metrics.tpot_s, rel=1e-12)
    assert mesh.metrics.ttft_s == pytest.approx(one_link.metrics.ttft_s, rel=1e-12)
