"""What the load simulation's exact step prices (`dagc.serve.step_prices.StepPrices`) share, and that sharing it
changes no price: a check's strategies, its search's candidates and its next steps at another batch price on one
timer (`dagc.schedule.timer.deployment_key` sets aside the batch, micro-batches and overlap), a step's final norm
and LM head are made once per requests whatever its chunk (`Shapes.rows_key`), and a replica's layout is resolved
once per requests in flight (`StepPrices._layout`) — each step still the one a fresh timer gives on a layout
resolved for it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from dagc.ir.dag import Phase, StagePass
from dagc.ir.ops import Op, OpShapes, rank_dims
from dagc.lang.load import load_plan, load_plan_text
from dagc.layout.layout import resolve
from dagc.layout.mix import shares
from dagc.plan.workload import Overlap
from dagc.schedule.recurrence import Recurrence
from dagc.schedule.timer import Timer, deployment_key, shared_timer
from dagc.schedule.timer_base import TimerCore
from dagc.serve.step_prices import StepPrices
from dagc.verdict.check import check
from conftest import templates_made

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PLANS = ["qwen3-30b-a3b-traffic.moe", "llama-4-maverick-8xh200.moe", "gpt-oss-120b-1xh100.moe"]


def exact_step(plan, strategy, n: int, p: int, ell: int) -> float:
    """The step of `n` requests in flight a replica and `p` prompt tokens of a chunk at a prefix of `ell`, as
    `StepPrices` documents it, from nothing shared: its workload and layout made here, a fresh timer."""
    w = plan.workload
    update = {"batch": n * strategy.dp, "batch_max": False, "chunked_prefill": True, "prompt": ell}
    if p:
        lay = resolve(plan.model, plan.cluster, w.model_copy(update=update), strategy)
        update["chunk"] = -(-n // lay.adp) * w.step_positions + p
    w = w.model_copy(update=update)
    lay = resolve(plan.model, plan.cluster, w, strategy)
    rec = Recurrence(plan, lay, w, Timer(plan))
    if not p:
        return rec.decode_step()
    assert shares(w, lay).chunk_prompt_tokens == p          # a chunk the step carries itself (not extrapolated)
    return rec.mixed_step()


def _shapes(plan, prompt: int) -> list[tuple[int, int, int]]:
    """Steps of several shapes: decode, a first prompt token, a chunk below the prefix; at two prefixes."""
    return [(n, p, ell) for n in (1, 5, 24) for p in (0, 1, prompt // 3) for ell in (prompt, 2 * prompt)]


@pytest.mark.parametrize("name", PLANS)
def test_a_step_priced_on_a_shared_timer_is_the_exact_step(name):
    """Each strategy's steps, priced after the other strategies' and again at another batch (a next step's
    re-check: the same timer, no op made again), are the steps priced from nothing."""
    plan = load_plan(EXAMPLES / name)
    # the strategies as the check lays them out, its traffic left out (its steps are priced here)
    plain = plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": None})})
    results = [r for r in check(plain) if r.layout is not None]
    assert results
    keys = _shapes(plan, plan.workload.prompt)
    for r in results:
        prices = StepPrices(r.plan, r.strategy, r.layout)
        got = [prices.step(*key) for key in keys]
        assert got == [exact_step(r.plan, r.strategy, *key) for key in keys], r.strategy.text
        other = r.plan.model_copy(update={"workload": r.plan.workload.model_copy(update={"batch": 3})})
        with templates_made() as made:
            again = StepPrices(other, r.strategy, resolve(other.model, other.cluster, other.workload, r.strategy))
            assert [again.step(*key) for key in keys] == got, r.strategy.text
        assert made[0] == 0, r.strategy.text


def test_a_check_at_another_batch_micro_batches_or_overlap_times_on_the_same_timer():
    plan = load_plan(EXAMPLES / "qwen3-30b-a3b-traffic.moe")
    w = plan.workload
    for update in ({"batch": 7}, {"microbatches": 1}, {"overlap": Overlap.MICROBATCH}, {"traffic": None},
                   {"batch_max": True}):
        other = plan.model_copy(update={"workload": w.model_copy(update=update)})
        assert deployment_key(other) == deployment_key(plan), update
        assert shared_timer(other) is shared_timer(plan), update
    longer = plan.model_copy(update={"workload": w.model_copy(update={"prompt": 2 * w.prompt})})
    assert deployment_key(longer) != deployment_key(plan)    # what the timer's keys assume of its workload


PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h200" }
workload { batch = 8  prompt = 1000  generate = 200  serving = inflight }
strategy tp 4
"""


def test_a_mixed_steps_final_norm_and_lm_head_read_its_requests_not_its_chunk():
    """Qwen3-30B-A3B on tp 4, 8 requests in a mixed step with a chunk of 100 or of 300 prompt tokens (both
    eager: above vLLM's largest graph of mixed steps, or both graphed, as the engine says): the final norm and
    the LM head run on one row a request, the same template at either chunk; the QKV projection on every token."""
    r = check(load_plan_text(PLAN))[0]
    plan, lay = r.plan, r.layout
    d = rank_dims(plan.model, lay)
    at = [OpShapes(plan.model, plan.workload.model_copy(update={"chunk": 8 + c}), lay, d,
                   StagePass(Phase.MIXED, np.array([8.0]), 0), plan.cluster.engine.terms) for c in (100, 300)]
    assert at[0].chunk == 100 and at[1].chunk == 300 and at[0].eager == at[1].eager
    for op in (Op.FINAL_NORM, Op.LM_HEAD):
        assert at[0].reads(op) == at[1].reads(op), op
    assert at[0].reads(Op.QKV) != at[1].reads(Op.QKV)
    head = at[1].make(Op.LM_HEAD)
    # 2 FLOPs a weight a row: 151,936 × 2,048 weights over 4 ranks, 8 rows (one a request)
    assert np.all(head.flops == 2 * 151936 * 2048 / 4 * 8) and float(head.flops[0]) == 1_244_659_712
    assert np.all(at[0].make(Op.LM_HEAD).flops == head.flops)


def test_a_replicas_layout_is_resolved_once_per_requests_in_flight():
    plan = load_plan_text(PLAN)
    r = check(plan)[0]
    prices = StepPrices(r.plan, r.strategy, r.layout)
    for p in (0, 64, 500):
        for ell in (1000, 2000):
            prices.step(5, p, ell)
    assert list(prices._layouts) == [5]
    assert prices._layouts[5].batch == 5 and prices._layouts[5].request_rows == resolve(
        plan.model, plan.cluster, plan.workload.model_copy(update={"batch": 5}), r.strategy).request_rows


def test_a_step_on_the_same_graph_at_another_count_of_tokens_prices_its_ops_without_their_templates():
    """Qwen3-30B-A3B on tp 4, 8 requests in a mixed step with a chunk of 100 or of 101 prompt tokens: both padded to
    vLLM's graph of 112 tokens a rank, so every op but the attention runs the same kernels on the same rows and
    differs only in its totals (108 or 109 distinct tokens). The second step's embedding, norm, projections, router
    and experts are priced from the first's, no template made: the figures of templates made afresh, their totals
    (which blend a calibrated engine's compute and memory scales) those of 109 tokens."""
    r = check(load_plan_text(PLAN))[0]
    plan, lay = r.plan, r.layout
    d = rank_dims(plan.model, lay)
    at = [OpShapes(plan.model, plan.workload.model_copy(update={"chunk": 8 + c}), lay, d,
                   StagePass(Phase.MIXED, np.array([8.0]), 0), plan.cluster.engine.terms) for c in (100, 101)]
    assert at[0].t.tolist() == at[1].t.tolist() == [112.0] * 4 and (at[0].T, at[1].T) == (108.0, 109.0)
    ops = (Op.EMBED, Op.NORM, Op.QKV, Op.O_PROJ, Op.ROUTER, Op.EXPERT_FFN, Op.FINAL_NORM, Op.LM_HEAD)
    core = TimerCore(plan)
    for op in ops:
        core.entry(at[0], op)
    with templates_made() as made:
        priced = {op: core.entry(at[1], op) for op in ops}
    assert made[0] == 0
    fresh = TimerCore(plan)
    calibrated = dataclasses.replace(core.cm, compute_time_scale=2.0, memory_time_scale=0.5)
    for op in ops:
        (price, comm, peak), (made_price, made_comm, made_peak) = priced[op], fresh.entry(at[1], op)
        assert (price.totals, comm, peak) == (made_price.totals, made_comm, made_peak), op
        assert price.seconds(core.cm) == made_price.seconds(core.cm), op
        assert price.seconds(calibrated) == made_price.seconds(calibrated), op
    # 2 FLOPs a weight a token: the QKV projection's 2,048 × (32 + 2 × 4) × 128 weights on 109 tokens, the experts'
    # 3 × 2,048 × 768 weights on 8 assignments a token
    assert priced[Op.QKV][0].totals[0] == 2 * 2048 * 40 * 128 * 109 == 2_285_895_680
    assert priced[Op.EXPERT_FFN][0].totals[0] == 2 * 3 * 2048 * 768 * 8 * 109 == 8_229_224_448
