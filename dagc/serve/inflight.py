"""Serving in flight: continuous batching with chunked prefill, in steady state.

Input: a `Workload` with `serving = inflight`, a `Layout`, and the times of the two steps the DAG
(or the search's recurrence) prices — the decode step (the decode tokens of every request in
flight) and the mixed step (the same plus a chunk of one prompt). Output: `InflightRates`
(`inflight_rates`: the `dagc.serve.rates.Rates` and the two step times), from the shares of
`dagc.layout.mix` (report.json's `serving` object is `dagc.export.result_json.serving_json`):

    TPOT = f_g · t_mixed + (1 − f_g) · t_decode
    TTFT = ceil(prompt / c) · t_mixed              (no queueing: that needs an arrival rate)
    decode tokens/s = batch / TPOT,  prompt tokens/s = that × prompt / generate.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..cost.cost_model import CostModel
from ..ir.dag import Phase
from ..ir.op_shapes import graph_size
from ..layout.layout import Layout
from ..layout.mix import inflight_ttft_tpot, shares
from ..plan.cluster import Cluster
from ..plan.engines import ENGINE_SAID
from ..plan.workload import Workload
from ..units import Dimension, format_si
from .rates import Rates, rate_metrics

__all__ = ["InflightRates", "eager_mixed_text", "inflight_rates"]


@dataclass(frozen=True, slots=True)
class InflightRates(Rates[float]):
    """The rates in flight, with the two step times they come from."""

    decode_step_s: float           # a step of the decode tokens of every request in flight
    mixed_step_s: float            # the same plus a chunk of one prompt

    @classmethod
    def of(cls, r: Rates[float], decode_step_s: float, mixed_step_s: float) -> InflightRates:
        """`r` with the two step times it comes from."""
        return cls(ttft_s=r.ttft_s, ttft_server_s=r.ttft_server_s, tpot_s=r.tpot_s,
                   prefill_tokens_per_s=r.prefill_tokens_per_s, decode_tokens_per_s=r.decode_tokens_per_s,
                   throughput_tokens_per_s=r.throughput_tokens_per_s,
                   prefill_tokens_per_s_per_gpu=r.prefill_tokens_per_s_per_gpu,
                   decode_tokens_per_s_per_gpu=r.decode_tokens_per_s_per_gpu,
                   throughput_tokens_per_s_per_gpu=r.throughput_tokens_per_s_per_gpu,
                   decode_step_s=decode_step_s, mixed_step_s=mixed_step_s)


def inflight_rates(t_decode: float, t_mixed: float, workload: Workload, lay: Layout, frontend_s: float = 0.0
                   ) -> InflightRates:
    """TTFT, TPOT and the throughputs in flight (`dagc.layout.mix.inflight_ttft_tpot`, then
    `dagc.serve.rates.rate_metrics`, which adds the engine's front-end time `frontend_s` to the client's
    TTFT), total and per GPU, with the two step times they come from: `decode_step_s`, `mixed_step_s`."""
    ttft, tpot = inflight_ttft_tpot(t_decode, t_mixed, workload, lay)
    return InflightRates.of(rate_metrics(ttft, tpot, workload, lay.gpus_used, frontend_s=frontend_s), t_decode, t_mixed)


def eager_mixed_text(workload: Workload, lay: Layout, cluster: Cluster) -> str | None:
    """Why a mixed step may not shorten on a faster GPU: its engine runs it eagerly (`graph_size`: above its largest
    CUDA graph, or an engine that graphs no mixed step), so each op takes at least its kernel launches at the kernel
    profile's eager launch time, the host's (docs/cost-model.md, "The engine") — a GPU without a profile of its
    own takes the borrowed profile's host. None when the step is graphed, or priced without a profile.

    Example:
        >>> from dagc.verdict.check import load_plan_text
        >>> from dagc.layout.layout import resolve
        >>> from dagc.lang.flatten import flatten
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "b200" engine = vllm } '
        ...                    'workload { batch = 16 prompt = 2000 generate = 100 serving = inflight } strategy tp 8')
        >>> eager_mixed_text(p.workload, resolve(p.model, p.cluster, p.workload, flatten(p.strategies[0])[0]),
        ...                  p.cluster).split(":")[0]
        "the mixed step runs eagerly (2,016 tokens a rank, above vLLM's largest CUDA graph, 512 tokens)"
    """
    s, terms = shares(workload, lay), cluster.engine.terms
    tokens = s.requests_per_rank * workload.step_positions + s.chunk_prompt_tokens
    profile = CostModel.from_cluster(cluster).profile
    if profile is None or not graph_size(tokens / lay.cp, Phase.MIXED, terms)[1]:
        return None
    engine = ENGINE_SAID[cluster.engine.name]
    why = f"above {engine}'s largest CUDA graph, {max(terms.graph_sizes):,} tokens" if terms.mixed_graphs else \
        f"{engine} graphs no mixed step"
    return (f"the mixed step runs eagerly ({tokens:,} tokens a rank, {why}): each op takes at least its kernel "
            f"launches at the {profile.name.partition('@')[0]} profile's eager launch time, "
            f"{format_si(profile.eager_floor_s, Dimension.TIME)} (its host's), which the GPU's peaks do not shorten "
            "(docs/cost-model.md, \"The engine\")")
