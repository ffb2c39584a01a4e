"""Serving in flight (`workload { serving = inflight  chunk = N }`): the step mix computed by hand,
TPOT and TTFT from the DAG's decode and mixed steps, the fast recurrence against the DAG, memory
of one step, the rules, `batch = max`, and what the outputs say."""

from __future__ import annotations

import json
import math

import pytest

from dagc import load_plan_text
from dagc.export.compile import compile as compile_plan
from dagc.export.result_json import metrics_json
from dagc.ir.dag import OpKind, Phase
from dagc.lang.flatten import flatten
from dagc.launch.engine_check import check  # the check alone, without a search (as `dagc.check(plan, search=False)`)
from dagc.layout.layout import resolve
from dagc.layout.mix import shares
from dagc.schedule.timer import Timer
from dagc.serve.estimate import fast_metrics
from dagc.serve.metrics import step_gap

QWEN_4 = '''
model preset "qwen3-30b-a3b"
cluster {{ gpus = 4  gpu preset "h200" }}
workload {{ batch = {batch}  prompt = {prompt}  generate = 500  serving = inflight {chunk} }}
{require}
strategy {strategy}
'''


def plan(batch=64, prompt=4000, chunk="chunk = 8192", strategy="tp 1 ; ep 4", require=""):
    return load_plan_text(QWEN_4.format(batch=batch, prompt=prompt, chunk=chunk, strategy=strategy, require=require),
                          name="inflight")


def layout_of(p):
    return resolve(p.model, p.cluster, p.workload, flatten(p.strategies[0])[0])


def codes(result):
    return [d.code for d in result.diagnostics]


def test_shares_by_hand():
    # tp 1 ; ep 4 on 4 GPUs: one stage group of 4 attention-DP ranks, all in one EP group (g = 4)
    p = plan()
    s = shares(p.workload, layout_of(p))
    d = 64 // 4                                          # requests in flight per attention-DP rank
    room = 8192 - d                                      # prompt tokens a step has room for
    c = 4000                                             # a mixed step carries one whole prompt (it fits)
    f = d * 4000 / 500 / c                               # 128 prompt tokens needed per step
    assert (s.requests_per_rank, s.room, s.chunk_prompt_tokens, s.group) == (16, room, c, 4)
    assert s.share == pytest.approx(f, rel=1e-12) and f == pytest.approx(0.032, rel=1e-12)
    assert s.group_share == pytest.approx(1 - (1 - f) ** 4, rel=1e-12)
    assert s.first_token_steps == 1 and s.keeps_up
    assert s.sustainable_batch == (8192 * 500 // 4500) * 4 == 3640       # 910 per rank


def test_attention_dp_group_is_one_without_attention_dp():
    p = plan(strategy="tp 4")
    s = shares(p.workload, layout_of(p))
    assert (s.group, s.requests_per_rank) == (1, 64)
    assert s.group_share == s.share


def test_tpot_and_ttft_are_the_step_mixture_of_the_dag():
    p = plan(prompt=20000)                               # three mixed steps per prompt: 20,000 / 8,176
    r = check(p)[0]
    dag, sched = r.compiled.dag, r.compiled.schedule
    assert {Phase.DECODE, Phase.MIXED} == set(dag.phase)
    t_decode = step_gap(dag, sched.finish, Phase.DECODE, 1)
    t_mixed = step_gap(dag, sched.finish, Phase.MIXED, 1)
    assert t_mixed > t_decode > 0
    d, c = 16, 8176
    f = d * 20000 / 500 / c
    f_g = 1 - (1 - f) ** 4
    assert r.metrics.tpot_s == pytest.approx(f_g * t_mixed + (1 - f_g) * t_decode, rel=1e-12)
    assert r.metrics.ttft_server_s == pytest.approx(math.ceil(20000 / c) * t_mixed, rel=1e-12)
    assert math.ceil(20000 / c) == 3
    # the client's TTFT adds the engine's front end (vLLM's, the default engine)
    assert r.metrics.ttft_s == r.metrics.ttft_server_s + p.cluster.engine.terms.frontend_alone_s
    assert r.metrics.decode_tokens_per_s == pytest.approx(64 / r.metrics.tpot_s, rel=1e-12)
    assert r.metrics.prefill_tokens_per_s == pytest.approx(64 / r.metrics.tpot_s * 20000 / 500, rel=1e-12)
    assert r.metrics.throughput_tokens_per_s_per_gpu == pytest.approx(
        64 / r.metrics.tpot_s * 20500 / 500 / 4, rel=1e-12)
    assert (r.metrics.decode_step_s, r.metrics.mixed_step_s) == (t_decode, t_mixed)


def test_the_mixed_step_carries_the_chunk_in_one_group_of_micro_batch_0():
    p = plan(strategy="tp 1 ; ep 4")
    dag = check(p)[0].compiled.dag
    k = p.model.moe.top_k
    for phase, step, extra in ((Phase.DECODE, 0, 0), (Phase.MIXED, 0, 4000), (Phase.MIXED, 1, 4000)):
        experts = [i for i in dag.indices(phase) if dag.step[i] == step and dag.kind[i] is OpKind.EXPERT_FFN
                   and dag.layer[i] == 1]
        # Σ expert tokens of a layer = tokens × top_k: 64 decode tokens, and in a mixed step the chunk
        assert sum(dag.template[i].tokens_total for i in experts) == pytest.approx((64 + extra) * k, rel=1e-9)
        attn = [i for i in dag.indices(phase) if dag.step[i] == step and dag.kind[i] is OpKind.ATTENTION
                and dag.layer[i] == 1]
        tokens = dag.template[attn[0]].tokens           # per rank: only attention-DP group 0 has the chunk
        assert list(tokens) == [16 + extra, 16, 16, 16]


def test_fast_recurrence_is_the_dag_in_flight():
    for strategy in ("tp 1 ; ep 4", "tp 4", "pp 2 < tp 2 >", "tp 2 ; ep 2 with microbatches 2"):
        p = plan(strategy=strategy, prompt=12000)
        r = check(p)[0]
        fast = fast_metrics(p, r.layout, r.plan.workload, Timer(p))   # the strategy's own micro-batches
        for key in ("ttft_s", "tpot_s", "decode_step_s", "mixed_step_s", "throughput_tokens_per_s"):
            assert getattr(fast, key) == pytest.approx(getattr(r.metrics, key), rel=1e-9), (strategy, key)


def test_memory_in_flight_is_one_step_of_activations():
    one_h200 = ('model preset "qwen3-30b-a3b"  cluster {{ gpus = 1  gpu preset "h200" }}  '
                'workload {{ batch = 160  prompt = 4000  generate = 500 {serving} }}  strategy tp 1')
    static = check(load_plan_text(one_h200.format(serving="")))[0]
    inflight = check(load_plan_text(one_h200.format(serving="serving = inflight")))[0]
    assert "E402" in codes(static) and "E402" not in codes(inflight)
    s, f = static.memory.worst, inflight.memory.worst
    assert s.kv_cache_bytes == f.kv_cache_bytes                  # the KV cache of 160 requests at full context
    assert f.activation_bytes < s.activation_bytes / 20
    # the largest working set of one step: at least the chunk's hidden states in and out of a projection
    assert f.activation_bytes >= 8192 * 2048 * 2


@pytest.mark.parametrize(("workload", "code", "where"), [
    ("serving = inflght", "E101", "inflght"),
    ("serving = inflight chunk = 0", "E104", "0"),
    ("serving = inflight chunk = 2.5", "E104", "2.5"),
    ("serving = inflight chunk = 99999999999", "E104", "99999999999"),
])
def test_bad_serving_fields_get_a_diagnostic_at_their_span(workload, code, where):
    from dagc.diagnostics import PlanError
    text = ('model preset "qwen3-30b-a3b" cluster { gpus = 1 gpu preset "h200" } '
            f'workload {{ batch = 8 prompt = 100 generate = 10 {workload} }} strategy tp 1')
    with pytest.raises(PlanError) as err:
        load_plan_text(text)
    [d] = [d for d in err.value.diagnostics if d.code == code]
    assert text[d.span.start:d.span.end] == where and d.hint


def test_unknown_serving_word_names_the_nearest():
    from dagc.diagnostics import PlanError
    with pytest.raises(PlanError) as err:
        load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 1 gpu preset "h200" } '
                       'workload { batch = 8 prompt = 100 generate = 10 serving = inflght } strategy tp 1')
    assert "inflight" in err.value.diagnostics[0].hint


def test_chunk_without_room_for_a_prompt_is_an_error():
    r = check(plan(batch=256, chunk="chunk = 64", strategy="tp 4"))[0]    # 256 requests per rank, 64 tokens a step
    assert "E307" in codes(r) and r.metrics is None and r.verdict.correct is False
    [d] = [d for d in r.diagnostics if d.code == "E307"]
    assert "256 decode tokens" in d.message and "chunk = 257" in d.hint
    assert "the engine's default on this GPU is 8192" in d.hint


def test_a_chunk_that_cannot_keep_up_warns_with_the_sustainable_batch():
    # 64 per rank need 64 · 4000 / 500 = 512 prompt tokens a step; chunk 512 leaves room for 448
    r = check(plan(batch=64, chunk="chunk = 512", strategy="tp 4"))[0]
    [d] = [d for d in r.diagnostics if d.code == "W513"]
    assert "512 prompt tokens per step" in d.message and "room for 448" in d.message
    assert "is 56;" in d.hint                                        # 512 · 500 // 4500 = 56
    report = r.plan.workload and json.loads(json.dumps(__import__("dagc").report_json(r)))
    assert report["serving"]["sustainable_batch"] == 56 and report["serving"]["keeps_up"] is False
    assert report["serving"]["mixed_step_share"] == 1.0
    assert r.metrics.tpot_s == pytest.approx(r.metrics.mixed_step_s, rel=1e-12)     # every step mixed
    assert "W513" not in codes(check(plan(batch=56, chunk="chunk = 512", strategy="tp 4"))[0])


def test_chunk_with_static_serving_warns():
    text = ('model preset "qwen3-30b-a3b" cluster { gpus = 1 gpu preset "h200" } '
            'workload { batch = 8 prompt = 100 generate = 10 chunk = 512 } strategy tp 1')
    assert "W514" in codes(check(load_plan_text(text))[0])


def test_batch_max_stops_where_the_chunk_falls_behind():
    r = check(plan(batch="max", chunk="chunk = 1024", strategy="tp 4"))[0]
    # 1024 · 500 // 4500 = 113 requests per rank keep up; memory holds more on 4 H200s
    assert r.plan.workload.batch == 113
    assert "114 would break the chunk's pace (W513)" in r.plan.workload.batch_note


def test_requirements_are_judged_on_the_in_flight_figures():
    p = plan(require="require { ttft <= 1 s  tpot <= 50 ms }")
    r = check(p)[0]
    met = {q.requirement.kind.value: (q.value, q.met) for q in r.requirements}
    assert met["ttft"][0] == r.metrics.ttft_s < 1.0 and met["ttft"][1]
    assert met["tpot"][0] == r.metrics.tpot_s
    assert "W506" not in codes(r)          # the in-flight TTFT bound is steps of a decode step, not a batch's prefill


def test_report_json_serving_keys(tmp_path):
    from dagc import report_json
    r = check(plan())[0]
    s = report_json(r)["serving"]
    assert s["mode"] == "inflight" and s["chunk"] == 8192 and s["attention_dp_group"] == 4
    assert s["binding_pool"] is None and s["pools"] is None
    assert set(s) >= {"mode", "chunk", "mixed_step_share", "mixed_step_share_group", "attention_dp_group",
                      "sustainable_batch", "binding_pool", "pools"}
    static = report_json(check(load_plan_text(
        'model preset "qwen3-30b-a3b" cluster { gpus = 1 gpu preset "h200" } '
        'workload { batch = 8 prompt = 100 generate = 10 } strategy tp 1'))[0])["serving"]
    assert static["mode"] == "static" and all(v is None for k, v in static.items() if k != "mode")


def test_outputs_show_the_decode_and_mixed_steps(tmp_path):
    compile_plan(plan(), tmp_path, search=False)
    [out] = [d for d in tmp_path.rglob("report.md")]
    md = out.read_text()
    assert "**Served in flight**" in md and "no queueing" in md.lower().replace("no queueing", "no queueing")
    trace = json.loads((out.parent / "trace.json").read_text())
    phases = [e["name"] for e in trace["traceEvents"] if e.get("cat") == "phase"]
    assert phases == ["decode step 0", "decode step 1", "mixed step 0", "mixed step 1"]
    spans = {e["name"]: (e["ts"], e["dur"]) for e in trace["traceEvents"] if e.get("cat") == "phase"}
    assert spans["mixed step 0"][0] >= spans["decode step 1"][0] + spans["decode step 1"][1] - 1e-3
    chunked = {e["name"] for e in trace["traceEvents"] if e.get("ph") == "X" and e["name"].endswith(" (chunk)")}
    assert {"attention (chunk)", "expert_ffn (chunk)"} <= chunked
    assert "mixed step" in (out.parent / "dag.dot").read_text()
    # the metadata names the tracks as they are: no prefill in flight (before, "phases (prefill, decode steps)")
    assert trace["metadata"]["tracks"].startswith("schedule: phases (decode steps, then mixed steps) and critical path")


def _figures(c):
    return (c.text, c.gpus, c.batch, c.binding, c.meets_requirements, c.score, c.metrics, c.memory_fraction)


@pytest.mark.parametrize(("objective", "require", "batch"), [
    ("tokens-per-gpu", "require { tpot <= 60 ms }", "256"),
    ("ttft", "require { ttft <= 400 ms }", "64"),
    ("tokens-per-gpu", "require { tpot <= 40 ms }", "max"),
])
def test_pruned_in_flight_search_is_the_exhaustive_one(objective, require, batch):
    """The search ranks in-flight candidates by in-flight figures, and its bounds (TTFT: the first
    token's steps at a decode step's floor; rates from TPOT alone) prune nothing that matters."""
    from dagc.search.search import search
    p = plan(batch=batch, prompt=8000, chunk="chunk = 4096", require=require)
    pruned = search(p, objective=objective, rescore=0)
    whole = search(p, objective=objective, rescore=0, prune=False)
    k = pruned.exact_top
    assert k > 0 and whole.pruned == 0
    assert [_figures(c) for c in pruned.ranked[:k]] == [_figures(c) for c in whole.ranked[:k]]
    assert [_figures(c) for c in pruned.pareto] == [_figures(c) for c in whole.pareto]
    # the best aggregated one is scored on the in-flight figures (a disaggregated one on its pools':
    # tests/test_search_pools.py)
    best = next(c for c in whole.ranked if not c.strategy.disaggregated)
    assert set(metrics_json(best.metrics)) >= {"decode_step_s", "mixed_step_s"}
    # and the best's figures are what `check` gives it
    r = check(p, strategy=best.text)[0] if batch != "max" else None
    if r is not None:
        assert r.metrics.tpot_s == pytest.approx(best.metrics.tpot_s, rel=1e-9)


def test_e307_says_when_the_chunk_is_the_engines_default():
    """A plan that writes no `chunk` gets its engine's on the GPU (vLLM's 8,192 on an H200): E307 names it so, not
    as a `chunk = 8192` the user never wrote."""
    r = check(plan(batch=8192, chunk="", strategy="tp 4"))[0]            # 8,192 decode tokens a step fill 8,192
    [d] = [d for d in r.diagnostics if d.code == "E307"]
    assert d.message.startswith("the engine's default step budget on this GPU, 8,192 tokens (no `chunk` written) "
                                "leaves no room for a prompt")
    assert "chunk = 8193" in d.hint
