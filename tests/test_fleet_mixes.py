"""`dagc fleet` under traffic mixes: a cluster's pick is one per mix, and the table names each (its strategy cell);
the comparisons under the table and fleet.svg say the same — two clusters are "the same pick" only when every mix
picks the same strategy, and the picture says whose figures its points are and names each mix's pick."""

from __future__ import annotations

import pytest
from fleet_answers import ranked as rank_made_up

from dagc.export.fleet_json import fleet_json, row_json
from dagc.export.fleet_out import fleet_svg
from dagc.lang.fleet import Fleet, FleetGpu, FleetPoint


def _answer(gpus: int, strategy: str, used: int, tokens: int) -> dict:
    """One mix's answer on `gpus` H100s at $2.49/h: its pick `strategy` on `used` GPUs serving 2 requests/s of
    `tokens` tokens each, meeting every requirement."""
    per_million = used * 2.49 / 3600 / (2.0 * tokens) * 1e6
    load = {"goodput_requests_per_s": 2.0, "ttft_s": {"p99": 0.0919}, "tpot_s": {"p90": 0.01821}}
    return {"cluster": {"gpu": "h100-sxm", "gpus": gpus, "gpus_per_node": 8, "engine": "vllm@0.33.0",
                        "price_per_gpu_hour": 2.49},
            "meets_requirements": True, "pick": {"strategy": strategy, "gpus": used, "score": 1.0, "load": load},
            "instances": gpus // used, "per_million_tokens": per_million,
            "gpu_hours_per_million_tokens": per_million / 2.49, "rent_per_hour": 2.49 * gpus,
            "binding": "tpot_p90 <= 20 ms"}


@pytest.fixture(scope="module")
def ranked():
    """2 and 4 H100s, a "chat" mix (weight 0.8, 1,500 tokens a request) and a "long" one (0.2, 8,500): both pick
    `tp 1` on 1 GPU under chat; under long, 2 H100s pick `tp 2` and 4 H100s `dp 2 < tp 1 >`, each on 2 GPUs at
    the same cost. The costs on the GPUs used are equal; with every GPU rented charged, 4 H100s cost twice as much."""
    fleet = Fleet((FleetGpu("h100-sxm", "2.49 $/h", 2.49, None),), (), 2.0, None)

    def point(i, cluster, gpus, mix, weight):
        return FleetPoint(i, "h100-sxm", "2.49 $/h", (("gpus", str(gpus)),), cluster, mix, weight, rate=2.0)
    answers = [(point(0, 0, 2, "chat", 0.8), _answer(2, "tp 1", 1, 1500)),
               (point(1, 0, 2, "long", 0.2), _answer(2, "tp 2", 2, 8500)),
               (point(2, 1, 4, "chat", 0.8), _answer(4, "tp 1", 1, 1500)),
               (point(3, 1, 4, "long", 0.2), _answer(4, "dp 2 < tp 1 >", 2, 8500))]
    return rank_made_up(fleet, answers, "tokens-per-gpu", error_band_ratio=2.5)


def test_two_clusters_whose_heaviest_mix_picks_alike_are_not_the_same_pick(ranked):
    """The heaviest mix's strategies and the costs agree, the "long" mix's strategies do not: 4 H100s is another
    pick, not the best's on more GPUs — it is within dagc's error of the best (cost ratio 2, within 2.5), as the
    table's strategy cells, `tp 1 (mix "chat"; tp 2 under mix "long")` and `… dp 2 < tp 1 > under mix "long"`, say."""
    best, other = (row_json(r) for r in ranked.ranked)
    assert [best["cluster"]["gpus"], other["cluster"]["gpus"]] == [2, 4]
    assert best["per_million_tokens"] == pytest.approx(other["per_million_tokens"], rel=1e-12)
    # by hand, every GPU rented charged: chat 0.8 x c1 x 2/1 and long 0.2 x c2 x 2/2 on 2 H100s, twice on 4
    assert other["rented_per_million_tokens"] == pytest.approx(2 * best["rented_per_million_tokens"], rel=1e-12)
    assert ranked.same_pick == ()
    assert [r.index for r in ranked.within_error] == [1]
    doc = fleet_json(ranked)
    assert doc["within_error_of_best_index"] == [1] and doc["same_pick_as_best_index"] == []


def test_the_svg_says_whose_figures_its_points_are_and_names_each_mixs_pick(ranked):
    svg = fleet_svg(fleet_json(ranked), "mixes")
    text = svg.replace("&#x27;", "'").replace("&#39;", "'")
    assert ("with mixes: each pick's p90 TPOT under its heaviest mix; costs averaged over the mixes; tooltips name "
            "each mix's pick") in text
    # every line of text above the plot fits the image: about 0.55 em a character, from the left margin
    import re
    for size, line in re.findall(r'<text x="70" y="\d+" font-size="(\d+)"[^>]*>([^<]*)</text>', text):
        assert 70 + 0.55 * int(size) * len(line) <= 720, line
    titles = svg.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    assert 'tp 1 (mix "chat"; tp 2 under mix "long")' in titles
    assert 'tp 1 (mix "chat"; dp 2 < tp 1 > under mix "long")' in titles


def test_the_terminal_says_each_mix_is_judged_alone(ranked):
    """Mixes are scenarios, each judged with the whole cluster to itself: a trial read a pick at 91 % of its
    capacity under one mix and 62 % under the other as a cluster serving both (153 %). The terminal says what
    they are under its heading; a fleet without mixes does not."""
    import dataclasses
    import io

    from rich.console import Console

    from dagc.cli.print_fleet import MIXES_ALONE, print_fleet

    def printed(mixes: tuple[str, ...]) -> str:
        out = io.StringIO()
        print_fleet(Console(file=out, width=200), dataclasses.replace(ranked, mixes=mixes), top=5)
        return out.getvalue()

    heading, rest = printed(("chat", "long")).split("\n", 1)
    assert "meet every requirement" in heading and " ".join(rest.split()).startswith(MIXES_ALONE)
    assert "each mix is judged alone, with the whole cluster to itself" in MIXES_ALONE
    assert "judged alone" not in printed(())
