"""A fleet ranks in GPU-hours when no GPU it sweeps has a price — a fleet pricing some GPU types but not all is E103 —
so its heading says that: `ranked by GPU-hours (no GPU has a price)`, not "(a GPU type has no price)", which read as
one GPU type of several missing its price, of a fleet that names none (the cluster's own H100 at 1 and 2 GPUs)."""

from __future__ import annotations

from fleet_answers import ranked
from rich.console import Console

from dagc.cli.print_fleet import print_fleet
from dagc.export.fleet_json import fleet_json
from dagc.export.fleet_out import fleet_md
from dagc.lang.fleet_ir import Fleet, FleetPoint


def _result():
    # Qwen3-30B-A3B at 6 requests/s of 1,200 tokens: `tp 1` on 1 H100, 1 / 3600 / 7200 × 1e6 = 0.03858 GPU-h a Mtok
    gpu_hours = 1 / 3600 / (6.0 * 1200) * 1e6
    load = {"goodput_requests_per_s": 6.0, "ttft_s": {"p99": 0.0995}, "tpot_s": {"p90": 0.0302}}
    answers = [(FleetPoint(k, "h100-sxm", None, (("gpus", str(n)),), k, rate=6.0, own_gpu=True),
                {"cluster": {"gpu": "h100-sxm", "gpus": n, "gpus_per_node": 8, "engine": "vllm@0.33.0"},
                 "meets_requirements": True, "pick": {"strategy": "tp 1", "gpus": 1, "score": 1.0, "load": load},
                 "instances": n, "gpu_hours_per_million_tokens": gpu_hours, "binding": "tpot_p90 <= 40 ms"})
               for k, n in enumerate((1, 2))]
    return ranked(Fleet((), (), 6.0, None), answers, "tokens-per-gpu")


def test_a_fleet_without_prices_says_no_gpu_has_one():
    console = Console(width=200, record=True)
    print_fleet(console, _result(), 10)
    text = " ".join(console.export_text().split())
    assert text.startswith("2 of 2 clusters meet every requirement at 6 requests/s, ranked by GPU-hours (no GPU has "
                           "a price) per million tokens (input and output) with every GPU the cluster rents charged")
    assert "0.03858 GPU-h per million tokens" in text
    md = fleet_md(fleet_json(_result()), "q30", svg_name=None)
    assert ("ranked by GPU-hours per million tokens (input and output; no GPU has a price) with every GPU the cluster "
            "rents charged.") in md
    assert "a GPU type has no price" not in text + md
    # the objective picks each cluster's strategy; the cost ranks the clusters (until 2026-12-02: "(objective
    # tokens-per-gpu), ranked by …", read as the ranking's objective)
    assert "(each cluster's strategies searched by the objective tokens-per-gpu), the clusters ranked by" in md
