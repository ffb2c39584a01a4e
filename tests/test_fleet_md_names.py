"""fleet.md writes every name a plan gives — the plan's, its mixes', its clusters', their GPUs', engines' and
strategies' — as text, escaped as report.md escapes a name (`dagc.export.md_escape`): never as live Markdown or
HTML."""

from __future__ import annotations

import re

from fleet_answers import ranked
from markdown_it import MarkdownIt

from dagc.export.fleet_json import fleet_json
from dagc.export.fleet_out import fleet_md
from dagc.export.md_escape import md_text
from dagc.lang.fleet_ir import Fleet, FleetGpu, FleetMix, FleetPoint

# each would be live markup written raw: a tag, a link, emphasis, an entity, a table cell's border
HOSTILE = ("<b>chat</b>", "long&amp;code", "[l](https://e.example)", "*em*|x")


def _answer(gpus: int, strategy: str, used: int, meets: bool, binding: str, **cluster: str) -> dict:
    """One mix's answer on `gpus` GPUs at $2.49/h: its pick `strategy` on `used` of them."""
    per_million = used * 2.49 / 3600 / (2.0 * 1500) * 1e6
    load = {"goodput_requests_per_s": 2.0, "ttft_s": {"p99": 0.0919}, "tpot_s": {"p90": 0.02}}
    return {"cluster": {"gpu": "h100-sxm", "gpus": gpus, "gpus_per_node": 8, "engine": "vllm@0.33.0",
                        "price_per_gpu_hour": 2.49, **cluster},
            "meets_requirements": meets, "pick": {"strategy": strategy, "gpus": used, "score": 1.0, "load": load},
            "instances": gpus // used, "per_million_tokens": per_million,
            "gpu_hours_per_million_tokens": per_million / 2.49, "rent_per_hour": 2.49 * gpus, "binding": binding}


def _doc() -> dict:
    chat, rag = HOSTILE[0], HOSTILE[1]
    fleet = Fleet((FleetGpu("h100-sxm", "2.49 $/h", 2.49, None),), (), 2.0, None,
                  (FleetMix(chat, 0.7, ()), FleetMix(rag, 0.3, ())))

    def point(i: int, cluster: int, gpus: str, mix: str, weight: float) -> FleetPoint:
        return FleetPoint(i, "h100-sxm", "2.49 $/h", (("gpus", gpus),), cluster, mix, weight, rate=2.0)
    named = {"gpu": HOSTILE[2], "engine": HOSTILE[3]}        # a cluster's GPU and engine, as a results file holds them
    answers = [
        # the best: 2 GPUs, each mix picking its own strategy, the chat mix's leaving one idle
        (point(0, 0, "2", chat, 0.7), _answer(2, "tp 1 <b>", 1, True, "tpot_p90 <= 50 ms", **named)),
        (point(1, 0, "2", rag, 0.3), _answer(2, "tp 2 [l](x)", 2, True, "tpot_p90 <= 50 ms", **named)),
        # the same pick on 4 GPUs: its label is the fleet's
        (point(2, 1, "4 *x*", chat, 0.7), _answer(4, "tp 1 <b>", 1, True, "tpot_p90 <= 50 ms", **named)),
        (point(3, 1, "4 *x*", rag, 0.3), _answer(4, "tp 2 [l](x)", 2, True, "tpot_p90 <= 50 ms", **named)),
        # a cluster that misses under the rag mix
        (point(4, 2, "1", chat, 0.7), _answer(1, "tp 1 <b>", 1, True, "tpot_p90 <= 50 ms", **named)),
        (point(5, 2, "1", rag, 0.3), _answer(1, "tp 1 <b>", 1, False, "ttft_p99 <= 1 s", **named)),
    ]
    return fleet_json(ranked(fleet, answers, "tokens-per-gpu", error_band_ratio=3.0))


def test_every_name_in_fleet_md_is_text_not_markup():
    doc = _doc()
    assert doc["same_pick_as_best_index"] and doc["not_meeting"]      # every line that names them is written
    md = fleet_md(doc, "<img src=x onerror=alert(1)>", svg_name=None)
    # no name is written raw, in any line: each is escaped as report.md escapes a name (the strategies are code)
    for name in (*HOSTILE, "<img src=x onerror=alert(1)>", "*x*"):
        assert name not in md.replace(f"`{name}`", "")
    assert f'mix "{md_text(HOSTILE[0])}"' in md and f'mix "{md_text(HOSTILE[1])}"' in md
    assert f"traffic mixes ({md_text(HOSTILE[0])}, {md_text(HOSTILE[1])})" in md
    html = MarkdownIt("commonmark").enable("table").render(md)
    # rendered, dagc's own markup only: the best's bold sentence, the strategies' code, the table
    assert not re.search(r"<(?!/?(?:p|h1|h2|strong|code|table|thead|tbody|tr|th|td|ul|li)\b)", html), html
    assert "&lt;b&gt;chat&lt;/b&gt;" in html and "long&amp;amp;code" in html
    # and the table keeps its 13 cells a row: no name splits one
    rows = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line]
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 14 for row in rows), rows
