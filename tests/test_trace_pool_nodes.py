"""A disaggregated strategy's trace names each slice's dag.json node: dag.json numbers the decode instance's nodes after
the prefill instance's (`graph.pools[1].nodes`), and so does the trace (`Place.node0`). Until 2026-12-03 the decode
slices counted from 0 and named the prefill's nodes (a new user's round: `norm` of layer 9 pointed at a prefill `norm`
of layer 11)."""

from __future__ import annotations

import gzip
import json

from dagc.export.compile import CompileOptions, compile_results
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 1024  generate = 128  serving = inflight }
strategy pd = prefill 1 < tp 2 > decode 1 < tp 2 >
"""


def test_every_slice_names_its_own_dag_json_node(tmp_path):
    plan = load_plan_text(PLAN, "pd.moe")
    compile_results(plan, check(plan), tmp_path / "out", CompileOptions(gzip=True))
    (out,) = [p for p in (tmp_path / "out").rglob("dag.json")]
    dag = json.loads(out.read_text())
    nodes = {n["id"]: n for n in dag["nodes"]}
    (prefill, decode) = dag["graph"]["pools"]
    assert prefill["nodes"][0] == 0 and decode["nodes"][0] == prefill["nodes"][1] + 1
    trace = json.loads(gzip.open(out.with_name("trace.json.gz")).read())
    named = [e["args"] for e in trace["traceEvents"] if e.get("ph") == "X" and "node" in e.get("args", {})]
    pools = {a["node"] >= decode["nodes"][0] for a in named}
    assert pools == {False, True}                        # slices of both instances
    for a in named:
        n = nodes[a["node"]]
        layer = n.get("layer", -1)          # dag.json's -1 outside the layers; the trace leaves it out there
        assert (n["kind"], n["phase"], None if layer == -1 else layer, n["pool"]) == \
            (a["kind"], a["phase"], a.get("layer"), "decode" if a["node"] >= decode["nodes"][0] else "prefill")
