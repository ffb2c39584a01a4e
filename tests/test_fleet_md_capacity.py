"""fleet.md's sentence on the best says its capacity, as the terminal's best line does: a buyer reading the page
learns how far the arrival rate is from what the pick carries (1 H100 carrying 5 requests/s with a capacity of
5.383 left 7.7 % of headroom, which the terminal said and fleet.md did not)."""

from __future__ import annotations

from fleet_answers import ranked
from rich.console import Console

from dagc.cli.print_fleet import print_fleet
from dagc.export.fleet_json import fleet_json
from dagc.export.fleet_out import fleet_md
from dagc.lang.fleet_ir import Fleet, FleetGpu, FleetPoint


def _result(rate: float, capacity: float):
    """One H100 at $2.49/h whose pick `tp 1` serves `rate` requests/s of 1,324 tokens, its capacity `capacity`:
    2.49 / 3600 / (rate × 1324) × 1e6 dollars a million tokens."""
    per_million = 2.49 / 3600 / (rate * 1324) * 1e6
    load = {"goodput_requests_per_s": rate, "ttft_s": {"p99": 0.1038}, "tpot_s": {"p90": 0.03238}}
    answer = {"meets_requirements": True, "per_million_tokens": per_million,
              "gpu_hours_per_million_tokens": per_million / 2.49, "rent_per_hour": 2.49, "instances": 1,
              "cluster": {"gpu": "h100-sxm", "gpus": 1, "gpus_per_node": 8, "engine": "vllm@0.33.0"},
              "pick": {"score": 1.0, "strategy": "tp 1", "gpus": 1, "load": load}, "binding": "tpot_p90 <= 40 ms"}
    fleet = Fleet((FleetGpu("h100-sxm", "2.49 $/h", 2.49, None),), (), rate, None)
    point = FleetPoint(0, "h100-sxm", "2.49 $/h", (("gpus", "1"),), 0, rate=rate)
    return ranked(fleet, [(point, answer)], "tokens-per-gpu").with_best_capacity(capacity)


def test_fleet_md_says_the_best_s_capacity_as_the_terminal_does():
    result = _result(5.0, 5.382930052223651)
    md = fleet_md(fleet_json(result), "chat30b")
    # 2.49 / 3600 / 6,620 × 1e6 = $0.1045
    assert ("`tp 1` on 1 GPU (1 instance in the cluster), \\$0.1045 per million tokens on its goodput of 5 requests/s, "
            "capacity 5.383 requests/s; what binds: tpot\\_p90 \\<= 40 ms.") in md
    console = Console(width=1000, record=True)
    print_fleet(console, result, 10)
    assert "$0.1045 per million tokens on its goodput of 5 requests/s, capacity 5.383 requests/s (dagc search" in \
        " ".join(console.export_text().split())


def test_a_capacity_within_the_bisection_s_tolerance_says_it_carries_the_rate_on_both():
    result = _result(6.0, 5.956)
    words = (", capacity 5.956 requests/s (within the bisection's 1 % of the 6 requests/s arriving: carried, "
             "docs/load.md)")
    md = " ".join(fleet_md(fleet_json(result), "chat30b").split())
    assert words in md.replace("\\", "")      # md_text escapes the colon
    console = Console(width=1000, record=True)
    print_fleet(console, result, 10)
    assert words in " ".join(console.export_text().split())
