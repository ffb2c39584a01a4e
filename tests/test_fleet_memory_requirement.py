"""`dagc fleet` says W524 of each GPU it sweeps whose memory a memory requirement in bytes is above (it read the
plan's own cluster only): `memory <= 100 GB` bounds nothing on an H100 (81,559 MiB) and is a real bound on an H200
(143,771 MiB), whatever GPU the plan's cluster names."""

from __future__ import annotations

import json

from conftest import run_dagc

# two counts of each GPU, so that W524 said once a cluster, not once a GPU, fails; 1 and 2 GPUs, the cheapest sweep that
# has two (2 and 4 until 2026-12-01: 4.6 -> 2.6 CPU s, `-n 0`)
PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 4  gpu preset "{gpu}" }}
workload {{ batch = 16  prompt = 1000  generate = 200 }}
require {{ tpot <= 50 ms  memory <= 100 GB }}
fleet {{
  gpu preset "h100-sxm" {{ price = 2.49 $/h }}
  gpu preset "h200" {{ price = 3.5 $/h }}
  gpus = [1, 2]
  rate = 2 requests/s
}}
strategy a = tp 2
"""


def test_a_fleet_warns_once_of_each_gpu_a_memory_requirement_is_above(tmp_path):
    for gpu in ("h200", "h100-sxm"):             # the plan's own cluster does not decide it
        (tmp_path / "p.moe").write_text(PLAN.format(gpu=gpu))
        run = run_dagc("fleet", "p.moe", "-o", f"out-{gpu}", "--format", "json", cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        assert run.stderr.count("warning[W524]") == 1, run.stderr
        assert "`memory <= 100 GB` is above the memory of one `h100-sxm`, 79.65 GiB (81,559 MiB)" in run.stderr
        # `require { tpot <= 50 ms  ` is 25 characters: the requirement starts at column 26
        assert "p.moe:4:26" in run.stderr and "one h200" not in run.stderr
        assert json.loads(run.stdout)["fleet"]["ranked"]
