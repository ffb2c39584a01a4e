"""A parallel degree written as a block's field (`tp = 2` in the workload, vLLM's `tensor_parallel_size = 2` in the
cluster, `ep = 2` between the blocks, `--set cluster.tp=2`) is said to be the strategy's axis, with the line that
gives it, where it got the block's list of fields or the top level's list of statements."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from dagc.lang.overrides import load_plan_with
from conftest import plan_text

WORKLOAD = "workload { batch = 64  prompt = 2048  generate = 256 }"
CLUSTER = 'cluster { gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm"  engine = pytorch }'


def _hint(axis: str, degree: int) -> str:
    return (f"is a parallel degree, which the strategy gives, not a field: e.g. `strategy {axis} {degree}`, or "
            f'`--strategy "{axis} {degree}"` (an axis and its degree; docs/language.md, "strategy")')


@pytest.mark.parametrize("text, code, name, axis", [
    (plan_text(workload=WORKLOAD.replace(" }", "  tp = 2 }")), "E101", "tp", "tp"),
    (plan_text(cluster=CLUSTER.replace(" }", "  tensor_parallel_size = 2 }")), "E101", "tensor_parallel_size", "tp"),
    (plan_text(cluster=CLUSTER.replace(" }", "  EP_size = 8 }")), "E101", "EP_size", "ep"),
    (plan_text().replace("strategy tp 8", "pp = 2\nstrategy tp 8"), "E001", "pp", "pp"),
])
def test_a_degree_written_as_a_field_is_sent_to_the_strategy(text, code, name, axis):
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    (d,) = exc.value.diagnostics
    assert d.code == code and d.span is not None and d.span.text == name
    # at the degree written (until 2026-12-03 `strategy tp 8` whatever it was)
    assert d.hint == f"`{name}` {_hint(axis, 8 if name == 'EP_size' else 2)}", d.hint


def test_a_degree_set_as_a_field_is_sent_to_the_strategy(write_plan):
    path = write_plan(plan_text())
    with pytest.raises(PlanError) as exc:
        load_plan_with(path, ["cluster.tp=2"])
    (d,) = exc.value.diagnostics
    assert d.code == "E101" and d.span is not None and (d.span.source.path, d.span.text) == ("--set", "tp")
    assert d.hint == f"`tp` {_hint('tp', 2)}"


@pytest.mark.parametrize("name, axis", [
    ("ep-size", "ep"),                          # SGLang's `--ep-size`, its dashes kept
    ("tp-size", "tp"),
    ("tensor-parallel-size", "tp"),             # vLLM's `--tensor-parallel-size`
    ("expert_model_parallel_size", "ep"),       # Megatron-Core's
    ("context_parallel_size", "cp"),
    ("expert_tensor_parallel_size", "etp"),
])
def test_an_engines_flag_of_a_degree_written_as_a_field_is_sent_to_the_strategy(name, axis):
    """Until 2026-11-29 only `tp_size`-like underscored names were: `ep-size = 16` in the cluster got the cluster's
    list of fields, as a user who copies SGLang's `--ep-size 16` writes it."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(cluster=CLUSTER.replace(" }", f"  {name} = 2 }}")))
    (d,) = exc.value.diagnostics
    assert d.code == "E101" and d.hint == f"`{name}` {_hint(axis, 2)}", d.hint
