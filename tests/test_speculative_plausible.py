"""W525: speculative decoding that emits more tokens a step than any published draft is accepted for — at most
0.92 a draft (DeepSeek-V3's MTP, TensorRT-LLM's B200 blog: `dagc.rules.speculative.BEST_ACCEPTANCE`) — is
warned of, located at the acceptance the plan gives, and its figures are kept."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

MIXTRAL = ('model preset "mixtral-8x7b"\ncluster {{ gpus = 8  gpu preset "h100-sxm" }}\n'
           "workload {{ batch = 8  prompt = 512  generate = 64\n  speculative {{ {spec} }} }}\nstrategy tp 8\n")
DSV3 = ('model preset "deepseek-v3" {{ weights = fp8 }}\ncluster {{ gpus = 16  gpu preset "h200" }}\n'
        "workload {{ batch = 32  prompt = 1000  generate = 200\n  speculative {{ {spec} }} }}\nstrategy tp 1 ; ep 16\n")


def _w525(text: str):
    (r,) = check(load_plan_text(text))
    return r, [d for d in r.diagnostics if d.code == "W525"]


@pytest.mark.parametrize("spec", [
    "method = eagle  tokens = 3  acceptance = 0.7",         # 1 + .7 + .49 + .343 = 2.533 < 3.4895
    "method = eagle  tokens = 1  accept_length = 1.92",     # TensorRT-LLM's one MTP draft on B200: 1.92, the bound
    "method = eagle  tokens = 2  acceptance = 0.92",        # exactly 1 + .92 + .8464
])
def test_acceptance_that_published_drafts_reach_is_not_warned_of(spec):
    _, warned = _w525(MIXTRAL.format(spec=spec))
    assert warned == []


def test_acceptance_above_the_best_published_draft_is_warned_of_where_it_is_written():
    # 2 drafts at 0.95: 1 + .95 + .9025 = 2.8525 tokens a step, past 1 + .92 + .8464 = 2.7664
    text = MIXTRAL.format(spec="method = eagle  tokens = 2  acceptance = 0.95")
    r, (w,) = _w525(text)
    assert w.severity.value == "warning"
    assert w.message.startswith("speculative decoding emits 2.85 tokens a step (2 drafted tokens, each accepted at "
                                "0.95), more than published drafts are accepted for: at most 0.92 a draft")
    assert "2.77 tokens a step at 2 drafts" in w.message and "MTP layer" not in w.message
    assert (w.span.line, w.span.column) == (4, 45)     # "  speculative { " 16, "method = eagle  " 16, "tokens = 2  " 12
    # the figures are the plan's: the same as with a plausible acceptance giving the same tokens a step
    same, warned = _w525(MIXTRAL.format(spec="method = eagle  tokens = 2  accept_length = 2.8525"))
    assert [d.code for d in warned] == ["W525"]
    assert r.metrics.tpot_s == pytest.approx(same.metrics.tpot_s, rel=1e-12)


def test_sixteen_mtp_drafts_all_accepted_are_warned_of():
    # 16 drafts all accepted: 17 tokens a step; at 0.92 a draft at most (1 − 0.92^17) / 0.08 = 9.4714 (0.92^17 =
    # 0.24229); past the first, each MTP draft runs DeepSeek-V3's one MTP layer again
    r, (w,) = _w525(DSV3.format(spec="method = mtp  tokens = 16  acceptance = 1"))
    assert "emits 17 tokens a step (16 drafted tokens, each accepted at 1; past the first, each runs the model's " \
           "one MTP layer again)" in w.message
    assert "9.47 tokens a step at 16 drafts" in w.message
    assert r.metrics is not None and r.metrics.tpot_s > 0           # the figures are still given
    _, also = _w525(DSV3.format(spec="method = mtp  tokens = 16  accept_length = 9.5"))
    assert [d.code for d in also] == ["W525"] and "accept_length 9.5" in also[0].message
