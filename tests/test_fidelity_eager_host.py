"""bench/fidelity_eager_host.py: SGLang's eager steps given a host time per layer or per launch (an experiment on the
calibration half, docs/cost-model.md, "SGLang's eager steps' host time, measured: not a term (2026-12-01)")."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import fidelity_corpus as fc  # noqa: E402, I001
import fidelity_eager_host as eh  # noqa: E402

from dagc.ir.dag import Phase  # noqa: E402
from dagc.plan.engines import EngineTerms  # noqa: E402


def _qwen3_8b():
    return next((sid, r) for sid, r in eh.fronted_jobs() if r.id == "qwen3-8b-h100-sglang-tp1-bf16-sharegpt-c4")


def test_a_host_time_per_layer_is_paid_once_per_layer_of_each_eager_step():
    """Qwen3-8B (36 layers) on one H100 under SGLang, 4 clients: its requests' first tokens come out of one eager
    step each (the prompt's, SGLang's extend batch), so 1 ms a layer of an eager step adds at least 36 ms to the
    mean TTFT — and the queue a longer prefill makes for the next few ms more —, where its decode steps, replayed
    from CUDA graphs, carry none of it: TPOT rises by the prefills interleaved, under 1 ms a token."""
    sid, run = _qwen3_8b()
    plain = fc.evaluate(sid, run)["dagc"]
    with eh.patched(per_layer_s=1e-3):
        slow = fc.evaluate(sid, run)["dagc"]
    assert 36.0 <= slow["ttft_ms"] - plain["ttft_ms"] <= 40.0
    assert 0.0 < slow["tpot_ms"] - plain["tpot_ms"] < 1.0
    assert fc.evaluate(sid, run)["dagc"] == plain                # the price is restored on leaving


def test_the_fit_reads_only_the_calibration_halfs_sglang_runs_that_time_the_front_end():
    """The runs the front end and the host time are fitted on: calibration sources only, SGLang from 0.4, a client
    that does not send every request at once — InferenceX's and GPUStack's Qwen3-8B runs in, the cookbook's
    (held out), SGLang 0.3.0's and the offline bursts out."""
    half = fc.halves()
    ids = {r.id for _, r in eh.fronted_jobs()}
    assert all(half[sid] == "calibration" for sid, _ in eh.fronted_jobs())
    assert {"dsr1-h200-tp8-1k1k-c4", "dsr1-fp4-b200-tp8-ep8-1k1k-c4", "qwen3-8b-h100-sglang-tp1-fp8-sharegpt-c4"} <= ids
    assert not ids & {"dsr1-b200-tp8-chat-c16", "glm-4.6-h200-sglang-tp8-fp8-sharegpt"}
    assert not any("0.3.0" in i for i in ids)


def test_an_extend_batch_is_eager_under_sglang():
    """What the experiment rests on: dagc runs SGLang's mixed (prompt) steps eagerly, its decode steps in graphs."""
    from dagc.ir.cuda_graphs import graph_size
    from dagc.plan.engines import ENGINE_TERMS

    sglang: EngineTerms = ENGINE_TERMS["sglang"]
    assert graph_size(200.0, Phase.MIXED, sglang) == (None, True)
    assert graph_size(4.0, Phase.DECODE, sglang) == (4.0, False)
