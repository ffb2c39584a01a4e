"""What `dagc compile` writes for a disaggregated strategy: trace.json with both pools' instances and
their KV transfer, dag.json with both instances' nodes tagged by pool, placement.svg with the pools'
GPUs, report.md with the binding pool and what to change."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import networkx as nx
import pytest

from dagc.export.compile import CompileOptions, compile_results
from dagc.export.dag_json import DagJson
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from trace_checker import check_readable, check_trace

QWEN = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }\n'
        "workload { batch = 64  prompt = 2000  generate = 200  serving = inflight }\n")
PD = "prefill 2 < tp 2 > decode 1 < tp 4 ; ep 4 >"       # 4 + 4 GPUs on node 0, 8 idle on node 1


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    plan = load_plan_text(QWEN + f"strategy {PD}\n")
    results = check(plan)
    out = tmp_path_factory.mktemp("pools") / "out"
    compile_results(plan, results, out, CompileOptions())
    return results[0], out


def test_the_trace_holds_both_pools_and_loads_cleanly(written):
    r, out = written
    path = out / "trace.json"
    assert not {k: v for k, v in check_trace(path).items() if v}
    assert not {k: v for k, v in check_readable(path).items() if v}
    data = json.loads(path.read_text())
    meta, events = data["metadata"], data["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
    pre, dec = meta["pools"]["prefill"], meta["pools"]["decode"]
    assert (pre["instances"], pre["gpus_per_instance"], dec["instances"], dec["gpus_per_instance"]) == (2, 2, 1, 4)
    assert all(names[p].startswith("prefill · GPU ") for p in pre["pids"])
    assert all(names[p].startswith("decode · GPU ") for p in dec["pids"])
    assert names[pre["schedule_pid"]].startswith("prefill · schedule") and \
        names[dec["schedule_pid"]].startswith("decode · schedule")
    assert meta["ttft_s"] == pytest.approx(r.metrics.ttft_s) and meta["tpot_s"] == pytest.approx(r.metrics.tpot_s)


def test_kv_transfer_events_link_each_prefill_gpu_to_the_decode_gpu_it_feeds(written):
    r, out = written
    data = json.loads((out / "trace.json").read_text())
    meta, events = data["metadata"], data["traceEvents"]
    pre, dec = meta["pools"]["prefill"], meta["pools"]["decode"]
    sends = [e for e in events if e["ph"] == "X" and e["name"] == "kv transfer"]
    receives = [e for e in events if e["ph"] == "X" and e["name"] == "kv receive"]
    assert sorted(e["pid"] for e in sends) == sorted(pre["pids"])
    f = r.pooled.figures
    (prefill,) = [e for e in events if e["ph"] == "X" and e["pid"] == pre["schedule_pid"] and e["name"] == "prefill"]
    for s in sends:
        rank = pre["pids"].index(s["pid"])
        assert s["args"]["to_decode_gpu"] == rank % 4          # prefill GPU r feeds decode GPU r mod 4
        assert s["dur"] == pytest.approx(f.transfer_s * 1e6, abs=1e-3)
        # the transfer starts when the prefill instance's prefill ends: the server's TTFT less the transfer
        # (the client's TTFT adds the engine's front end, vLLM's 20.02 ms, which runs on no GPU)
        assert s["ts"] == pytest.approx(prefill["ts"] + prefill["dur"], abs=1e-3)
        assert s["ts"] == pytest.approx((f.rates.ttft_server_s - f.transfer_s) * 1e6, abs=1e-3)
        # the bytes: one prefill batch's KV, each GPU its share
        kv = r.pooled.kv_bytes_per_request * r.pooled.pools[0].batch_per_instance / 2
        assert s["args"]["bytes"] == pytest.approx(kv)
    assert {e["pid"] for e in receives} <= set(dec["pids"])
    starts = [e for e in events if e["ph"] == "s"]
    finishes = {e["id"]: e for e in events if e["ph"] == "f"}
    kv_flows = [(s, finishes[s["id"]]) for s in starts if s["pid"] in pre["pids"] and finishes[s["id"]]["pid"]
                in dec["pids"]]
    assert len(kv_flows) == len(sends) == len(pre["pids"]) == 2       # one instance of each pool is drawn
    # decode starts when the transfer ends: the server's TTFT
    decode_phase = [e for e in events if e["ph"] == "X" and e["pid"] == dec["schedule_pid"] and e["name"] ==
                    "decode step 0"]
    assert decode_phase and decode_phase[0]["ts"] >= f.rates.ttft_server_s * 1e6 - 1e-3


def test_dag_json_holds_both_instances_each_node_tagged(written):
    r, out = written
    data = json.loads((out / "dag.json").read_text())
    DagJson.model_validate(data)
    pools = data["graph"]["pools"]
    assert [p["role"] for p in pools] == ["prefill", "decode"]
    sizes = [len(p.analysis.compiled.dag) for p in r.pooled.pools]
    assert [p["nodes"][1] - p["nodes"][0] + 1 for p in pools] == sizes
    assert [n["pool"] for n in data["nodes"]] == ["prefill"] * sizes[0] + ["decode"] * sizes[1]
    assert {n["phase"] for n in data["nodes"] if n["pool"] == "prefill"} == {"prefill"}
    assert {n["phase"] for n in data["nodes"] if n["pool"] == "decode"} == {"decode"}
    g = nx.node_link_graph(data, edges="edges")
    assert nx.is_directed_acyclic_graph(g)
    assert all(g.nodes[a]["pool"] == g.nodes[b]["pool"] for a, b in g.edges)     # no edge crosses pools
    assert [p["instances"] for p in pools] == [2, 1] and pools[1]["strategy"] == "tp 4 ; ep 4"


def test_placement_draws_each_pools_gpus_where_they_sit(written):
    _, out = written
    svg = ET.parse(out / "placement.svg").getroot()
    cells = [e for e in svg.iter() if e.get("class") == "pool-cell"]
    by_gpu = {int(e.get("data-gpu")): (e.get("data-pool"), int(e.get("data-instance"))) for e in cells}
    # prefill's two 2-GPU instances on GPUs 0–3, the 4-GPU decode instance on 4–7, node 1 idle
    assert [by_gpu[g] for g in range(8)] == [("prefill", 0)] * 2 + [("prefill", 1)] * 2 + [("decode", 2)] * 4
    assert {by_gpu[g] for g in range(8, 16)} == {("idle", -1)}
    assert len(cells) == 16
    # the grid draws the decode instance on its own GPUs, 4–7, and says whose the others are
    grid = {e.get("id"): e for e in svg.iter() if (e.get("id") or "").startswith("gpu")}
    assert [g for g in range(16) if grid[f"gpu{g}"].get("class") == "gpu"] == [4, 5, 6, 7]
    words = {g: [t.text for t in grid[f"gpu{g}"].iter() if t.tag.endswith("text")][1] for g in range(16)}
    assert [words[g] for g in range(4)] == ["prefill instance 0"] * 2 + ["prefill instance 1"] * 2
    assert {words[g] for g in range(8, 16)} == {"idle"}
    assert [t.text for t in grid["gpu4"].iter() if t.tag.endswith("text")][0] == "GPU 4"


def test_the_report_says_which_pool_binds_and_what_to_change(written):
    r, out = written
    md = (out / "report.md").read_text()
    f = r.pooled.figures
    assert f"the **{f.binding_pool} pool binds**" in md
    if f.binding_pool == "prefill":
        m = re.search(r"\*\*To serve the decode pool's [\d.,]+ requests/s\*\*: (\d+) prefill instances", md)
        assert m is not None
        n = int(m.group(1))
        per = f.capacity["prefill"] / 2
        assert (n - 1) * per < f.capacity["decode"] <= n * per
    else:
        assert "**The decode pool binds**" in md


def test_a_prefill_bound_plan_names_the_prefill_instances_needed(tmp_path):
    # sized on the plain reference's figures (one H100's prefill serves 20.0 requests/s, the decode instance
    # 22.3): under vLLM's fused MoE the prefill serves 37.5 and the decode (35.1) binds
    plan = load_plan_text(QWEN.replace('preset "h100-sxm"', 'preset "h100-sxm"  engine = pytorch')
                          + "strategy prefill 1 < tp 1 > decode 1 < tp 8 ; ep 8 >\n")
    results = check(plan)
    f = results[0].pooled.figures
    assert f.binding_pool == "prefill"
    compile_results(plan, results, tmp_path / "out", CompileOptions())
    md = (tmp_path / "out" / "report.md").read_text()
    n = -(-f.capacity["decode"] // f.capacity["prefill"])
    assert f"{int(n)} prefill instances ({int(n) - 1} more GPUs, within the cluster)" in md


def test_the_balancing_instances_are_said_in_the_plan_s_own_instances(written):
    """The pools' balance is said as a ratio of one instance to so many and as the instances the binding pool
    needs beside the other's count as the plan has it — by hand from the two capacities (one instance of each) —
    not as a bare fraction such as 15:43."""
    r, out = written
    f = r.pooled.figures
    md = (out / "report.md").read_text()
    n, d = f.balance
    per = {role: f.capacity[role] / k for role, k in (("prefill", 2), ("decode", 1))}   # one instance's capacity
    assert abs(n / d - per["decode"] / per["prefill"]) <= 0.02 * n / d          # the ratio, to whole instances
    if f.binding_pool == "decode":      # its instances share one batch: no count follows (tests/test_decode_binds.py)
        assert "pool needs" not in md
        return
    need = -(-1 * n // d)
    said = f"({n}:{d}): beside its 1 decode instance, the prefill pool needs {need} instance{'' if need == 1 else 's'}"
    assert said in " ".join(md.split())


def test_the_report_says_what_the_dag_svg_and_the_trace_of_the_pools_show(written):
    """report.md's Pictures captions of a disaggregated strategy say what dag.svg draws (the decode instance's first
    decode step, as the SVG's own heading says) and what the trace holds (the prefill instance's prefill and KV
    transfer, then the decode instance's two decode steps) — before, the aggregated in-flight captions: "the first
    mixed step's micro-batch 0, with its chunk" and "two decode steps, then two mixed steps", neither of which a
    decode instance runs."""
    _, out = written
    md = (out / "report.md").read_text()
    svg_text = " ".join("".join(t.itertext()) for t in ET.parse(out / "dag.svg").getroot().iter()
                        if t.tag.endswith("}text"))
    assert "one decode instance of a disaggregated strategy: its first decode step, micro-batch 0" in svg_text
    assert "The DAG, one decode instance's first decode step, micro-batch 0 ([dag.svg]" in md
    assert "(a prefill instance's prefill and its KV transfer, then the decode instance's two decode steps)." in md
    assert "mixed step" not in md
    data = json.loads((out / "trace.json").read_text())
    phases = [e["name"] for e in data["traceEvents"] if e["ph"] == "X" and e.get("cat") == "phase"]
    assert phases == ["prefill", "decode step 0", "decode step 1"]


def test_the_prefill_slice_says_the_strategy_s_ttft_as_the_metadata_and_report_do(written):
    """Clicking the prefill slice of a disaggregated strategy's trace in Perfetto shows its `ttft_s`: the strategy's
    TTFT, as the trace's metadata, report.json and the terminal say it — the prefill instance's prefill, its KV
    transfer and the engine's front end. Before, the prefill instance's own prefill time (a few ms), a figure dagc
    reports nowhere as a TTFT."""
    r, out = written
    data = json.loads((out / "trace.json").read_text())
    meta, events = data["metadata"], data["traceEvents"]
    (prefill,) = [e for e in events if e["ph"] == "X" and e["pid"] == meta["pools"]["prefill"]["schedule_pid"]
                  and e["name"] == "prefill"]
    f = r.pooled.figures
    assert prefill["args"]["ttft_s"] == meta["ttft_s"] == r.metrics.ttft_s == f.ttft_s
    # the slice itself spans the prefill alone: the TTFT less the transfer and the front end
    front = r.plan.cluster.engine.terms.frontend_alone_s
    assert prefill["dur"] == pytest.approx((f.ttft_s - f.transfer_s - front) * 1e6, abs=2e-3)
    json_report = json.loads((out / "report.json").read_text())
    assert json_report["metrics"]["ttft_s"] == prefill["args"]["ttft_s"]


def test_the_report_says_how_the_kv_moves_as_check_does(written):
    """report.md's TTFT sum of a disaggregated strategy says, as `dagc check`'s does, whether the KV transfer is
    all of it after the prefill or layer by layer with the last layer's share shown — before, report.md said
    neither, so a layerwise transfer of 4 requests of 192.0 MiB read as taking 209.7 us."""
    from dagc.export.markdown import report_md
    r, out = written
    md = " ".join((out / "report.md").read_text().split())
    assert re.search(r"\+ the KV transfer [\d.]+ u?m?s \(\d+ requests of [\d.]+ MiB, one after another, [^)]*, "
                     r"after the prefill\) \+ the engine's front end", md), md[:2000]
    layerwise = load_plan_text(QWEN.replace("serving = inflight", "serving = inflight  kv_transfer = layerwise")
                               + f"strategy {PD}\n")
    (lw,) = check(layerwise)
    said = " ".join(report_md(lw).split())
    assert f"({lw.pooled.kv_text}, layer by layer, the last layer's share shown) + the engine's front end" in said
