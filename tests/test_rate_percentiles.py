"""`dagc search --rate R` shows each run's TTFT and TPOT at the percentiles the plan's requirements bound
(p99 TTFT and p90 TPOT when it bounds none), in the terminal and in its JSON."""

from __future__ import annotations

import json
from pathlib import Path

from dagc.lang.load import load_plan, load_plan_text
from dagc.search.at_rate import SHOWN_DEFAULT, shown_percentiles
from conftest import one_computation_per_output, run_dagc

TRIAL = Path(__file__).parent / "fixtures" / "trial13"


def test_percentiles_follow_the_plans_requirements():
    assert shown_percentiles(load_plan(TRIAL / "p2-qwen-log.moe")) == (99, 99)     # ttft_p99, tpot_p99
    text = (TRIAL / "p2-qwen-log.moe").read_text()
    bare = text.replace("require { ttft_p99 <= 1 s  tpot_p99 <= 40 ms  memory <= 90 % }",
                        "require { tpot_p50 <= 40 ms  tpot_p95 <= 50 ms }")
    assert bare != text
    assert shown_percentiles(load_plan_text(bare, "x.moe", TRIAL)) == (SHOWN_DEFAULT[0], 95)
    assert SHOWN_DEFAULT == (99, 90)


def test_search_at_rate_shows_tpot_p99_as_the_plan_requires(tmp_path):
    # in this process (`run_dagc`: what `python -m dagc` gives, without an interpreter's start), no `dot` on PATH;
    # the table and the JSON printed from one search and one set of runs. The plan replays the log's first 200
    # requests, not its 1,000: which percentiles are shown is the requirements', whatever the run's length
    log = "azure-llm-conv-2023-first1000.csv"
    (tmp_path / log).write_text("".join((TRIAL / log).read_text().splitlines(keepends=True)[:201]))
    plan = tmp_path / "p2-qwen-log.moe"
    plan.write_text((TRIAL / "p2-qwen-log.moe").read_text())
    env = {"COLUMNS": "200", "PATH": ""}
    with one_computation_per_output():
        run = run_dagc("search", str(plan), "--rate", "8", "--top", "2", "--format", "json",
                       "--svg", str(tmp_path / "p.svg"), env=env)
        text = run_dagc("search", str(plan), "--rate", "8", "--top", "2",
                        "--svg", str(tmp_path / "p.svg"), env=env).stdout
    assert run.returncode == 0, run.stderr
    at = json.loads(run.stdout)["at_rate"]
    assert at["shown_percentiles"] == {"ttft": 99, "tpot": 99}
    table = text[text.index("best 2 at 8 requests/s"):]
    assert "TPOT p99" in table and "TPOT p90" not in table
    first = at["ranked"][0]["load"]["tpot_s"]
    assert first["p99"] != first["p90"]
    assert f"{first['p99'] * 1e3:.4g} ms" in table          # 31.85 ms, as check gives it (p90: 31.06 ms)
