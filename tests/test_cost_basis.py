"""What a million tokens cost, on one basis for `dagc check`, report.json, report.md and `dagc fleet`: a plan with
traffic is charged for the tokens its deployment serves within every target (its goodput), without traffic for
the steady state's throughput (`dagc.serve.price`). DeepSeek-V3 on 8 H200s at 2 requests/s: the steady state's
9,741 tokens/s (3.9 requests/s) is more than the deployment can carry (capacity 3.196 requests/s); it was priced
at 0.796 $ per million tokens, where `dagc fleet` prices the same deployment at its goodput, $1.551."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.cli.main import main
from dagc.export.report import report_json
from dagc.export.result_json import load_json
from dagc.export.summary import summary_md
from dagc.lang.load import load_plan, strategy_option
from dagc.verdict.check import check, load_plan_text
from conftest import plan_text

DSV3 = str(Path(__file__).parent / "fixtures" / "trial12" / "dsv3-h200-sglang.moe")
STRATEGY = "tp 8 ; ep 8 with microbatches 1 overlap none"


@pytest.fixture(scope="module")
def dsv3():
    plan = load_plan(DSV3)
    (result,) = check(plan, strategy_option(STRATEGY, plan))
    return result


def test_a_plan_with_traffic_is_charged_for_its_goodput(dsv3):
    cost = report_json(dsv3)["cost"]
    load = load_json(dsv3.load)
    assert load["goodput_requests_per_s"] == 2.0 and round(load["capacity_requests_per_s"], 3) == 3.196
    assert dsv3.metrics.throughput_tokens_per_s / 2500 > load["capacity_requests_per_s"]   # the steady state: 3.9
    assert cost["basis"] == "goodput" and cost["goodput_requests_per_s"] == 2.0 and cost["tokens_per_s"] == 5000.0
    # 8 GPUs × 3.49 $/h over 5,000 tokens/s (18 million tokens an hour)
    assert cost["per_million_tokens"] == pytest.approx(8 * 3.49 / 18.0)
    assert round(cost["per_million_tokens"], 3) == 1.551
    assert round(cost["per_million_output_tokens"], 3) == 7.756        # 500 of each request's 2,500 tokens


def test_check_and_report_md_say_the_basis(dsv3, capsys):
    line = ("at 3.49 $/h per GPU, on its goodput under the plan's traffic (2 requests/s, 5,000 tokens/s, served "
            "within every target), 1.551 $ per million tokens (input and output)")
    assert line in "\n".join(summary_md(dsv3))
    assert main(["check", DSV3, "--strategy", STRATEGY, "--no-search"]) in (0, 1)
    said = " ".join(capsys.readouterr().out.split())
    assert f"Cost: {line}" in said and "0.796" not in said


def test_a_plan_without_traffic_is_charged_for_its_steady_state():
    plan = load_plan_text(plan_text(cluster='cluster { gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm"  '
                                            'engine = pytorch  price = 2 $/h }'))
    (result,) = check(plan)
    cost = report_json(result)["cost"]
    per_gpu = result.metrics.throughput_tokens_per_s_per_gpu
    assert cost["basis"] == "steady_state" and cost["goodput_requests_per_s"] is None
    assert cost["tokens_per_s"] == result.metrics.throughput_tokens_per_s
    assert cost["per_million_tokens"] == pytest.approx(2.0 * 1e6 / 3600 / per_gpu)
    md = "\n".join(summary_md(result))
    assert "on the steady state's throughput (" in md and "tokens/s; the plan sends no traffic), " in md
