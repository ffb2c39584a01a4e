"""dagc's figures for a measured run, keyed as the run's: what the calibration and the corpus compare.

Input: a lowered plan with its one strategy (and, optionally, engine terms to price it with). Output: a dict of
dagc's figures in the units benchmark clients report — `ttft_ms`, `ttft_ms_median`, `ttft_ms_p99`, `tpot_ms…`,
`itl_ms…`, `e2e_ms…`, `output_tokens_per_s`, `total_tokens_per_s`, `requests_per_s` (and `input_tokens_per_s`
for a disaggregated pool) — or why there are none.

- With traffic in the plan: the load simulation's, as a benchmark client computes them over the whole run — the
  mean, median (p50) and p99 of TTFT, TPOT, ITL and E2E, output (and input + output) tokens over the run's
  duration, requests over it;
- a disaggregated plan without traffic: `input_tokens_per_s` = the prefill pool's capacity × prompt,
  `output_tokens_per_s` = the decode pool's capacity × generate, `tpot_ms` the decode pool's;
- otherwise the steady state's: TTFT, TPOT (= ITL), E2E = TTFT + (generate − 1) × TPOT, output tokens/s = the
  decode tokens/s of the whole deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..plan.calibration import quantity_of
from ..plan.plan import Plan

if TYPE_CHECKING:    # the verdict is loaded when a run is first simulated (`dagc_figures`)
    from ..serve.load_figures import LoadFigures, Percentiles
    from ..verdict.steady import SteadyMetrics
    from ..verdict.under_load import UnderLoad

__all__ = ["LATENCY_STATS", "dagc_figures", "load_figures", "quantity_of", "steady_figures", "with_terms"]

LATENCY_STATS = (("mean", ""), ("p50", "_median"), ("p99", "_p99"))


def with_terms(plan: Plan, terms: Mapping[str, float] | None) -> Plan:
    """The plan with its engine's terms replaced by `terms` (`step_s`, `frontend_s`); the plan itself without."""
    if not terms:
        return plan
    eng = plan.cluster.engine
    eng = eng.model_copy(update={"terms": eng.terms.model_copy(update=dict(terms))})
    return plan.model_copy(update={"cluster": plan.cluster.model_copy(update={"engine": eng})})


def _latencies(figures: LoadFigures, server: bool) -> dict[str, Percentiles]:
    """A run's latencies by their stem: the client's, or (`server`) TTFT and E2E without the engine's front end."""
    return {"ttft": figures.ttft_server_s if server else figures.ttft_s, "tpot": figures.tpot_s,
            "itl": figures.itl_s, "e2e": figures.e2e_server_s if server else figures.e2e_s}


def _stat(p: Percentiles, stat: str) -> float | None:
    """A `LATENCY_STATS` statistic of a latency: its mean, or a percentile (`p50`, `p99`)."""
    return p.mean if stat == "mean" else p.at(int(stat.removeprefix("p")))


def load_figures(under: UnderLoad, plan: Plan, server: bool = False) -> dict[str, float]:
    """The figures of a simulated load (`dagc.verdict.under_load`'s result), as the client reports them (or,
    `server`, TTFT and E2E as the engine's own process measures them: without its front end)."""
    ld = under.load
    out = {f"{k}_ms{suf}": value * 1e3 for k, p in _latencies(under.figures, server).items()
           for stat, suf in LATENCY_STATS if (value := _stat(p, stat)) is not None}
    n = len(ld.arrival)
    output = float(ld.output.sum()) if ld.output is not None else float(ld.generate * n)
    prompt = float(ld.prompt.sum()) if ld.prompt is not None else float(plan.workload.prompt * n)
    dur = _duration(under, plan)
    return out | {"output_tokens_per_s": output / dur, "total_tokens_per_s": (output + prompt) / dur,
                  "requests_per_s": n / dur}


def _duration(under: UnderLoad, plan: Plan) -> float:
    """The run's duration as the figures' denominator: first arrival to last token — of an open loop at a rate that
    keeps pace, with its arrivals' span the rate's expected one, (n − 1) / rate, in place of the one the seed drew.
    A run measured elsewhere drew its own arrivals: the seed's span is noise beside it (200 requests at 4
    requests/s from seed 0 span 56 s where 49.75 s are expected, which read 3.48 requests/s for a run that kept up
    with 4), and a fit of the engine's terms would take it for the engine's. What follows the last arrival — the
    last requests' own time — stays the run's."""
    ld, dur, traffic = under.load, under.figures.duration_s, plan.workload.traffic
    n = len(ld.arrival)
    if traffic is None or traffic.rate is None or n < 2 or not under.figures.keeps_pace:
        return dur
    drawn = float(ld.arrival.max() - ld.arrival.min())
    return max(dur - drawn + (n - 1) / float(traffic.rate), 1e-12)


def steady_figures(plan: Plan, metrics: SteadyMetrics, server: bool = False) -> dict[str, float]:
    """The steady state's figures of a plan without traffic (`server`: TTFT and E2E without the front end)."""
    w = plan.workload
    tpot, ttft = metrics.tpot_s, metrics.ttft_server_s if server else metrics.ttft_s
    e2e = ttft + (w.generate - 1) * tpot
    return {"tpot_ms": tpot * 1e3, "itl_ms": tpot * 1e3, "ttft_ms": ttft * 1e3, "e2e_ms": e2e * 1e3,
            "output_tokens_per_s": metrics.decode_tokens_per_s_per_gpu * plan.cluster.gpus,
            "requests_per_s": w.batch / e2e}


def dagc_figures(plan: Plan, terms: Mapping[str, float] | None = None,
                 server: bool = False) -> tuple[dict[str, float], str | None]:
    """dagc's figures for a lowered plan (its first strategy), its engine priced with `terms` when given, and
    why there are none (refused) or None. TTFT and E2E are a serving client's, or with `server` the engine's
    own process's (a benchmark inside it, `gptSessionBenchmark`, `trtllm-bench`: no front end)."""
    from ..verdict.check import check_strategy
    plan = with_terms(plan, terms)
    r = check_strategy(plan, plan.strategies[0], with_capacity=False)
    if r.load is not None:
        return load_figures(r.load, r.plan, server), None
    if r.pooled is not None:
        f = r.pooled.figures
        if f is None:
            return {}, "; ".join(f"{d.code} {d.message}" for d in r.pooled.diagnostics if d.is_error) or "no figures"
        return {"input_tokens_per_s": f.capacity["prefill"] * plan.workload.prompt,
                "output_tokens_per_s": f.capacity["decode"] * plan.workload.generate,
                "tpot_ms": f.tpot_s * 1e3, "itl_ms": f.tpot_s * 1e3}, None
    if r.metrics is None:
        return {}, "; ".join(f"{d.code} {d.message}" for d in r.diagnostics if d.is_error) or "no metrics"
    return steady_figures(r.plan, r.metrics, server), None
