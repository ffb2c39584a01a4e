"""SGLang's admission (`output_reserve`: each running request's output to come reserved at a decaying ratio,
dagc.serve.reserve, dagc.plan.output_reserve) and its prefill steps apart from the decode steps (`prefill_apart`,
measured and not shipped: docs/cost-model.md), each on a replica small enough to follow step by step by hand."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from dagc.lang.load import load_plan_text
from dagc.memory.admission import admission
from dagc.plan.engines import ENGINE_TERMS, EngineTerms
from dagc.plan.output_reserve import ratios, steady_ratio
from dagc.plan.workload import Workload
from dagc.serve.load import simulate
from dagc.serve.replica import Replica
from dagc.serve.requests import Requests
from dagc.serve.reserve import OutputReserve
from dagc.serve.run import Run
from dagc.serve.sources import OpenLoop
from dagc.serve.watch import Observers
from dagc.verdict.check import check
from tests.test_admission import plan_text

DECODE_S, PROMPT_S = 0.01, 0.02          # the toy surface: a decode step 10 ms, a step carrying prompt tokens 20 ms


def _replay(terms: EngineTerms, arrival: list[float], prompt: int, output: list[int], kv_blocks: int) -> Run:
    """One rank of cap 8 and `kv_blocks` blocks of 16 tokens, a budget of 64 tokens a step, every step priced by
    the toy surface: the run with each request's first token and end."""
    n = len(arrival)
    reqs = Requests(arrival=np.array(arrival), prompt=np.full(n, prompt), output=np.array(output))
    run = Run.of(reqs)
    surface = SimpleNamespace(time=lambda n, p, ell: PROMPT_S if p else DECODE_S, adp=1,
                              prices=SimpleNamespace(terms=terms))
    w = Workload(batch=8, prompt=prompt, generate=max(output), serving="inflight", chunk=64)
    Replica(run, OpenLoop(list(range(n)), arrival), [8], kv_blocks, surface, w,  # type: ignore[arg-type]
            Observers(timeline=False)).run()
    return run


def test_sglang_reserves_its_running_requests_output_to_come_by_hand():
    """0.7 × (33 − 1 − 10) tokens of a request 10 decode steps in; its ratio reaches its floor, 0.7 × 0.14, after
    600 decode steps, and 0.3 of both with attention DP."""
    r = OutputReserve(0.7, ranks=1, adp=1, emitted=1.0)
    r.admitted(0, 33)
    assert r.reserved(0, 0) == 0.7 * 33                  # prefilling: its whole output to come
    r.start(0, 0)
    assert math.isclose(r.reserved(0, 10), 0.7 * 22)
    # a request of 16 prompt and 33 output tokens needs more than 49 + 15.4 tokens free: 65 admit it, 64 do not
    assert r.admits(0, 65, 16, 33, 10) and not r.admits(0, 64, 16, 33, 10)
    r.decoded(600)
    assert math.isclose(r.ratio, 0.7 * 0.14)
    assert [round(x, 6) for x in ratios(0.7, 8)] == [0.21, 0.0294, round((0.21 - 0.0294) / 600, 6)]
    assert steady_ratio(0.0, 1) == 0.0 and ENGINE_TERMS["sglang"].output_reserve == 0.7
    assert ENGINE_TERMS["vllm"].output_reserve == 0.0 and not ENGINE_TERMS["sglang"].prefill_apart


def test_a_request_the_reservation_refuses_waits_until_a_running_one_ends():
    """Five blocks (80 tokens); three requests of 16 prompt and 33 output tokens at t = 0. The first is admitted
    (its rank is empty); the second needs 16 + 33 = 49 tokens beside 64 free less 0.7 × 33 = 23.1 reserved for
    the first: refused, and none is tried again until the first ends. Each then runs alone: a step with its
    prompt (20 ms), 32 decode steps (320 ms)."""
    run = _replay(EngineTerms(output_reserve=0.7), [0.0, 0.0, 0.0], 16, [33, 33, 33], kv_blocks=5)
    assert np.allclose(run.first, [0.02, 0.36, 0.70]) and np.allclose(run.finish, [0.34, 0.68, 1.02])
    assert run.preemptions == [0, 0, 0]
    free = _replay(EngineTerms(), [0.0, 0.0, 0.0], 16, [33, 33, 33], kv_blocks=5)     # vLLM's: all three at once
    assert np.allclose(free.first, [0.02, 0.02, 0.02]) and sum(free.preemptions) > 0


def test_prefill_steps_apart_hold_the_decode_requests_by_hand():
    """A (5 output tokens) at 0, B (2) at 15 ms, prompts of 16 tokens. Apart: A's prompt step ends at 20 ms, B's
    at 40 ms while A waits, a decode step to 50 ms (B ends; A's gap 10 + 20 ms), A's three more to 80 ms.
    Mixed: B's prompt rides A's first decode step, A ends at 70 ms."""
    apart = _replay(EngineTerms(prefill_apart=True), [0.0, 0.015], 16, [5, 2], kv_blocks=64)
    assert np.allclose(apart.first, [0.02, 0.04]) and np.allclose(apart.finish, [0.08, 0.05])
    assert np.allclose(apart.itl.tolist(), [0.03, 0.01]) and apart.weight.tolist() == [2, 3]
    mixed = _replay(EngineTerms(), [0.0, 0.015], 16, [5, 2], kv_blocks=64)
    assert np.allclose(mixed.first, [0.02, 0.04]) and np.allclose(mixed.finish, [0.07, 0.05])


def test_the_steady_state_counts_sglangs_reservation_at_its_floor():
    """Qwen2.5-14B on a 48 GB GPU, 128 clients of 2,000 + 2,000 tokens: a running request holds its mean context,
    3,000 tokens, and SGLang reserves 0.7 × 0.14 = 0.098 of the 1,000 still to come on average: 3,098 — one
    request fewer in flight than an engine that reserves nothing."""
    text = plan_text(generate=2000).replace("engine = pytorch", "engine = sglang")
    r = check(load_plan_text(text))[0]
    a = admission(r.plan.workload, r.layout, r.memory, r.plan.cluster.engine.terms)
    assert a.mean_context_tokens == 2000 + 1000 + 0.7 * 0.14 * 1000
    assert a.per_rank == math.floor(a.kv_tokens / 3098) == 22
    assert admission(r.plan.workload, r.layout, r.memory).per_rank == math.floor(a.kv_tokens / 3000) == 23
    assert r.metrics.concurrency_effective == 22


def test_batch_max_on_sglang_stops_where_its_reservation_leaves_no_room():
    """`batch = max` in flight on SGLang: the batch chosen is the requests the KV cache (71,091 tokens) holds at
    3,098 tokens each, 22 (the steady state's count above, one figure), where vLLM's is 23, at 3,000."""
    r = check(load_plan_text(plan_text(batch="max", generate=2000).replace("engine = pytorch", "engine = sglang")))[0]
    chosen = r.plan.workload.batch
    a = admission(r.plan.workload, r.layout, r.memory, r.plan.cluster.engine.terms)
    assert chosen == math.floor(a.kv_tokens / 3098) == 22 and a.per_rank == chosen
    vllm = check(load_plan_text(plan_text(batch="max", generate=2000).replace("engine = pytorch", "engine = vllm")))[0]
    assert vllm.plan.workload.batch == math.floor(a.kv_tokens / 3000) == 23
    above = check(load_plan_text(plan_text(batch=chosen + 1, generate=2000).replace("engine = pytorch",
                                                                                    "engine = sglang")))[0]
    assert above.metrics.concurrency_effective == chosen and any(d.code == "W520" for d in above.diagnostics)


def test_the_load_simulation_reaches_sglangs_steady_concurrency_with_fewer_preemptions():
    """A closed loop of 128 clients of 2,000 + 500 tokens on SGLang: over the middle half of the run the simulation
    holds the steady state's 31 requests within 10 % (28.6), and the reservation that holds admission back spares
    most of the preemptions an engine that reserves nothing makes (22 against 143 in 600 requests)."""
    text = plan_text(extra="concurrency = 128  requests = 600")
    runs = {}
    for engine in ("sglang", "pytorch"):
        plan = load_plan_text(text.replace("engine = pytorch", f"engine = {engine}"))
        r = check(plan)[0]
        assert r.metrics.concurrency_effective == 31
        load = simulate(plan, r.strategy, r.layout)
        t, running = load.timeline.t, load.timeline.running
        dt, mid = np.diff(t), (t[:-1] > 0.25 * t[-1]) & (t[:-1] < 0.75 * t[-1])
        runs[engine] = (float((running[:-1][mid] * dt[mid]).sum() / dt[mid].sum()), int(load.preemptions.sum()))
    assert abs(runs["sglang"][0] - 31) <= 0.1 * 31, runs
    assert runs["sglang"][1] == 22 and runs["pytorch"][1] == 143
