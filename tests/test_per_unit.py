"""A unit written as its denominator alone (`rate = 6/s`, `--set workload.rate=6/s`): the hint writes the unit whole,
where it said "remove it" (which leaves `6s`, a time) or listed what a --set value may be."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from dagc.lang.overrides import load_plan_with

PLAN = ('model preset "mixtral-8x7b"\ncluster {{ gpus = 8  gpu preset "h100-sxm" {cluster} }}\n'
        "workload {{ batch = 64  prompt = 2048  generate = 256  serving = inflight {workload} }}\n"
        "require {{ ttft <= 2 s {require} }}\nstrategy tp 8\n")


def error(cluster: str = "", workload: str = "", require: str = ""):
    with pytest.raises(PlanError) as err:
        load_plan_text(PLAN.format(cluster=cluster, workload=workload, require=require))
    (d,) = err.value.diagnostics
    return d


@pytest.mark.parametrize("workload", ["rate = 6/s", "rate = 6 /s", "rate = 6/sec", "rate = 6 / s  requests = 600"])
def test_a_rate_per_second_alone_is_written_whole(workload):
    d = error(workload=workload)
    assert d.code == "E001" and d.span is not None and d.span.line == 3
    assert d.span.source.text[d.span.start:d.span.end] == "/"       # the caret stays at the `/`
    assert d.hint == "a unit names what it counts before its `/`: write `rate = 6 requests/s`"


def test_a_throughput_and_a_bandwidth_keep_their_number_and_per_gpu():
    assert error(require="decode_throughput >= 300/s/gpu").hint == \
        "a unit names what it counts before its `/`: write `decode_throughput >= 300 tokens/s/gpu`"
    assert error(cluster="inter_node = 50/s").hint == \
        "a unit names what it counts before its `/`: write `inter_node = 50 GB/s`"


def test_a_slash_after_another_field_keeps_the_general_hint():
    # a time has no unit with a `/`, and `/x` is no denominator dagc reads: nothing is guessed (a requirement
    # is told what its value is, a time for `tpot`)
    assert error(require="tpot <= 50/s").hint == \
        "a requirement's value is a number and its unit: for `tpot`, a time, `2 s` or `50 ms`"
    assert "remove it" in error(workload="rate = 6/x").hint


def test_a_price_written_in_pieces_keeps_its_own_hint():
    assert error(cluster="price = 2.49 $/GPU-hour").hint == "`$/GPU-hour` is dollars per hour: write `price = 2.49 $/h`"


@pytest.mark.parametrize("option, says", [
    ("workload.rate=6/s", "--set 'workload.rate=6 requests/s'"),
    ("cluster.price=2/hr", "--set 'cluster.price=2 $/h'"),
    ("require.decode_throughput=300/ms/gpu", "--set 'require.decode_throughput=300 tokens/ms/gpu'"),
])
def test_a_set_value_with_a_lone_denominator_is_written_whole(tmp_path, option, says):
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN.format(cluster="", workload="", require=""))
    with pytest.raises(PlanError) as err:
        load_plan_with(plan, [option])
    (d,) = err.value.diagnostics
    assert d.code == "E001" and d.hint == f"a unit names what it counts before its `/`: write `{says}`"
