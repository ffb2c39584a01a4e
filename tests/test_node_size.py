"""W535: a node larger than its GPU preset's NVLink domain — 144 GB200s in one node, where an NVL72 rack holds 72 —
prices the collectives between racks at NVLink bandwidth. `dagc check` and `dagc fleet` accepted such a node without
a word, and a fleet sweeping `gpus_per_node = [72, 144]` ranked 144 GB200s as one rack."""

from __future__ import annotations

from pathlib import Path

from dagc.diagnostics import render
from dagc.lang.fleet import fleet_plans, load_fleet
from dagc.lang.load import load_plan_text
from dagc.rules.node_size import fleet_nodes_beyond_domain, node_beyond_domain

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = {gpus}  gpu preset "{gpu}"{node} }
workload { batch = 64  prompt = 512  generate = 64 }
strategy tp 1
"""


def _w535(gpus: int, gpu: str, node: str = "") -> list[str]:
    plan = load_plan_text(PLAN.replace("{gpus}", str(gpus)).replace("{gpu}", gpu).replace("{node}", node))
    return [d.message for d in node_beyond_domain(plan)]


def test_a_node_beyond_an_nvl72_rack():
    (said,) = _w535(144, "gb200", "  gpus_per_node = 144")
    assert said == ("a node of 144 GPUs: one `gb200`'s NVLink domain holds 72 (an NVL72 rack), and dagc prices every "
                    "GPU of a node at NVLink bandwidth, so collectives between 72-GPU domains are priced as if "
                    "inside one")
    assert _w535(144, "gb200") == []                              # its default: 72 a node
    assert _w535(72, "gb200", "  gpus_per_node = 144") == []      # 72 GPUs: one rack whatever the node says
    (board,) = _w535(16, "h200", "  gpus_per_node = 16")
    assert "one `h200`'s NVLink domain holds 8 (a board of 8)" in board
    assert _w535(16, "generic-400t", "  gpus_per_node = 16") == []   # no maker's system to hold it to


FLEET = """model preset "qwen3-30b-a3b"
cluster { gpus = 144  gpu preset "gb200" }
workload { batch = 64  prompt = 512  generate = 64  serving = inflight  rate = 4 requests/s  requests = 200 }
fleet {
  gpu preset "gb200" { price = 6.5 $/h }
  gpus_per_node = [72, 144]
}
"""


def test_a_fleet_says_it_at_the_swept_value(tmp_path: Path):
    path = tmp_path / "f.moe"
    path.write_text(FLEET)
    _, fleet = load_fleet(path)
    (said,) = fleet_nodes_beyond_domain(fleet, fleet_plans(path, fleet))
    text = render(said)
    assert text.startswith(f"{path}:6:24: warning[W535]: a node of 144 GPUs")
    assert "6 |   gpus_per_node = [72, 144]" in text
    assert "= help: write `gpus_per_node = 72` (the `gb200`'s own, its default)" in text
