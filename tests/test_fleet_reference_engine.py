"""A fleet's `engine` list that names `pytorch`, dagc's plain reference, is E104 at that value: no one serves with it
and `dagc launch` starts none of it, yet until 2026-12-03 the fleet ranked "2 x h100-sxm on pytorch" among the
clusters to rent and named it cheaper to rent than the best."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.fleet import load_fleet

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 64  prompt = 512  generate = 128  serving = inflight  rate = 4 requests/s  requests = 200 }
require { ttft_p99 <= 1 s  tpot_p90 <= 50 ms }
fleet {
  gpu preset "h100-sxm" { price = 2.49 $/h }
  gpus = [1, 2]
  engine = [ENGINES]
}
"""


@pytest.mark.parametrize(("engines", "kept"), [("vllm, sglang, pytorch", "`engine = [vllm, sglang]`"),
                                                ("pytorch@2.9, trtllm", "`engine = [trtllm]`"),
                                                ("pytorch", "an engine one serves with, `engine = [vllm]`")])
def test_the_reference_engine_is_refused_at_its_value(tmp_path, engines, kept):
    path = tmp_path / "f.moe"
    path.write_text(PLAN.replace("ENGINES", engines))
    with pytest.raises(PlanError) as exc:
        load_fleet(path)
    [d] = [x for x in exc.value.diagnostics if x.code == "E104"]    # `pytorch@2.9` is E101 too: no releases
    value = next(v.strip() for v in engines.split(",") if v.strip().startswith("pytorch"))
    assert d.code == "E104" and d.span is not None and d.span.line == 8
    assert path.read_text().splitlines()[7][d.span.column - 1:].startswith(value)
    assert d.message.startswith(f"`{value}` is dagc's plain reference (unfused, eager), which no one serves")
    assert d.hint == f"list {kept}; `dagc check PLAN --set cluster.engine=pytorch` gives the reference's figures"


def test_engines_one_serves_with_are_read(tmp_path):
    path = tmp_path / "f.moe"
    path.write_text(PLAN.replace("ENGINES", "vllm, sglang"))
    _, fleet = load_fleet(path)
    assert [s.values for s in fleet.sweeps if s.field == "engine"] == [("vllm", "sglang")]
