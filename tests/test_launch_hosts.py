"""A GB200 / GB300 NVL72 rack is one NVLink domain of 72 GPUs (dagc's node, what the cost model reads) over 18
hosts of 4 GPUs each: `dagc launch` starts its commands on the hosts, one command a host, as each engine runs on
several machines (vLLM `--data-parallel-size-local 4 … --headless`, SGLang `--nnodes`, TensorRT-LLM `mpirun -H
host:4,…`). Before, a 64-GPU strategy was one command for one machine of 64 GPUs, which no engine can start."""

from __future__ import annotations

import re
import subprocess

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


def test_the_address_note_names_hosts_of_four():
    """`$NODE1_ADDR` is the second tray (ranks 4–7), not ranks 72… (the note said k·gpus_per_node until 2026-12-03)."""
    from dagc.launch.addresses import address_note
    [note] = address_note(["mpirun -H $NODE0_ADDR:4,$NODE1_ADDR:4 -n 8 …"], 4)
    assert note == ("`$NODE<k>_ADDR`: the address of host k, 4 GPUs of the node's NVLink domain (host k holds dagc's "
                    "ranks 4·k …)")
    assert address_note(["vllm serve …"], 4) == [] and "k·gpus_per_node" in address_note(["$NODE1_ADDR"], None)[0]


DSV3_MTP = """model preset "deepseek-v3"
cluster { gpus = 8  gpu preset "h200" }
workload { batch = 64  prompt = 2000  generate = 500  serving = inflight
  speculative { method = mtp  tokens = 1  acceptance = 0.8 } }
require { ttft <= 2 s  tpot <= 50 ms }
strategy tp 1 ; ep 8 with microbatches 2 overlap microbatch
"""


def test_a_launched_strategy_that_misses_the_requirements_says_so(tmp_path, capsys):
    """Launched as asked (exit 0), its header says what `dagc check` says of it with the same engine: the
    requirement it misses, as a nearest strategy's line says it."""
    plan = tmp_path / "dsv3.moe"
    plan.write_text(DSV3_MTP)
    assert main(["launch", str(plan), "--engine", "vllm"]) == 0
    out = capsys.readouterr().out
    assert "it misses the plan's requirements: tpot <= 50 ms (dagc check says why" in out
    assert main(["check", str(plan), "--set", "cluster.engine=vllm", "--no-search", "-q"]) == 1
    capsys.readouterr()
    plan.write_text(DSV3_MTP.replace("tpot <= 50 ms", "tpot <= 80 ms"))
    assert main(["launch", str(plan), "--engine", "vllm"]) == 0
    assert "misses the plan's requirements" not in capsys.readouterr().out


def test_a_strategy_no_engine_asked_can_start_says_so_before_its_figures(tmp_path, capsys):
    """The trial's: `--engine trtllm --strategy attn_dp` printed "dagc's figures for it, served by trtllm…" and
    "it misses the plan's requirements… (the commands start it as it is)" above E721, which says TensorRT-LLM cannot
    start it at all. Now the refusal comes first, and the figures are named for what they are."""
    plan = tmp_path / "dsv3.moe"
    plan.write_text(DSV3_MTP.replace("strategy tp 1 ; ep 8 with microbatches 2 overlap microbatch",
                                     "strategy attn_dp = tp 2 ; ep 8").replace("tpot <= 50 ms", "tpot <= 20 ms"))
    assert main(["launch", str(plan), "--engine", "trtllm", "--strategy", "attn_dp"]) == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "not launchable: TensorRT-LLM (E721) cannot start it; no command is written for it"
    assert lines[3].startswith("dagc's figures for it as dagc lays it out, to compare with each nearest strategy "
                               "below (no server runs it), served by trtllm 1.2.0")
    assert lines[3].endswith("; it would also miss the plan's requirements: tpot <= 20 ms")
    assert not any("the commands start it as it is" in line or line.startswith("it misses") for line in lines)
    assert next(i for i, line in enumerate(lines) if "error[E721]" in line) > 3
    # launched where it can start (vLLM): the figures and the missed requirement as before
    assert main(["launch", str(plan), "--engine", "vllm", "--strategy", "attn_dp"]) == 0
    out = capsys.readouterr().out
    assert "not launchable" not in out and "\ndagc's figures for it, served by vllm" in out


def test_sglangs_E711_names_its_flag_in_full():
    """`--tp` is no SGLang flag (an argparse abbreviation at best): E711 says `--tp-size`."""
    from dagc.lang.load import load_plan_text
    from dagc.launch.engines import launch_result
    from dagc.rules import explain
    from dagc.verdict.check import check
    from conftest import plan_text

    (r,) = check(load_plan_text(plan_text(model='model preset "qwen3-30b-a3b"', strategy="strategy tp 8 ; ep 4")))
    (x,) = launch_result(r, ("sglang",))
    assert x.refusals[0].message.startswith("SGLang: the MoE layers span all --tp-size 8 GPUs of a stage")
    doc = explain("E711")
    assert doc is not None and "--tp " not in doc and "(--tp)" not in doc and "--tp-size 8 --ep-size 8" in doc


def test_trtllm_replicas_past_32_nodes_each_start_on_their_own_hostfile(tmp_path, capsys):
    """Two replicas of 64 one-GPU nodes: each mpirun reads its own hostfile, written into -o DIR with
    `$NODE<k>_ADDR slots=1` lines, which the replica's script fills with the nodes' addresses (as the disaggregated
    router's YAML). Until 2026-11-30 both read `--hostfile hosts.txt` from the directory they ran in, which the user
    was to write (one file for two replicas' different nodes), and a note said each further node ran "the same
    with its own node rank", where one mpirun starts them all."""
    plan = tmp_path / "wide.moe"
    plan.write_text('model preset "qwen3-30b-a3b"\ncluster { gpus = 128  gpus_per_node = 1  gpu preset "h200" }\n'
                    "workload { batch = 128 prompt = 512 generate = 64 }\nstrategy two = dp 2 < tp 1 ; ep 64 >\n")
    out_dir = tmp_path / "launch"
    assert main(["launch", str(plan), "--engine", "trtllm", "-o", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert f"  mpirun --hostfile {out_dir}/trtllm-two-replica1.hosts -n 64 trtllm-llmapi-launch" in out
    assert "each further node" not in out
    hosts = (out_dir / "trtllm-two-replica1.hosts").read_text().splitlines()
    assert hosts[1:-1] == [f"$NODE{k}_ADDR slots=1" for k in range(64, 128)]
    assert hosts[0].endswith("(dagc launch)") and hosts[-1].startswith("# dagc launch wrote this file; sha256")
    fake = tmp_path / "bin"         # an mpirun that shows the hostfile it was given
    fake.mkdir()
    (fake / "mpirun").write_text('#!/bin/sh\ngrep -v "^#" "$2"\n')
    (fake / "mpirun").chmod(0o755)
    env = {"PATH": f"{fake}:/usr/bin:/bin", **{f"NODE{k}_ADDR": f"10.0.0.{k}" for k in range(64, 128)}}
    run = subprocess.run(["sh", str(out_dir / "trtllm-two-2-node64.sh")], env=env, capture_output=True, text=True,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [f"10.0.0.{k} slots=1" for k in range(64, 128)]


def test_a_disaggregated_launch_on_a_rack_names_hosts_too(capsys):
    """The pools' note said "node k holds dagc's GPUs k·gpus_per_node" (72·k) where its `$NODE<k>` are hosts of 4
    (a large-scale trial, 2026-12-03)."""
    strategy = "prefill 1 < tp 1 ; ep 8 > decode 1 < tp 1 ; ep 16 >"
    assert main(["launch", KIMI, "--strategy", strategy, "--engine", "sglang"]) == 0
    out = capsys.readouterr().out
    assert "host k, 4 GPUs of the node's NVLink domain (host k holds dagc's ranks 4·k …)" in out
    assert "k·gpus_per_node" not in out
