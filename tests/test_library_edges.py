"""The library as a Python user meets it (2026-12-03): an engine's glue map, shared by every plan of the process,
could be changed through one plan and priced every later one; `--set` had no public form; a path given for a plan
and `jobs=0` failed deep inside, or (compile) not at all; `OutputError` was not exported."""

from __future__ import annotations

import pickle

import pytest

import dagc
from conftest import ROOT

QWEN = ROOT / "examples" / "qwen3-30b-a3b-4gpu.moe"


def test_an_engines_glue_map_cannot_be_changed_through_a_plan():
    plan = dagc.load_plan(QWEN)
    with pytest.raises(TypeError):
        plan.cluster.engine.terms.glue["rope"] = 100
    with pytest.raises(TypeError):
        plan.cluster.engine.terms.glue.update({"rope": 100})
    assert dagc.load_plan(QWEN).cluster.engine.terms.glue["rope"] == 1
    with pytest.raises(TypeError):             # a built-in kernel profile's glue map, every plan's too
        plan.cluster.kernels.glue["rope"] = 100
    copy = pickle.loads(pickle.dumps(plan))            # a worker process's copy, by value
    assert copy.cluster.engine.terms.glue == plan.cluster.engine.terms.glue and hash(copy.cluster) == hash(plan.cluster)


def test_overrides_are_set_as_the_command_sets_them():
    plan = dagc.load_plan(QWEN, overrides=["workload.batch=256"])
    assert plan.workload.batch == 256 and plan.overrides == ("workload.batch = 256",)
    with pytest.raises(dagc.PlanError) as exc:
        dagc.load_plan(QWEN, overrides=["workload.batch=-5"])
    assert exc.value.diagnostics[0].code == "E104"
    with pytest.raises(TypeError):
        dagc.load_plan(QWEN, overrides="workload.batch=256")


def test_wrong_arguments_are_said_before_any_work(tmp_path):
    plan = dagc.load_plan(QWEN)
    with pytest.raises(TypeError, match="a Plan is checked, not str"):
        dagc.check(str(QWEN))
    with pytest.raises(ValueError, match="jobs must be a whole number of at least 1, not 0"):
        dagc.check(plan, "tp 4", jobs=0)
    with pytest.raises(ValueError, match="budget_s"):
        dagc.compile(plan, tmp_path / "out", search=False, budget_s=-1)
    assert not (tmp_path / "out").exists()
    assert dagc.OutputError.__name__ == "OutputError"
