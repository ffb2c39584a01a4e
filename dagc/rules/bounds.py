"""Physical bounds: what no schedule can beat, at 100 % efficiency (for W506 and N604).

Input: a `Model`, `Workload`, `Cluster`, a GPU count and a DP degree. Output: `Bounds` —
the smallest possible TTFT and TPOT and the largest possible throughputs on that many GPUs
(communication ignored), and the fewest GPUs that can hold the weights.

Every bound is a true bound of dagc's own cost model: the busiest rank is at least as busy
as the average rank, and a rank's time is at least its FLOPs at the peak of each op's dtype
(matmuls: the weights' dtype; attention: the KV cache's) and at least its bytes at peak HBM
bandwidth. The bytes counted are those the DAG must read: every weight once per pass except
the input embedding table (a lookup reads rows) and the routed experts no token is expected
to hit; in decode also the KV cache. Times are lower bounds (a `<=` target below one is
unreachable, a `>=` one never is), throughputs upper bounds (a `>=` target above one is
unreachable, a `<=` one never is).

With speculative decoding (`workload { speculative }`) a decode step runs k + 1 positions per request
through the layers (the LM head one), and the draft passes (`dagc.layout.speculative`: a layer and the LM
head each, on one position per request); `tpot_s` bounds that step, as `dagc.serve.rates.rate_metrics`
takes a step's time, and the TPOT itself is the step over the tokens it emits per request
(`Bounds.tpot_per_token_s`, `Workload.tokens_per_step`: the count dagc's TPOT divides the step by, so the
bound stays one of dagc's own figure), the decode throughput the batch times them over the step.

`bounds(…, gpus=layout.gpus_used, dp=layout.dp)` bounds one strategy; `bounds(…,
gpus=cluster.gpus, dp=1)` bounds every strategy the cluster can run: more GPUs only lower
the times, and more replicas only read the weights more often (E·(1−(1−k/E)^T) is
subadditive in T).

In flight (`serving = inflight`) every step decodes every request in flight, and a mixed step
does more, so TPOT is bounded by the decode step's bound, the throughputs by the batch over it,
and TTFT by ceil(prompt / chunk) such steps. `pipeline_bounds` knows the layout's attention-DP
groups, so it bounds the mixed step too: its chunk's matmuls and attention run on one group's
tp·cp GPUs, its routed experts on at most the stage's G (`_mixed_pass_seconds`).

`pipeline_bounds(…, layout)` bounds one strategy more tightly by its pipeline (the search's
branch and bound, `dagc.search.bound`): a micro-batch crosses every stage in turn, and each
stage's G GPUs do that stage's share of its work, so the crossing takes at least `bounds` of
the whole model for that micro-batch's requests on G GPUs (a sum over stages of each stage's
max(FLOPs, bytes) term is at least the max of the sums); and the busiest stage runs every
micro-batch, so it takes at least 1/pp of their sum.
"""

from __future__ import annotations

import collections
import functools
import math
from dataclasses import dataclass

from ..layout.layout import Layout
from ..layout.mix import shares_at
from ..layout.modes import mode_of
from ..layout.shards import attention_dims, expected_distinct_experts, kv_bytes_per_token_layer
from ..layout.speculative import draft_layer_dense, draft_model, draft_passes
from ..layout.split import busiest_group_requests
from ..layout.window import decode_context_mean, prefill_factor
from ..plan.cluster import Cluster
from ..plan.model import DType, Model
from ..plan.params import (
    active_params,
    attention_params,
    dense_layer_params,
    embedding_params,
    ffn_params,
    moe_layer_active_params,
    weight_bytes,
)
from ..plan.workload import Overlap, PoolRole, Requirement, RequirementKind, Serving, Speculative, Workload

__all__ = ["Bounds", "StageShape", "bounds", "inflight_first_token_floor", "pipeline_bounds", "routed_experts_peak_s",
           "stage_pipeline_bounds", "attention_core_flops_per_layer", "expected_distinct_experts",
           "requirement_bound", "unreachable"]


@dataclass(frozen=True)
class Bounds:
    """The bounds of `bounds`: `tpot_s` a decode step's (`tpot_per_token_s` the TPOT's), the throughputs
    per token emitted."""

    gpus: int
    dp: int
    ttft_s: float
    tpot_s: float
    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    throughput_tokens_per_s: float
    min_gpus_for_weights: int
    weights_bytes: float = 0.0          # every weight of the model once: what `min_gpus_for_weights` holds
    tokens_per_step: float = 1.0        # tokens a decode step emits per request (`Workload.tokens_per_step`)

    @property
    def tpot_per_token_s(self) -> float:
        """The bound of TPOT itself: `tpot_s` is a decode step's (as `dagc.serve.rates.rate_metrics` takes a
        step's time), and with speculative decoding a step emits `tokens_per_step` tokens per request."""
        return self.tpot_s / self.tokens_per_step


def attention_core_flops_per_layer(model: Model, seq: int) -> float:
    """Causal prefill attention core for one sequence of `seq` tokens: s²·heads·(dk+dv)."""
    dk, dv = attention_dims(model)
    return seq * seq * model.heads * (dk + dv)


def routed_experts_peak_s(model: Model, cluster: Cluster, tokens: float, gpus: int) -> float:
    """A lower bound of one MoE layer's routed-expert FFN for `tokens` tokens, each through its top-k
    experts, spread over `gpus` GPUs: the FLOPs of every assignment at the weights' peak on the
    average GPU (whatever the routing: no expert is assumed hit or missed).

    Example:
        >>> from dagc.verdict.check import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 128 generate = 8 } strategy tp 8')
        >>> # 2·4096·2·3·4096·14336 FLOPs on 8 GPUs of 989 TFLOP/s
        >>> round(routed_experts_peak_s(p.model, p.cluster, 4096, 8) * 1e6, 1)
        364.8
    """
    e = model.moe
    flops = 2.0 * tokens * e.top_k * ffn_params(model, e.ffn)
    return flops / (max(1, gpus) * cluster.gpu.peak_flops(model.expert_weights))


def _matmul_peak(model: Model, cluster: Cluster) -> float:
    """The highest peak any of the model's matmuls runs at: its weights' dtype's or its experts'."""
    return max(cluster.gpu.peak_flops(model.weights), cluster.gpu.peak_flops(model.expert_weights))


def _weights_read_bytes(model: Model, tokens: float) -> float:
    """Weight bytes one replica must read in a pass of `tokens` tokens (at least)."""
    table = 0 if model.tied else embedding_params(model)      # a tied table is read whole by the LM head
    unhit = model.moe.experts - expected_distinct_experts(model.moe.experts, model.moe.top_k, tokens)
    experts_unread = model.moe_layer_count * unhit * ffn_params(model, model.moe.ffn)
    return (weight_bytes(model) - table * model.weights.bytes - experts_unread * model.expert_weights.bytes)


def bounds(model: Model, workload: Workload, cluster: Cluster, gpus: int, dp: int = 1, *, batch: int | None = None
           ) -> Bounds:
    """Bounds of any strategy that runs `dp` replicas on `gpus` GPUs, at 100 % efficiency (with `batch`
    requests in the workload's stead: its copy made only when none is remembered).

    Example:
        >>> from dagc.verdict.check import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 64 prompt = 2048 generate = 256 } strategy tp 8')
        >>> b = bounds(p.model, p.workload, p.cluster, gpus=8)
        >>> round(b.ttft_s * 1e3, 1), round(b.tpot_s * 1e6, 1)
        (427.0, 4156.6)
    """
    gpus, dp = max(1, gpus), max(1, dp)
    batch = workload.batch if batch is None else batch
    key: _BoundsKey = (id(model), id(cluster), batch, workload.prompt, workload.generate, workload.serving,
           workload.chunk, gpus, dp, workload.role, workload.speculative)
    hit = _BOUNDS.get(key)
    if hit is not None and hit[0] is model and hit[1] is cluster:     # what it reads, unchanged objects
        return hit[2]
    if batch != workload.batch:
        workload = workload.model_copy(update={"batch": batch})
    found = _bounds(model, workload, cluster, gpus, dp)
    if len(_BOUNDS) >= _BOUNDS_MAX:
        _BOUNDS.clear()
    _BOUNDS[key] = (model, cluster, found)
    return found


_BOUNDS_MAX = 4096
# (model id, cluster id, batch, prompt, generate, serving, chunk, gpus, dp, pool role, speculative decoding)
_BoundsKey = tuple[int, int, int, int, int, Serving, int | None, int, int, PoolRole | None, Speculative | None]
_BOUNDS: dict[_BoundsKey, tuple[Model, Cluster, Bounds]] = {}    # `bounds` by what it reads: the search asks often


def _bounds(model: Model, workload: Workload, cluster: Cluster, gpus: int, dp: int) -> Bounds:
    gpu = cluster.gpu
    peak_w = _matmul_peak(model, cluster) * gpus
    peak_a = gpu.peak_flops(DType.FP8 if model.kv_cache.is_8bit_or_less else DType.BF16) * gpus
    hbm = gpu.hbm_bytes_per_s * gpus
    b, s = workload.batch, workload.prompt
    head = embedding_params(model)
    # Parameters of the layers a token passes (the final norm and LM head run once per request in prefill).
    body = active_params(model) - head - model.hidden
    dk, dv = attention_dims(model)

    prefill_matmul = 2 * body * b * s + 2 * (head + model.hidden) * b
    prefill_attention = model.layers * b * attention_core_flops_per_layer(model, s) * prefill_factor(model, s)
    prefill_bytes = dp * _weights_read_bytes(model, b * s / dp)
    ttft = max(prefill_matmul / peak_w + prefill_attention / peak_a, prefill_bytes / hbm)

    context = decode_context_mean(model, workload)         # as dagc.ir.op_attention's decode
    q, emitted = workload.step_positions, workload.tokens_per_step   # speculative decoding verifies k + 1
    draft_flops, draft_bytes = _draft_work(model, b, dp, workload)
    decode_matmul = 2 * (body * q + head + model.hidden) * b + draft_flops     # the LM head on one position
    decode_attention = model.layers * b * q * 2 * context * model.heads * (dk + dv)
    kv = b * context * model.layers * kv_bytes_per_token_layer(model, 1)
    decode_bytes = dp * _weights_read_bytes(model, b * q / dp) + kv + draft_bytes
    tpot = max(decode_matmul / peak_w + decode_attention / peak_a, decode_bytes / hbm)     # a decode step's

    weights_bytes = weight_bytes(model)
    min_gpus = math.ceil(weights_bytes / gpu.memory_bytes)
    mode = mode_of(workload)
    if mode.continuous:
        # Every step decodes every request in flight (a mixed step more), and a prompt takes at least
        # ceil(prompt / chunk) steps (dagc.serve.inflight) — and its own prefill on its replica's GPUs, however
        # the chunks split it.
        own = max((prefill_matmul / peak_w + prefill_attention / peak_a) * dp / b,
                  _weights_read_bytes(model, s) / hbm * dp)
        ttft = max(own, inflight_first_token_floor(workload) * tpot)
    per_token = tpot / emitted
    prefill, throughput = mode.throughputs(b, workload, ttft, per_token)     # the mode's rates at the bounds
    return Bounds(gpus=gpus, dp=dp, ttft_s=ttft, tpot_s=tpot, prefill_tokens_per_s=prefill,
                  decode_tokens_per_s=b / per_token, throughput_tokens_per_s=throughput,
                  min_gpus_for_weights=min_gpus, weights_bytes=weights_bytes, tokens_per_step=emitted)


def _draft_work(model: Model, batch: int, dp: int, workload: Workload) -> tuple[float, float]:
    """The FLOPs and weight bytes (at least) of a decode step's draft passes (`dagc.layout.speculative`), for
    `batch` requests over `dp` replicas: each pass a layer of the draft's kind and the LM head on one position per
    request; each replica reads the layer's attention, its dense FFN or its shared experts and the routed experts
    its requests are expected to hit, and the LM head, at the narrower of the weights' and the experts' dtypes.
    Its norms, its KV cache and an MTP module's own projection are left out."""
    passes = draft_passes(workload)
    if not passes:
        return 0.0, 0.0
    drafted = draft_model(model, workload)     # an EAGLE draft's own attention, FFN and LM head; MTP's the model's
    e, attention, head = model.moe, attention_params(drafted), embedding_params(drafted)
    ffn: float
    read: float
    if draft_layer_dense(model, workload):
        ffn = read = dense_layer_params(drafted)
    else:
        ffn = moe_layer_active_params(model)
        read = (expected_distinct_experts(e.experts, e.top_k, batch / dp) * ffn_params(model, e.ffn)
                + e.shared * ffn_params(model, e.shared_ffn_size))
    narrow = min(model.weights.bytes, model.expert_weights.bytes)
    return passes * 2 * (attention + ffn + head) * batch, passes * dp * (attention + read + head) * narrow


def inflight_first_token_floor(workload: Workload) -> int:
    """In flight, the fewest steps to a first token on any layout: ceil(prompt / chunk) (a step's chunk
    carries at most `chunk` less the rank's decode tokens)."""
    return -(-workload.prompt // workload.chunk_tokens)


def pipeline_bounds(model: Model, workload: Workload, cluster: Cluster, lay: Layout) -> tuple[float, float]:
    """Lower bounds of a strategy's TTFT and TPOT from its pipeline: the first unit of micro-batches
    (two with `overlap = microbatch`, which run one after the other on a stage's compute stream)
    crosses every stage, and the busiest stage runs every unit (the static schedule,
    `dagc.schedule.recurrence`). Each micro-batch of replica 0 (the busiest) is bounded by `bounds` of its
    requests on the G GPUs of a stage.

    Example:
        >>> from dagc.verdict.check import load_plan_text
        >>> from dagc.lang.flatten import flatten
        >>> from dagc.layout.layout import resolve
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 64 prompt = 2048 generate = 256 } strategy pp 4 < tp 2 >')
        >>> lay = resolve(p.model, p.cluster, p.workload, flatten(p.strategies[0])[0])
        >>> ttft, tpot = pipeline_bounds(p.model, p.workload, p.cluster, lay)
        >>> b = bounds(p.model, p.workload, p.cluster, gpus=8)
        >>> round(ttft / b.ttft_s, 2), round(tpot / b.tpot_s, 2)      # four stages in turn
        (1.0, 3.48)
    """
    shape = StageShape(lay.group_size, lay.pp, lay.microbatch_requests(), lay.adp, lay.dp)
    return stage_pipeline_bounds(model, workload, cluster, shape)


def stage_pipeline_bounds(model: Model, workload: Workload, cluster: Cluster, shape: StageShape
                          ) -> tuple[float, float]:
    """`pipeline_bounds` of `shape.pp` stages of `shape.group_size` GPUs running micro-batches of
    `shape.requests` requests each (the busiest replica's, `dagc.layout.split.microbatch_requests`), `shape.dp`
    replicas of `shape.adp` attention-DP groups: what it reads of a layout, so the search can bound a candidate
    before making its layout."""
    group_size, pp, requests = shape.group_size, shape.pp, shape.requests
    pair = 2 if workload.overlap is Overlap.MICROBATCH else 1
    sizes = collections.Counter(requests)
    per = {r: _microbatch_bounds(model, workload, cluster, group_size, r) for r in sizes}
    first = [per[r] for r in requests[:pair]]
    out = []
    for i in (0, 1):                                      # TTFT, TPOT
        crossing = sum(b[i] for b in first)
        busiest = sum(count * per[r][i] for r, count in sizes.items()) / max(1, pp)
        out.append(max(crossing, busiest))
    if mode_of(workload).continuous:
        tpots = [per[r][1] for r in requests]
        return _inflight_pipeline_bounds(model, workload, cluster, shape, tpots, out[1])
    return out[0], out[1]


@dataclass(frozen=True, slots=True)
class StageShape:
    """What the pipeline's bounds read of a layout: `pp` stages of `group_size` GPUs, micro-batches of
    `requests` requests each (the busiest replica's), `dp` replicas of `adp` attention-DP groups."""

    group_size: int
    pp: int
    requests: tuple[int, ...]
    adp: int
    dp: int


def _inflight_pipeline_bounds(model: Model, workload: Workload, cluster: Cluster, shape: StageShape,
                              tpots: list[float], decode: float) -> tuple[float, float]:
    """In flight, `stage_pipeline_bounds` from `decode`, the decode step's bound, and `tpots`, each
    micro-batch's decode pass's: a mixed step does all a decode step does, and its first micro-batch
    carries a chunk of c prompt tokens (`dagc.layout.mix.shares_at`) whose pass takes at least
    `_mixed_pass_seconds`. The first unit crosses every stage with the chunk, and the busiest stage
    runs at least 1/pp of it beside every other micro-batch's decode. TPOT is the steps' mixture,
    TTFT the first token's mixed steps."""
    pair = 2 if workload.overlap is Overlap.MICROBATCH else 1
    adp, dp = shape.adp, shape.dp
    s = shares_at(workload, busiest_group_requests(workload.batch, dp, adp), adp, dp)
    first = max(tpots[0], _mixed_pass_seconds(model, cluster, workload.prompt, shape.group_size, adp,
                                              shape.requests[0], s.chunk_prompt_tokens))
    mixed = max(decode, first + sum(tpots[1:pair]), (first + sum(tpots[1:])) / max(1, shape.pp))
    return s.first_token_steps * mixed, s.group_share * mixed + (1.0 - s.group_share) * decode


@functools.lru_cache(maxsize=4096)
def _mixed_pass_seconds(model: Model, cluster: Cluster, prompt: int, group_size: int, adp: int, requests: int,
                        chunk: int) -> float:
    """A lower bound of a mixed micro-batch's passes through the whole model — `requests` decode tokens
    and a chunk of `chunk` prompt tokens — on stages of `group_size` GPUs with `adp` attention-DP groups,
    at 100 % efficiency. A pass is the sum of its ops, each at its slowest rank, so it is at least
    the routed experts' time on the average rank plus the other matmuls' on a rank of the group that
    carries the chunk, each at least its FLOPs at peak and its bytes at peak HBM bandwidth:
    - routed experts: the FLOPs of every token's top-k experts and the weights of the experts they
      are expected to hit, spread over the stage's GPUs;
    - the attention split (attention and shared-expert or dense-FFN matmuls, and the attention core
      of the chunk as chunk / prompt causal prefills of the prompt, as `dagc.ir.op_attention` costs
      it): the chunk's FLOPs and the weights, on one group's tp·cp GPUs (`group_size / adp`).
    Norms, the router, the decode tokens' attention and every collective are left out."""
    if chunk <= 0:
        return 0.0
    gpu, e = cluster.gpu, model.moe
    peak_w = _matmul_peak(model, cluster)
    peak_a = gpu.peak_flops(DType.FP8 if model.kv_cache.is_8bit_or_less else DType.BF16)
    hbm, wbytes = gpu.hbm_bytes_per_s, model.weights.bytes
    tokens = requests + chunk
    expert = ffn_params(model, e.ffn)
    experts_flops = model.moe_layer_count * routed_experts_peak_s(model, cluster, tokens, group_size)
    experts_bytes = (model.moe_layer_count * expected_distinct_experts(e.experts, e.top_k, tokens) * expert
                     * model.expert_weights.bytes
                     / (group_size * hbm))
    split_params = (model.layers * attention_params(model) + model.dense_layer_count * dense_layer_params(model)
                    + model.moe_layer_count * e.shared * ffn_params(model, e.shared_ffn_size))
    core = model.layers * attention_core_flops_per_layer(model, prompt) * chunk / prompt * prefill_factor(model, prompt)
    attention_gpus = max(1, group_size // max(1, adp))
    split_flops = (2 * split_params * chunk / peak_w + core / peak_a) / attention_gpus
    split_bytes = split_params * min(wbytes, model.expert_weights.bytes) / (attention_gpus * hbm)
    return max(experts_flops, experts_bytes) + max(split_flops, split_bytes)


def _microbatch_bounds(model: Model, workload: Workload, cluster: Cluster, gpus: int, requests: int
                       ) -> tuple[float, float]:
    """(TTFT, TPOT) bounds of one micro-batch of `requests` on `gpus` GPUs (0 for an empty one), remembered by
    `bounds` (by what it reads: hashing the workload, a pydantic model, each time cost more than they)."""
    if requests < 1:
        return 0.0, 0.0
    b = bounds(model, workload, cluster, gpus=gpus, batch=requests)
    return b.ttft_s, b.tpot_s


def requirement_bound(req: Requirement, b: Bounds) -> tuple[float, bool] | None:
    """The bound on a requirement's metric and whether it is a lower bound (times, GPUs) or an
    upper one (throughputs); None for a metric without a bound (memory). A `ttft` requirement judges the
    client's TTFT — the server's plus the engine's front end (`dagc.serve.rates.rate_metrics`) — and its
    bound is the server's (`ttft_s`), which bounds the client's too: the front end is a constant fitted on
    published runs (`dagc.plan.engines`), not physics, and a bound holds whatever an engine's measures."""
    per = b.gpus if req.per_gpu else 1
    match req.kind:
        case RequirementKind.TTFT:
            return b.ttft_s, True
        case RequirementKind.TPOT:
            return b.tpot_per_token_s, True
        case RequirementKind.GPUS:
            return float(b.min_gpus_for_weights), True
        case RequirementKind.PREFILL_THROUGHPUT:
            return b.prefill_tokens_per_s / per, False
        case RequirementKind.DECODE_THROUGHPUT:
            return b.decode_tokens_per_s / per, False
        case RequirementKind.THROUGHPUT:
            return b.throughput_tokens_per_s / per, False
    return None


def unreachable(req: Requirement, bound: float, lower: bool) -> bool:
    """Whether no value on the right side of `bound` can satisfy `req`.

    A lower bound L (the metric is ≥ L) rules out `<= T` and `== T` for T < L and `< T` for
    T ≤ L, never `>=`/`>`; an upper bound U rules out `>= T`, `== T` for T > U and `> T`
    for T ≥ U, never `<=`/`<`.

    Example:
        >>> from dagc.plan.workload import Requirement, RequirementKind
        >>> r = Requirement(kind=RequirementKind.TPOT, op=">=", target=150e-6, text="tpot >= 150 us")
        >>> unreachable(r, 200e-6, lower=True), unreachable(r.model_copy(update={"op": "<="}), 200e-6, lower=True)
        (False, True)
    """
    t, op = req.target, req.op
    if op == "==":
        return (t < bound if lower else t > bound) and not math.isclose(t, bound, rel_tol=1e-9)
    if lower:
        return t < bound if op == "<=" else t <= bound if op == "<" else False
    return t > bound if op == ">=" else t >= bound if op == ">" else False
