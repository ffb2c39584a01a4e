"""What report.md says of the serving mode in flight: the summary's line, the metrics' rows and
the notes under the critical path, the pictures and the trace.

Input: a `StrategyResult` (its plan's workload, its layout and metrics dict). Output: markdown
lines; none for a static workload, whose report is the one dagc always wrote. The figures come
from the in-flight shares (`dagc.layout.mix.shares`, what `dagc.serve.inflight.serving_json` writes into
report.json) and the metrics, never derived here.
"""

from __future__ import annotations

import math

from ..layout.mix import shares
from ..layout.modes import mode_of
from ..plan.engines import EngineTerms
from ..plan.workload import PoolRole
from ..serve.disagg import instances_to_serve
from ..serve.inflight import eager_mixed_text
from ..units import Dimension, count_text, format_percent, format_si
from ..verdict.check import StrategyResult
from ..verdict.pools import PooledCheck, kv_transfer_words

__all__ = ["balance_text", "inflight_execution", "inflight_metric_rows", "inflight_summary", "instance_ratio",
           "pool_instances", "pooled_summary", "ttft_off_the_path", "ttft_parts"]


def _t(x: float | None) -> str:
    return "—" if x is None else format_si(x, Dimension.TIME)


def _pct(x: float) -> str:
    return format_percent(x)


# A binding decode pool: its instances share the deployment's batch (each ceil(batch / M)), so more of them
# shorten the step rather than add one instance's capacity each — no count of them follows from the ratio
# (until 2026-12-03 it said "the next steps and `dagc search` price them": no next step tries decode instances)
DECODE_BINDS = ("more decode instances would split the same requests among them (each holding fewer, stepping "
                "faster), not add one instance's capacity each: `dagc search` prices them, or `dagc check "
                "--strategy` with `decode N < … >`")


def balance_text(balance: tuple[int, int], prefill: int, decode: int, binding: str, ratio: float | None = None) -> str:
    """How many instances would balance the pools, in the plan's own terms, when the prefill pool binds (each
    prefill instance adds its own capacity): the ratio as one instance of the smaller side to so many of the
    other (never rounded to a whole number it is not), and the whole prefill instances needed beside the decode
    pool's count as it stands (`prefill`, `decode`), with the fraction they round up, then the whole-number ratio
    (`dagc.serve.disagg.balance_of`) where it is the ratio as said. `ratio`: one decode instance's capacity over
    one prefill instance's (`instance_ratio`), else the whole-number ratio's — which rounds (to at most 64
    instances a side short of 64:1): until 2026-11-30 two prefill instances at 2.01 to one were said to "need 2
    instances", the 2 they had and which bound, beside "3 prefill instances" on the next line. When the decode
    pool binds, the ratio as it stands and `DECODE_BINDS`: its instances share one batch, so no count of them follows
    from the ratio (until 2026-11-28 it was said as one: "needs 4 instances" where 4 served 11.06 requests/s, not
    4 × 6.27).

    Example:
        >>> balance_text((15, 43), 2, 1, "decode").endswith(DECODE_BINDS)
        True
        >>> balance_text((5, 1), 1, 1, "prefill")
        'the pools balance at 5 prefill instances to 1 decode instance (5:1): beside its 1 decode instance, the \
prefill pool needs 5 instances'
        >>> balance_text((50, 49), 1, 1, "prefill")
        'the pools balance at 1.02 prefill instances to 1 decode instance (50:49): beside its 1 decode instance, the \
prefill pool needs 2 instances (1.02, rounded up to whole instances)'
        >>> balance_text((2, 1), 2, 1, "prefill", ratio=2.0126)
        'the pools balance at 2.01 prefill instances to 1 decode instance: beside its 1 decode instance, the \
prefill pool needs 3 instances (2.01, rounded up to whole instances)'
    """
    n, d = balance
    if binding == "decode":     # the ratio as it stands (SPEC 11.3; until 2026-12-03 in report.json alone), no count
        return (f"at their present shares of the batch the pools' capacities balance at {n}:{d} (prefill:decode "
                f"instances, `serving.balance`), but {DECODE_BINDS}")
    k = n / d if ratio is None else ratio           # prefill instances per decode instance
    said = f"1 prefill instance to {_instances(1 / k, 'decode')}" if k <= 1 else \
        f"{_instances(k, 'prefill')} to 1 decode instance"
    whole = f" ({n}:{d})" if _ratio(n / d) == _ratio(k) else ""      # the whole-number ratio, where it is this one
    exact = decode * k
    need = max(1, math.ceil(exact - 1e-9))
    rounded = "" if math.isclose(need, exact, rel_tol=1e-9) else f" ({_ratio(exact)}, rounded up to whole instances)"
    return (f"the pools balance at {said}{whole}: beside its {count_text(decode, 'decode instance')}, "
            f"the prefill pool needs {count_text(need, 'instance')}{rounded}")


def instance_ratio(pooled: PooledCheck) -> float | None:
    """One decode instance's capacity over one prefill instance's: the prefill instances that serve one decode
    instance (None without figures, or a prefill pool that serves none)."""
    f = pooled.figures
    if f is None:
        return None
    prefill, decode = pool_instances(pooled)
    per_prefill = f.capacity["prefill"] / prefill
    return f.capacity["decode"] / decode / per_prefill if per_prefill > 0 else None


def _ratio(k: float) -> str:
    """A ratio of instances to two significant digits, or as many more as keep it from reading as a whole number it is
    not (50:49 is 1.02, not 1)."""
    digits = 2
    while digits < 6 and k != round(k) and float(f"{k:.{digits}g}") == round(k):
        digits += 1
    return f"{k:.{digits}g}"


def _instances(k: float, role: str) -> str:
    return f"{_ratio(k)} {role} instance{'' if k == 1 else 's'}"


def rank_word(adp: int, dp: int) -> str:
    """Where one share of the requests in flight runs: a replica when the strategy's replicas have no attention
    DP (`dp 2 < tp 8 >`: 64 of 128 per replica, each served by one TP group), else an attention-DP rank.

    Example:
        >>> rank_word(8, 1), rank_word(1, 2), rank_word(1, 1)
        ('per attention-DP rank', 'per replica', 'per attention-DP rank')
    """
    return "per replica" if adp == 1 and dp > 1 else "per attention-DP rank"


def inflight_summary(r: StrategyResult) -> list[str]:
    """The summary's line on the mode: what the figures mean (steady state, no queueing) and the
    shares they rest on."""
    if r.pooled is not None:
        return pooled_summary(r)
    w, lay = r.running            # in flight, the requests the engine reaches (W520)
    if not mode_of(w).continuous or lay is None:
        return []
    s = shares(w, lay)
    admitted = "" if w.batch == r.plan.workload.batch else \
        f" (of the {r.plan.workload.batch:,} `batch` allows: the KV cache admits no more, W520)"
    how = "chunked prefill" if w.chunked_prefill else "whole prompts, chunked prefill off"
    line = (f"- **Served in flight** (continuous batching with {how}, `chunk = {w.chunk_tokens:,}` tokens "
            f"per step): the figures are the steady state with {count_text(w.batch, 'request')} in flight{admitted}, "
            f"{s.requests_per_rank:,} {rank_word(lay.adp, lay.dp)}; {_pct(s.share)} of a rank's steps carry "
            f"a chunk of {s.chunk_prompt_tokens:,} prompt tokens (f), {_pct(s.group_share)} of the "
            f"steps of a group of {s.group} attention-DP "
            f"rank{'s' if s.group != 1 else ''} that meet in every all-to-all (f_g)")
    met = r.metrics
    if met is not None:
        line += (f"; TPOT mixes the decode step ({_t(met.decode_step_s)}) and the mixed step "
                 f"({_t(met.mixed_step_s)}), TTFT is "
                 f"{count_text(s.first_token_steps, 'mixed step')}")
    steady = ("; these are the steady state's, without queueing, preemption or prefix caching — the plan's traffic, "
              "simulated with them, is under \"Load\"" if r.plan.workload.traffic is not None else
              ". No queueing, preemption or prefix caching is modelled in the steady state (docs/cost-model.md, "
              "\"Serving in flight\"); a `rate` or `concurrency` in the workload simulates them (docs/load.md)")
    most, are = count_text(s.sustainable_batch, "request"), "is" if s.sustainable_batch == 1 else "are"
    line += (steady
             + ("" if s.keeps_up else f"; the chunk cannot keep up with this batch (W513): at most {most} {are} "
                "sustained") + ".")
    return [line]


def inflight_metric_rows(r: StrategyResult) -> list[list[str]]:
    """The metrics table's rows beside TTFT, TPOT and the throughputs, in flight: the two steps and
    the shares."""
    met, (w, lay) = r.metrics, r.running
    if r.pooled is not None:
        f = r.pooled.figures
        if f is None:
            return []
        return [["KV transfer (visible part)", _t(f.transfer_s), ""],
                *[[f"{role} pool capacity", f"{cap:,.2f} requests/s", ""] for role, cap in f.capacity.items()]]
    if not mode_of(w).continuous or met is None or lay is None:
        return []
    s = shares(w, lay)
    return [["decode step (every request in flight decodes)", _t(met.decode_step_s), ""],
            [f"mixed step (+ a chunk of {s.chunk_prompt_tokens:,} prompt tokens)", _t(met.mixed_step_s), ""],
            ["steps with a chunk: f, f_g", f"{_pct(s.share)}, {_pct(s.group_share)}", ""],
            ["largest batch the chunk keeps up with", count_text(s.sustainable_batch, 'request'), ""]]


def inflight_execution(r: StrategyResult) -> str:
    """The assumptions' words on the mode: empty statically."""
    w = r.plan.workload
    if r.pooled is not None:
        when = "layer by layer" if w.kv_transfer == "layerwise" else "after its prefill"
        return (" Disaggregated: prefill instances prefill `prefill_batch` requests at a time, statically; each "
                f"request's KV cache moves to a decode instance {when}; decode instances decode their share of the "
                "batch, the KV cache of each at full context.")
    if not mode_of(w).continuous:
        return ""
    run = r.running[0].batch
    at = "at their full length (the engine never preempts)" if r.plan.cluster.engine.terms.no_evict else \
        "at their mean context"
    held = "the KV cache holds every request at full context" if run == w.batch else \
        (f"the KV cache admits {run:,} of them {at}, so the engine runs {run:,} at once (W520)")
    prompts = "a chunk of one prompt" if w.chunked_prefill else "whole prompts while they fit: chunked prefill off"
    # as `dagc check` says it under its in-flight line: why the mixed step need not shorten on a faster GPU
    eager = eager_mixed_text(r.running[0], r.running[1], r.plan.cluster) if r.running[1] is not None else None
    return (f" Served in flight: `batch` requests at once at most, each engine step at most {w.chunk_tokens:,} tokens "
            f"(its decode tokens, then {prompts}); {held}." + (f" {eager[0].upper()}{eager[1:]}." if eager else ""))


def front_end_words(terms: EngineTerms, sep: str = " + ") -> str:
    """A request alone's time before the engine in its parts, as the Engine line names them: `the engine's front end
    20.02 ms + its one server's time 4 ms` (vLLM's `frontend_s` and `ingest_s`), joined by
    `sep`; the steady state's client TTFT less its server's is their sum, a run's under traffic the first alone (it
    times the second, queued, at the server: docs/load.md, "The front end"). Worded here once for report.md's
    metrics and "Where the time goes" and a disaggregated TTFT's parts (`the engine's front end 0 s` of `pytorch`).
    Until 2026-12-02 they read "24.02 ms … the engine's front end" beside the Engine line's 20.02 ms and a load
    whose client less server TTFT was 20.02 ms.

    Example:
        >>> from dagc.plan.engines import ENGINE_TERMS
        >>> front_end_words(ENGINE_TERMS["vllm"])
        "the engine's front end 20.02 ms + its one server's time 4 ms"
    """
    front, ingest = terms.frontend_s, terms.ingest_s
    server = [f"its one server's time {_t(ingest)}"] if ingest else []
    return sep.join([f"the engine's front end {_t(front)}", *server])


def ttft_parts(r: StrategyResult, how: bool = True) -> str | None:
    """A disaggregated strategy's TTFT in its parts, as `dagc.verdict.pools` computes them: one prefill
    instance's prefill, the KV transfer's visible part (`how`: what it moves, and when) and a request alone's time
    before the engine, which the client's TTFT adds (`front_end_words`). Worded here once for the terminal's pools
    line, report.md's "Disaggregated" line and its "Where the time goes"; None for any other strategy, or pools
    without figures.

    Example: `TTFT = the prefill 209.1 ms + the KV transfer 14.05 ms + the engine's front end 20.02 ms + its one
    server's time 4 ms` (examples/deepseek-v3-disaggregated.moe, without `how`; until 2026-12-02 the last two read
    as one, "the engine's front end 24.02 ms").
    """
    pooled = r.pooled
    f = pooled.figures if pooled is not None else None
    if pooled is None or f is None or pooled.kv_bytes_per_request is None:
        return None
    terms = r.plan.cluster.engine.terms     # the client's TTFT adds a request alone's front end
    said = f" ({pooled.kv_text}, {kv_transfer_words(r.plan.workload.kv_transfer)})" if how else ""
    front = front_end_words(terms) if terms.frontend_alone_s else ""
    return (f"TTFT = the prefill {_t(f.ttft_s - f.transfer_s - terms.frontend_alone_s)} + the KV transfer "
            f"{_t(f.transfer_s)}{said}" + (f" + {front}" if front else ""))


def ttft_off_the_path(r: StrategyResult) -> str:
    """report.md's "Where the time goes" of a disaggregated strategy, after the decode instance's critical
    path: the TTFT it does not hold, in its parts (`ttft_parts`); "" for any other strategy. Until 2026-11-30
    that line showed the decode instance's path alone, nothing of the prefill pool's 209 ms of a 247 ms TTFT
    (examples/deepseek-v3-disaggregated.moe)."""
    parts, met = ttft_parts(r, how=False), r.metrics
    if parts is None or met is None:
        return ""
    return f" TTFT ({_t(met.ttft_s)}) is not on that path: {parts}."


def pooled_summary(r: StrategyResult) -> list[str]:
    """A disaggregated strategy: its pools side by side, how TTFT is made, the pool that binds and the
    N:M that would balance them (`dagc.verdict.pools`)."""
    pooled = r.pooled
    assert pooled is not None
    f = pooled.figures
    running = (r.metrics.concurrency_effective if r.metrics is not None else None) or r.plan.workload.batch
    # ^ the decode pools' (W520)
    lines = [f"- **Disaggregated**: {count_text(r.gpus_used or 0, 'GPU')} in two pools; the figures are the steady "
             "state with "
             f"{count_text(running, 'request')} in flight, no queueing (docs/cost-model.md, \"Disaggregated prefill "
             "and decode\")."]
    if f is not None and pooled.kv_bytes_per_request is not None:
        balance = balance_text(f.balance, *pool_instances(pooled), f.binding_pool, instance_ratio(pooled))
        lines[0] = lines[0][:-1] + (f"; {ttft_parts(r)}; the **{f.binding_pool} pool binds** "
                                    f"({f.served_requests_per_s:,.2f} requests/s)"
                                    + (f"; {balance}." if f.binding_pool == "prefill" else
                                       f"; {balance.partition(', but ')[0]}."))
    if f is not None:
        lines.append(_to_change(r))
    lines += ["", "| pool | instances | strategy of each | GPUs | requests each | time | serves at most | memory use |",
              "|---|---:|---|---:|---:|---:|---:|---:|"]
    for p in pooled.pools:
        m, mem = p.analysis.metrics, p.analysis.memory
        prefill = p.pool.role == PoolRole.PREFILL
        time = (f"prefill {_t(m.ttft_s)}" if prefill else f"TPOT {_t(m.tpot_s)}") if m is not None else "—"
        cap = f"{f.capacity[p.pool.role]:,.2f} req/s" if f is not None else "—"
        use = _pct(mem.worst.fraction) if mem is not None else "—"
        lines.append(f"| {p.pool.role} | {p.pool.instances:,} | `{p.pool.strategy.text}` | {p.pool.instances:,} × "
                     f"{p.gpus_per_instance:,} | {p.requests_text} | {time} | {cap} | {use} |")
    return lines + [""]


def pool_instances(pooled: PooledCheck) -> tuple[int, int]:
    """The prefill and the decode pool's instances."""
    count = {p.pool.role: p.pool.instances for p in pooled.pools}
    return count[PoolRole.PREFILL], count[PoolRole.DECODE]


def _to_change(r: StrategyResult) -> str:
    """What would lift the deployment's rate to its other pool's capacity: more prefill instances (each
    adds its own capacity), or for a binding decode pool a faster decode step (more instances each
    hold fewer requests, so their step changes too: `dagc search` weighs them)."""
    assert r.pooled is not None and r.pooled.figures is not None
    f, (pre, dec) = r.pooled.figures, r.pooled.pools
    if f.binding_pool == "prefill":
        n = instances_to_serve(f.capacity["decode"], f.capacity["prefill"] / pre.pool.instances)
        more = (n - pre.pool.instances) * pre.gpus_per_instance
        room = r.plan.cluster.gpus - (r.gpus_used or 0)
        fits = "within the cluster" if more <= room else f"{more - room:,} more GPUs than the cluster has"
        return (f"- **To serve the decode pool's {f.capacity['decode']:,.2f} requests/s**: {n:,} prefill instances "
                f"({more:,} more GPUs, {fits}), or a prefill instance that prefills faster.")
    many = dec.pool.instances > 1
    return (f"- **The decode pool binds**: {'each of its' if many else 'its'} {dec.pool.instances:,} "
            f"instance{'s takes' if many else ' takes'} {_t(f.tpot_s)} a step for "
            f"{dec.running_per_instance:,} requests; more decode instances "
            f"(each holding fewer requests, so stepping faster) or a faster decode layout would lift the rate toward "
            f"the prefill pool's {f.capacity['prefill']:,.2f} requests/s — `dagc search` weighs both.")
