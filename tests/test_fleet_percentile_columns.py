"""`dagc fleet`'s tables show TTFT and TPOT at the percentiles the plan's requirements bound, as `dagc search --rate`
does (`shown_percentiles`): a plan requiring `ttft_p90 <= 1 s` got a `p99 TTFT` column beside its `ttft_p90` binding,
where `dagc search --rate` showed `TTFT p90` for the same plan."""

from __future__ import annotations

from dagc.cli.print_fleet import fleet_columns
from dagc.export.fleet_out import pick_load_cells, shown_percentiles

# gpt-oss-120b `tp 1` on 1 H100 under vLLM at 3 requests/s: its run's percentiles (report.json `load`)
LOAD = {"goodput_requests_per_s": 3.0,
        "ttft_s": {"mean": 0.07648, "p50": 0.07484, "p90": 0.08662, "p95": 0.0912, "p99": 0.11306},
        "tpot_s": {"mean": 0.0170, "p50": 0.0168, "p90": 0.01881, "p95": 0.0194, "p99": 0.0210}}


def _pick(*names: str) -> dict:
    return {"load": LOAD, "requirements": [{"name": n, "text": f"{n} <= 1 s"} for n in names]}


def test_the_columns_follow_the_plans_percentiles():
    pick = _pick("ttft_p90", "tpot_p90")
    assert shown_percentiles([pick]) == (90, 90)
    assert pick_load_cells(pick, (90, 90)) == ("3", "86.62 ms", "18.81 ms")      # the p90s, not p99's 113.1 ms
    headers = [c.header for c in fleet_columns([("1", "1 x h100-sxm", "vllm@0.33.0")], (90, 90))]
    assert "p90 TTFT" in headers and "p90 TPOT" in headers and "p99 TTFT" not in headers


def test_the_highest_percentile_named_and_the_defaults():
    assert shown_percentiles([_pick("ttft_p50", "ttft_p95", "tpot_p99"), None]) == (95, 99)
    assert shown_percentiles([_pick("goodput", "ttft", "e2e_p99"), None]) == (99, 90)     # none bounds TTFT's or TPOT's
    assert pick_load_cells(_pick()) == ("3", "113.1 ms", "18.81 ms")                      # p99 TTFT, p90 TPOT
