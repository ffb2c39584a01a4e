"""What a million tokens cost with every GPU the cluster rents charged: a strategy that leaves GPUs of its cluster
idle (W505) is still paying for them, as `dagc fleet` ranks clusters (`dagc.fleet.rank.rented_cost`). A trial
found `dagc check` of a plan on 64 GPUs whose strategy uses 16 at 2 $/h saying 0.053 $ per million tokens — the
16 GPUs' cost — with nothing saying the 48 idle ones were left out; the cluster's is 4× that
(docs/outputs.md, `cost`)."""

from __future__ import annotations

import json

import pytest
from fleet_answers import row_of

from dagc.cli.main import main
from dagc.export.report import report_json
from dagc.export.summary import summary_md
from dagc.fleet.rank import rented_cost
from dagc.verdict.check import check, load_plan_text
from conftest import plan_text

CLUSTER = 'cluster {{ gpus = {gpus}  gpus_per_node = 8  gpu preset "h100-sxm"  engine = pytorch  price = 2 $/h }}'


def _checked(gpus: int, strategy: str):
    plan = load_plan_text(plan_text(cluster=CLUSTER.format(gpus=gpus), strategy=f"strategy {strategy}"))
    (result,) = check(plan)
    return result


@pytest.fixture(scope="module")
def idle():
    """Mixtral 8x7B on tp 2 of a cluster of 8 H100s: 6 GPUs idle."""
    return _checked(8, "tp 2")


def test_report_json_gives_the_rented_cost_beside_the_cost_on_the_gpus_used(idle):
    assert [d.code for d in idle.diagnostics if d.code == "W505"] == ["W505"]
    cost = report_json(idle)["cost"]
    assert cost["gpus_used"] == 2 and cost["gpus_rented"] == 8 and cost["rent_per_hour"] == 16.0
    # the figures on the GPUs used keep their meaning: 2 GPUs × 2 $/h over the steady state's tokens
    per_gpu = idle.metrics.throughput_tokens_per_s_per_gpu
    assert cost["per_million_tokens"] == pytest.approx(2.0 * 1e6 / 3600 / per_gpu)
    for key in ("gpu_hours_per_million_tokens", "per_million_tokens", "gpu_hours_per_million_output_tokens",
                "per_million_output_tokens", "gpu_hours_per_million_input_tokens", "per_million_input_tokens"):
        assert cost[f"rented_{key}"] == pytest.approx(cost[key] * 4)
    # the basis the fleet ranks by, computed by the fleet's own rule
    row = {"cluster": {"gpus": 8}, "pick": {"gpus": 2}, "per_million_tokens": cost["per_million_tokens"]}
    assert cost["rented_per_million_tokens"] == pytest.approx(rented_cost(row_of(row)))


def test_check_and_report_md_lead_with_the_rented_cost_and_say_the_gpus_used(idle):
    cost = report_json(idle)["cost"]
    rented, used = f"{cost['rented_per_million_tokens']:,.3f} $", f"{cost['per_million_tokens']:,.3f} $"
    assert rented != used
    words = (f"{rented} per million tokens (input and output) with all 8 GPUs the cluster rents charged, {used} on "
             "the 2 the strategy uses (6 idle)")
    md = " ".join("\n".join(summary_md(idle)).split())
    assert words in md
    assert f"{cost['rented_per_million_output_tokens']:,.3f} $ per million output tokens" in md


def test_check_prints_the_rented_cost(tmp_path, capsys):
    plan = tmp_path / "idle.moe"
    plan.write_text(plan_text(cluster=CLUSTER.format(gpus=8), strategy="strategy tp 2"))
    assert main(["check", str(plan), "--no-search"]) in (0, 1)
    said = " ".join(capsys.readouterr().out.split())
    assert "with all 8 GPUs the cluster rents charged" in said and "(6 idle)" in said
    assert main(["check", str(plan), "--no-search", "--format", "json"]) in (0, 1)
    (printed,) = [json.loads(capsys.readouterr().out)]
    printed = printed[0] if isinstance(printed, list) else printed
    assert printed["cost"]["gpus_rented"] == 8 and printed["cost"]["rented_per_million_tokens"] is not None


def test_a_strategy_on_every_gpu_has_one_cost():
    result = _checked(8, "tp 8")
    cost = report_json(result)["cost"]
    assert cost["gpus_used"] == cost["gpus_rented"] == 8
    assert cost["rented_per_million_tokens"] == cost["per_million_tokens"]
    md = "\n".join(summary_md(result))
    assert "per million tokens (input and output); the whole cost" in md and "rents charged" not in md
