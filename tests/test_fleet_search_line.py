"""The `dagc search` line `dagc fleet` prints for its best cluster gives each `--set` as a user types it: an engine
the fleet writes in quotes (`engine = ["vllm"]`) is `--set cluster.engine=vllm`, not `--set
'cluster.engine="vllm"'`, and the line, split as a shell splits it, runs."""

from __future__ import annotations

import shlex

from dagc.cli.main import main
from dagc.lang.fleet import load_fleet

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 4 requests/s  requests = 20 }
require { ttft_p99 <= 1 s  tpot_p90 <= 50 ms }
strategy tp 1
fleet {
  gpu preset "h100-sxm" { price = 2.5 $/h }
  engine = ["vllm", vllm@0.33.0]
  mix "chat" { lengths = "fixed" }
}
"""


def test_a_quoted_engine_is_set_as_typed(tmp_path):
    path = tmp_path / "fleet.moe"
    path.write_text(PLAN)
    _, fleet = load_fleet(path)
    assert fleet.sweeps[0].values == ("vllm", "vllm@0.33.0")
    assert [p.options for p in fleet.points()][0] == (
        "cluster.gpu=h100-sxm", "cluster.price=2.5 $/h", "cluster.engine=vllm", "workload.lengths=fixed")


def test_the_printed_search_line_is_as_typed_and_runs(tmp_path, capsys):
    path = tmp_path / "fleet.moe"
    path.write_text(PLAN.replace('  mix "chat" { lengths = "fixed" }\n', "").replace(", vllm@0.33.0", ""))
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    said = capsys.readouterr().out.replace("\n", " ")
    command = said[said.index("(dagc search ") + 1:said.index(" gives the same pick")]
    assert command == (f"dagc search {shlex.quote(str(path))} --rate 4 --set cluster.gpu=h100-sxm "
                       "--set 'cluster.price=2.5 $/h' --set cluster.engine=vllm")
    assert main([*shlex.split(command)[1:], "-o", str(tmp_path / "search"), "--quiet"]) == 0
    assert "tp 1" in capsys.readouterr().out
