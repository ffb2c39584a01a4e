"""Disaggregated serving (SPEC 11.3): two pools' figures → the deployment's TTFT, TPOT and rates.

Input: each pool's figures per instance — the prefill instance's makespan `t_p` of `prefill_batch`
requests, the decode instance's decode step at its concurrency — the KV bytes one request moves from
a prefill instance to a decode instance, the link they cross and the workload. Output:
`Disaggregated`: TTFT = t_p + the transfer's visible part (`kv_transfer = after`: the batch's whole
KV after the prefill; `layerwise`: overlapped with it layer by layer, only the last layer's share
shows), TPOT = the decode step, each pool's capacity in requests/s, the pool that binds, the N:M
that would balance them, and the rates of `dagc.serve.rates` at the served rate, per GPU over both
pools. No timing happens here: the pools' figures come from their own analyses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import overload

import numpy as np

from ..layout.layout import Layout
from ..layout.speculative import draft_kv_bytes_per_token, draft_layer
from ..memory.resident import kv_cache_bytes_per_request, kv_layers_of, request_kv_bytes
from ..plan.cluster import Cluster
from ..plan.model import Model
from ..plan.workload import Workload
from .rates import F, Rates

__all__ = ["BALANCE_MAX", "Disaggregated", "PoolFigures", "balance_of", "capacity", "disaggregated",
           "instances_to_serve", "kv_bytes_per_request", "decode_kv_bytes", "kv_ranks", "transfer_layers",
           "pooled_rates", "transfer_link", "transfer_seconds"]

BALANCE_MAX = 64          # the balancing N:M in whole instances, neither above this short of 64:1 (`balance_of`)


@dataclass(frozen=True)
class PoolFigures:
    """One pool: `instances` instances of `gpus_per_instance` GPUs, each holding `batch_per_instance`
    requests and taking `seconds` for them — a prefill instance its prefill's makespan, a decode
    instance its decode step (one token of each of its requests)."""

    role: str
    instances: int
    gpus_per_instance: int
    batch_per_instance: float
    seconds: float

    @property
    def gpus(self) -> int:
        return self.instances * self.gpus_per_instance


@dataclass(frozen=True)
class Disaggregated:
    ttft_s: float
    tpot_s: float
    transfer_s: float                  # the visible part of one prefill batch's KV transfer
    capacity: dict[str, float]         # requests/s each pool can serve, by role
    binding_pool: str                  # the pool with the smaller capacity ("prefill" on a tie)
    balance: tuple[int, int]           # the prefill:decode instances that would give equal capacities
    rates: Rates[float]                # TTFT, TPOT and throughputs at the served rate (`pooled_rates`)
    gpus: int

    @property
    def served_requests_per_s(self) -> float:
        return min(self.capacity.values())


def transfer_seconds(bytes_per_request: float, requests: float, bytes_per_s: float, layers: int,
                     layerwise: bool) -> float:
    """The visible time of moving `requests` requests' KV (`bytes_per_request` each) over a link of
    `bytes_per_s`: all of it after the prefill, or with `layerwise` only the last layer's share
    (the others move while later layers compute).

    Example:
        >>> transfer_seconds(1e9, 4, 50e9, 61, False), round(transfer_seconds(1e9, 4, 50e9, 61, True), 6)
        (0.08, 0.001311)
    """
    whole = bytes_per_request * requests / bytes_per_s
    return whole / max(1, layers) if layerwise else whole


def kv_bytes_per_request(model: Model, workload: Workload, decode_tp: int) -> float:
    """The bytes of one request's KV cache that move to a decode instance of tensor parallelism
    `decode_tp`: its prompt's tokens over all layers — the speculative draft's layer too (MTP, EAGLE:
    `dagc.memory.resident.kv_layers_of`, whose KV the engines send with the model's: vLLM keeps it in the
    same KV cache, SGLang hands its draft KV pool to the transfer) — in the decode instance's layout (each of
    its tp ranks receives its share: its KV heads, or MLA's latent whole; the draft's layer at its own KV bytes a
    token, `dagc.layout.speculative.draft_kv_bytes_per_token`: an EAGLE draft's own grouped-query attention) and the
    model's KV dtype."""
    return kv_cache_bytes_per_request(model, workload.prompt, decode_tp, draft_layer(model, workload)) * decode_tp


def decode_kv_bytes(model: Model, workload: Workload, decode: Layout) -> float:
    """`kv_bytes_per_request` to a decode instance whose layout is `decode`: read off what its ranks hold, as
    the layout was resolved (`Layout.shards`, `Layout.draft`), not worked out again."""
    draft = draft_kv_bytes_per_token(model, decode.draft, decode.tp)
    return request_kv_bytes(model, workload.prompt, decode.shards.kv_bytes_per_token, draft) * decode.tp


def transfer_layers(model: Model, workload: Workload) -> int:
    """The layers whose KV a request's transfer sends, one after another when layer-wise: the model's and
    the draft's (`kv_bytes_per_request`)."""
    return kv_layers_of(model, workload)


def kv_ranks(lay: Layout) -> int:
    """The ranks of an instance that hold one request's KV cache, so send (a prefill instance's) or receive (a
    decode instance's) it: its attention group, tp × cp ranks of each of its pp stages. A request runs on one
    data-parallel replica and one attention-DP rank: the instance's other ranks hold other requests.

    Example:
        >>> from dagc.verdict.check import load_plan_text
        >>> from dagc.layout.layout import resolve
        >>> from dagc.lang.flatten import flatten
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 16 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 128 generate = 8 } strategy pp 2 < tp 2 ; ep 8 >')
        >>> kv_ranks(resolve(p.model, p.cluster, p.workload, flatten(p.strategies[0])[0]))  # tp 2 · 2 stages
        4
    """
    return lay.tp * lay.cp * lay.pp


@overload
def transfer_link(cluster: Cluster, gpus: int, sending_ranks: int, receiving_ranks: int) -> float: ...


@overload
def transfer_link(cluster: Cluster, gpus: np.ndarray, sending_ranks: int | np.ndarray,
                  receiving_ranks: int | np.ndarray) -> np.ndarray: ...


def transfer_link(cluster: Cluster, gpus: int | np.ndarray, sending_ranks: int | np.ndarray,
                  receiving_ranks: int | np.ndarray) -> float | np.ndarray:
    """The bytes/s a request's KV moves at from a prefill instance to a decode instance: over NVLink when both
    pools (`gpus` in all) fit one node's NVLink domain, else over the network, each GPU at its link's bandwidth
    times the network efficiency (`Efficiency.network`, 0.8 by default, as every collective's),
    bounded by both ends — the prefill instance's ranks that hold the request's KV send it (`sending_ranks`,
    `kv_ranks`), the decode instance's that will hold it receive it (`receiving_ranks`): one rank under
    attention data parallelism, its tp ranks (each its KV heads' share) under tensor parallelism. Scalars or
    numpy arrays alike (the search weighs many pairs at once). Inside a node of a full mesh of links (MI300X), at
    most one link from each sending rank to each receiving one (`Gpu.mesh_link_bytes_per_s`).

    Example:
        >>> from dagc.plan.cluster import Cluster
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> c = Cluster(gpus=16, gpu=GPU_PRESETS["h200"], intra_node_bytes_per_s=450e9, inter_node_bytes_per_s=50e9)
        >>> transfer_link(c, 8, 4, 1), transfer_link(c, 16, 8, 1), transfer_link(c, 16, 2, 4)
        (360000000000.0, 40000000000.0, 80000000000.0)
    """
    one_domain = np.asarray(gpus) <= cluster.gpus_per_node
    per_gpu = np.where(one_domain, cluster.intra_node_bytes_per_s, cluster.inter_node_bytes_per_s)
    ranks = np.minimum(sending_ranks, receiving_ranks) * per_gpu
    if (link := cluster.gpu.mesh_link_bytes_per_s) is not None:     # a full mesh: one link from each sender to each
        ranks = np.where(one_domain, np.minimum(ranks, np.multiply(sending_ranks, receiving_ranks) * link), ranks)
    # at the network efficiency every transfer between GPUs gets (`efficiency { network }`, the collectives' too)
    out = ranks * cluster.efficiency.network
    return float(out) if np.ndim(out) == 0 else out


@overload
def capacity(instances: int, batch_per_instance: float, seconds: float, steps: int = 1) -> float: ...


@overload
def capacity(instances: int | np.ndarray, batch_per_instance: float | np.ndarray, seconds: float | np.ndarray,
             steps: int = 1) -> float | np.ndarray: ...


def capacity(instances: int | np.ndarray, batch_per_instance: float | np.ndarray, seconds: float | np.ndarray,
             steps: int = 1) -> float | np.ndarray:
    """Requests/s a pool serves: `instances` × `batch_per_instance` requests every `steps` × `seconds`
    (a prefill instance: its batch per makespan; a decode instance: its requests per `generate`
    steps). Scalars or numpy arrays alike."""
    return instances * batch_per_instance / (steps * seconds)


def pooled_rates(served: F, gpus: F | int, ttft_s: F, tpot_s: F, workload: Workload, frontend_s: float = 0.0
                 ) -> Rates[F]:
    """The deployment's rates at `served` requests/s on `gpus` GPUs over both pools (`dagc.serve.rates.Rates`:
    `ttft_s` the client's, the server's `ttft_s` plus the engine's front-end time `frontend_s`, beside it
    `ttft_server_s`). Scalars or numpy columns alike."""
    prefill, decode = served * workload.prompt, served * workload.generate
    throughput = served * (workload.prompt + workload.generate)
    return Rates(ttft_s=ttft_s + frontend_s, ttft_server_s=ttft_s, tpot_s=tpot_s, prefill_tokens_per_s=prefill,
                 decode_tokens_per_s=decode, throughput_tokens_per_s=throughput,
                 prefill_tokens_per_s_per_gpu=prefill / gpus, decode_tokens_per_s_per_gpu=decode / gpus,
                 throughput_tokens_per_s_per_gpu=throughput / gpus)


def balance_of(ratio: float) -> tuple[int, int]:
    """The prefill:decode instances N:M, both whole and at most `BALANCE_MAX`, whose N/M is nearest to
    `ratio` (one decode instance's capacity over one prefill instance's); among equally near, the
    fewest instances. Past 64:1 (or 1:64) the ratio rounded to one side's whole instances to 1 of the other: until
    2026-11-30 it was 64:1 however far past, and `serving.balance` said 64 prefill instances balanced a decode
    instance that 510 did (the terminal said 510).

    Example:
        >>> balance_of(1.25), balance_of(1000.0), balance_of(1 / 3), balance_of(3.157), balance_of(1 / 509.8)
        ((5, 4), (1000, 1), (1, 3), (60, 19), (1, 510))
    """
    if ratio > BALANCE_MAX:
        return round(ratio), 1
    if 0 < ratio < 1 / BALANCE_MAX:
        return 1, round(1 / ratio)
    best = (math.inf, 0, 1, 1)
    for m in range(1, BALANCE_MAX + 1):
        for n in {min(BALANCE_MAX, max(1, math.floor(ratio * m))), min(BALANCE_MAX, max(1, math.ceil(ratio * m)))}:
            best = min(best, (abs(n / m - ratio), n + m, n, m))
    return best[2], best[3]


def instances_to_serve(rate: float, per_instance: float) -> int:
    """The instances of `per_instance` requests/s each that serve `rate` requests/s."""
    return max(1, math.ceil(rate / per_instance - 1e-9))


def disaggregated(prefill: PoolFigures, decode: PoolFigures, transfer_s: float, workload: Workload,
                  frontend_s: float = 0.0) -> Disaggregated:
    """The deployment's figures from its pools' (SPEC 11.3); its TTFT the client's, with the engine's
    front-end time `frontend_s` (`pooled_rates`).

    Capacities, in requests/s: prefill N · prefill_batch / t_p; decode M · (its requests) /
    (generate · TPOT), each request holding a decode slot for `generate` steps. The deployment serves
    the smaller; tokens/s = that × generate (decode) and × prompt (prefill); per GPU over both pools.

    Example:
        >>> from dagc.plan.workload import Workload
        >>> w = Workload(batch=64, prompt=4000, generate=500, serving="inflight")
        >>> p = PoolFigures("prefill", 3, 8, 2, 0.5)          # 3 instances, 2 prompts in 0.5 s each
        >>> d = PoolFigures("decode", 1, 8, 64, 0.025)        # one instance, 64 requests, a step of 25 ms
        >>> r = disaggregated(p, d, 0.02, w)
        >>> r.ttft_s, r.capacity, r.binding_pool, r.balance      # an instance: 4 vs 5.12 requests/s
        (0.52, {'prefill': 12.0, 'decode': 5.12}, 'decode', (32, 25))
        >>> round(r.rates.decode_tokens_per_s_per_gpu, 1)      # 5.12 requests/s × 500 tokens over 32 GPUs
        80.0
    """
    cap_p = capacity(prefill.instances, prefill.batch_per_instance, prefill.seconds)
    cap_d = capacity(decode.instances, decode.batch_per_instance, decode.seconds, workload.generate)
    served = min(cap_p, cap_d)
    gpus = prefill.gpus + decode.gpus
    per_p = capacity(1, prefill.batch_per_instance, prefill.seconds)                   # one instance's
    per_d = capacity(1, decode.batch_per_instance, decode.seconds, workload.generate)
    balance = balance_of(per_d / per_p) if per_p > 0 and math.isfinite(per_d) else (prefill.instances,
                                                                                       decode.instances)
    ttft = prefill.seconds + transfer_s
    rates = pooled_rates(served, gpus, ttft, decode.seconds, workload, frontend_s)
    return Disaggregated(ttft_s=rates.ttft_s, tpot_s=decode.seconds, transfer_s=transfer_s,
                         capacity={"prefill": cap_p, "decode": cap_d},
                         binding_pool="prefill" if cap_p <= cap_d else "decode", balance=balance,
                         rates=rates, gpus=gpus)
