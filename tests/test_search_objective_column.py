"""`dagc search --objective cost` and `--objective throughput` show the figure they rank by: a column of the cost
per million tokens ($ with the plan's price, else GPU-hours) or of the end-to-end throughput, each row's figure
computed by hand from its GPUs and throughput (until 2026-11-28 no column showed it, and JSON's `score` alone)."""

from __future__ import annotations

import json
import tempfile

import pytest

from conftest import EXAMPLES, run_dagc

PLAN = str(EXAMPLES / "mixtral-8x7b-1node.moe")


def _table(*args: str) -> tuple[list[str], list[list[str]]]:
    with tempfile.TemporaryDirectory() as out:          # its pareto.svg, never the checkout's out/
        proc = run_dagc("search", PLAN, "--top", "3", *args, "--svg", f"{out}/p.svg", env={"COLUMNS": "220"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    head = next(line for line in lines if line.startswith("┃ # ┃"))
    rows = [line for line in lines if line.startswith("│ ") and line.split("│")[1].strip().isdigit()]
    cells = [[c.strip() for c in row.strip().strip("│").split("│")] for row in rows]
    return [c.strip() for c in head.strip().strip("┃").split("┃")], cells


def _json(*args: str) -> list[dict]:
    with tempfile.TemporaryDirectory() as out:
        proc = run_dagc("search", PLAN, "--top", "3", "--format", "json", *args, "--svg", f"{out}/p.svg")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["candidates"][:3]


@pytest.mark.parametrize(("price", "header", "scale"), [(None, "GPU-hours per M tokens", 1.0),
                                                       ("2 $/h", "$ per M tokens", 2.0)])
def test_cost_column_is_each_rows_gpu_time_per_million_tokens(price, header, scale):
    extra = ("--set", f"cluster.price={price}") if price else ()
    heads, rows = _table("--objective", "cost", *extra)
    col = heads.index(header)
    assert heads[col - 1] == "decode (tokens/s/GPU)"
    for row, c in zip(rows, _json("--objective", "cost", *extra), strict=True):
        by_hand = c["gpus"] / c["metrics"]["throughput_tokens_per_s"] * 1e6 / 3600 * scale
        assert row[col] == f"{by_hand:,.4g}"
        # JSON carries the same figure (its steady state's, report.json's `cost` keys)
        assert c["cost"]["basis"] == "steady_state"
        assert c["cost"]["gpu_hours_per_million_tokens"] * scale == pytest.approx(by_hand, rel=1e-9)
        assert (c["cost"]["per_million_tokens"] is None) is (price is None)
    assert [float(r[col]) for r in rows] == sorted(float(r[col]) for r in rows)     # ranked by it, least first


def test_throughput_column_and_none_for_objectives_with_their_own():
    heads, rows = _table("--objective", "throughput")
    col = heads.index("throughput (tokens/s)")
    for row, c in zip(rows, _json("--objective", "throughput"), strict=True):
        assert row[col] == f"{c['metrics']['throughput_tokens_per_s']:,.0f}"
    heads, _ = _table()                                     # tokens-per-gpu ranks by a column the table has
    assert not {"throughput (tokens/s)", "GPU-hours per M tokens", "$ per M tokens"} & set(heads)
