"""A GPU preset dagc does not know, in a fleet: the hint says how a fleet compares a GPU of one's own (written out in
the plan's cluster, the fleet without `gpu` lines, docs/fleet.md). Before, it read "built-in GPUs: `h100-sxm`, …; or a
fleet sweeps built-in GPUs only" — an "or" that offered nothing — and an A100 of 40 GB was told only that the preset
of 80 GB is another GPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.fleet import fleet_plans, load_fleet

HEAD = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 4 requests/s  requests = 20 }
"""
PRESETS = "`h100-sxm`, `h200`, `h800`, `h20`, `a100-80g`, `b200`, `b300`, `gb200`, `gb300`, `mi300x`, `generic-400t`"


def _hint(tmp_path: Path, name: str) -> str:
    (tmp_path / "p.moe").write_text(HEAD + f'fleet {{ gpu preset "{name}" {{ price = 1.2 $/h }}  gpus = [4, 8] }}\n')
    with pytest.raises(PlanError) as exc:
        load_fleet(tmp_path / "p.moe")
    (d,) = exc.value.diagnostics
    assert d.code == "E101" and d.hint is not None
    return d.hint


def _own(name: str) -> str:
    return ("a fleet's `gpu preset` names a built-in GPU (a GPU of your own: write it out in the plan's `cluster`, "
            f"`gpu \"{name}\" {{ memory = …  flops = …  hbm = … }}` with its `price`, and leave out the fleet's `gpu` "
            "lines: the fleet sweeps its counts)")


def test_an_unknown_gpu_in_a_fleet_is_told_how_a_fleet_compares_ones_own(tmp_path: Path):
    assert _hint(tmp_path, "mi300") == f"built-in GPUs: {PRESETS}; {_own('mi300')}"
    assert _hint(tmp_path, "a100-40gb") == ("no built-in GPU is that one: `a100-80g` is an A100 with 80 GiB (the SXM "
                                            f"module); {_own('a100-40gb')}")


def test_the_way_the_hint_gives_is_a_fleet_dagc_reads(tmp_path: Path):
    (tmp_path / "p.moe").write_text(HEAD.replace('gpu preset "h100-sxm"', 'gpu "a100-40gb" { memory = 40 GB  '
                                                 "flops = 312 TFLOPS  hbm = 1.555 TB/s }  price = 1.2 $/h")
                                    + "fleet { gpus = [4, 8] }\n")
    _, fleet = load_fleet(tmp_path / "p.moe")
    plans = [plan for _, plan in fleet_plans(tmp_path / "p.moe", fleet)]
    assert [(p.cluster.gpu.name, p.cluster.gpus, p.cluster.price_per_gpu_hour) for p in plans] == \
        [("a100-40gb", 4, 1.2), ("a100-40gb", 8, 1.2)]
