"""The nearest strategy an engine can run is found by resolving its candidates nearest first, and at most
`NEAREST_RESOLVED` of them (docs/limits.md, "Work"; docs/launch.md).

Until 2026-12-02 every candidate on the same GPUs was resolved into a layout before any was ranked: the
(tp, cp) × (ep, etp) pairs of the stage group, about 1 ms each. `dagc launch plan.moe --strategy "tp 8 cp 1000"` on a
4-GPU cluster (8,000 GPUs: E401) ran past two CPU minutes, `tp 8 cp 99999` past ten — a plan line of a pull request
held a CI job — and `dagc check` of a 720-GPU plan that names TensorRT-LLM took 23 CPU s for `tp 8 cp 90`.
"""

from __future__ import annotations

import itertools
import math

import pytest

from dagc.lang.load import load_plan_text
from dagc.launch import nearest
from dagc.launch.degrees import degrees
from dagc.launch.engines import TABLES
from dagc.launch.launch import refusals_of
from dagc.plan.printer import aggregated, strategy_source, with_options, with_split
from dagc.plan.workload import Overlap
from dagc.verdict.check import check
from conftest import plan_text


def _plan(gpus: int):
    return load_plan_text(
        plan_text(
            model='model preset "qwen3-30b-a3b"',
            cluster=f'cluster {{ gpus = {gpus}  gpus_per_node = 8  gpu preset "h100-sxm" }}',
            workload="workload { batch = 64  prompt = 1000  generate = 200 }",
            strategy="",
        ),
        "q.moe",
        needs_strategy=False,
    )


def _exhaustive(plan, strategy, layout, table) -> list[str]:
    """Every candidate on the same GPUs resolved, then ranked: what `_ranked` answered until 2026-12-02."""
    d = degrees(plan, strategy, layout)
    refusals = refusals_of(table, d)
    refused = [r.at for r in refusals]
    shapes = nearest._shapes(d, {r.code for r in refusals})
    overlaps = nearest._kept_or_dropped(strategy.overlap, Overlap.NONE, "overlap" in refused)
    redundants = nearest._kept_or_dropped(strategy.redundant, None, "redundant" in refused)
    sp = strategy.sp and "sp" not in refused
    ranked = {}
    for dp, pp, group in shapes:
        folded = pp != d.pp
        split = None if "split" in refused or folded else strategy.pp_split
        microbatches = None if folded and strategy.overlap is not Overlap.MICROBATCH else strategy.microbatches
        experts = [None] + [
            (e, x) for e in nearest._divisors(group) for x in nearest._divisors(group // e) if d.has_experts
        ]
        for tp in nearest._divisors(group):
            for cp in nearest._divisors(group // tp):
                for expert, overlap, redundant in itertools.product(experts, overlaps, redundants):
                    even = aggregated(
                        dp=dp,
                        pp=pp,
                        tp=tp,
                        cp=cp,
                        sp=sp and tp > 1,
                        ep=expert[0] if expert else None,
                        etp=expert[1] if expert else None,
                    )
                    cand = with_options(with_split(even, split), microbatches, overlap, redundant)
                    cd = degrees(plan, cand)
                    if (cd.dp, cd.pp, cd.group) not in shapes or cd.gpus != d.gpus:
                        continue
                    if cd.adp * cd.tp * cd.cp != cd.group or refusals_of(table, cd):
                        continue
                    if cd.eplb and (cd.experts + cd.redundant) % cd.ep:
                        continue
                    form = (cand.ep is None) != (strategy.ep is None and strategy.etp is None)
                    key = (nearest._distance(d, cd), form, len(cand.text), strategy_source(cand))
                    ranked[key] = cand
    return [k[3] for k in sorted(ranked)[: nearest.NEAREST_TRIES]]


@pytest.mark.parametrize(
    ("gpus", "strategy"),
    [
        (8, "tp 8 ; ep 4"),
        (8, "tp 2 ; ep 8"),
        (8, "tp 8 ; ep 2 etp 2"),
        (8, "tp 4 cp 2 ; ep 8"),
        (8, "tp 1 ; ep 8 with microbatches 2 overlap microbatch"),
        (16, "pp 2 < tp 4 ; ep 8 >"),
        (16, "dp 2 < tp 4 ; ep 4 > with microbatches 2 overlap microbatch"),
        (16, "pp 2 < tp 4 cp 2 >"),
    ],
)
def test_the_nearest_first_ranking_is_the_exhaustive_one(gpus, strategy):
    plan = _plan(gpus)
    result = check(plan, strategy)[0]
    assert result.layout is not None
    for table in TABLES.values():
        assert [
            strategy_source(s) for s in nearest._ranked(result.plan, result.strategy, result.layout, table)
        ] == _exhaustive(result.plan, result.strategy, result.layout, table)


def _counted(monkeypatch) -> list[int]:
    calls = [0]

    def counting(*args, **kwargs):
        calls[0] += 1
        return degrees(*args, **kwargs)

    monkeypatch.setattr(nearest, "degrees", counting)
    return calls


def test_a_strategy_on_more_gpus_than_the_cluster_resolves_no_candidate(monkeypatch):
    """Every candidate takes the strategy's 8,000 GPUs, which a 4-GPU cluster has not (E401): none is resolved."""
    plan = _plan(4)
    result = check(plan, "tp 8 cp 1000")[0]
    assert not result.valid and result.layout is not None and result.layout.gpus_used == 8000
    calls = _counted(monkeypatch)
    for table in TABLES.values():
        assert nearest._ranked(result.plan, result.strategy, result.layout, table) == []
    assert calls[0] == 3  # the strategy's own degrees, once an engine


def test_the_candidates_resolved_stop_at_the_bound(monkeypatch):
    """`tp 8 cp 90` on 720 GPUs: a stage group of 720 has 270 (tp, cp) and 271 expert domains, 73,170 candidates,
    of which each engine runs only a few, far from it (E702/E711/E723 and the cp refusals): each stops at the bound,
    10,000 resolved, with none found (the hint: none it can run checks without errors) — where resolving all
    73,170 took 22 CPU s an engine and found TensorRT-LLM's `tp 720`."""
    plan = _plan(720)
    result = check(plan, "tp 8 cp 90")[0]
    group = result.layout.group_size
    assert group == 720
    assert sum(len(nearest._divisors(group // t)) for t in nearest._divisors(group)) == 270
    calls = _counted(monkeypatch)
    for table in TABLES.values():
        calls[0] = 0
        assert nearest._ranked(result.plan, result.strategy, result.layout, table) == []
        assert calls[0] == 1 + nearest.NEAREST_RESOLVED
    # the bound each candidate is ranked by: the log2 moves its degrees fix alone, never more than its distance
    d = degrees(result.plan, result.strategy, result.layout)
    for bound, tp, cp in nearest._attention(d, group)[:50]:
        assert bound == pytest.approx(
            abs(math.log2(tp / 8)) + abs(math.log2(cp / 90)) + abs(math.log2(group // (tp * cp) / d.adp))
        )


def test_the_candidates_resolved_stop_once_no_later_one_can_rank(monkeypatch):
    """`dp 90 < tp 8 >` on 720 GPUs: 110 candidates in its stage group of 8 (10 (tp, cp) × 11 expert domains);
    vLLM's 8 nearest are known before the last is resolved."""
    result = check(_plan(720), "dp 90 < tp 8 >")[0]
    calls = _counted(monkeypatch)
    ranked = nearest._ranked(result.plan, result.strategy, result.layout, TABLES["vllm"])
    assert [s.text for s in ranked][:2] == ["dp 90 < tp 8 >", "dp 90 < tp 8 ; ep 1 etp 8 >"]
    assert len(ranked) == nearest.NEAREST_TRIES and calls[0] < 1 + 110


def test_least_sums_gives_every_pair_in_order():
    a = [0.0, 1.0, 3.0]
    b = [0.0, 2.0]
    sums = list(nearest._least_sums(a, b))
    assert sorted((i, j) for _, i, j in sums) == [(i, j) for i in range(3) for j in range(2)]
    assert [s for s, _, _ in sums] == [0.0, 1.0, 2.0, 3.0, 3.0, 5.0]


SEED_001 = """model "seed-moe-10b" {
  layers = 16  hidden = 4096  heads = 32  kv_heads = 32  head_dim = 128  vocab = 32000
  moe { experts = 16  top_k = 2  ffn = 4096  gated = false }
}
cluster { gpus = 64  gpus_per_node = 8  gpu preset "generic-400t"  engine = vllm }
workload { batch = 128  prompt = 10240  generate = 256 }
require { ttft <= 10 s }
strategy tp 4 ; ep 16 etp 4
"""


def test_e702_s_nearest_splits_the_group_into_replicas_one_ep_group_wide():
    """vLLM's EP is attention DP × TP: on 64 GPUs of one stage group `ep 16 etp 4` is refused (E702). Kept whole,
    the group's only expert domain vLLM runs with 16 experts is `ep 1 etp 64` (TTFT 9.984 s, against `ttft <= 10 s`,
    the hint until 2026-12-03); split into 4 replicas of 16 GPUs, each one EP group of 16, the user's ep is kept."""
    from dagc.launch.engine_check import check as engine_check  # the plan's engine's refusals, as `dagc check`
    plan = load_plan_text(SEED_001, "s.moe")
    (r,) = engine_check(plan)
    (e702,) = [x for x in r.diagnostics if x.code == "E702"]
    assert e702.hint is not None and e702.hint.startswith("the nearest strategy vLLM can run: `dp 4 < tp ")
    text = e702.hint.split("`")[1]
    assert text.endswith("; ep 16 >")
    (near,) = check(plan, text)
    # faster to a first token than the refused strategy itself (1.629 s): `ep 1 etp 64` took 9.984 s
    assert near.valid and near.metrics is not None and near.metrics.ttft_s < r.metrics.ttft_s
