"""A larger cluster holding the best's own pick says what is true of its instances: one carries the traffic, the
others idle — not `idle but for one instance: 4 x mi300x (2 instances, …)`, which read as one instance and two."""

from __future__ import annotations

from fleet_answers import ranked
from rich.console import Console

from dagc.cli.print_fleet import print_fleet
from dagc.export.fleet_json import fleet_json
from dagc.export.fleet_out import fleet_md
from dagc.lang.fleet_ir import Fleet, FleetGpu, FleetPoint


def _row(gpus: int) -> dict:
    """A cluster of `gpus` MI300Xs at $2.10/h whose pick is `tp 1 ; ep 1 etp 2` on 2 of them, 10 requests/s of
    1,300 tokens: (2 x 2.10 / 3600) / (10 x 1300) x 1e6 = $0.0897 a million tokens on the GPUs it uses."""
    per_million = 2 * 2.10 / 3600 / (10 * 1300) * 1e6
    load = {"goodput_requests_per_s": 10.0, "ttft_s": {"p99": 0.25}, "tpot_s": {"p90": 0.02}}
    return {"meets_requirements": True, "per_million_tokens": per_million,
            "gpu_hours_per_million_tokens": per_million / 2.10, "rent_per_hour": 2.10 * gpus, "instances": gpus // 2,
            "cluster": {"gpu": "mi300x", "gpus": gpus, "gpus_per_node": 8, "engine": "sglang@0.5.23"},
            "pick": {"score": 5.0, "strategy": "tp 1 ; ep 1 etp 2", "gpus": 2, "load": load}, "binding": None}


def test_the_same_pick_on_more_gpus_says_one_instance_carries_the_traffic_and_how_many_idle():
    points = [FleetPoint(k, "mi300x", "2.10 $/h", (("gpus", str(n)),), k, rate=10.0) for k, n in enumerate((2, 4))]
    fleet = Fleet((FleetGpu("mi300x", "2.10 $/h", 2.10, None),), (), 10.0, None)
    result = ranked(fleet, list(zip(points, [_row(2), _row(4)], strict=True)), "tokens-per-gpu")
    assert [r.answer.cluster.gpus for r in result.same_pick] == [4]
    console = Console(width=1000, record=True)
    print_fleet(console, result, 10)
    text = " ".join(console.export_text().split())
    # 4 GPUs hold 2 instances of the 2-GPU pick: one carries the 10 requests/s, one idles; every GPU charged,
    # $0.08974 x 4 / 2 = $0.1795 a million tokens
    assert ("the same pick on more GPUs, where one instance of it carries the traffic and the others idle at 10 "
            "requests/s: 4 x mi300x (2 instances, 1 idle, $8.4/h, $0.1795 per million tokens with every GPU it "
            "rents charged)") in text
    assert "but for one instance" not in text
    md = fleet_md(fleet_json(result), "fleet")
    # as the terminal says it: the cluster as its table's row names it (not the label `mi300x, gpus 4`), its rent
    assert ("The same pick on more GPUs, where one instance of it carries the traffic and the others idle: 4 x "
            "mi300x (2 instances, 1 idle, \\$8.4/h, \\$0.1795 per million tokens with every GPU it rents "
            "charged).") in md
