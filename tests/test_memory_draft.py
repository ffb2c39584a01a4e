"""report.json's `memory.model` and report.md's "Memory of the model" tell the speculative draft's layer apart from
the model's weights (`memory.model.draft`, `dagc.memory.draft`). Until 2026-11-30 the categories summed every
rank's weights, the draft's layer among them, and called the excess copies: DeepSeek-V3 with MTP on `tp 1 ; ep 32`
read "routed experts … 1.02×" (its MTP layer's 256 experts) and the KV cache 1.02× — replication that is not there.
Figures by hand below, on tests/fixtures/small.moe (the tiny model of tests/test_report.py) with an MTP draft."""

from __future__ import annotations

import pytest

from dagc.export.markdown import report_md
from dagc.export.report import report_json
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from conftest import ROOT

SMALL = (ROOT / "tests" / "fixtures" / "small.moe").read_text()
MTP = SMALL.replace("microbatches = 2 }",
                    "microbatches = 2\n  speculative { method = mtp  tokens = 1  acceptance = 0.8 } }")

H, LAYERS, FFN, VOCAB = 256, 4, 512, 1000
ATTENTION = 2 * H * 8 * 32 + 2 * H * 2 * 32          # q and o of 8 heads, k and v of 2, a layer
EXPERTS = 4 * 3 * H * FFN                             # 4 gated experts
SHARED = 3 * H * FFN
NORMS_ROUTER = 2 * H + H * 4                          # two norms and the router of 4 experts
DRAFT = ATTENTION + EXPERTS + SHARED + NORMS_ROUTER   # MTP: one more MoE layer like the model's


def _model_memory(text: str) -> dict:
    (r,) = check(load_plan_text(text, name="small.moe"))
    return report_json(r)["memory"]["model"], report_md(r)


def test_the_draft_is_no_copy_of_the_models_weights():
    plain, _ = _model_memory(SMALL)
    t, md = _model_memory(MTP)
    assert DRAFT == 2_131_456
    # the model's categories as without speculation: tp 2 splits all but the norms and routers (each GPU whole)
    assert t["categories"] == plain["categories"] and t["weights"] == plain["weights"]
    cats = {c["category"]: c["copies"] for c in t["categories"]}
    assert cats["norms_and_routers"] == 2.0 and cats["attention"] == cats["routed_experts"] == 1.0
    # the draft's layer on the last stage's two GPUs: split as the model's layers are, its norms and router on both
    d = t["draft"]
    assert (d["method"], d["params"], d["bytes"]) == ("mtp", DRAFT, DRAFT * 2)
    assert d["all_ranks_bytes"] == (DRAFT + NORMS_ROUTER) * 2 == 4_265_984
    assert d["copies"] == pytest.approx(4_265_984 / 4_262_912)
    # KV: the model's 4 layers × (K and V) × 2 KV heads × 32 × 2 bytes = 1,024 B a token, the draft's layer 256 B,
    # for 8 requests of 136 tokens
    assert t["kv_cache"]["all_ranks_bytes"] == t["kv_cache"]["batch_bytes"] == 1024 * 136 * 8
    assert d["kv_all_ranks_bytes"] == 256 * 136 * 8
    assert "| routed experts | 6.3 M | 12.0 MiB | 12.0 MiB | 1.00× |" in md        # 4 × 1,572,864, held once
    assert "| speculative draft (mtp) | 2.1 M | 4.1 MiB | 4.1 MiB | 1.00× |" in md
    assert "held over all GPUs: 1.1 MiB (1.00×), and the draft's layer 272.0 KiB more." in md      # 278,528 B


def test_no_draft_without_a_draft_layer():
    # n-gram drafting runs no model: nothing to tell apart
    t, md = _model_memory(MTP.replace("method = mtp", "method = ngram"))
    assert t["draft"] is None and "speculative draft" not in md
