"""Schedule invariants, hand-computed op costs, monotonicity and metrics."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings

from dagc.cost.comm import collective_time_s
from dagc.cost.compute import compute_time_s, kernel_time_s
from dagc.ir.dag import OpKind, Phase
from dagc.lang.load import load_plan_text
from dagc.layout.mix import shares
from dagc.plan.model import DType
from dagc.plan.workload import Overlap
from dagc.verdict.check import check
from conftest import plan_text
from plans import checked, plan_texts

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.filter_too_much])
EPS = 1e-12


def check_schedule(r):
    dag, sched = r.dag, r.compiled.schedule
    overlap = r.plan.workload.overlap
    for i in range(len(dag)):
        for p in dag.preds[i]:
            assert sched.start[i] >= sched.finish[p] - EPS, "an op started before its predecessor finished"
    streams: dict[tuple, list[tuple[float, float]]] = {}
    for i in range(len(dag)):
        kind = dag.kind[i]
        lane = "compute"
        if kind.is_comm and overlap is Overlap.MICROBATCH:
            lane = "p2p" if kind in (OpKind.SEND, OpKind.RECV) else "comm"
        streams.setdefault((dag.phase[i], dag.stage[i], lane), []).append((sched.start[i], sched.finish[i]))
    for spans in streams.values():
        spans.sort()
        for (_, f0), (s1, _) in pairwise(spans):
            assert s1 >= f0 - EPS, "two ops overlap on one stream"
    for phase, path in sched.paths.items():
        parts = path.compute_s + path.tp_comm_s + path.ep_comm_s + path.pp_comm_s + path.waiting_s
        assert parts == pytest.approx(path.makespan_s, rel=1e-9)
        durations = sum(sched.finish[i] - sched.start[i] for i in path.nodes)
        assert durations + path.waiting_s == pytest.approx(path.makespan_s, rel=1e-9)
        assert all(sched.critical[i] for i in path.nodes) and all(dag.phase[i] is phase for i in path.nodes)
        assert path.makespan_s == pytest.approx(max(sched.finish[i] for i in dag.indices(phase)))
    if r.plan.workload.inflight:            # TTFT: the mixed steps of a prompt, each the mixed steps' gap
        steps = shares(r.plan.workload, r.layout).first_token_steps
        assert set(sched.paths) == {Phase.DECODE, Phase.MIXED}
        assert r.metrics.ttft_server_s == pytest.approx(steps * r.metrics.mixed_step_s, rel=1e-12)
    else:
        assert set(sched.paths) == {Phase.PREFILL, Phase.DECODE}
        assert r.metrics.ttft_server_s == pytest.approx(max(sched.finish[i] for i in dag.indices(Phase.PREFILL)))
    # The schedule gives the server's TTFT; the client's adds the engine's front end once, per request.
    frontend_s = r.plan.cluster.engine.terms.frontend_alone_s      # a request alone: frontend_s and its own ingest_s
    assert r.metrics.ttft_s == pytest.approx(r.metrics.ttft_server_s + frontend_s, rel=1e-12)


@SETTINGS
@given(plan_texts())
def test_schedule_invariants_on_generated_plans(text):
    check_schedule(checked(text))


def test_schedule_invariants_on_pipeline_with_overlap():
    r = check(load_plan_text(plan_text(
        cluster='cluster { gpus = 32 gpu preset "h100-sxm"  engine = pytorch }',
        strategy="strategy pp 4 < tp 2 ; ep 8 >",
        workload="workload { batch = 64 prompt = 1024 generate = 64 microbatches = 8 overlap = microbatch }")))[0]
    check_schedule(r)


def test_overlap_hides_all_to_all_under_the_other_microbatch():
    def run(overlap):
        return check(load_plan_text(plan_text(
            model='model preset "qwen3-30b-a3b"', cluster='cluster { gpus = 16 gpu preset "h800"  engine = pytorch }',
            strategy="strategy tp 2 ; ep 16",
            workload=f"workload {{ batch = 64 prompt = 1024 generate = 64 microbatches = 2 overlap = {overlap} }}")))[0]
    none, overlap = run("none"), run("microbatch")
    check_schedule(overlap)
    assert overlap.metrics.ttft_s < none.metrics.ttft_s
    assert overlap.metrics.tpot_s < none.metrics.tpot_s
    # the two micro-batches alternate op by op on the compute stream
    dag, start = overlap.dag, overlap.compiled.schedule.start
    compute = sorted((start[i], dag.mb[i]) for i in dag.indices(Phase.PREFILL)
                     if not dag.kind[i].is_comm and dag.layer[i] == 1)
    assert {mb for _, mb in compute[:6]} == {0, 1}


def _template(r, kind, phase=Phase.PREFILL, group=None):
    """The template of the first `kind` op of `phase` and its (lock-step) duration."""
    n = next(n for n in r.dag.nodes()
             if n.kind is kind and n.phase is phase and (group is None or n.template.group is group))
    return n.template, float(r.compiled.costs.node_s[n.id])


def test_gemm_cost_by_hand():
    r = check(load_plan_text(plan_text(strategy="strategy tp 8")))[0]
    t, duration = _template(r, OpKind.QKV_PROJ)
    tokens = 64 * 2048
    params = 4096 * 32 * 128 / 8 + 2 * 4096 * 128 * 1
    flops = 2 * params * tokens
    hbm = params * 2 + tokens * (4096 + (4 + 2) * 128) * 2
    assert t.flops[0] == pytest.approx(flops)
    assert t.hbm_bytes[0] == pytest.approx(hbm)
    profile = r.compiled.costs.model.profile
    assert duration == pytest.approx(float(profile.gemm_s(tokens, params / 4096, 4096, DType.BF16)))
    assert duration >= max(flops / 989e12, hbm / 3.35e12)     # never faster than the datasheet roofline


def test_fp8_weights_use_fp8_peak():
    r = check(load_plan_text(plan_text(model='model preset "deepseek-v3"', strategy="strategy tp 8 ; ep 32",
                                       cluster='cluster { gpus = 32 gpu preset "h200"  engine = pytorch }')))[0]
    t, duration = _template(r, OpKind.O_PROJ)
    assert t.peak_dtype is DType.FP8
    gemm, residual = t.kernels
    assert gemm.dtype is DType.FP8 and residual.name == "residual_add"
    profile = r.compiled.costs.model.profile
    m, n, k = (float(x[0]) for x in gemm.shape)
    fp8 = float(profile.gemm_s(m, n, k, DType.FP8))
    assert fp8 < float(profile.gemm_s(m, n, k, DType.BF16))        # the fp8 table, not the bf16 one
    assert duration == pytest.approx(fp8 + float(kernel_time_s(residual, profile)[0]))


def test_all_reduce_cost_by_hand():
    r = check(load_plan_text(plan_text(strategy="strategy tp 8")))[0]
    t, duration = _template(r, OpKind.ALL_REDUCE)
    m = 64 * 2048 * 4096 * 2
    assert t.comm_bytes[0] == m and t.group_size == 8 and not t.crosses_nodes
    assert duration == pytest.approx(2 * 7 / 8 * m / (450e9 * 0.8) + 10e-6)


def test_all_to_all_cost_by_hand():
    r = check(load_plan_text(plan_text(strategy="strategy tp 2 ; ep 8")))[0]
    t, duration = _template(r, OpKind.ALL_TO_ALL_DISPATCH)
    tokens_per_rank = 16 * 2048 / 2          # attention DP 4: 16 requests; shared by the 2 TP ranks
    m = tokens_per_rank * 2 * 4096 * 2       # top_k 2, bf16
    assert t.comm_bytes[0] == pytest.approx(m)
    assert duration == pytest.approx(7 / 8 * m / (450e9 * 0.8) + 10e-6)


def test_send_across_nodes_by_hand():
    r = check(load_plan_text(plan_text(cluster='cluster { gpus = 16 gpu preset "h100-sxm"  engine = pytorch '
                                               'inter_node = 25 GB/s '
                                               "latency { inter = 30 us } }",
                                       strategy="strategy pp 2 < tp 8 >")))[0]
    t, duration = _template(r, OpKind.SEND)
    m = 32 * 2048 * 4096 * 2                 # 2 micro-batches of 32 requests
    assert t.crosses_nodes
    assert duration == pytest.approx(m / (25e9 * 0.8) + 30e-6)


def test_formulas():
    assert collective_time_s(OpKind.ALL_GATHER, 4, 4e9, 1e11, 0.0) == pytest.approx(0.03)
    assert collective_time_s(OpKind.REDUCE_SCATTER, 2, 1e9, 1e11, 1e-5) == pytest.approx(0.005 + 1e-5)
    assert collective_time_s(OpKind.SEND, 2, 1e9, 1e11, 1e-5) == pytest.approx(0.01 + 1e-5)
    assert compute_time_s(1e12, 1e12, 1e15, 1e12) == pytest.approx(1.0)


def _with(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


@SETTINGS
@given(plan_texts())
def test_more_network_bandwidth_is_never_slower(text):
    slow = checked(text)
    fast = checked(_with(text, "inter_node = 50 GB/s", "inter_node = 400 GB/s"))
    assert fast.metrics.ttft_s <= slow.metrics.ttft_s * (1 + 1e-9)
    assert fast.metrics.tpot_s <= slow.metrics.tpot_s * (1 + 1e-9)


@SETTINGS
@given(plan_texts())
def test_doubling_tokens_never_makes_prefill_faster(text):
    base = checked(text)
    prompt = base.plan.workload.prompt
    double = checked(_with(text, f"prompt = {prompt} ", f"prompt = {2 * prompt} "))
    assert double.metrics.ttft_s >= base.metrics.ttft_s * (1 - 1e-9)


@pytest.mark.parametrize("strategy", ["tp 8", "tp 2 ; ep 8"])
def test_tpot_grows_with_context(strategy):
    tpots = []
    for prompt in (512, 4096, 32512):        # 32,512 + 256: Mixtral's whole context, 32,768
        r = check(load_plan_text(plan_text(strategy=f"strategy {strategy}",
                                           workload=f"workload {{ batch = 64 prompt = {prompt} generate = 256 }}")))[0]
        tpots.append(r.metrics.tpot_s)
    assert tpots[0] < tpots[1] < tpots[2]


def test_metrics_definitions():
    r = check(load_plan_text(plan_text(cluster='cluster { gpus = 16 gpu preset "h100-sxm"  engine = pytorch }',
                                       strategy="strategy dp 2 < tp 8 >")))[0]
    m, w = r.metrics, r.plan.workload
    assert m.prefill_tokens_per_s == pytest.approx(w.batch * w.prompt / m.ttft_s)
    assert m.decode_tokens_per_s == pytest.approx(w.batch / m.tpot_s)
    assert m.throughput_tokens_per_s == pytest.approx(
        w.batch * (w.prompt + w.generate) / (m.ttft_s + w.generate * m.tpot_s))
    assert m.decode_tokens_per_s_per_gpu == pytest.approx(m.decode_tokens_per_s / 16)


def test_bubble_matches_pipeline_formula():
    def pp4(microbatches: int):
        return check(load_plan_text(plan_text(
            cluster='cluster { gpus = 32 gpu preset "h100-sxm"  engine = pytorch }', strategy="strategy pp 4 < tp 8 >",
            workload=f"workload {{ batch = 64 prompt = 2048 generate = 16 microbatches = {microbatches} }}")))[0]

    r = pp4(4)
    assert r.metrics.bubble_fraction == pytest.approx(3 / 7, abs=0.02)
    w504 = pp4(2)
    d = next(d for d in w504.diagnostics if d.code == "W504")
    assert "scheduled:" in d.message


def test_requirements_judged_on_metrics():
    require = "require { ttft <= 1 ms  tpot <= 1 s  decode_throughput >= 1 tokens/s/gpu }"
    r = check(load_plan_text(plan_text(require=require)))[0]
    ttft, tpot, dec = r.requirements
    assert ttft.value == r.metrics.ttft_s and ttft.met is False
    assert tpot.met is True and dec.value == pytest.approx(r.metrics.decode_tokens_per_s / 8)
    assert r.verdict.meets_requirements is False
    assert "W506" in {d.code for d in r.diagnostics}
