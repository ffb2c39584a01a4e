"""What a new user of a request log met (docs/language.md, "A log of your own service"): `rate` beside a log of one
request, which has no gap to scale any more than three requests at one time have (both E104 since 2026-11-30; the
one request was accepted and its `rate` did nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
ROW = "2024-05-10 00:00:00.500000+00:00,800,100\n"
LATER = "2024-05-10 00:00:02.000000+00:00,900,120\n"


def _plan(tmp_path: Path, log: str, traffic: str) -> str:
    (tmp_path / "reqs.csv").write_text(HEADER + log)
    return ('model preset "qwen3-30b-a3b"\ncluster { gpus = 2  gpu preset "h100-sxm" }\n'
            f'workload {{ batch = 64  prompt = 850  generate = 110  serving = inflight  requests from "reqs.csv"  '
            f"{traffic} }}\nstrategy tp 2\n")


def _e104(tmp_path: Path, log: str, traffic: str) -> str:
    with pytest.raises(PlanError) as exc:
        load_plan_text(_plan(tmp_path, log, traffic), base_dir=tmp_path)
    (d,) = exc.value.diagnostics
    assert (d.code, d.span.text) == ("E104", "rate = 2 requests/s")
    return d.message


@pytest.mark.parametrize(("log", "traffic", "said"), [
    (ROW, "rate = 2 requests/s", "the request log `reqs.csv` holds one request"),
    (ROW + LATER, "rate = 2 requests/s  requests = 1", "`requests` = 1 replays one request of the log"),
    (ROW * 3, "rate = 2 requests/s", "the log's first 3 requests all arrive at once"),
])
def test_rate_on_a_log_without_a_gap_is_e104(tmp_path, log, traffic, said):
    assert _e104(tmp_path, log, traffic).startswith(said)


def test_rate_on_two_requests_apart_scales_them(tmp_path):
    plan = load_plan_text(_plan(tmp_path, ROW + LATER, "rate = 2 requests/s"), base_dir=tmp_path)
    assert plan.workload.traffic is not None and plan.workload.traffic.rate == 2.0


@pytest.mark.parametrize(("line", "said"), [
    ('requests from "../elsewhere.csv"', "cannot read the request log `../elsewhere.csv`"),
    ('model from "../elsewhere.json"', "cannot import `../elsewhere.json`"),
])
def test_a_log_outside_the_plans_directory_cannot_be_read_not_imported(tmp_path, line, said):
    # E002 for a request log said "cannot import" it until 2026-11-30, as for a model's config
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    text = _plan(plan_dir, ROW + LATER, "").replace('requests from "reqs.csv"', line) if line.startswith("requests") \
        else _plan(plan_dir, ROW + LATER, "").replace('model preset "qwen3-30b-a3b"', line)
    with pytest.raises(PlanError) as exc:
        load_plan_text(text, base_dir=plan_dir)
    (d,) = exc.value.diagnostics
    assert (d.code, d.message) == ("E002", f"{said}: it is outside the plan's directory")


@pytest.mark.parametrize(("traffic", "seed"), [("", None), ("rate = 2 requests/s", None),
                                               ("concurrency = 2", 0), ("concurrency = 2  ramp = 1 s", None)])
def test_report_json_seed_is_null_where_a_log_draws_nothing(tmp_path, traffic, seed):
    # until 2026-11-30 `load.seed` was 0 for a log replayed, where nothing is drawn; a closed loop over a log without
    # a ramp draws its clients' first steps from seed 0
    from dagc.export.result_json import load_figures_json
    from dagc.verdict.check import check
    (r,) = check(load_plan_text(_plan(tmp_path, ROW + LATER, traffic), base_dir=tmp_path))
    assert r.load is not None
    out = load_figures_json(r.load.figures)
    assert out["seed"] == seed and out["log"] == "reqs.csv"
