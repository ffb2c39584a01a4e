"""`--set tensor_parallel_size=4` (a parallel degree as an engine's config names it, written without a block) is told
the `--strategy` that gives it, as `--set workload.tensor_parallel_size=4` already was. Until 2026-12-02 it was
"unknown statement … expected one of: `model`, `cluster`, `workload`, `require`, `objective`", none of which sets it."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.overrides import Override


@pytest.mark.parametrize("option, strategy", [
    ("tensor_parallel_size=4", "'tp 4'"),
    ("tp=2", "'tp 2'"),
    ("expert_model_parallel_size=8", "'ep 8'"),
    ("pipeline_parallel_size = 2", "'pp 2'"),
    ("tp=x", "'tp N'"),
])
def test_a_parallel_degree_is_told_the_strategy(option: str, strategy: str) -> None:
    with pytest.raises(PlanError) as exc:
        Override.parse(option)
    [d] = exc.value.diagnostics
    assert d.code == "E101"
    name = option.partition("=")[0].strip()
    assert d.hint == f"`{name}` is a parallel degree, which the strategy gives, not a field: `--strategy {strategy}`"


def test_a_field_without_its_block_keeps_its_path_hint() -> None:
    with pytest.raises(PlanError) as exc:
        Override.parse("gpus=8")
    assert exc.value.diagnostics[0].hint == "`gpus` is a field of the cluster: `--set cluster.gpus=8`"
