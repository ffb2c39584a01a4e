"""A GB200 / GB300 NVL72 rack is one NVLink domain of 72 GPUs (dagc's node, what the cost model reads) over 18
hosts of 4 GPUs each: `dagc launch` starts its commands on the hosts, one command a host, as each engine runs on
several machines (vLLM `--data-parallel-size-local 4 … --headless`, SGLang `--nnodes`, TensorRT-LLM `mpirun -H
host:4,…`). Before, a 64-GPU strategy was one command for one machine of 64 GPUs, which no engine can start."""

from __future__ import annotations

import re

import pytest

from dagc.cli.main import main
from dagc.plan.presets import GPU_PRESETS
from conftest import EXAMPLES

KIMI = str(EXAMPLES / "kimi-k2-nvl72.moe")


def _launched(capsys, engine: str) -> str:
    assert main(["launch", KIMI, "--strategy", "wide", "--engine", engine]) == 0
    return capsys.readouterr().out


def test_the_racks_hosts_hold_4_gpus():
    assert GPU_PRESETS["gb200"].host_gpus == GPU_PRESETS["gb300"].host_gpus == 4
    assert all(g.host_gpus is None for n, g in GPU_PRESETS.items() if n not in ("gb200", "gb300"))


def test_vllm_starts_one_command_on_each_of_16_hosts(capsys):
    out = _launched(capsys, "vllm")
    assert "64 GPUs (16 nodes of 4: the hosts of 1 NVLink domain of 72)" in out
    servers = [line for line in out.splitlines() if " vllm serve " in line]
    assert len(servers) == 16 and all("--data-parallel-size 64" in s and "--data-parallel-size-local 4" in s
                                      for s in servers)
    starts = [int(m.group(1)) if (m := re.search(r"--data-parallel-start-rank (\d+)", s)) else 0 for s in servers]
    assert starts == list(range(0, 64, 4)) and all("--headless" in s for s in servers[1:])


@pytest.mark.parametrize("engine, want", [
    ("sglang", "--nnodes 16"),
    ("trtllm", "-H " + ",".join(f"$NODE{k}_ADDR:4" for k in range(16)) + " -n 64"),
])
def test_sglang_and_trtllm_span_the_16_hosts(capsys, engine, want):
    assert want in _launched(capsys, engine)
