"""What binds a simulated load, in one sentence: `dagc check`'s line under the Load line and report.md's Load
section.

Input: report.json's `load.binding` (`dagc.serve.binding.binding_json`). Output: a sentence naming the
limit with the figures that show it, None when nothing binds (or the load has no diagnosis).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..units import Dimension, count_text, format_figure, format_percent, format_si
from ..verdict.carrying import faster_weights

__all__ = ["FRONTEND_DECIDES", "binding_text", "faster_weights", "front_end_text"]

# the engine's front end's share of a run's mean client TTFT past which a missed TTFT percentile is said to be its
FRONTEND_DECIDES = 0.5


def _pct(x: float | None) -> str:
    return "—" if x is None else format_percent(x)


def binding_text(binding: dict[str, Any] | None, faster: str | None = None) -> str | None:
    """The limit binding a load and its figures (docs/load.md, "What binds"), None when nothing binds; `faster`
    the weights that would make its steps faster (`faster_weights`), None when none would.

    Example:
        >>> binding_text({"limit": "prefill_pool", "prefill_instances": 2, "prefill_utilisation": 0.99,
        ...               "waiting_mean": 40.0})[:60]
        'Bound by the prefill pool: its 2 instances busy 99.0 % of th'
    """
    if not binding:
        return None
    b = binding
    goodput = b.get("goodput_unreachable_requests_per_s")
    unreachable = "" if goodput is None else (
        f"{' ' if b.get('limit') not in (None, 'none') else ''}Goodput cannot exceed the served rate, which "
        f"cannot exceed the arrival rate of {format_figure(b['arrival_rate_requests_per_s'])} requests/s: a "
        f"goodput target of {format_figure(goodput)} requests/s is unreachable at this traffic.")
    if b.get("limit") in (None, "none"):
        return unreachable or None
    said = _limit_text(b, faster)
    return said + front_end_text(b) + unreachable


def front_end_text(b: dict[str, Any]) -> str:
    """When a TTFT percentile is missed and the engine's front end is at least `FRONTEND_DECIDES` of the run's mean
    client TTFT (report.json's `load.binding`), that constant — which no step, batch or GPU shortens — in words, a
    space before it; else nothing (also for a binding written before it carried the front end: `dagc fleet`'s
    saved answers)."""
    share = b.get("frontend_ttft_share")
    if "ttft" not in (b.get("missed_latencies") or ()) or share is None or share < FRONTEND_DECIDES:
        return ""
    return (f" The engine's front end adds {format_si(b['frontend_s'], Dimension.TIME)} to every request's TTFT, "
            f"{format_percent(share)} of its mean in this run, which no faster step shortens: a constant dagc "
            "fitted on public runs of the engine (docs/cost-model.md, \"The engine\"); `dagc calibrate` measures "
            "yours.")


def _cap_lift(missed: Sequence[str], faster: str | None) -> str:
    """What lifts a cap on requests in flight: a larger batch, unless a TPOT or ITL percentile already misses
    (more requests in flight lengthen every step: `dagc.serve.binding.Binding.per_token_missed`); then more GPUs,
    a faster strategy and, when smaller weights would, faster steps (`faster`)."""
    per_token = [m.upper() for m in missed if m in ("tpot", "itl")]
    if not per_token:
        return "a larger batch lifts it"
    steps = f"more GPUs, a faster strategy, or faster steps ({faster})" if faster else \
        "more GPUs or a faster strategy"
    return (f"a larger batch lifts the cap but lengthens every step, and {' and '.join(per_token)} already "
            f"{'misses its target' if len(per_token) == 1 else 'miss their targets'}: a larger batch alone cannot "
            f"meet it — {steps} with it")


def _limit_text(b: dict[str, Any], faster: str | None) -> str:
    limit = b["limit"]
    if limit == "requests_in_flight":
        need = b.get("little_concurrency")
        rate = b.get("arrival_rate_requests_per_s")
        little = ""
        if need is not None and rate is not None:
            little = (f"; Little's law needs ≈ {format_figure(need)} in flight at {format_figure(rate)} requests/s "
                      f"(the arrival rate × a request's mean time in flight)"
                      + (" — under the cap on average: it binds when arrivals bunch" if need < b["requests_cap"]
                         else ""))
        elif need is not None:
            little = f"; the closed loop keeps {format_figure(need)} requests in the system"
        return (f"Bound by the cap on requests in flight: {format_figure(b['running_mean_while_waiting'])} of "
                f"{b['requests_cap']:,} in flight on average while {format_figure(b['waiting_mean'])} wait, the KV "
                f"cache at most {_pct(b.get('kv_share_peak'))} used{little}; "
                f"{_cap_lift(b.get('missed_latencies') or (), faster)}.")
    if limit == "kv_blocks":
        return (f"Bound by the KV cache's blocks: {_pct(b.get('kv_share_while_waiting'))} in use while requests "
                f"wait (peak {_pct(b.get('kv_share_peak'))}), {format_figure(b['running_mean'])} of "
                f"{b['requests_cap']:,} in flight on average, {b['preemptions']:,} preemptions; an 8-bit KV cache "
                f"or more GPUs may lift it.")
    if limit == "front_end":
        util, rate = b.get("frontend_utilisation"), b.get("arrival_rate_requests_per_s")
        most = " takes requests in slower than they arrive" if not (util and rate) else (
            f" takes in at most {format_figure(rate / util)} requests/s where {format_figure(rate)} arrive "
            f"({_pct(util)} of what it takes in)")
        return (f"Bound by the engine's front end: its one server a replica (HTTP, chat template, tokenisation){most}, "
                "and the engine behind it serves no more than it hands on; more replicas, each with a front end of its "
                "own, lift it.")
    if limit == "prefill_pool":
        return (f"Bound by the prefill pool: its {count_text(b['prefill_instances'], 'instance')} busy "
                f"{_pct(b.get('prefill_utilisation'))} of the time, {format_figure(b['waiting_mean'])} requests "
                f"waiting on average; more prefill instances lift it.")
    part = "compute" if limit == "step_compute" else "communication"
    split = ""
    if b.get("step") and b.get("step_compute_share") is not None:
        took = f" takes {format_si(b['step_s'], Dimension.TIME)}," if b.get("step_s") is not None else ""
        if b.get("run_step_s") is not None:          # the run's own step, at its requests in flight
            took = (f" takes {format_si(b['run_step_s'], Dimension.TIME)} on average in this run"
                    f"{_steady(b)},")
        host = b.get("step_host_share")
        of = f" (of which {_pct(host)} the engine's host time)" if host else ""
        split = (f" the {b['step']} step{took} its critical path "
                 f"{_pct(b['step_compute_share'])} compute{of} and {_pct(b.get('step_communication_share'))} "
                 f"communication (TP, EP, PP);")
    # a step-bound run whose requests never queue for admission: "none waits", not "a request waits 0 ns" (until
    # 2026-11-30)
    wait = b["admission_wait_s"]
    waits = f"a request waits {format_si(wait, Dimension.TIME)} to be admitted" if wait else \
        "no request waits to be admitted"
    return (f"Bound by the step time, its {part}:{split} {format_figure(b['running_mean'])} in flight on average, "
            f"{waits}.")


def _steady(b: dict[str, Any]) -> str:
    """The steady state's steps beside the run's, averaged as the run's are (`steady_mean_step_s`: in flight, the
    steps that carry a prompt chunk among them): " (26.1 ms in the steady state, every request slot busy)"."""
    step_s, mean_s = b.get("step_s"), b.get("steady_mean_step_s")
    if mean_s is None:
        return "" if step_s is None else (f" ({format_si(step_s, Dimension.TIME)} in the steady state, every "
                                          "request slot busy)")
    chunks = ""
    if step_s is not None and abs(mean_s - step_s) > 0.005 * step_s:    # steps that carry a prompt chunk: longer
        chunks = f"; {format_si(step_s, Dimension.TIME)} for a step without a prompt chunk"
    return f" ({format_si(mean_s, Dimension.TIME)} in the steady state, every request slot busy{chunks})"
