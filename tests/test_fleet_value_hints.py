"""A fleet's swept value that the plan refuses is located at the value, and its hint is written as the fleet's line:
`engine = [vllm@0.5, sglang]` was hinted `--set cluster.engine=vllm@0.33.0`, the option the fleet gives the plan
internally, which its author never wrote (dagc.lang.fleet._relocated)."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.fleet import fleet_plans, load_fleet

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 512  generate = 128  serving = inflight  rate = 4 requests/s  requests = 300 }
fleet {
  engine = [vllm@0.5, sglang]
}
"""


def test_an_unknown_release_in_the_fleet_is_hinted_the_fleets_line(tmp_path):
    path = tmp_path / "f.moe"
    path.write_text(PLAN)
    with pytest.raises(PlanError) as exc:
        _, fleet = load_fleet(path)
        fleet_plans(path, fleet)
    (d,) = exc.value.diagnostics
    assert (d.code, d.span.line, d.span.column, d.span.text) == ("E101", 5, 13, "vllm@0.5")
    assert d.hint == ("the vLLM releases dagc knows: 0.6–0.33 (e.g. `engine = vllm@0.33.0`); `engine = vllm` is "
                      "0.33.0, the release dagc prices by default")
    assert "--set" not in d.hint
