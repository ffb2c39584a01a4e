"""Replicas that sit on nodes otherwise than the priced one (W544): dagc prices one replica, placed from rank 0; a
large-scale trial (2026-12-03) found Kimi-K2's `dp 18 < tp 1 ; ep 64 >` on GB200 racks of 72 ranked above the
rack-aligned `dp 16 < tp 1 ; ep 72 >` on replica 0's figures, with replicas 1–7 straddling two racks."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from conftest import plan_text

CLUSTER = 'cluster {{ gpus = {gpus}  gpus_per_node = {node}  gpu preset "h100-sxm" }}'


def _w544(gpus: int, node: int, strategy: str):
    text = plan_text(cluster=CLUSTER.format(gpus=gpus, node=node), strategy=f"strategy {strategy}")
    [r] = check(load_plan_text(text))
    return [d for d in r.diagnostics if d.code == "W544"]


def test_a_replica_that_straddles_a_node_is_said():
    (w,) = _w544(12, 6, "dp 3 < tp 4 >")                 # ranks 4–7 of replica 1 span nodes 0 and 1
    assert w.message.startswith("replica 1 of the 3 replicas of 4 GPUs sits on nodes of 6 otherwise than the first")
    assert w.hint.startswith("a replica of 3 or 6 GPUs") and w.span.text == "dp 3"


def test_aligned_replicas_are_not():
    assert _w544(16, 8, "dp 4 < tp 4 >") == []           # a replica divides the node
    assert _w544(16, 8, "dp 2 < pp 2 < tp 8 > >") == []  # a replica of whole nodes
