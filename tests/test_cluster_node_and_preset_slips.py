"""Two slips of a cluster as a new user writes it: `gpus = 2 nodes` (a count of nodes where GPUs go) is told the GPUs
they are, as `nodes = 2` already was; and a custom GPU named as a preset (`gpu "h800" { memory = 80 GB }`, whose
figures the user expected dagc to know) is told `gpu preset "h800"`. Until 2026-12-02 the first was "`gpus` takes a
plain number, without a unit: `2nodes` is not one", the second the custom GPU's generic example."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc import PlanError, load_plan

PLAN = """model preset "mixtral-8x7b"
cluster {{ {cluster} }}
workload {{ batch = 8  prompt = 512  generate = 64 }}
strategy tp 8
"""


def _diagnostics(tmp_path: Path, cluster: str) -> list[tuple[str, str, str]]:
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN.format(cluster=cluster))
    with pytest.raises(PlanError) as exc:
        load_plan(plan)
    return [(d.code, d.message, d.hint or "") for d in exc.value.diagnostics]


@pytest.mark.parametrize("written, gpus", [("2 nodes", 16), ("4 node", 32)])
def test_gpus_written_as_nodes(tmp_path: Path, written: str, gpus: int) -> None:
    [(code, message, hint)] = _diagnostics(tmp_path, f'gpus = {written}  gpu preset "h100-sxm"')
    assert (code, message) == ("E101", f"unknown unit `{written.split()[1]}`")
    assert hint == (f"`gpus` counts GPUs, not nodes: {written.split()[0]} nodes of 8 GPUs are `gpus = {gpus}  "
                    "gpus_per_node = 8` (8 a node is the default)")


def test_a_custom_gpu_named_as_a_preset_is_told_the_preset(tmp_path: Path) -> None:
    [(code, message, hint)] = _diagnostics(tmp_path, 'gpus = 8  gpu "h800" { memory = 80 GB }')
    assert (code, message) == ("E103", 'gpu "h800" has no `flops`')
    assert hint == '`h800` is a preset: `gpu preset "h800"` takes its figures; or, as a custom GPU, write its ' \
                   'memory, flops and hbm'


def test_a_custom_gpu_of_its_own_name_keeps_the_example(tmp_path: Path) -> None:
    [(_, _, hint)] = _diagnostics(tmp_path, 'gpus = 8  gpu "my-card" { memory = 80 GB }')
    assert hint == "a custom GPU needs memory, flops and hbm, e.g. `memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s`"
