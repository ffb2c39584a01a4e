"""fleet.svg draws each pick at the TPOT percentile the fleet's table shows — the one the plan's requirements bound
(`tpot_p50 <= …`: p50) — where it always drew p90 and said "p90 TPOT" beside a table of p50 TPOTs, so that a point
and its row disagreed. The title, the axis and fleet.md's picture say the same percentile."""

from __future__ import annotations

import json
import re

from dagc.cli.main import main
from dagc.export.fleet_out import L, R, W

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 4 requests/s  requests = 40 }
require { ttft_p99 <= 2 s  tpot_p50 <= 80 ms }
fleet {
  gpu preset "h100-sxm" { price = 2.5 $/h }
  engine = [vllm, sglang, trtllm]
}
"""


def test_the_svg_plots_the_tables_tpot_percentile(tmp_path):
    path = tmp_path / "fleet.moe"
    path.write_text(PLAN)
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    svg = (tmp_path / "out" / "fleet.svg").read_text()
    md = (tmp_path / "out" / "fleet.md").read_text()
    assert "cost per million tokens vs p50 TPOT, by GPU type" in svg and ">p50 TPOT (ms)<" in svg
    assert "p90" not in svg
    assert "![cost per million tokens vs p50 TPOT](fleet.svg)" in md and "| p50 TPOT |" in md
    doc = json.loads((tmp_path / "out" / "fleet.json").read_text())["fleet"]
    rows = [r for r in (*doc["ranked"], *doc["not_meeting"]) if r.get("pick")]
    p50 = [r["pick"]["load"]["tpot_s"]["p50"] * 1e3 for r in rows]
    cxs = sorted(float(x) for x in re.findall(r'<circle cx="([0-9.]+)" cy="[0-9.]+" r="5" fill="[^"]+" stroke=', svg))
    # each point at L + x / (1.1 × the largest x) of the plot's width: x the pick's p50 TPOT in ms
    assert cxs == sorted(round(L + x / (max(p50) * 1.1) * (W - L - R), 1) for x in p50)
    p90 = [r["pick"]["load"]["tpot_s"]["p90"] * 1e3 for r in rows]
    assert cxs != sorted(round(L + x / (max(p90) * 1.1) * (W - L - R), 1) for x in p90)     # the test tells them apart
