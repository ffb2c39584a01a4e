"""`cluster { price = 2.5 $/h }`: what the tokens cost, in every report, and the `cost` objective."""

from __future__ import annotations

import json

import pytest

from dagc.diagnostics import PlanError
from dagc.export.report import report_json
from dagc.lang.load import load_plan_text
from dagc.search.search import search
from dagc.verdict.check import check
from conftest import run_dagc

PLAN = ('model preset "mixtral-8x7b"\ncluster {{ gpus = 8  gpu preset "h100-sxm" {price} }}\n'
        "workload {{ batch = 64  prompt = 2048  generate = 256 }}\nstrategy tp 8\n")


def result(price: str = "price = 2.5 $/h"):
    return check(load_plan_text(PLAN.format(price=price)))[0]


def test_the_cost_per_million_tokens_by_hand():
    r = result()
    m, gpus = r.metrics, r.gpus_used
    c = report_json(r)["cost"]
    assert c["price_per_gpu_hour"] == 2.5
    # a request of 2,048 + 256 tokens takes TTFT + 256 TPOT of the 8 GPUs for its share of the batch of 64
    # (the server's TTFT: the client's front end holds no GPU)
    seconds = m.ttft_server_s + 256 * m.tpot_s
    gpu_hours = gpus * seconds / 3600 / 64               # per request
    for kind, tokens in (("tokens", 2048 + 256), ("output_tokens", 256), ("input_tokens", 2048)):
        hours = gpu_hours / tokens * 1e6
        assert c[f"gpu_hours_per_million_{kind}"] == pytest.approx(hours, rel=1e-12)
        assert c[f"per_million_{kind}"] == pytest.approx(hours * 2.5, rel=1e-12)
    # every token shares the time: output and input each charged all of it are both dearer
    assert c["per_million_tokens"] < min(c["per_million_output_tokens"], c["per_million_input_tokens"])


def test_without_a_price_the_gpu_hours_and_no_money():
    c = report_json(result(""))["cost"]
    assert c["price_per_gpu_hour"] is None and c["per_million_tokens"] is None
    assert c["gpu_hours_per_million_tokens"] > 0


@pytest.mark.parametrize("price, code, says", [
    ("price = 2.5", "E102", "`price` takes a price per GPU-hour"),
    ("price = 2.5 GB", "E102", "price"),
    ("price = 0 $/h", "E104", "price"),
])
def test_a_bad_price_is_located(price, code, says):
    with pytest.raises(PlanError) as err:
        load_plan_text(PLAN.format(price=price))
    (d,) = err.value.diagnostics
    assert d.code == code and says in d.message and d.span is not None


def test_the_reports_state_the_cost(tmp_path):
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN.format(price="price = 2.5 $/h"))
    out = run_dagc("check", str(plan), "--no-search").stdout
    c = report_json(result())["cost"]
    assert f"{c['per_million_tokens']:,.3f} $ per million tokens" in " ".join(out.split())
    done = run_dagc("compile", str(plan), "--no-search", "-o", str(tmp_path / "o"))
    assert done.returncode == 0, done.stderr
    md = (tmp_path / "o" / "report.md").read_text()
    assert f"{c['per_million_output_tokens']:,.3f} $ per million output tokens" in md
    assert json.loads((tmp_path / "o" / "report.json").read_text())["cost"] == pytest.approx(c)


def test_the_cost_objective_ranks_by_gpu_time_per_token():
    found = search(load_plan_text(PLAN.format(price="price = 2.5 $/h")), objective="cost", top=5, rescore=0)
    per_token = [c.gpus / c.metrics.throughput_tokens_per_s for c in found.ranked]
    assert found.best is not None and per_token == sorted(per_token)
    tokens_per_gpu = search(load_plan_text(PLAN.format(price="")), objective="cost", top=5, rescore=0)
    assert [c.text for c in tokens_per_gpu.ranked] == [c.text for c in found.ranked]     # the price only scales
