"""A GPU of one's own in a fleet. A fleet names GPU types by preset; docs/fleet.md said a custom GPU "can be compared
by writing it in the plan's cluster and a fleet of its counts and engines", but such a fleet — no GPU type — was E103
"the fleet names no GPU type", and `gpu "gpu64" { … }` in the fleet an E001 whose hint was "docs/language.md describes
what may stand here". Now a fleet without GPU types sweeps the cluster's own GPU, written out or a preset, at the
cluster's price, and the E001 names that way."""

from __future__ import annotations

import shlex

from dagc.cli.main import main
from dagc.lang.fleet import fleet_plans, load_fleet
from tests.conftest import run_dagc

GPU = 'gpu "gpu64" { memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s }'
PLAN = f"""model preset "qwen3-30b-a3b"
cluster {{ gpus = 1  {GPU}  price = 1.5 $/h }}
workload {{ batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 4 requests/s  requests = 20 }}
require {{ ttft_p99 <= 2 s  tpot_p90 <= 80 ms }}
fleet {{
  gpus = [1, 2]
}}
"""


def test_a_fleet_without_gpu_types_sweeps_the_clusters_own_gpu(tmp_path):
    path = tmp_path / "own.moe"
    path.write_text(PLAN)
    _, fleet = load_fleet(path)
    (gpu,) = fleet.gpus
    assert (gpu.name, gpu.price_per_gpu_hour, gpu.own) == ("gpu64", 1.5, True)
    assert fleet.priced
    assert [p.options for p in fleet.points()] == [("cluster.gpus=1",), ("cluster.gpus=2",)]
    assert [p.label for p in fleet.points()] == ["gpu64, gpus 1", "gpu64, gpus 2"]
    plans = [plan for _, plan in fleet_plans(path, fleet)]
    assert [(p.cluster.gpu.name, p.cluster.gpus, p.cluster.price_per_gpu_hour) for p in plans] == [
        ("gpu64", 1, 1.5), ("gpu64", 2, 1.5)]
    assert plans[0].cluster.gpu.memory_bytes == 64e9


def test_dagc_fleet_ranks_the_own_gpu_by_its_price_and_its_search_line_runs(tmp_path, capsys):
    path = tmp_path / "own.moe"
    path.write_text(PLAN.replace("gpus = [1, 2]", "gpus = [2]"))
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    said = capsys.readouterr().out.replace("\n", " ")
    assert "best: 2 x gpu64" in said
    command = said[said.index("(dagc search ") + 1:said.index(" gives the same pick")]
    assert command == f"dagc search {shlex.quote(str(path))} --rate 4 --set cluster.gpus=2"


def test_a_gpu_written_out_in_the_fleet_is_told_how_to_compare_it(tmp_path):
    (tmp_path / "f.moe").write_text(PLAN.replace("  gpus = [1, 2]", f"  {GPU[:-2]} price = 1.5 $/h }}\n  gpus = [1]"))
    r = run_dagc("fleet", "f.moe", cwd=tmp_path)
    assert r.returncode == 4
    assert "f.moe:6:7: error[E001]: unexpected `\"gpu64\"`; expected `preset`" in r.stderr
    assert ("help: a fleet's GPU types are presets, `gpu preset \"h100-sxm\" { price = 2.49 $/h }`; to compare a GPU "
            "written out, write it in the plan's `cluster` with its `price` and leave the fleet's GPU types out: the "
            "fleet sweeps the cluster's own GPU (docs/fleet.md)") in r.stderr


def test_a_fleet_of_nothing_is_still_told_what_to_list(tmp_path):
    (tmp_path / "f.moe").write_text(PLAN.replace("  gpus = [1, 2]\n", ""))
    r = run_dagc("fleet", "f.moe", cwd=tmp_path)
    assert "f.moe:5:1: error[E103]: the fleet lists nothing to compare: no GPU type, no swept field, no mix" in r.stderr
    assert ("help: add GPU types, `gpu preset \"h100-sxm\" { price = 2.5 $/h }`, or fields of the cluster to sweep, "
            "`gpus = [8, 16]` (without GPU types, the cluster's own GPU)") in r.stderr
