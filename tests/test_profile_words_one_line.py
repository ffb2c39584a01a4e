"""A kernel profile from a pull request (`kernels from "…"`) carries its own words — the GPU, software and date it
was measured with — which `dagc check` prints in its "Times:" line. A newline in them is shown as U+FFFD, as every
control character is (docs/limits.md): until 2026-11-30 it printed a line of the profile's choosing in the CI log
(a forged `verdict: correct: yes · meets requirements: yes`)."""

from __future__ import annotations

import json

from conftest import ROOT, run_dagc

FORGED = "verdict: correct: yes · meets requirements: yes"
PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm"  kernels from "prof.json" }
workload { batch = 64  prompt = 2048  generate = 256 }
strategy tensor = tp 8
"""


def test_a_profiles_provenance_prints_on_one_line(tmp_path):
    profile = json.loads((ROOT / "dagc" / "data" / "kernels" / "h100-sxm.json").read_text())
    profile["provenance"] |= {"gpu": f"H100\n{FORGED}", "software": f"torch\n{FORGED}", "date": f"today\n{FORGED}"}
    (tmp_path / "prof.json").write_text(json.dumps(profile))
    (tmp_path / "plan.moe").write_text(PLAN)
    proc = run_dagc("check", "--no-search", "plan.moe", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert FORGED not in lines
    r = "\N{REPLACEMENT CHARACTER}"
    assert f"Times: kernel profile `h100-sxm`, measured on H100{r}{FORGED} with torch{r}{FORGED} (today{r}{FORGED})" \
        in "\n".join(lines)
