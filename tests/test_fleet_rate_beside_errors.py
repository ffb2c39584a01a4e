"""A plan that `dagc fleet` refuses for another reason (a cluster without `gpus`; until 2026-11-29 a plan without a
`strategy` line, which `dagc fleet` now reads) is not also told its fleet has no
arrival rate when its workload writes one (dagc.lang.fleet.load_fleet): the E103 "the fleet has no arrival rate
... write `rate = 12 requests/s` in the fleet or the workload" stood beside a workload that read `rate = 4
requests/s`. Where the workload writes none, that E103 is still said beside the plan's own errors."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.fleet import load_fleet

HEAD = 'model preset "qwen3-30b-a3b"\ncluster { gpu preset "h100-sxm" }\n'
FLEET = 'fleet { gpu preset "h100-sxm" { price = 2.49 $/h } }\n'


def said(tmp_path, workload: str) -> list[str]:
    path = tmp_path / "plan.moe"
    path.write_text(HEAD + workload + "\n" + FLEET)                     # no `gpus`: the plan's own E103
    with pytest.raises(PlanError) as exc:
        load_fleet(path)
    return [d.message for d in exc.value.diagnostics]


def test_a_workload_rate_is_no_missing_rate(tmp_path):
    messages = said(tmp_path, "workload { batch = 64  prompt = 1024  generate = 256  serving = inflight  "
                              "rate = 4 requests/s  requests = 200 }")
    assert messages == ["the cluster has no `gpus`"]


@pytest.mark.parametrize("workload", [
    "workload { batch = 64  prompt = 1024  generate = 256  serving = inflight }",
    "workload { batch = 64  prompt = 1024  generate = 256  serving = inflight  requests = 200 }",
])
def test_no_rate_anywhere_is_still_said(tmp_path, workload):
    assert "the fleet has no arrival rate to compare the clusters at" in said(tmp_path, workload)
