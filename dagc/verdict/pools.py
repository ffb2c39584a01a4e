"""A disaggregated strategy (SPEC 11.3): each pool's instance analysed as a strategy of its own, then
the deployment's figures from both.

Input: a `Plan` served in flight and a flattened `Strategy` with its two `pools`. Output: a
`PooledCheck`: each pool's `Analysis` — the prefill instance runs a static prefill of
`prefill_batch` requests (`Workload.role = "prefill"`: the prefill pass alone), the decode instance
the decode steps of its share of the batch, whose KV arrives made (`role = "decode"`) — and the
deployment's diagnostics (each pool's, named by its pool, and E308, E309), figures
(`dagc.serve.disagg`), requirements and verdict. The layout, memory and DAG a report draws are the
decode instance's, which sets TPOT; `pools` carries both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..diagnostics import Diagnostic, Severity, cap, has_errors
from ..layout.layout import attention_ranks
from ..layout.modes import pool_mode
from ..plan.plan import Plan
from ..plan.strategy import Pool, Strategy
from ..plan.workload import PoolRole, Requirement, RequirementKind, Serving, Workload
from ..rules.calibration import calibration_range
from ..rules.gpu_fit import fit_hint
from ..rules.pipeline import decode_pool_split
from ..rules.pools_bound import pooled_physical
from ..rules.pools_fit import unused_gpus_hint
from ..rules.requirements import (
    backwards_requirements,
    cluster_bound_notes,
    memory_above_gpu,
    memory_below_reserve,
)
from ..rules.serving import percentile_samples, pools_fit_cluster, pools_need_inflight
from ..rules.throughput_tokens import counted_tokens_notes
from ..serve.disagg import (
    Disaggregated,
    PoolFigures,
    decode_kv_bytes,
    disaggregated,
    kv_ranks,
    transfer_layers,
    transfer_link,
    transfer_seconds,
)
from ..units import Dimension, count_text, format_si
from .analyse import Analysis, analyse
from .batch_max import choose_batch, decode_pool_plan
from .steady import InstanceMetrics, SteadyMetrics, steady_metrics
from .verdict import MemoryFigures, RequirementResult, Verdict, fuller, requirement_value, verdict

__all__ = ["PoolResult", "PooledCheck", "check_pools", "kv_transfer_words", "memory_caps", "prefill_batch_of",
           "role_workload"]


def kv_transfer_words(kv_transfer: str) -> str:
    """How a request's KV moves, said after what it moves (`PooledCheck.kv_text`) in `dagc check`'s and report.md's
    TTFT sum: all of it after the prefill, or layer by layer with only the last layer's share in the TTFT."""
    return "layer by layer, the last layer's share shown" if kv_transfer == "layerwise" else "after the prefill"

# What a pool's instance says that is the deployment's to say, once (`check_pools`): the GPUs it leaves unused, and a
# memory requirement above the GPU's memory or below its reserve
_DEPLOYMENT_CODES = frozenset({"W505", "W524", "W527"})
# judged on the plan's workload, said once and unprefixed from the decode instance's analysis (its `prompt` and
# `generate` are the plan's): a prefill instance generates one token, and its W536 read "prefill pool: the request
# log's 300 requests average 1,304 prompt + 187 output tokens, the workload's … 1,304 + 1" until 2026-11-30
_PLAN_WORKLOAD_CODES = frozenset({"W536"})


@dataclass(frozen=True)
class PoolResult:
    """One pool: its instances, what each runs and holds, and the analysis of one instance."""

    pool: Pool
    batch_per_instance: int
    analysis: Analysis

    @property
    def gpus_per_instance(self) -> int:
        return self.analysis.layout.gpus_used

    @property
    def gpus(self) -> int:
        return self.pool.instances * self.gpus_per_instance

    @property
    def running_per_instance(self) -> int:
        """The requests one instance runs at once: a decode instance those its KV cache admits
        (`dagc.memory.admission`, W520), at most its share of the batch; a prefill instance its batch."""
        m = self.analysis.metrics
        if pool_mode(self.pool.role).admits_by_kv and isinstance(m, InstanceMetrics) and m.concurrency_effective:
            return min(self.batch_per_instance, m.concurrency_effective)
        return self.batch_per_instance

    @property
    def requests_text(self) -> str:
        """The pools table's "requests each": those one instance runs, and its share of `batch` when the KV
        cache admits fewer (W520)."""
        run = self.running_per_instance
        return f"{run:,}" if run == self.batch_per_instance else f"≈ {run:,} of {self.batch_per_instance:,}"


@dataclass(frozen=True)
class PooledCheck:
    plan: Plan                          # the plan as checked: with `batch = max`, the batch chosen
    pools: tuple[PoolResult, ...]
    diagnostics: tuple[Diagnostic, ...]
    figures: Disaggregated | None
    metrics: SteadyMetrics | None
    requirements: tuple[RequirementResult, ...]
    verdict: Verdict
    kv_bytes_per_request: float | None = None    # one request's KV, as it moves to a decode instance
    link_bytes_per_s: float | None = None        # the bytes/s a request's KV moves at (`transfer_link`)

    @property
    def valid(self) -> bool:
        return not has_errors(self.diagnostics)

    @property
    def kv_text(self) -> str:
        """What one KV transfer moves: a request's KV, or a prefill batch's requests', one after another; with a
        decode instance of several TP ranks, what each of them receives (its KV heads' share, or MLA's latent cache
        whole: `dagc.serve.disagg.kv_bytes_per_request`)."""
        total = self.kv_bytes_per_request or 0.0
        kv = format_si(total, Dimension.SIZE)
        batch = self.pools[0].batch_per_instance if self.pools else 1
        out = f"{kv} a request" if batch == 1 else f"{batch:,} requests of {kv}, one after another"
        lay = self.decode.analysis.layout if self.decode is not None else None
        tp = lay.tp if lay is not None and lay.pp == 1 and lay.cp == 1 else 1     # one stage: each rank its share
        if tp > 1:
            out += f", {format_si(total / tp, Dimension.SIZE)} a request to each of the decode instance's {tp} TP ranks"
        return out

    @property
    def prefill(self) -> PoolResult | None:
        return self.pool(PoolRole.PREFILL)

    @property
    def decode(self) -> PoolResult | None:
        return self.pool(PoolRole.DECODE)

    def pool(self, role: PoolRole) -> PoolResult | None:
        """The pool of `role`, None when refused before its pools were laid out (E309)."""
        return next((p for p in self.pools if p.pool.role == role), None)

    @property
    def memory_figures(self) -> MemoryFigures | None:
        """The fuller pool's memory (`fuller`): what the deployment's memory requirements are judged on and its
        "memory" beside the optimal verdict's better strategy; None when a pool's memory was not computed."""
        return _fuller_memory(self.pools)


def prefill_batch_of(workload: Workload, ranks: int) -> int:
    """The requests a prefill instance of `ranks` attention-DP ranks prefills at once: the workload's
    `prefill_batch`, else as many as fill one chunk on each rank, max(1, floor(chunk / prompt))."""
    if workload.prefill_batch is not None:
        return workload.prefill_batch
    return max(1, workload.chunk_tokens // workload.prompt) * ranks


def memory_caps(plan: Plan) -> tuple[Requirement, ...]:
    """The plan's requirements that cap a GPU's memory (`memory <= 90 %`, `memory < 120 GB`, `memory == 90 %`):
    what a pool's instance keeps of them, so that its engine's memory share, and the KV cache it sizes, are the
    plan's (`Plan.memory_limit`), as an aggregated strategy's are and as `dagc launch` starts the pool."""
    return tuple(r for r in plan.requirements if r.kind is RequirementKind.MEMORY and r.op in ("<=", "<", "=="))


def role_workload(w: Workload, role: PoolRole, batch: int, **update: object) -> Workload:
    """What one pool's instance runs: `batch` requests statically in its `role` — a prefill instance its
    prefill alone (one token generated: its mode decodes nothing), a decode instance its decode steps alone — and
    `update` (the search sets micro-batches and overlap)."""
    fields: dict[str, object] = {"serving": Serving.STATIC, "chunk": None, "batch": batch, "batch_max": False,
                              "role": role, "chunked_prefill": True, **update}     # no step mixes: nothing to chunk
    if not pool_mode(role).decodes:
        fields["generate"] = 1
    return w.model_copy(update=fields)


def _pool_diagnostics(results: list[PoolResult], decode: Pool) -> list[Diagnostic]:
    """The pools' instances' diagnostics, each said of its pool, but the deployment's (`_DEPLOYMENT_CODES`, a decode
    instance's W503 when several share the batch); those of the plan's workload once, from the decode instance; and
    one both pools say in the same words at the same place (of the plan's model, cluster or drafts: W525, W535,
    W530 …) once, unprefixed — it was said twice, "prefill pool: …" then "decode pool: …", until 2026-11-30."""
    said = [[d for d in r.analysis.diagnostics if d.code not in _DEPLOYMENT_CODES | _PLAN_WORKLOAD_CODES
             and not (d.code == "W503" and r.pool is decode and decode.instances > 1)] for r in results]
    both = set(said[0]) & set(said[1])
    out = [d if d in both else _of_pool(r, d, r is results[0]) for r, ds in zip(results, said, strict=True) for d in ds
           if r is results[0] or d not in both]
    return out + [d for d in results[1].analysis.diagnostics if d.code in _PLAN_WORKLOAD_CODES]


def _of_pool(r: PoolResult, d: Diagnostic, prefill: bool) -> Diagnostic:
    """`d` of pool `r`'s instance, said of its pool; a `prefill` instance's W503 at the plan's `prefill_batch`, the
    batch it runs, where one is written (until 2026-12-03 at `batch`, "use a batch that is a multiple of 2")."""
    d = replace(d, message=f"{r.pool.role} pool: {d.message}")
    span = r.analysis.plan.span_of("workload.prefill_batch") if d.code == "W503" and prefill else None
    if span is None:
        return d
    return replace(d, span=span, hint=(d.hint or "").replace("use a batch ", "use a `prefill_batch` "))


def _sized_on_what_is_left(plan: Plan, results: list[PoolResult]) -> list[PoolResult]:
    """The results with a pool's E401 hint sized on the GPUs the other pool leaves its instances (that pool fitting
    the cluster), not on the whole cluster: `prefill 1 < dp 16 < tp 8 >` beside a decode pool of 32 of 64 GPUs was
    told to fit 64 with `dp 8`, which E308 then refused; it is told `dp 4` on the 32 left. Where the other pool
    leaves no GPU, the hint stays on the whole cluster and says that the other pool shrinks too."""
    out = []
    for r, other in zip(results, results[::-1], strict=True):
        if any(d.code == "E401" for d in other.analysis.diagnostics):
            out.append(r)
            continue
        c, role = plan.cluster, other.pool.role
        gpus, usable = c.gpus, c.gpu.memory_bytes - c.reserve_bytes
        left = (gpus - other.gpus) // r.pool.instances
        shared = f", {r.pool.instances:,} instances sharing them" if r.pool.instances > 1 else ""
        where = (f" (what the {role} pool's {other.gpus:,} leave of the cluster's {gpus:,}{shared})" if left >= 1 else
                 f" (the whole cluster{shared}: the {role} pool's {count_text(other.gpus, 'GPU')} "
                 f"{'leaves' if other.gpus == 1 else 'leave'} none, so it shrinks too)")
        left = left if left >= 1 else gpus // r.pool.instances
        hint = fit_hint(plan.model, left, r.analysis.layout, usable, where)
        diags = tuple(replace(d, hint=hint) if d.code == "E401" else d for d in r.analysis.diagnostics)
        out.append(replace(r, analysis=replace(r.analysis, diagnostics=diags)))
    return out


def check_pools(plan: Plan, strategy: Strategy) -> PooledCheck:
    """Analyse both pools' instances and compose the deployment's figures (module docstring)."""
    static = pools_need_inflight(plan, strategy)
    if static is not None:
        return PooledCheck(plan, (), (static,), None, None, (), verdict([static], ()))
    prefill, decode = strategy.pool(PoolRole.PREFILL), strategy.pool(PoolRole.DECODE)
    chosen: list[Diagnostic] = []
    if plan.workload.batch_max:
        plan, note = _batch_max(plan, decode)
        chosen.append(Diagnostic("N605", Severity.NOTE, note, plan.span_of("workload.batch")))
    w = plan.workload
    batch_p = prefill_batch_of(w, attention_ranks(prefill.strategy))
    batch_d = -(-w.batch // decode.instances)
    # a pool's instance is no deployment: the plan's requirements are judged on the deployment's figures below;
    # it keeps those that cap the engine's memory share, which sizes its KV cache as an aggregated strategy's
    alone = plan.model_copy(update={"requirements": memory_caps(plan)})
    results = []
    for pool, batch in ((prefill, batch_p), (decode, batch_d)):
        results.append(PoolResult(pool, batch, analyse(alone, pool.strategy, role_workload(w, pool.role, batch))))
    # each instance is analysed alone on the cluster: its unused GPUs (W505) are the deployment's to count
    # a decode instance's W503 is on its share of the batch: the deployment's split over its instances says it
    split = decode_pool_split(plan, results[1].analysis.layout, decode.instances)
    diags = chosen + _pool_diagnostics(_sized_on_what_is_left(plan, results), decode)
    if split is not None:
        diags.append(replace(split, message=f"decode pool: {split.message}"))
    diags += _deployment_diagnostics(plan, strategy, results)
    gpus = sum(r.gpus for r in results)
    over = pools_fit_cluster(plan, strategy, [(r.pool.role, r.pool.instances, r.gpus_per_instance) for r in results])
    if over is not None:
        diags.append(over)
    elif gpus < plan.cluster.gpus:
        diags.append(Diagnostic("W505", Severity.WARNING, f"{plan.cluster.gpus - gpus:,} of {plan.cluster.gpus:,} "
                                f"GPUs are unused (the pools use {gpus:,})", strategy.span_of("strategy"),
                                None))                     # its hint below, once the binding pool is known
    figures = metrics = kv = link = None
    prefill_metrics, decode_metrics = (_instance(r) for r in results)
    if prefill_metrics is not None and decode_metrics is not None and not any(d.is_error for d in diags):
        link = transfer_link(plan.cluster, gpus, kv_ranks(results[0].analysis.layout),
                             kv_ranks(results[1].analysis.layout))
        kv = decode_kv_bytes(plan.model, w, results[1].analysis.layout)
        figures = _figures(plan, (results[0], prefill_metrics), (results[1], decode_metrics), kv, link)
        metrics = steady_metrics(figures.rates, bubble_fraction=decode_metrics.bubble_fraction,
                                 critical_path=decode_metrics.critical_path, kv_transfer_s=figures.transfer_s,
                                 # the requests in decode over every decode instance: what their KV caches
                                 # admit at once
                                 concurrency_effective=decode_metrics.concurrency_effective * results[1].pool.instances)
    sizes, binding = [r.gpus_per_instance for r in results], figures.binding_pool if figures is not None else None
    diags = [replace(d, hint=unused_gpus_hint(strategy, plan.cluster.gpus - gpus, sizes, binding))
             if d.code == "W505" else d for d in diags]
    reqs = _requirements(plan, results, gpus, metrics)
    # N606: a `throughput` the deployment meets counting prompt tokens, its decode throughput (both pools' GPUs) misses
    diags += counted_tokens_notes(plan, reqs, gpus, metrics.decode_tokens_per_s if metrics is not None else None)
    return PooledCheck(plan, tuple(results), tuple(cap(diags)), figures, metrics, reqs, verdict(diags, reqs), kv, link)


def _deployment_diagnostics(plan: Plan, strategy: Strategy, results: list[PoolResult]) -> list[Diagnostic]:
    """What is said of the deployment as a whole, not of a pool's instance: its requirements against the GPU's
    memory, the cluster's physical bound (N604) and the pools' (W506), written backwards; the calibration's range;
    the percentiles' samples."""
    diags = list(memory_above_gpu(plan))       # the deployment's memory requirements, once
    diags += cluster_bound_notes(plan)         # what no strategy on the cluster meets, pooled or not (N604)
    # a latency beyond the bound of the pool's instance that makes it (W506)
    diags += pooled_physical(plan, strategy.label, [(r.pool.role, r.analysis.plan.workload, r.analysis.layout)
                                                    for r in results])
    diags += memory_below_reserve(plan)
    diags += backwards_requirements(plan, True)     # a latency written as a floor, a throughput as a ceiling
    diags += backwards_requirements(plan, False)
    # the calibration's range, on the plan's own workload and each pool's instance (the pools' analyses skip it)
    if (far := calibration_range(plan, [(r.pool.role, r.gpus_per_instance) for r in results])) is not None:
        diags.append(far)
    diags += percentile_samples(plan)          # the deployment's percentiles, judged on the plan's traffic
    return diags


def _batch_max(plan: Plan, decode: Pool) -> tuple[Plan, str]:
    """`batch = max` with pools: the most requests the decode instances hold — each the largest batch
    its instance serves (`dagc.verdict.batch_max`: it fits in memory and meets `tpot` and `memory`;
    TTFT and the throughputs are the deployment's, not one instance's) — and the note that says so."""
    probe = decode_pool_plan(plan)
    w = plan.workload.model_copy(update={"serving": Serving.STATIC, "chunk": None, "role": PoolRole.DECODE,
                                         "chunked_prefill": True})
    one = choose_batch(probe, decode.strategy, w)
    total, m = one.batch * decode.instances, decode.instances
    why = one.batch_breaks
    each = "the most the decode instance holds" if m == 1 else \
        f"{one.batch:,} on each of the {m:,} decode instances, the most one holds"
    note = f"batch = max: {count_text(total, 'request')}, {each}" + \
        (f" — {one.batch + 1:,} would break {why}" if why else "")
    chosen = plan.workload.model_copy(update={"batch": total, "batch_note": note, "batch_breaks": why})
    return plan.model_copy(update={"workload": chosen}), note


def _instance(pool: PoolResult) -> InstanceMetrics | None:
    """A pool's instance's figures (`Workload.role`: `dagc.verdict.steady.InstanceMetrics`), None when not computed."""
    m = pool.analysis.metrics
    return m if isinstance(m, InstanceMetrics) else None


def _figures(plan: Plan, prefill: tuple[PoolResult, InstanceMetrics], decode: tuple[PoolResult, InstanceMetrics],
             kv: float, link: float) -> Disaggregated:
    """The deployment's figures from each pool and its instance's, its KV (`kv` bytes a request) crossing the
    link of `link` bytes/s (`dagc.serve.disagg.transfer_link`)."""
    w = plan.workload
    (p, p_metrics), (d, d_metrics) = prefill, decode
    transfer = transfer_seconds(kv, p.batch_per_instance, link, transfer_layers(plan.model, w),
                                w.kv_transfer == "layerwise")
    pf = PoolFigures("prefill", p.pool.instances, p.gpus_per_instance, p.batch_per_instance, p_metrics.ttft_s)
    # a decode instance runs the requests its KV cache admits at once (`dagc.memory.admission`), at most its share
    dc = PoolFigures("decode", d.pool.instances, d.gpus_per_instance, d.running_per_instance, d_metrics.tpot_s)
    return disaggregated(pf, dc, transfer, w, plan.cluster.engine.terms.frontend_alone_s)


def _fuller_memory(results: Iterable[PoolResult]) -> MemoryFigures | None:
    """Of the pools' instances, the fuller's memory; None when a pool's was not computed."""
    results = list(results)
    mems = [MemoryFigures.of(r.analysis.memory) for r in results if r.analysis.memory is not None]
    return fuller(mems) if mems and len(mems) == len(results) else None


def _requirements(plan: Plan, results: list[PoolResult], gpus: int, metrics: SteadyMetrics | None
                  ) -> tuple[RequirementResult, ...]:
    """The plan's requirements on the deployment: its figures, both pools' GPUs, and the fuller pool's
    memory."""
    full = _fuller_memory(results)
    return tuple(RequirementResult(req, requirement_value(req, gpus, metrics, *(full.judged(req) if full else
                                                                                (None, None))))
                 for req in plan.requirements)
