"""Work is bounded before it starts: a small plan cannot make `check` run for minutes.

A 1 KB plan with 100,000 layers and `pp 100000` used to take ~2 minutes and 0.8 GB per
strategy (activation working sets were computed once per stage, memory once per stage).
Now stages of one kind share their figures, and beyond `dagc.ir.dag.STAGE_BUDGET` stages or a stage
group of `dagc.ir.dag.GROUP_BUDGET` GPUs `check` computes no per-stage or per-rank figure (W511).
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from dagc.ir.build import build
from dagc.ir.dag import GROUP_BUDGET, STAGE_BUDGET, DagTooLarge, over_work_budget
from dagc.lang.load import load_plan_text
from dagc.layout.split import distinct_rows, even_split, request_matrix
from dagc.layout.stages import StageBounds, default_split
from dagc.memory.activations import activation_bytes_by_stage
from dagc.memory.memory import memory
from dagc.verdict.check import check
from conftest import plan_text, run_dagc

SMALL_MOE = ("model \"small\" {{ layers = {layers}  hidden = 1024  heads = 8  kv_heads = 8  head_dim = 128  "
             "vocab = 32000  moe {{ experts = 8  top_k = 2  ffn = 2048 }} }}")
HUGE_CLUSTER = 'cluster { gpus = 1048576  gpus_per_node = 1048576  gpu preset "h100-sxm" }'
WORKLOAD = "workload { batch = 1024  prompt = 128  generate = 16 }"
TIMEOUT_S = 30          # generous for a loaded CI machine; the unbounded code took ~2 minutes


def deep_plan(strategies: str, layers: int = 100_000, require: str = "") -> str:
    return plan_text(model=SMALL_MOE.format(layers=layers), cluster=HUGE_CLUSTER, workload=WORKLOAD,
                     require=require, strategy=strategies)


def run_check(tmp_path, text: str) -> subprocess.CompletedProcess:
    plan = tmp_path / "plan.moe"
    plan.write_text(text)
    start = time.monotonic()
    proc = run_dagc("check", str(plan), "--no-search", "--format", "json")     # in this process
    if time.monotonic() - start > TIMEOUT_S:
        raise subprocess.TimeoutExpired(proc.args, TIMEOUT_S)
    return proc


def codes(result) -> set[str]:
    return {d.code for d in result.diagnostics}


def test_one_deep_strategy_answers_in_seconds(tmp_path):
    t0 = time.perf_counter()
    proc = run_check(tmp_path, deep_plan("strategy pp 100000 < tp 1 >", require="require { ttft <= 10 s }"))
    assert time.perf_counter() - t0 < TIMEOUT_S
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    found = {d["code"] for d in report["diagnostics"]}
    assert {"W507", "W511"} <= found, found
    assert report["verdict"]["correct"] is True and report["verdict"]["meets_requirements"] is None
    assert proc.returncode == 1          # a requirement could not be judged


def test_dimensions_near_the_limit_answer_in_seconds(tmp_path):
    big = 2**40 - 1
    model = (f'model "huge" {{ layers = 100000  hidden = {big}  heads = {big}  kv_heads = {big}  head_dim = {big}  '
             f"vocab = {big}  moe {{ experts = {big}  top_k = {big}  ffn = {big} }} }}")
    proc = run_check(tmp_path, plan_text(model=model, cluster=HUGE_CLUSTER, workload=WORKLOAD,
                                         strategy="strategy pp 100000 < tp 1 >"))
    assert "Traceback" not in proc.stderr
    assert "W511" in proc.stdout, proc.stdout[:2000]


def test_sixty_four_deep_strategies_answer_in_seconds():
    strategies = "\n".join(f"strategy s{i} = pp {100_000 - i} < tp 1 >" for i in range(64))
    plan = load_plan_text(deep_plan(strategies))
    t0 = time.perf_counter()
    results = check(plan)
    assert time.perf_counter() - t0 < TIMEOUT_S
    assert len(results) == 64
    for r in results:
        assert "W511" in codes(r) and r.memory is None and r.metrics is None and r.dag is None


def test_the_bound_is_applied_before_per_stage_work(monkeypatch):
    import dagc.verdict.analyse as check_module

    def refuse(*args, **kwargs):
        raise AssertionError("per-stage work was started over the stage budget")

    monkeypatch.setattr(check_module, "memory", refuse)
    monkeypatch.setattr(check_module, "activation_bytes_by_stage", refuse)
    monkeypatch.setattr(check_module, "build", refuse)
    (r,) = check(load_plan_text(deep_plan(f"strategy pp {STAGE_BUDGET + 1} < tp 1 >")))
    (d,) = [d for d in r.diagnostics if d.code == "W511"]
    assert f"{STAGE_BUDGET + 1:,} pipeline stages" in d.message and "E402" in d.message
    assert d.span is not None and d.span.line == 4 and d.span.end - d.span.start == len(f"pp {STAGE_BUDGET + 1}")


def test_at_the_stage_budget_memory_is_still_judged():
    text = plan_text(model=SMALL_MOE.format(layers=2 * STAGE_BUDGET), cluster=HUGE_CLUSTER, workload=WORKLOAD,
                     require="require { memory <= 90 % }", strategy=f"strategy pp {STAGE_BUDGET} < tp 1 >")
    t0 = time.perf_counter()
    (r,) = check(load_plan_text(text))
    assert time.perf_counter() - t0 < TIMEOUT_S
    assert "W511" not in codes(r)
    assert r.memory is not None and len(r.memory.stages) == STAGE_BUDGET
    assert r.requirements[0].met is True


def test_more_stages_than_layers_is_e303_not_w511():
    (r,) = check(load_plan_text(deep_plan("strategy pp 8192 < tp 1 >", layers=100)))
    assert "E303" in codes(r) and "W511" not in codes(r)


def test_a_stage_group_over_the_budget_gets_no_per_rank_figures():
    experts = 2 * GROUP_BUDGET
    model = ("model \"wide\" { layers = 4  hidden = 1024  heads = 8  kv_heads = 8  head_dim = 128  vocab = 32000  "
             f"moe {{ experts = {experts}  top_k = 2  ffn = 2048 }} }}")
    text = plan_text(model=model, cluster=f'cluster {{ gpus = {experts}  gpu preset "h100-sxm" }}',
                     workload=WORKLOAD, strategy=f"strategy tp 8 ; ep {experts}")
    plan = load_plan_text(text)
    t0 = time.perf_counter()
    (r,) = check(plan)
    assert time.perf_counter() - t0 < TIMEOUT_S
    (d,) = [d for d in r.diagnostics if d.code == "W511"]
    assert f"stage group of {experts:,} GPUs" in d.message
    assert r.memory is None and r.metrics is None and r.dag is None
    assert over_work_budget(r.layout) is not None
    with pytest.raises(DagTooLarge):
        build(plan.model, plan.workload, r.layout)


def test_many_microbatches_over_a_wide_group_do_not_materialise_every_row():
    # 100,000 micro-batches × 8,192 attention-DP groups: one row per micro-batch would be 6.5 GB.
    model = ("model \"wide\" { layers = 8  hidden = 1024  heads = 8  kv_heads = 8  head_dim = 128  vocab = 32000  "
             "moe { experts = 65536  top_k = 2  ffn = 2048 } }")
    text = plan_text(model=model, cluster='cluster { gpus = 131072  gpu preset "h100-sxm" }',
                     workload="workload { batch = 1099511627775  prompt = 128  generate = 16  microbatches = 100000 }",
                     strategy="strategy pp 2 < tp 8 ; ep 65536 >")
    t0 = time.perf_counter()
    (r,) = check(load_plan_text(text))
    assert time.perf_counter() - t0 < TIMEOUT_S
    assert {"E402", "W507"} <= codes(r) and r.memory is not None


@pytest.mark.parametrize("batch,dp,mb,adp", [(64, 1, 4, 1), (63, 2, 5, 3), (7, 1, 7, 4), (1000, 3, 16, 8)])
def test_distinct_request_rows_are_those_of_every_microbatch(batch, dp, mb, adp):
    groups = even_split(-(-batch // dp), adp)
    every = list(dict.fromkeys(tuple(float(x) for x in r) for r in request_matrix(groups, mb)))
    assert distinct_rows(groups, mb) == every


@pytest.mark.parametrize("layers,pp", [(1, 1), (61, 4), (32, 32), (100, 7), (5, 8), (100_000, 99_999)])
def test_stage_bounds_read_like_the_tuple_of_pairs(layers, pp):
    counts = default_split(layers, pp)
    pairs = []
    start = 0
    for n in counts:
        pairs.append((start, start + n))
        start += n
    for bounds in (StageBounds.even(layers, pp), StageBounds.explicit(counts)):
        assert bounds == tuple(pairs) and tuple(pairs) == bounds and list(bounds) == pairs
        assert len(bounds) == pp and bounds.counts() == counts and bounds.layers == layers
        assert bounds[0] == pairs[0] and bounds[-1] == pairs[-1] and bounds[pp // 2] == pairs[pp // 2]
        assert hash(bounds) == hash(tuple(pairs))
    with pytest.raises(IndexError):
        StageBounds.even(layers, pp)[pp]


def test_figures_per_kind_of_stage_match_the_dag():
    # Uneven split, dense first layers, a shared expert: every stage differs from its neighbour somewhere.
    model = 'model preset "deepseek-v3" { layers = 13 }'
    text = plan_text(model=model, cluster='cluster { gpus = 64  gpu preset "h100-sxm" }',
                     workload="workload { batch = 10  prompt = 64  generate = 4  microbatches = 3 }",
                     strategy="strategy pp 5 [4, 3, 2, 2, 2] < tp 4 ; ep 4 >")
    plan = load_plan_text(text)
    (r,) = check(plan)
    assert r.dag is not None
    acts = activation_bytes_by_stage(plan.model, plan.workload, plan.cluster, r.layout)
    assert acts == r.dag.activation_bytes_by_stage()
    mem = memory(plan.model, plan.workload, plan.cluster, r.layout, acts)
    assert mem == r.memory
