"""The physical bounds (W506, N604) with speculative decoding: a decode step emits `tokens_per_step` tokens per
request, so TPOT's bound is the step's over them, and the step verifies k + 1 positions and runs the draft.

Every bound must hold for dagc's own figures: no strategy's TPOT below its TPOT bound, no strategy's throughput
above its throughput bound, whatever the drafting method and serving mode.
"""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.plan.workload import Requirement, RequirementKind
from dagc.rules.bounds import bounds, requirement_bound
from dagc.verdict.check import check

HEAD = 'model preset "gpt-oss-120b"\ncluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }\n'
STRATEGIES = ("strategy one = tp 1", "strategy wide = tp 8 ; ep 8", "strategy twice = dp 2 < tp 4 >",
              "strategy piped = pp 2 < tp 4 >")
SPECULATIVE = (
    "speculative { method = ngram  tokens = 7  accept_length = 8 }",
    "speculative { method = eagle  tokens = 3  acceptance = 0.7 }",
    "speculative { method = mtp  tokens = 1  acceptance = 0.9 }",
)


def _plan(spec: str, serving: str, require: str = "") -> str:
    workload = f"workload {{ batch = 64  prompt = 1024  generate = 1024  serving = {serving}\n  {spec} }}\n"
    return HEAD + workload + require + "\n" + "\n".join(STRATEGIES)


def _req(kind: RequirementKind, op: str, per_gpu: bool = False) -> Requirement:
    return Requirement(kind=kind, op=op, target=1.0, per_gpu=per_gpu, text=f"{kind.value} {op} 1")


TPOT = _req(RequirementKind.TPOT, "<=")
DECODE = _req(RequirementKind.DECODE_THROUGHPUT, ">=", per_gpu=True)
THROUGHPUT = _req(RequirementKind.THROUGHPUT, ">=", per_gpu=True)


@pytest.mark.parametrize("serving", ["static", "inflight"])
@pytest.mark.parametrize("spec", SPECULATIVE, ids=lambda s: s.split()[4])
def test_every_strategy_meets_its_own_bounds_and_the_clusters(spec: str, serving: str):
    results = check(load_plan_text(_plan(spec, serving)))
    assert len(results) == len(STRATEGIES)
    for r in results:
        assert r.metrics is not None and r.layout is not None, r.diagnostics
        p, lay, m = r.plan, r.layout, r.metrics
        mine = bounds(p.model, p.workload, p.cluster, gpus=lay.gpus_used, dp=lay.dp)
        whole = bounds(p.model, p.workload, p.cluster, gpus=p.cluster.gpus, dp=1)
        for b in (mine, whole):
            tpot, _ = requirement_bound(TPOT, b) or (0.0, True)
            decode, _ = requirement_bound(DECODE, b) or (0.0, False)
            throughput, _ = requirement_bound(THROUGHPUT, b) or (0.0, False)
            assert tpot <= m.tpot_s * (1 + 1e-9), (r.strategy.label, b.gpus, tpot, m.tpot_s)
            assert b.ttft_s <= m.ttft_server_s * (1 + 1e-9), (r.strategy.label, b.gpus)
            assert decode >= m.decode_tokens_per_s / lay.gpus_used * (1 - 1e-9), (r.strategy.label, b.gpus)
            assert throughput >= m.throughput_tokens_per_s / lay.gpus_used * (1 - 1e-9), (r.strategy.label, b.gpus)


def test_the_tpot_bound_is_the_steps_over_the_tokens_it_emits():
    # n-gram drafting runs no draft pass: a step verifies 8 positions per request and emits 8 tokens each
    (r, *_) = check(load_plan_text(_plan(SPECULATIVE[0], "inflight")))
    b = bounds(r.plan.model, r.plan.workload, r.plan.cluster, gpus=8)
    assert b.tokens_per_step == 8.0
    assert requirement_bound(TPOT, b) == (pytest.approx(b.tpot_s / 8), True)
    assert b.decode_tokens_per_s == pytest.approx(64 * 8 / b.tpot_s)
    # in flight every token of a request's life is decoded at 64 / TPOT: a prompt token per 1024/1024 of them
    assert b.throughput_tokens_per_s == pytest.approx(b.decode_tokens_per_s * 2)


@pytest.mark.parametrize(("spec", "serving", "require", "strategy"), [
    (SPECULATIVE[0], "inflight", "require { tpot <= 2 ms }", "wide"),
    (SPECULATIVE[1], "static", "require { tpot <= 16 ms }", "one"),
])
def test_a_met_target_is_never_beyond_the_bound(spec: str, serving: str, require: str, strategy: str):
    results = check(load_plan_text(_plan(spec, serving, require)))
    (r,) = [x for x in results if x.strategy.label == strategy]
    assert r.metrics is not None and r.verdict.meets_requirements is True, r.diagnostics
    codes = {d.code for x in results for d in x.diagnostics}
    assert "N604" not in codes
    assert not [d for d in r.diagnostics if d.code == "W506"]
