"""A cluster cheaper to rent than the best that misses by its cap on requests in flight — which a larger batch lifts,
as its own `not meeting:` line says — is named beside the best, in the terminal and fleet.md: the ranking is at the
plan's batch, and `batch = max` may pick it. Qwen3-30B-A3B at 50 requests/s with `batch = 128` ranked 8 H100s first
at $19.92/h, 4 H200s ($13.96/h) missing by their cap; with `batch = max` the best was 4 H100s at half the cost, and a
buyer reading the best's line alone had no cue to try it. A cluster whose TPOT already misses (a larger batch
lengthens every step) or that costs more to rent is not named."""

from __future__ import annotations

from fleet_answers import ranked
from rich.console import Console

from dagc.cli.print_fleet import print_fleet
from dagc.export.fleet_json import fleet_json
from dagc.export.fleet_out import fleet_md
from dagc.lang.fleet_ir import Fleet, FleetGpu, FleetPoint

PRICES = {"h100-sxm": 2.49, "h200": 3.49}


def _answer(gpu: str, gpus: int, meets: bool, missed: tuple[str, ...] = ()) -> dict:
    """`gpus` GPUs at their price; a pick meeting every requirement serves 50 requests/s of 1,324 tokens on all of
    them, one that misses serves 30 within the targets and is bound by its cap of 128 a GPU, missing `missed`."""
    goodput = 50.0 if meets else 30.0
    per_million = gpus * PRICES[gpu] / 3600 / (goodput * 1324) * 1e6
    binding = {"limit": "requests_in_flight", "requests_cap": 128 * gpus, "missed_latencies": list(missed)}
    load = {"goodput_requests_per_s": goodput, "ttft_s": {"p99": 0.1 if meets else 1.6}, "tpot_s": {"p90": 0.037},
            **({} if meets else {"binding": binding})}
    return {"meets_requirements": meets, "per_million_tokens": per_million,
            "gpu_hours_per_million_tokens": per_million / PRICES[gpu], "rent_per_hour": PRICES[gpu] * gpus,
            "instances": 1, "cluster": {"gpu": gpu, "gpus": gpus, "gpus_per_node": 8, "engine": "vllm@0.33.0"},
            "pick": {"score": 1.0, "strategy": f"dp {gpus} < tp 1 >", "gpus": gpus, "load": load},
            "binding": "tpot_p90 <= 40 ms" if meets else "does not carry 50 requests/s"}


def _result(*answers: tuple[str, int, bool, tuple[str, ...]]):
    fleet = Fleet(tuple(FleetGpu(g, f"{p} $/h", p, None) for g, p in PRICES.items()), (), 50.0, None)
    points = [(FleetPoint(i, g, f"{PRICES[g]} $/h", (("gpus", str(n)),), i, rate=50.0), _answer(g, n, m, missed))
              for i, (g, n, m, missed) in enumerate(answers)]
    return ranked(fleet, points, "tokens-per-gpu")


def _terminal(result) -> str:
    console = Console(width=1000, record=True)
    print_fleet(console, result, 10)
    return " ".join(console.export_text().split())


def test_a_cheaper_cluster_held_back_by_the_batch_is_named_beside_the_best():
    # 8 H100s rent for 8 × 2.49 = $19.92/h and meet; 4 H200s, 4 × 3.49 = $13.96/h, miss p99 TTFT by their cap
    result = _result(("h100-sxm", 8, True, ()), ("h200", 4, False, ("ttft",)))
    words = ("cheaper to rent than the best ($19.92/h), held back by the plan's batch: 4 x h200 ($13.96/h) misses by "
             "the cap on requests in flight, which a larger batch lifts; the clusters are ranked at the plan's batch "
             "— `batch = max` in the workload judges each strategy at the largest batch it serves, and may pick a "
             "cheaper cluster")
    assert words in _terminal(result)
    md = fleet_md(fleet_json(result), "chat30b-50")
    assert ("Cheaper to rent than the best ($19.92/h), held back by the plan's batch: 4 x h200 ($13.96/h) misses by "
            "the cap on requests in flight") in md.replace("\\", "")


def test_a_cluster_whose_tpot_misses_or_that_rents_for_more_is_not_named():
    # 4 H100s ($9.96/h) miss p90 TPOT too: a larger batch lengthens every step; 8 H200s ($27.92/h) cost more to rent
    result = _result(("h100-sxm", 8, True, ()), ("h100-sxm", 4, False, ("ttft", "tpot")), ("h200", 8, False, ("ttft",)))
    assert "held back by the plan's batch" not in _terminal(result)
    assert "held back by the plan's batch" not in fleet_md(fleet_json(result), "chat30b-50")


def test_a_held_back_cluster_of_a_fleet_sweeping_engines_names_its_engine():
    # DeepSeek-V3 on 8 H200s under vLLM and SGLang: vLLM's missed p90 TTFT by its cap, SGLang's by its compute; the
    # line said `8 x h200 ($27.92/h)`, either engine's cluster. 16 H100s meet at 16 × 2.49 = $39.84/h
    fleet = Fleet(tuple(FleetGpu(g, f"{p} $/h", p, None) for g, p in PRICES.items()), (), 50.0, None)
    h100 = _answer("h100-sxm", 16, True)
    vllm, sglang = _answer("h200", 8, False, ("ttft",)), _answer("h200", 8, False, ("ttft",))
    sglang["cluster"] = {**sglang["cluster"], "engine": "sglang@0.5.23"}
    sglang["pick"]["load"] = {**sglang["pick"]["load"], "binding": {"limit": "step_compute", "missed_latencies": []}}
    engine = (("engine", "vllm"),)
    points = [(FleetPoint(0, "h100-sxm", "2.49 $/h", (("gpus", "16"), *engine), 0, rate=50.0), h100),
              (FleetPoint(1, "h200", "3.49 $/h", (("gpus", "8"), *engine), 1, rate=50.0), vllm),
              (FleetPoint(2, "h200", "3.49 $/h", (("gpus", "8"), ("engine", "sglang")), 2, rate=50.0), sglang)]
    result = ranked(fleet, points, "tokens-per-gpu")
    words = ("cheaper to rent than the best ($39.84/h), held back by the plan's batch: 8 x h200 on vllm@0.33.0 "
             "($27.92/h) misses by the cap on requests in flight")
    assert words in _terminal(result)
    assert words.replace("cheaper", "Cheaper", 1) in fleet_md(fleet_json(result), "dsv3").replace("\\", "")
