"""With traffic mixes, each mix picks its own strategy on a cluster, and the `dagc search` line printed for the best
gives the heaviest mix's pick alone: fleet.md says whose pick it gives, as the terminal does (`… gives mix "chat"'s
pick`), and a larger cluster holding the best's pick under every mix counts each mix's instances: on 4 GPUs, 4 of
`tp 1` under mix "chat" and 2 of `tp 2` under mix "long" (until 2026-11-30 `4 instances, 3 idle`, the heaviest mix's
alone, while mix "long" left 1 of 2 idle). gpt-oss-120b on 2 H100s at $2.49/h: `tp 1` on 1 GPU under mix "chat"
(70 %), `tp 2` under mix "long"."""

from __future__ import annotations

from fleet_answers import ranked
from rich.console import Console

from dagc.cli.print_fleet import print_fleet
from dagc.export.fleet_json import fleet_json
from dagc.export.fleet_out import fleet_md
from dagc.lang.fleet_ir import Fleet, FleetGpu, FleetMix, FleetPoint


def _answer(gpus: int, strategy: str, used: int) -> dict:
    """One mix's answer on `gpus` H100s at $2.49/h: `strategy` on `used` of them serving 2 requests/s of 1,500
    tokens, every requirement met."""
    per_million = used * 2.49 / 3600 / (2.0 * 1500) * 1e6
    load = {"goodput_requests_per_s": 2.0, "ttft_s": {"p99": 0.0919}, "tpot_s": {"p90": 0.02}}
    return {"cluster": {"gpu": "h100-sxm", "gpus": gpus, "gpus_per_node": 8, "engine": "vllm@0.33.0",
                        "price_per_gpu_hour": 2.49},
            "meets_requirements": True, "pick": {"strategy": strategy, "gpus": used, "score": 1.0, "load": load},
            "instances": gpus // used, "per_million_tokens": per_million,
            "gpu_hours_per_million_tokens": per_million / 2.49, "rent_per_hour": 2.49 * gpus,
            "binding": "tpot_p90 <= 50 ms"}


def _result(*counts: int):
    fleet = Fleet((FleetGpu("h100-sxm", "2.49 $/h", 2.49, None),), (), 2.0, None,
                  (FleetMix("chat", 0.7, ()), FleetMix("long", 0.3, ())))
    answers = []
    for k, n in enumerate(counts):
        for j, (mix, weight, strategy, used) in enumerate((("chat", 0.7, "tp 1", 1), ("long", 0.3, "tp 2", 2))):
            point = FleetPoint(2 * k + j, "h100-sxm", "2.49 $/h", (("gpus", str(n)),), k, mix, weight, rate=2.0)
            answers.append((point, _answer(n, strategy, used)))
    return ranked(fleet, answers, "tokens-per-gpu")


def _doc(*counts: int) -> dict:
    return fleet_json(_result(*counts))


def test_fleet_md_says_the_search_line_gives_the_heaviest_mixs_pick():
    md = fleet_md(_doc(2), "gpt-oss", svg_name=None)
    assert ("\n\nMix \"chat\"'s pick: `dagc search PLAN --rate 2 --set cluster.gpu=h100-sxm --set 'cluster.price=2.49 "
            "$/h' --set cluster.gpus=2`.\n\n") in md
    assert "The same pick: " not in md


def test_the_same_pick_on_more_gpus_counts_each_mixs_instances():
    # 4 GPUs at $2.49/h: $9.96/h; mix "chat": 1 × 2.49 / 3600 / 3000 × 1e6 = $0.2306 a Mtok × 4/1, mix "long":
    # 2 × 2.49 / 3600 / 3000 × 1e6 = $0.4611 × 4/2; 0.7 × 0.9222 + 0.3 × 0.9222 = $0.9222 with every GPU charged
    words = ('4 x h100-sxm (4 instances under mix "chat" and 2 under mix "long", all but one idle, $9.96/h, $0.9222 '
             "per million tokens with every GPU it rents charged)")
    md = fleet_md(_doc(2, 4), "gpt-oss", svg_name=None)
    assert words in md.replace("\\", "")
    console = Console(width=1000, record=True)
    print_fleet(console, _result(2, 4), 10)
    assert words in " ".join(console.export_text().split())
