"""The tables of `dagc check` that hold a strategy's figures: memory per rank by stage, the metrics, and a
disaggregated strategy's pools with how its TTFT is made.

Input: a `StrategyResult` and a rich console. Output: tables fitted to the console's width
(`dagc.cli.tables`) and lines on it; every string from the user passes through `shown`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from ..plan.workload import PoolRole
from ..units import (
    Dimension,
    count_text,
    format_bytes,
    format_figure,
    format_gpu_memory,
    format_percent,
    format_si,
    range_text,
)
from .printing import shown
from .tables import Col, print_fitted

if TYPE_CHECKING:
    from ..verdict.check import StrategyResult

__all__ = ["METRIC_NAMES", "print_memory_table", "print_metrics_table", "print_pools"]

# Their importance (`Col.rank`): which stage, what it holds in all and how full it is, before the parts.
MEMORY_COLUMNS = (Col("stage", 0, "left"), Col("GPUs", 2, "left", wrap=True, floor=7), Col("layers", 1, "left"),
                  Col("experts/GPU", 3), Col("weights", 1), Col("KV cache", 1), Col("activations", 2, wrap=True),
                  Col("reserve", 3), Col("total", 0), Col("use", 0))


def print_memory_table(console: Console, r: StrategyResult) -> None:
    """Per-rank memory by stage, the share of the GPU each stage's rank uses beside a `memory` requirement's
    digits; a stage that does not fit in red on a terminal."""
    from ..export.markdown import gap_text, shown_stages, stage_experts
    from ..memory.admission import admission_words
    from ..plan.workload import RequirementKind
    from ..verdict.verdict import near_text
    plan, lay, mem = r.plan, r.layout, r.memory
    assert lay is not None and mem is not None, "a strategy with a layout and its memory"
    words = admission_words(plan.workload, lay, mem, plan.cluster.engine.terms) if r.pooled is None else None
    rows: list[tuple[str, ...]] = []
    styles: list[str | None] = []
    for k in shown_stages(len(mem.stages)):
        if k is None:
            rows.append(("…", gap_text(len(mem.stages)), *[""] * 8))
            styles.append(None)
            continue
        s = mem.stages[k]
        ranks = lay.stage_ranks(0, s.stage)
        layers = range_text(s.layers[0], s.layers[1])
        gpus = range_text(ranks.start, ranks.stop) + (f" (+{count_text(lay.dp - 1, 'replica')})" if lay.dp > 1 else "")
        activations = format_bytes(s.activation_bytes) if s.activations_counted else "not counted"
        per_gpu = str(stage_experts(plan.model, lay, *s.layers)) if plan.model.has_experts else "—"
        rows.append((str(s.stage), gpus, layers, per_gpu, format_bytes(s.weights_bytes),
                     format_bytes(s.kv_cache_bytes), activations, format_bytes(s.reserve_bytes),
                     format_bytes(s.total_bytes),
                     near_text(r.plan, RequirementKind.MEMORY, s.fraction, format_percent(s.fraction))))
        styles.append("red" if not s.fits and console.is_terminal else None)
    written = r.strategy.pp_split if r.strategy is not None else None
    laid = tuple(lay.layers_per_stage)
    instead = f"; dagc's split {list(laid)}, the written {list(written)} being none (E303)" \
        if written is not None and tuple(written) != laid else ""
    print_fitted(console, shown(f"per-rank memory by stage (GPU {plan.cluster.gpu.name}, "
                                f"{format_gpu_memory(plan.cluster.gpu.memory_bytes)}{instead})"),
                 MEMORY_COLUMNS, rows, styles, caption=shown(words) if words else None, caption_justify="left")


# The metrics (docs/cost-model.md, "Schedule and metrics") by their human names; the keys stay those of report.json.
METRIC_NAMES = (
    ("ttft_s", "TTFT (time to first token)"),
    ("tpot_s", "TPOT (time per output token)"),
    ("prefill_tokens_per_s", "prefill throughput"),
    ("decode_tokens_per_s", "decode throughput"),
    ("throughput_tokens_per_s", "end-to-end throughput"),
)


def tokens_per_s(v: float | None, per: str = "") -> str:
    return "—" if v is None else f"{format_figure(v)} tokens/s{per}"


def print_metrics_table(console: Console, r: StrategyResult) -> None:
    """The metrics with their names and units; throughputs also per GPU."""
    assert r.metrics, "a scheduled strategy"
    gpus = r.gpus_used
    from ..plan.workload import RequirementKind as K
    from ..verdict.steady import figure_of
    from ..verdict.verdict import METRIC_OF, near_text
    kinds = {key: kind for kind, key in METRIC_OF.items()}
    server = r.metrics.ttft_server_s
    both = server != r.metrics.ttft_s    # the engine has a front end: say whose
    rows: list[tuple[str, str, str]] = []
    for key, name in METRIC_NAMES:
        v = float(figure_of(r.metrics, kinds[key]))
        if key.endswith("_s") and not key.endswith("_per_s"):
            kind = K.TTFT if key == "ttft_s" else K.TPOT
            label = "TTFT as the client sees it (time to first token)" if key == "ttft_s" and both else name
            rows.append((label, near_text(r.plan, kind, v, format_si(v, Dimension.TIME)), ""))
            if key == "ttft_s" and both:
                alone = " and its one server's time" if r.plan.cluster.engine.terms.ingest_s else ""
                rows.append((f"TTFT at the server (without the engine's front end{alone})",
                             format_si(server, Dimension.TIME), ""))
        else:
            rows.append((name, tokens_per_s(v), tokens_per_s(v / gpus, "/GPU") if v is not None and gpus else "—"))
    cols = (Col("metric", 0, "left", wrap=True, floor=20), Col("value", 0),
            Col(f"per GPU (of {gpus})" if gpus else "per GPU", 1))
    if (few := r.figures_requests_text) is not None:      # E402: one request's figures, not the deployment's
        print_fitted(console, "metrics", cols, rows, caption=shown(few), caption_justify="left")
        return
    if r.load is None:
        print_fitted(console, "metrics", cols, rows)
        return
    # beside a simulated load the steady state's figures read as the traffic's: say which is which
    print_fitted(console, "metrics", cols, rows, caption=shown(steady_caption(r)), caption_justify="left")


def steady_caption(r: StrategyResult) -> str:
    """The metrics table's caption when the plan has traffic (its figures are the steady state's, not the traffic's):
    the batch and how it splits — over a strategy's dp replicas, or a disaggregated strategy's decode instances
    (each ⌈batch / M⌉, `dagc.verdict.pools`) — "up to" when the split is uneven. When the KV cache holds fewer
    than `batch` (W520), the figures are at the requests it holds (`metrics.concurrency_effective`), and so is this."""
    batch = r.plan.workload.batch
    running = r.metrics.concurrency_effective if r.metrics is not None else None
    held = running is not None and running < batch
    slots = running if running is not None and held else batch
    decode = r.pooled.decode if r.pooled is not None else None
    parts, what = (decode.pool.instances, "decode instance") if decode is not None else \
        (r.layout.dp if r.layout is not None else 1, "replica")
    each = -(-slots // parts)
    split = ("" if decode is None else f" in its {what}") if parts == 1 else \
        f", {'' if slots % parts == 0 else 'up to '}{each:,} in each of its {count_text(parts, what)}"
    busy = (f"every request slot the KV cache holds busy (≈ {slots:,} of the plan's batch of "
            f"{count_text(batch, 'request')}{split}: W520)") if held else \
        f"every request slot busy (the plan's batch of {count_text(batch, 'request')}{split})"
    return f"the steady state, {busy}; under the plan's traffic, the Load line's percentiles"


POOL_COLUMNS = (Col("pool", 0, "left"), Col("instances", 2), Col("strategy of each", 0, "left", wrap=True, floor=20),
                Col("GPUs", 3), Col("requests each", 3), Col("time", 1), Col("serves at most", 1), Col("memory use", 2))


def print_pools(console: Console, r: StrategyResult) -> None:
    """A disaggregated strategy: each pool's instances, what one runs and holds, its capacity; then how
    TTFT is made and which pool binds (`dagc.verdict.pools`)."""
    from ..export.serving_md import balance_text, instance_ratio, pool_instances, ttft_parts
    pooled, plan = r.pooled, r.plan
    assert pooled is not None
    f = pooled.figures
    if not pooled.pools:        # refused before its pools were laid out (E309: a static workload): no GPU counted
        console.print(f"GPUs: — of {plan.cluster.gpus:,} available (two pools, not laid out: see the errors below)",
                      markup=False)
        return
    console.print(f"GPUs: {r.gpus_used or 0:,} used of {plan.cluster.gpus:,} available (two pools)", markup=False)
    rows = []
    for p in pooled.pools:
        m, mem = p.analysis.metrics, p.analysis.memory
        time = (f"prefill {format_si(m.ttft_s, Dimension.TIME)}" if p.pool.role == PoolRole.PREFILL and m
                else f"TPOT {format_si(m.tpot_s, Dimension.TIME)}" if m else "—")   # a step's tokens: not the step
        cap = f"{f.capacity[p.pool.role]:,.2f} requests/s" if f is not None else "—"
        use = format_percent(mem.worst.fraction) if mem is not None else "—"
        rows.append((p.pool.role, f"{p.pool.instances:,}", p.pool.strategy.text,
                     f"{p.pool.instances:,} × {p.gpus_per_instance:,}", p.requests_text, time, cap, use))
    print_fitted(console, "pools", POOL_COLUMNS, rows)
    if f is not None and pooled.kv_bytes_per_request is not None:
        console.print(f"{ttft_parts(r)}; the {f.binding_pool} pool binds: it serves "
                      f"{f.served_requests_per_s:,.2f} requests/s{_past_steady(r, f.served_requests_per_s)}; "
                      f"{balance_text(f.balance, *pool_instances(pooled), f.binding_pool, instance_ratio(pooled))}; "
                      "steady state, no queueing",
                      markup=False)


def _past_steady(r: StrategyResult, served: float) -> str:
    """Beside the steady state's rate of a disaggregated strategy, when the Load line's capacity is above it: that
    a simulated run may serve up to `CEILING_MARGIN` past it (docs/load.md, "The steady state's ceiling"), so that
    "serves 16.86 requests/s" and "capacity 17.51" read as one (a user's trial, DeepSeek-V3 on 64 H200)."""
    from ..serve.load_result import CEILING_MARGIN
    cap = r.load.capacity_requests_per_s if r.load is not None else None
    if cap is None or not cap > served:
        return ""
    return (f" in the steady state (the Load line's capacity, {cap:,.4g}, is a simulation's, which may serve up to "
            f"{CEILING_MARGIN * 100:g} % past it)")
