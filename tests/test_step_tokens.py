"""The tokens a decode step's busiest rank carries, derived once (`dagc.ir.step_tokens`): the DAG's shapes
(`dagc.ir.op_shapes.Shapes`) and W532, which asks whether TensorRT-LLM's default CUDA graphs hold that step, read
the same derivation (W532 computed it on its own until 2026-11-27)."""

from __future__ import annotations

import pytest

from dagc.ir.dag import Phase, StagePass
from dagc.ir.ops import OpShapes, rank_dims
from dagc.ir.step_tokens import decode_tokens_per_rank
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check


def _plan(strategy: str, gpus: int, batch: int, extra: str = ""):
    return load_plan_text(f"""
model preset "mixtral-8x7b" {{ layers = 2 }}
cluster {{ gpus = {gpus}  gpu preset "h100-sxm"  engine = trtllm }}
workload {{ batch = {batch}  prompt = 128  generate = 8  routing = uniform {extra} }}
strategy {strategy}
""")


@pytest.mark.parametrize(("strategy", "gpus", "batch", "extra", "tokens"), [
    ("tp 1", 1, 33, "", 33.0),                              # every request on the one rank
    ("dp 2 < tp 1 >", 2, 67, "", 34.0),                     # replicas of 34 and 33 requests: the first is busiest
    ("tp 1", 1, 70, "microbatches = 2", 35.0),              # two micro-batches of 35
])
def test_the_dags_decode_step_and_w532_carry_the_same_tokens(strategy, gpus, batch, extra, tokens):
    (r,) = check(_plan(strategy, gpus, batch, extra))
    lay, w = r.layout, r.plan.workload
    # by hand above; the DAG's decode shapes at each of its rows, unpadded (no engine), at their busiest rank
    shapes = [OpShapes(r.plan.model, w, lay, rank_dims(r.plan.model, lay), StagePass(Phase.DECODE, row, 0))
              for row in lay.requests()]
    assert max(float(s.t.max()) for s in shapes) == decode_tokens_per_rank(w, lay) == tokens
    (w532,) = [d for d in r.diagnostics if d.code == "W532"]
    assert f"no decode step of {tokens:g} requests a rank" in w532.message      # one position each


def test_w532_reads_the_one_derivation(monkeypatch):
    """64 requests (a token each) a rank is one of TensorRT-LLM's default graphs: no W532; told 33, W532 says 33."""
    import dagc.rules.engine as engine
    assert not [d for d in check(_plan("tp 1", 1, 64))[0].diagnostics if d.code == "W532"]
    monkeypatch.setattr(engine, "decode_tokens_per_rank", lambda workload, lay: 33.0)
    (w532,) = [d for d in check(_plan("tp 1", 1, 64))[0].diagnostics if d.code == "W532"]
    assert "no decode step of 33 requests a rank" in w532.message
