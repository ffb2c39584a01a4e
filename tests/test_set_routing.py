"""`--set workload.routing=…` replaces the plan's routing whichever form it is written in (dagc.lang.set_replaces):
`routing = imbalance 1.3` or measured loads, `routing from "loads.json"`. Until 2026-12-02 a `--set` over `routing
from` was E104, "`routing` is given twice in workload … keep one", which no option could avoid. A file is the plan's
to name: `--set 'workload.routing=from "loads.json"'` is E001 saying so."""

from __future__ import annotations

import json

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.overrides import SET_SOURCE, load_plan_with

# Mixtral-8x7b: 32 MoE layers of 8 experts, expert 0 hot
PLAN = ('model preset "mixtral-8x7b"\ncluster {{ gpus = 4  gpu preset "h100-sxm" }}\n'
        'workload {{ batch = 8  prompt = 2048  generate = 64  {routing}  chunk = 512 }}\nstrategy tp 4 ; ep 4\n')


def plan(tmp_path, routing: str):
    (tmp_path / "loads.json").write_text(json.dumps({"layers": [[40, 1, 1, 1, 1, 1, 1, 1]] * 32}))
    path = tmp_path / "plan.moe"
    path.write_text(PLAN.format(routing=routing))
    return path


@pytest.mark.parametrize("option, imbalance", [("workload.routing=uniform", 1.0),
                                               ("workload.routing=imbalance 1.5", 1.5),
                                               ("workload.routing=random", None)])
def test_a_set_routing_replaces_measured_loads(tmp_path, option, imbalance):
    workload = load_plan_with(plan(tmp_path, 'routing from "loads.json"'), (option,)).workload
    assert workload.expert_load is None and workload.routing_imbalance == imbalance
    assert workload.chunk == 512 and workload.batch == 8          # the rest of the block as written


def test_a_set_routing_replaces_a_written_imbalance(tmp_path):
    workload = load_plan_with(plan(tmp_path, "routing = imbalance 1.3"), ("workload.routing=uniform",)).workload
    assert workload.routing_imbalance == 1.0


def test_the_plans_loads_are_read_without_a_set(tmp_path):
    workload = load_plan_with(plan(tmp_path, 'routing from "loads.json"'), ()).workload
    assert workload.expert_load is not None


def test_loads_named_with_set_say_the_plan_names_them(tmp_path):
    """The other way, measured loads over `routing = imbalance 1.3`, is the plan's to write: --set names no file."""
    with pytest.raises(PlanError) as exc:
        load_plan_with(plan(tmp_path, "routing = imbalance 1.3"), ('workload.routing=from "loads.json"',))
    (d,) = exc.value.diagnostics
    assert d.code == "E001" and d.span.source.path == SET_SOURCE and d.span.text == '"loads.json"'
    assert d.hint == ('--set names no file: measured expert loads are the plan\'s, `workload { routing from "FILE" }`; '
                      "--set workload.routing=uniform (random, imbalance X) takes them away")


def test_a_routing_set_twice_is_still_e104(tmp_path):
    with pytest.raises(PlanError) as exc:
        load_plan_with(plan(tmp_path, 'routing from "loads.json"'),
                       ("workload.routing=uniform", "workload.routing=random"))
    assert [d.code for d in exc.value.diagnostics] == ["E104"]
