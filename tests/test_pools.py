"""Disaggregated prefill and decode (`prefill N < A > decode M < B >`): the language (E205), each pool's
instance, the deployment's figures by hand (`dagc.serve.disagg`, `dagc.verdict.pools`), E308, E309, the
outputs and `dagc launch` of both pools (tests/test_launch_pools.py for the commands)."""

from __future__ import annotations

import json
import math

import pytest

from dagc.export.optimal_words import evidence_json
from dagc.export.result_json import serving_json
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text, parse_strategy
from dagc.layout.shards import kv_bytes_per_token_layer
from dagc.verdict.check import check
from conftest import run_dagc

QWEN = 'model preset "qwen3-30b-a3b"'
CLUSTER = 'cluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }'


def plan(strategy: str, workload: str = "batch = 64  prompt = 2000  generate = 200  serving = inflight",
         cluster: str = CLUSTER) -> str:
    return f"{QWEN}\n{cluster}\nworkload {{ {workload} }}\nstrategy {strategy}\n"


def test_pools_flatten_into_two_strategies_with_the_options_of_both():
    s, diags = flatten(parse_strategy("prefill 3 < tp 4 ; ep 4 > decode 1 < dp 2 < pp 2 < tp 2 ; ep 4 > > > "
                                      "with microbatches 2"))
    assert diags == [] and s is not None and s.disaggregated
    (p, d) = s.pools
    assert (p.role, p.instances, p.strategy.text, p.strategy.tp, p.strategy.ep) == ("prefill", 3, "tp 4 ; ep 4", 4, 4)
    assert (d.role, d.instances, d.strategy.text) == ("decode", 1, "dp 2 < pp 2 < tp 2 ; ep 4 > >")
    assert (d.strategy.dp, d.strategy.pp, d.strategy.tp, d.strategy.ep) == (2, 2, 2, 4)
    assert p.strategy.microbatches == d.strategy.microbatches == 2


@pytest.mark.parametrize("text, message, column", [
    ("dp 2 < prefill 1 < tp 2 > decode 1 < tp 2 > >", "inside another scope", 8),
    ("prefill 1 < tp 2 >", "needs a decode pool", 1),
    ("decode 1 < tp 8 > prefill 1 < tp 2 >", "the prefill pool comes first", 1),
    ("prefill 1 < tp 2 > prefill 2 < tp 2 > decode 1 < tp 2 >", "written twice", 20),
    ("prefill 1 < tp 2 > decode < tp 2 >", "whole number of instances", 20),
    ("prefill 0 < tp 2 > decode 1 < tp 2 >", "whole number of instances", 9),       # at the count
    ("prefill 1.5 < tp 2 > decode 1 < tp 2 >", "whole number of instances", 9),
    ("prefill 1 decode 1 < tp 2 >", "needs the strategy of its instances", 1),
    ("tp 2 prefill 1 < tp 2 > decode 1 < tp 2 >", "beside the pools", 1),
    ("prefill 1 < tp 2 > ; decode 1 < tp 2 >", "side by side", 1),
    ("prefill 1 [2, 2] < tp 2 > decode 1 < tp 2 >", "no `[…]` layer split", 11),
    ("prefill 1 < tp 2 > decode 1 < prefill 1 < tp 2 > >", "inside another scope", 31),
])
def test_malformed_pools_get_a_located_E205(text, message, column):
    s, diags = flatten(parse_strategy(text))
    assert s is None
    assert [d.code for d in diags][:1] == ["E205"], diags
    assert message in diags[0].message and diags[0].span.column == column


@pytest.mark.parametrize(("strategy", "cluster", "link"), [
    # one node: NVLink 450 GB/s a GPU, at the network efficiency of every transfer between GPUs (0.8). An
    # attention-DP decode instance (tp 1 ; ep 4) keeps a request on one rank, which receives it whole over its one
    # link, whatever the 4 prefill ranks could send
    ("prefill 1 < tp 4 > decode 1 < tp 1 ; ep 4 >", CLUSTER, 450e9 * 0.8 * 1),
    # a tp 4 decode instance: its 4 ranks each receive their KV heads' share, from the 2 sending ranks
    ("prefill 1 < tp 2 > decode 1 < tp 4 >", CLUSTER, 450e9 * 0.8 * 2),
    # two nodes (the pools fill 16 GPUs): the network, 50 GB/s a GPU; 8 senders, one attention-DP receiver
    ("prefill 1 < tp 8 > decode 1 < tp 1 ; ep 8 >", CLUSTER, 50e9 * 0.8 * 1),
    # 8 senders, a pp 2 × tp 2 decode instance: its 2 ranks of each of its 2 stages receive their layers' share
    ("prefill 1 < tp 8 > decode 1 < pp 2 < tp 2 > >", 'cluster { gpus = 12  gpus_per_node = 8  gpu preset "h100-sxm" }',
     50e9 * 0.8 * 4),
])
def test_a_kv_transfer_is_bounded_by_the_ranks_holding_the_request_on_both_ends(strategy, cluster, link):
    """A request's KV leaves from the prefill instance's ranks that hold it and lands on the decode instance's
    ranks that will hold it; the fewer, at their GPUs' link, bound it — one decode rank under attention data
    parallelism. TTFT carries a prefill batch's requests one after another over that path."""
    (r,) = check(load_plan_text(plan(strategy, cluster=cluster)))
    assert r.valid and r.pooled is not None, r.diagnostics
    m, batch = load_plan_text(plan(strategy)).model, r.pooled.pools[0].batch_per_instance
    tp_d = r.pooled.pools[1].analysis.layout.tp
    kv = 2000 * m.layers * kv_bytes_per_token_layer(m, tp_d) * tp_d       # the prompt's KV in the decode layout
    assert r.pooled.kv_bytes_per_request == kv and r.pooled.link_bytes_per_s == link
    assert r.pooled.figures.transfer_s == pytest.approx(kv * batch / link, rel=1e-12)


def test_a_pools_own_strategy_is_checked_as_any_strategy():
    _, diags = flatten(parse_strategy("prefill 1 < tp 2 ep 2 > decode 1 < tp 2 >"))
    assert [d.code for d in diags] == ["E202"]


def test_the_deployment_figures_by_hand():
    text = plan("prefill 2 < tp 2 > decode 1 < tp 4 ; ep 4 >")
    (r,) = check(load_plan_text(text))
    assert r.valid and r.pooled is not None and r.gpus_used == 2 * 2 + 4
    p, d = r.pooled.pools
    # prefill_batch by default: a chunk's worth of prompts per attention-DP rank, floor(8192 / 2000) = 4, one rank
    assert p.batch_per_instance == 4 and d.batch_per_instance == 64
    # each pool's instance is the static strategy of its role: a prefill instance's makespan is the TTFT of a
    # static check of its strategy at its batch (one token generated), a decode instance's step the TPOT of one
    static_p = check(load_plan_text(plan("tp 2", "batch = 4  prompt = 2000  generate = 1")))[0].metrics
    static_d = check(load_plan_text(plan("tp 4 ; ep 4", "batch = 64  prompt = 2000  generate = 200")))[0].metrics
    t_p, tpot = p.analysis.metrics.ttft_s, d.analysis.metrics.tpot_s
    assert t_p == pytest.approx(static_p.ttft_server_s, rel=1e-12)     # the server's: a pool has no front end
    assert tpot == pytest.approx(static_d.tpot_s, rel=1e-12)
    m = load_plan_text(text).model
    kv = 2000 * m.layers * kv_bytes_per_token_layer(m, 4) * 4          # the prompt's KV, in tp 4's layout
    assert r.pooled.kv_bytes_per_request == kv
    # both pools inside one node of 8: NVLink, at the fewer of the ranks holding a request's KV on either end:
    # the prefill instance's 2 (tp 2) sending it, the decode instance's 4 (tp 4) receiving it
    link = 450e9 * 0.8 * 2                 # 2 ranks' NVLink at the network efficiency (0.8)
    transfer = kv * 4 / link
    f = r.pooled.figures
    assert f.transfer_s == pytest.approx(transfer) and r.metrics.ttft_server_s == pytest.approx(t_p + transfer)
    # as a client measures it, with the engine's front end (the default engine's)
    assert r.metrics.ttft_s == pytest.approx(t_p + transfer + r.plan.cluster.engine.terms.frontend_alone_s)
    assert r.metrics.tpot_s == tpot
    cap_p, cap_d = 2 * 4 / t_p, 64 / (200 * tpot)
    assert f.capacity == pytest.approx({"prefill": cap_p, "decode": cap_d})
    served = min(cap_p, cap_d)
    assert f.binding_pool == ("prefill" if cap_p <= cap_d else "decode")
    assert r.metrics.decode_tokens_per_s == pytest.approx(served * 200)
    assert r.metrics.decode_tokens_per_s_per_gpu == pytest.approx(served * 200 / 8)
    n, k = f.balance
    assert n / k == pytest.approx((64 / (200 * tpot)) / (4 / t_p), rel=0.05)
    # the unused GPUs are the deployment's, said once
    assert [(x.code, x.message) for x in r.diagnostics if x.code == "W505"] == [
        ("W505", "8 of 16 GPUs are unused (the pools use 8)")]


def test_layerwise_transfer_shows_only_the_last_layers_share():
    after = check(load_plan_text(plan("prefill 1 < tp 2 > decode 1 < tp 4 ; ep 4 >")))[0].pooled.figures
    layerwise = check(load_plan_text(plan("prefill 1 < tp 2 > decode 1 < tp 4 ; ep 4 >",
                                          "batch = 64  prompt = 2000  generate = 200  serving = inflight  "
                                          "kv_transfer = layerwise")))[0].pooled.figures
    assert layerwise.transfer_s == pytest.approx(after.transfer_s / 48)      # qwen3-30b-a3b: 48 layers
    assert layerwise.tpot_s == after.tpot_s


def test_pools_across_nodes_move_kv_over_the_network():
    r = check(load_plan_text(plan("prefill 1 < tp 8 > decode 1 < tp 8 ; ep 8 >")))[0]
    kv = r.pooled.kv_bytes_per_request
    assert r.pooled.figures.transfer_s == pytest.approx(kv * r.pooled.pools[0].batch_per_instance / (50e9 * 0.8 * 8))


def test_pools_over_the_cluster_and_static_serving_are_errors():
    (over,) = check(load_plan_text(plan("prefill 2 < tp 8 > decode 1 < tp 4 ; ep 4 >")))
    assert [d.code for d in over.diagnostics if d.is_error] == ["E308"]
    assert "20 GPUs (2 × 8 for prefill + 1 × 4 for decode)" in over.diagnostics[0].message or any(
        "20 GPUs (2 × 8 for prefill + 1 × 4 for decode)" in d.message for d in over.diagnostics)
    (static,) = check(load_plan_text(plan("prefill 1 < tp 2 > decode 1 < tp 4 ; ep 4 >",
                                          "batch = 64  prompt = 2000  generate = 200")))
    assert [d.code for d in static.diagnostics] == ["E309"] and static.metrics is None
    # the terminal says no GPU count, as report.json's `gpus.used` (null), not "0 used", and no empty pools table
    from rich.console import Console

    from dagc.cli.print_figures import print_pools
    console = Console(width=120, record=True)
    print_pools(console, static)
    assert console.export_text() == "GPUs: — of 16 available (two pools, not laid out: see the errors below)\n"


def test_each_pools_diagnostics_are_named_by_its_pool():
    (r,) = check(load_plan_text(plan("prefill 1 < tp 3 > decode 1 < tp 4 ; ep 4 >")))
    assert any(d.code == "E302" and d.message.startswith("prefill pool: ") for d in r.diagnostics)
    assert r.metrics is None and not r.valid


def test_the_command_line_reports_the_pools(tmp_path):
    path = tmp_path / "pd.moe"
    path.write_text(plan("prefill 2 < tp 2 > decode 1 < tp 4 ; ep 4 >"))
    run = run_dagc("check", str(path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert "pools" in run.stdout and "KV transfer" in run.stdout and "pool binds" in run.stdout
    out = tmp_path / "out"
    run = run_dagc("compile", str(path), "-o", str(out), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    report = json.loads((out / "report.json").read_text())
    s = report["serving"]
    assert s["mode"] == "disaggregated" and [p["role"] for p in s["pools"]] == ["prefill", "decode"]
    assert [p["instances"] for p in s["pools"]] == [2, 1] and report["gpus"]["used"] == 8
    assert s["binding_pool"] in ("prefill", "decode") and math.isfinite(s["served_requests_per_s"])
    # the keys `serving` holds in every mode, null where a disaggregated strategy has no such figure
    static = serving_json(load_plan_text(plan("tp 8")).workload, None)       # the keys of the other modes
    assert set(static) - {"binding_pool", "pools"} <= set(s)
    # the in-flight keys (chunked_prefill among them) are null
    assert [s[k] for k in static if k not in ("mode", "chunk", "binding_pool", "pools")] == [None] * 9
    assert "Disaggregated" in (out / "report.md").read_text()
    run = run_dagc("launch", str(path), cwd=tmp_path)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr      # both pools and the router
    assert "--disaggregation-mode prefill" in run.stdout and "sglang_router.launch_router" in run.stdout


def test_batch_max_with_pools_is_what_the_decode_instances_hold():
    """`batch = max`: each decode instance at the largest batch it serves under `tpot` and memory (TTFT is
    the deployment's, not the instance's), times the instances; N605 says so."""
    text = plan("prefill 1 < tp 2 > decode 2 < tp 4 ; ep 4 >",
                "batch = max  prompt = 2000  generate = 200  serving = inflight") + "require { tpot <= 30 ms }\n"
    (r,) = check(load_plan_text(text))
    d = r.pooled.pools[1]
    assert r.plan.workload.batch == 2 * d.batch_per_instance and d.batch_per_instance > 1
    assert r.metrics.tpot_s <= 0.030
    note = next(x for x in r.diagnostics if x.code == "N605")
    assert f"{d.batch_per_instance:,} on each of the 2 decode instances" in note.message
    one_more = check(load_plan_text(plan("tp 4 ; ep 4", f"batch = {d.batch_per_instance + 1}  prompt = 2000  "
                                         "generate = 200") + "require { tpot <= 30 ms }\n"))[0]
    assert one_more.metrics.tpot_s > 0.030 or not one_more.valid


def test_the_requirements_are_the_deployments_not_a_pools():
    """A decode instance never prefills, a prefill instance never decodes: no rule judges the plan's
    `ttft` or `tpot` against one instance (W506 would quote a pool's own static prefill as the TTFT)."""
    text = plan("prefill 1 < tp 2 > decode 1 < tp 4 ; ep 4 >") + "require { ttft <= 1 ms  tpot <= 1 ms }\n"
    (r,) = check(load_plan_text(text))
    assert not [d for d in r.diagnostics if "pool:" in d.message and d.code in ("W506", "N604")]
    assert [q.met for q in r.requirements] == [False, False]


def test_the_optimal_verdict_scores_the_deployment_over_both_pools():
    from dagc.search.search import search
    p = load_plan_text(plan("prefill 2 < tp 2 > decode 1 < tp 4 ; ep 4 >"))
    (r,) = check(p, optimality=search(p, top=5, front=False))
    assert evidence_json(r.optimality, r)["own_score"] == pytest.approx(r.metrics.decode_tokens_per_s / 8)
    ev = evidence_json(r.optimality, r)
    assert r.gpus_used == 8 and r.verdict.optimal is (ev["own_score"] >= ev["best_score"] * (1 - ev["tolerance"]))


def test_a_pooled_strategy_gets_w521_as_an_ordinary_one_does():
    """`ttft_p99` judged on 60 simulated requests: the pooled deployment's percentile rests on the same few
    requests as the ordinary strategy's, so both get W521 — once each, at the requirement."""
    text = (f'{QWEN}\n{CLUSTER}\nworkload {{ batch = 16  prompt = 512  generate = 64  serving = inflight  '
            'rate = 2 requests/s  requests = 60 }\nrequire { ttft_p99 <= 2 s }\n'
            'strategy pd = prefill 1 < tp 2 > decode 1 < tp 2 >\nstrategy flat = tp 2\n')
    pd, flat = check(load_plan_text(text))
    for r in (pd, flat):
        [w521] = [d for d in r.diagnostics if d.code == "W521"]
        assert w521.message.startswith("`ttft_p99 <= 2 s` is judged on 60 simulated requests: a p99 needs at "
                                       "least 1,000")
        assert w521.span is not None and w521.span.text == "ttft_p99 <= 2 s"
    assert pd.pooled is not None


@pytest.mark.parametrize(("text", "hints"), [
    # two copies of a deployment of one prefill and one decode instance are two of each
    ("dp 2 < prefill 1 < tp 8 > decode 1 < tp 2 ; ep 8 > >",
     ["write `prefill 2 < tp 8 >` at the top level", "write `decode 2 < tp 2 ; ep 8 >` at the top level"]),
    # a pipeline runs inside each instance; with copies around it too, in the count
    ("pp 2 < prefill 1 < tp 4 > decode 1 < tp 4 > >",
     ["`prefill 1 < pp 2 < tp 4 > >`", "`decode 1 < pp 2 < tp 4 > >`"]),
    ("dp 2 < pp 2 < prefill 1 < tp 4 > decode 1 < tp 4 > > >",
     ["`prefill 2 < pp 2 < tp 4 > >`", "`decode 2 < pp 2 < tp 4 > >`"]),
])
def test_e205_of_pools_inside_dp_or_pp_says_where_their_copies_and_pipeline_go(text, hints):
    """A pool written inside `dp` or `pp` is told the pool that means it at the top level (the generic
    `prefill N < strategy > …` example said nothing of the copies or the pipeline written), and the hints
    together are a strategy that flattens clean."""
    s, diags = flatten(parse_strategy(text))
    pools = [d for d in diags if d.code == "E205"]
    assert s is None and len(pools) == 2
    for d, hint in zip(pools, hints, strict=True):
        assert hint in d.hint, d.hint
    rewritten = " ".join(h.split("`")[1] for h in hints)
    s, diags = flatten(parse_strategy(rewritten))
    assert s is not None and not diags, (rewritten, diags)
