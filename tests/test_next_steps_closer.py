"""A next step that does not meet is offered only when it brings the missed requirements nearer their targets
(`dagc.verdict.step_effect.closer`); of the replica counts that do, the nearest, one the cluster holds before one it
must grow to; when none does, the terminal and report.md say that no number of replicas helps
(`dagc.verdict.step_replicas`). Until 2026-12-01 the last replica count tried that moved any figure was offered,
the largest: "512 GPUs: 8 replicas" on a 256-GPU cluster, lowering the missed throughput per GPU."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dagc.export.markdown import report_md
from dagc.lang.load import load_plan_text
from dagc.lang.overrides import load_plan_with
from dagc.verdict.check import check
from dagc.verdict.next_steps import with_next_steps
from dagc.verdict.step_effect import closer, shortfall

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MIXTRAL = ('model preset "mixtral-8x7b"\ncluster { gpus = GPUS  gpu preset "h100-sxm"  engine = pytorch }\n'
           "workload { batch = 128  prompt = 2048  generate = 256 }\nrequire { tpot <= 1 ms }\nstrategy tp 8\n")


@pytest.fixture(scope="module")
def pp8():
    """`pp 8 < ep 8 >` on examples/10b-moe-pp16-ep16-256gpu.moe: 57.68 tokens/s/GPU against 100 tokens/ms/gpu."""
    plan = load_plan_with(EXAMPLES / "10b-moe-pp16-ep16-256gpu.moe", [])
    (r,) = with_next_steps(check(plan, "pp 8 < ep 8 >"))
    return plan, r


def test_replicas_that_lower_the_missed_throughput_are_not_offered(pp8):
    plan, r = pp8
    assert r.metrics.decode_tokens_per_s_per_gpu == pytest.approx(57.68, rel=1e-3)
    (dp8,) = check(plan.model_copy(update={"cluster": plan.cluster.model_copy(update={"gpus": 512})}),
                   "dp 8 < pp 8 < ep 8 > >")
    assert dp8.metrics.decode_tokens_per_s_per_gpu == pytest.approx(38.06, rel=1e-3)   # further from its target
    assert not closer(dp8, r)
    assert [s.kind for s in r.next_steps] == ["precision"]
    assert r.no_step == ("no number of replicas helps: with 2, 4 or 8 replicas of the strategy, "
                         "`decode_throughput >= 100 tokens/ms/gpu` is no nearer its target, the replicas sharing the "
                         "plan's batch of 128 requests",)
    assert "- No number of replicas helps: with 2, 4 or 8 replicas of the strategy," in report_md(r)


@pytest.mark.parametrize(("gpus", "offered"), [
    (16, "16 GPUs: 2 replicas of the strategy, each with 64 of the batch's 128 requests in flight"),
    (8, "64 GPUs: 8 replicas of the strategy, each with 16 of the batch's 128 requests in flight; the cluster "
        "has 8: 56 more GPUs")])
def test_of_the_replicas_that_come_nearer_the_cluster_holds_the_one_offered(gpus, offered):
    """`tpot <= 1 ms`, which Mixtral's `tp 8` (13.64 ms) misses and no replica count meets: each replica count
    shortens TPOT. On 16 GPUs the 2 replicas it holds are offered, not 8 on 64 GPUs; on 8 GPUs, where every
    replica count must grow the cluster, the nearest, which says how many GPUs more it needs."""
    (r,) = with_next_steps(check(load_plan_text(MIXTRAL.replace("GPUS", str(gpus)))))
    assert r.metrics.tpot_s == pytest.approx(13.64e-3, rel=1e-3)
    (step,) = [s for s in r.next_steps if s.kind == "gpus"]
    assert step.change == offered and not step.meets
    assert step.figures["tpot_s"] < r.metrics.tpot_s and r.no_step == ()


def test_the_shortfall_is_a_log_ratio_summed_over_the_missed_lines(pp8):
    _, r = pp8
    missed = {"decode_throughput >= 100 tokens/ms/gpu"}
    assert shortfall(r, missed) == pytest.approx(math.log(100 / 0.05768), rel=1e-3)
    assert shortfall(r, {"ttft <= 10 s"}) == 0.0                                   # met: no distance
