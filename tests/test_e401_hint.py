"""E401's hint names what fits: fewer replicas or stages at the stage group as written, or a smaller stage group
at the replicas and stages as written (one replica of one stage where not even a group of two fits beside them),
with the GPUs each uses — each degree splitting the heads and the experts evenly, so that the strategy it names
checks clean. Qwen3-30B-A3B: 32 heads, 4 KV heads, 128 experts; 8 GPUs."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check_strategy, parse_strategy

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h100-sxm" }}
workload {{ batch = 64  prompt = 2000  generate = 500 }}
strategy {strategy}
"""

G = "G = max(tp·cp, ep·etp), never their product"
CASES = {
    # pp 2 × G 8 = 16: pp 1 keeps G 8 (8 GPUs); at pp 2 the group may be 4: tp 4 (≤ 4, divides 32 and 4), ep 4
    "pp 2 < tp 4 ; ep 8 >": f"on 8 GPUs: pp 1 (1 × 1 × 8 GPUs), or a stage group of 4 at pp 2 — tp 4 ; ep 4 "
                            f"(1 × 2 × 4 GPUs); {G}",
    # 16 × 16 = 256: no group of 2 fits beside 16 stages; one stage holds a group of 8: tp 8, ep 8
    "pp 16 < tp 8 ; ep 16 >": f"on 8 GPUs: a stage group of 8 at pp 1 — tp 8 ; ep 8 (1 × 1 × 8 GPUs); {G}",
    # dp 4 × 4 = 16: dp 2 (8 GPUs), or tp 2 at dp 4 (4 × 2 = 8)
    "dp 4 < tp 4 >": f"on 8 GPUs: dp 2 (2 × 1 × 4 GPUs), or a stage group of 2 at dp 4 — tp 2 (4 × 1 × 2 GPUs); {G}",
    # 16 stages × ep 256: ep 256 does not split 128 experts (E301), so fewer stages alone are not told; no group
    # of 2 fits beside 16 stages, so one stage holds a group of 8: ep 8 (the largest ≤ 8 dividing 128), tp 1
    "pp 16 < ep 256 >": f"on 8 GPUs: a stage group of 8 at pp 1 — tp 1 ; ep 8 (1 × 1 × 8 GPUs); {G}",
    # ep 4 × etp 4 = 16: etp 4 kept (it fits 8), ep the largest with ep × 4 ≤ 8 that divides 128: 2
    "tp 4 ; ep 4 etp 4": f"on 8 GPUs: a stage group of 8 — tp 4 ; ep 2 etp 4 (1 × 1 × 8 GPUs); {G}",
}


def _e401(strategy: str):
    plan = load_plan_text(PLAN.format(strategy=strategy), "plan.moe")
    r = check_strategy(plan, parse_strategy(strategy), with_capacity=False)
    return plan, [d for d in r.diagnostics if d.code == "E401"]


@pytest.mark.parametrize("strategy", sorted(CASES))
def test_the_hint_names_what_fits(strategy):
    _, found = _e401(strategy)
    assert [d.hint for d in found] == [CASES[strategy]]


def test_every_strategy_a_hint_names_checks_clean():
    named = {"pp 1 < tp 4 ; ep 8 >", "pp 2 < tp 4 ; ep 4 >", "tp 8 ; ep 8", "dp 2 < tp 4 >", "dp 4 < tp 2 >",
             "tp 4 ; ep 2 etp 4", "tp 1 ; ep 8"}          # the strategies the hints above name, written out
    for strategy in sorted(named):
        plan, found = _e401(strategy)
        r = check_strategy(plan, parse_strategy(strategy), with_capacity=False)
        assert not found and r.valid, (strategy, [d.code for d in r.diagnostics if d.is_error])
        assert r.layout.dp * r.layout.pp * r.layout.group_size == 8, strategy


@pytest.mark.parametrize("gpus, hint", [
    # pp 64 × G 8 = 512 on 128 GPUs: E303 refuses more stages than the 48 layers, so no group "at pp 64" is named
    # (until 2026-11-29 "or a stage group of 2 at pp 64 — tp 2 ; ep 2"); pp 16 keeps G 8: 16 × 8 = 128
    (128, f"on 128 GPUs: pp 16 (1 × 16 × 8 GPUs); {G}"),
    # on 500 GPUs the fewest copies would have kept pp 62 (62 × 8 = 496) — past the 48 layers: pp 48 (384 GPUs)
    (500, f"on 500 GPUs: pp 48 (1 × 48 × 8 GPUs); {G}"),
])
def test_the_hint_never_keeps_more_stages_than_layers(gpus, hint):
    text = PLAN.replace("gpus = 8", f"gpus = {gpus}").format(strategy="pp 64 < ep 8 >")
    plan = load_plan_text(text, "plan.moe")
    r = check_strategy(plan, parse_strategy("pp 64 < ep 8 >"), with_capacity=False)
    assert "E303" in {d.code for d in r.diagnostics}
    assert [d.hint for d in r.diagnostics if d.code == "E401"] == [hint]


BIG = """model preset "qwen3-235b-a22b"
cluster {{ gpus = {gpus}  gpu preset "h100-sxm" }}
workload {{ batch = 64  prompt = 2000  generate = 300 }}
strategy {strategy}
"""


@pytest.mark.parametrize("gpus, strategy, hint", [
    # 235.1 B parameters in bf16, 437.90 GiB: a replica of 4 H100s holds 4 × 75.65 GiB (79.65 less the 4 GiB
    # reserve) = 302.6 GiB, so "a stage group of 4 at dp 2 — tp 4 ; ep 4" (until 2026-11-30) is E402 whatever its
    # degrees; dp 1 keeps 8 GPUs, 605.2 GiB
    (12, "dp 2 < tp 8 ; ep 8 >", f"on 12 GPUs: dp 1 (1 × 1 × 8 GPUs); {G}"),
    # on 6 GPUs no group of 8 fits and a group of 4 does not hold the weights; 6 × 75.65 = 453.9 GiB would
    (6, "tp 8 ; ep 8", "on 6 GPUs, fewer replicas or a smaller stage group would not hold the model's 437.90 GiB of "
                       "weights (75.65 GiB a GPU, its reserve taken off): more stages a replica (pp), or more GPUs; "
                       f"{G}"),
    # 5 × 75.65 = 378.3 GiB: no layout of 5 holds them
    (5, "tp 8 ; ep 8", "on 5 GPUs, fewer replicas or a smaller stage group would not hold the model's 437.90 GiB of "
                       f"weights (75.65 GiB a GPU, its reserve taken off): more GPUs; {G}"),
])
def test_the_hint_names_no_change_whose_gpus_cannot_hold_the_weights(gpus, strategy, hint):
    plan = load_plan_text(BIG.format(gpus=gpus, strategy=strategy), "plan.moe")
    r = check_strategy(plan, parse_strategy(strategy), with_capacity=False)
    assert [d.hint for d in r.diagnostics if d.code == "E401"] == [hint]
    if gpus == 12:      # the change it names checks with no E402
        r = check_strategy(plan, parse_strategy("tp 8 ; ep 8"), with_capacity=False)
        assert "E402" not in {d.code for d in r.diagnostics}
