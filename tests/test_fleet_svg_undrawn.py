"""fleet.svg names the clusters it has no point for, and why: a cluster with no strategy (none legal on its GPUs)
or whose pick served nothing within the requirements (no cost per million tokens to plot). They were left out
without a word: DeepSeek-V3's fleet of 9 clusters drew 7, and 8 H200s — tried, serving 0 requests/s within the
targets — read as never tried."""

from __future__ import annotations

import re

from fleet_answers import ranked

from dagc.export.fleet_json import fleet_json
from dagc.export.fleet_out import H, fleet_svg
from dagc.lang.fleet import Fleet, FleetGpu, FleetPoint


def _answer(gpus: int, goodput: float | None, meets: bool) -> dict:
    """`gpus` H200s at $3.49/h: a pick `tp N` on all of them serving `goodput` requests/s of 1,000 tokens (None: no
    legal strategy, no pick)."""
    cluster = {"gpu": "h200", "gpus": gpus, "gpus_per_node": 8, "engine": "vllm@0.33.0", "price_per_gpu_hour": 3.49}
    if goodput is None:
        return {"cluster": cluster, "pick": None, "note": f"no legal strategy on {gpus} GPUs"}
    per_million = None if not goodput else gpus * 3.49 / 3600 / (goodput * 1000) * 1e6
    load = {"goodput_requests_per_s": goodput, "ttft_s": {"p99": 0.2}, "tpot_s": {"p90": 0.03}}
    return {"cluster": cluster, "meets_requirements": meets,
            "pick": {"strategy": f"tp {gpus}", "gpus": gpus, "score": 1.0, "load": load},
            "instances": 1, "per_million_tokens": per_million,
            "gpu_hours_per_million_tokens": None if per_million is None else per_million / 3.49,
            "rent_per_hour": 3.49 * gpus, "binding": "tpot_p90 <= 60 ms"}


def test_the_svg_names_each_cluster_it_does_not_draw():
    fleet = Fleet((FleetGpu("h200", "3.49 $/h", 3.49, None),), (), 2.0, None)
    answers = [(FleetPoint(i, "h200", "3.49 $/h", (("gpus", str(g)),), i, rate=2.0), _answer(g, goodput, meets))
               for i, (g, goodput, meets) in enumerate([(4, None, False), (8, 0.0, False), (16, 2.0, True)])]
    svg = fleet_svg(fleet_json(ranked(fleet, answers, "tokens-per-gpu")), "dsv3")
    assert len(re.findall(r'r="5" fill="[^"]+" stroke=', svg)) == 1      # 16 H200s alone: a point has a stroke
    assert (f'<text x="70" y="{H}" font-size="10">not drawn: h200, gpus 4 (no strategy); h200, gpus 8 (no goodput '
            'within the requirements: no cost)</text>') in svg
    # the image grows by the line, so that it is inside it: 460 + 14 + 4
    assert f'height="{H + 18}" viewBox="0 0 720 {H + 18}"' in svg


def test_a_svg_that_draws_every_cluster_says_nothing_more():
    fleet = Fleet((FleetGpu("h200", "3.49 $/h", 3.49, None),), (), 2.0, None)
    answers = [(FleetPoint(0, "h200", "3.49 $/h", (("gpus", "16"),), 0, rate=2.0), _answer(16, 2.0, True))]
    svg = fleet_svg(fleet_json(ranked(fleet, answers, "tokens-per-gpu")), "one")
    assert "not drawn" not in svg and f'height="{H}" viewBox="0 0 720 {H}"' in svg
