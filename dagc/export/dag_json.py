"""dag.json: the scheduled DAG as node-link JSON, and its JSON Schema.

Input: a `Compiled` strategy. Output: `networkx.node_link_data` of `Compiled.to_networkx()` (keys
`nodes` and `edges` with `source`/`target`, so `nx.node_link_graph(data, edges="edges")`
round-trips) with a top-level `version`. `DagJson` (pydantic) is the schema that
`dagc schema` prints and the tests validate against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field

from ..ir.dag import DAG_VERSION, OpKind
from ..verdict.compiled import Compiled, PricedKernel

__all__ = ["dag_json", "DagJson", "dag_schema", "pooled_dag_json"]

if TYPE_CHECKING:
    # A Literal built from the enum at run time is beyond static analysis; pydantic sees the real
    # one (and puts the kinds into the schema), mypy checks `kind` as a plain string.
    KindName = str
else:
    KindName = Literal[tuple(k.value for k in OpKind)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KernelJson(_Strict):
    name: str = Field(description="e.g. gate_up, permute, rope, flash_prefill")
    kernel_class: Literal["gemm", "grouped_gemm", "attn_prefill", "attn_decode", "mla_decode", "memory"]
    launches: int = Field(description="kernel launches it stands for (unfused steps), each at least the floor")
    seconds: float | None = Field(description="on the group's slowest rank, from the kernel profile; null "
                                              "without a profile")


class DagNodeJson(_Strict):
    id: int
    kind: KindName
    phase: Literal["prefill", "decode", "mixed"] = Field(
        description="prefill and decode statically; in flight decode and mixed (decode plus a prompt's chunk)")
    step: int = Field(description="decode or mixed step (0 or 1); 0 in prefill")
    stage: int
    layer: int = Field(description="-1 for ops outside a layer (embed, final norm, lm_head, send/recv)")
    microbatch: int
    ranks: list[int] = Field(description="[first, last] global rank of the stage group in replica 0")
    group: str | None = Field(description="the collective's group: tp, cp, ep, etp, pp; null for compute")
    tokens: float = Field(description="total over the ranks; expert_ffn: token-expert assignments")
    flops: float = Field(description="useful FLOPs, replicated work counted once")
    hbm_bytes: float
    comm_bytes: float = Field(description="bytes sent, summed over the ranks")
    duration: float = Field(description="seconds (the slowest rank of the group)")
    start: float = Field(description="seconds from the start of the phase")
    finish: float
    on_critical_path: bool
    kernels: list[KernelJson] = Field(description="what a compute op launches, in order (empty for communication)")
    pool: Literal["prefill", "decode"] | None = Field(
        default=None, description="a disaggregated strategy's: the pool whose instance runs the op (absent otherwise)")


class DagEdgeJson(_Strict):
    source: int
    target: int
    kind: Literal["data", "stream"]
    bytes: float


class PoolGraphJson(_Strict):
    role: Literal["prefill", "decode"]
    instances: int = Field(description="instances of the pool; the DAG holds one")
    strategy: str = Field(description="what each instance runs")
    dp: int
    pp: int
    group_size: int
    nodes: list[int] = Field(description="[first, last] id of its instance's nodes")


class DagGraphJson(_Strict):
    version: int
    dp: int = Field(description="identical DP replicas this DAG stands for (a disaggregated strategy: its decode "
                                "instance's)")
    pp: int
    group_size: int
    pools: list[PoolGraphJson] | None = Field(
        default=None, description="a disaggregated strategy: one instance of each pool, prefill's nodes first, "
                                  "each node tagged with its `pool` (absent otherwise)")


class DagJson(_Strict):
    version: int = DAG_VERSION
    directed: bool
    multigraph: bool
    graph: DagGraphJson
    nodes: list[DagNodeJson]
    edges: list[DagEdgeJson]


def dag_json(c: Compiled) -> dict[str, Any]:
    """The dag.json object of a compiled strategy: its DAG with times."""
    return {"version": DAG_VERSION, **_link_data(c)}


def _link_data(c: Compiled) -> dict[str, Any]:
    """`networkx.node_link_data` of the compiled strategy's graph, each node's priced kernels as dag.json holds
    them (their seconds on the group's slowest rank)."""
    data: dict[str, Any] = nx.node_link_data(c.to_networkx(), edges="edges")
    data["nodes"] = [{**n, "kernels": [_kernel_json(p) for p in n["kernels"]]} for n in data["nodes"]]
    return data


def _kernel_json(p: PricedKernel) -> dict[str, Any]:
    k, seconds = p.kernel, p.seconds
    return {"name": k.name, "kernel_class": k.cls.value, "launches": k.launches,
            "seconds": float(seconds.max()) if seconds is not None and seconds.size else None}


def pooled_dag_json(pools: list[tuple[str, int, str, Compiled]]) -> dict[str, Any]:
    """The dag.json object of a disaggregated strategy: one instance of each pool (role, instances,
    strategy text, its compiled instance), prefill first, the node ids of each after the one before,
    every node tagged with its `pool`; `graph` the decode instance's, with `pools`."""
    out: dict[str, Any] = {"version": DAG_VERSION, "nodes": [], "edges": []}
    graphs = []
    for role, instances, text, c in pools:
        data = _link_data(c)
        first = len(out["nodes"])
        out["nodes"] += [{**n, "id": n["id"] + first, "pool": role} for n in data["nodes"]]
        out["edges"] += [{**e, "source": e["source"] + first, "target": e["target"] + first} for e in data["edges"]]
        g = data["graph"]
        graphs.append({"role": role, "instances": instances, "strategy": text, "dp": g["dp"], "pp": g["pp"],
                       "group_size": g["group_size"], "nodes": [first, len(out["nodes"]) - 1]})
        out.update({k: v for k, v in data.items() if k not in ("nodes", "edges")})
    out["graph"] = {**out["graph"], "pools": graphs}
    return out


def dag_schema() -> dict[str, Any]:
    """JSON Schema of dag.json."""
    schema = DagJson.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dagc dag.json"
    return schema
