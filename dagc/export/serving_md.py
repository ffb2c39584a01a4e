"""What report.md says of the serving mode in flight: the summary's line, the metrics' rows and
the notes under the critical path, the pictures and the trace.

Input: a `StrategyResult` (its plan's workload, its layout and metrics dict). Output: markdown
lines; none for a static workload, whose report is the one dagc always wrote. The figures come
from `dagc.serve.inflight.serving_json` and the metrics dict, never derived here.
"""

from __future__ import annotations

from ..serve.inflight import serving_json
from ..units import Dimension, format_si
from ..verdict.check import StrategyResult

__all__ = ["inflight_execution", "inflight_metric_rows", "inflight_summary"]


def _t(x: float) -> str:
    return format_si(x, Dimension.TIME)


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def inflight_summary(r: StrategyResult) -> list[str]:
    """The summary's line on the mode: what the figures mean (steady state, no queueing) and the
    shares they rest on."""
    w = r.plan.workload
    if not w.inflight or r.layout is None:
        return []
    s = serving_json(w, r.layout)
    line = (f"- **Served in flight** (continuous batching with chunked prefill, `chunk = {s['chunk']:,}` tokens per "
            f"step): the figures are the steady state with {w.batch:,} requests in flight, "
            f"{s['requests_per_rank']:,} per attention-DP rank; {_pct(s['mixed_step_share'])} of a rank's steps carry "
            f"a chunk of {s['chunk_prompt_tokens']:,} prompt tokens (f), {_pct(s['mixed_step_share_group'])} of the "
            f"steps of a group of {s['attention_dp_group']} attention-DP "
            f"rank{'s' if s['attention_dp_group'] != 1 else ''} that meet in every all-to-all (f_g)")
    met = r.metrics
    if met is not None:
        line += (f"; TPOT mixes the decode step ({_t(met['decode_step_s'])}) and the mixed step "
                 f"({_t(met['mixed_step_s'])}), TTFT is {s['first_token_steps']:,} mixed "
                 f"step{'s' if s['first_token_steps'] != 1 else ''}")
    line += (". No queueing, preemption or prefix caching is modelled (docs/cost-model.md, \"Serving in flight\")"
             + ("" if s["keeps_up"] else f"; the chunk cannot keep up with this batch (W513): at most "
                f"{s['sustainable_batch']:,} requests are sustained") + ".")
    return [line]


def inflight_metric_rows(r: StrategyResult) -> list[list[str]]:
    """The metrics table's rows beside TTFT, TPOT and the throughputs, in flight: the two steps and
    the shares."""
    met, lay = r.metrics, r.layout
    if not r.plan.workload.inflight or met is None or lay is None:
        return []
    s = serving_json(r.plan.workload, lay)
    return [["decode step (every request in flight decodes)", _t(met["decode_step_s"]), ""],
            [f"mixed step (+ a chunk of {s['chunk_prompt_tokens']:,} prompt tokens)", _t(met["mixed_step_s"]), ""],
            ["steps with a chunk: f, f_g", f"{_pct(s['mixed_step_share'])}, {_pct(s['mixed_step_share_group'])}", ""],
            ["largest batch the chunk keeps up with", f"{s['sustainable_batch']:,} requests", ""]]


def inflight_execution(r: StrategyResult) -> str:
    """The assumptions' words on the mode: empty statically."""
    w = r.plan.workload
    if not w.inflight:
        return ""
    return (f" Served in flight: `batch` requests at once, each engine step at most {w.chunk_tokens:,} tokens "
            "(its decode tokens, then a chunk of one prompt); the KV cache holds every request at full context.")
