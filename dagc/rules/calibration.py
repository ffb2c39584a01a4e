"""Rules about the calibration a plan names (`calibration from "cal.json"`, docs/calibrate.md): W540 (the plan far
outside the runs it was fitted on), W541 (a term fitted to its bound) and W542 (`dagc calibrate`'s: a quantity of the
runs predicted worse than with the engine's own terms).

Input: a `RuleContext` (W540, W541), or a plan and its pools' engine instances (`calibration_range`, which
`dagc.verdict.pools` calls for a disaggregated strategy), or the errors `dagc.calibrate.worse` measured
(`calibration_worse`). Output: diagnostics. Split from `dagc.rules.engine` on 2026-12-02, which re-exports the
names its callers import.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from ..diagnostics import Diagnostic, Severity, code
from ..lang.calibration import TERM_BOUNDS
from ..layout.modes import mode_of
from ..plan.plan import Plan
from ..plan.workload import Traffic
from ..source import Span
from ..units import count_text, said_list
from .base import RuleContext, diag, make_rule, pass_rule

__all__ = ["FAR", "RULES", "calibration_range", "calibration_worse", "term_at_bound"]


FAR = 2.0       # a plan's figure more than this factor outside the calibrated runs' range is far outside it


def _outside(value: float, span: tuple[float, float] | None) -> bool:
    return span is not None and not span[0] / FAR <= value <= span[1] * FAR


def _num(x: float) -> str:
    """A traffic figure: thousands whole with separators (`20,000`, never `2e+04`), others to 4 digits.

    Example:
        >>> _num(20000.0), _num(8192.0), _num(2.5)
        ('20,000', '8,192', '2.5')
    """
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def check_calibration_range(ctx: RuleContext) -> Iterator[Diagnostic]:
    """The plan is far outside the runs its calibration was fitted on.

    A calibration (`calibration from "cal.json"`, made by `dagc calibrate`) fits the engine's host time per step,
    front-end time and kernel-time multipliers on the runs it was given: their prompt and output lengths, their
    rate or clients, the most requests they held in flight (which the plan's `batch` is compared with), and the
    GPUs of the engine instance that served them (one data-parallel replica, or one
    instance of a disaggregated pool: what the host times and kernel shapes the terms stand for depend on). A plan
    more than twice past those ranges, an open loop (`rate`) on runs of closed loops only (`concurrency`) or the
    reverse, or a strategy that runs an engine instance on another number of GPUs, runs
    the engine in a regime the fit never saw — other batches, other step shapes — where the fitted terms, and the
    bands their residuals give, may not hold. More replicas of the calibrated instance (`dp 4 < tp 8 >` on runs
    of `tp 8`) are not outside. A plan served otherwise than every run was (the file's `runs[].serving`) is:
    static batches (`serving = static`) on runs of a server, which batches in flight, or disaggregated prefill and
    decode pools on runs of instances that do both, or the reverse — other steps, another queue; the warning names
    the plan's serving and the runs'. Calibrate on runs that cover the plan, or read the figures as extrapolated.

    Bad:
        workload { batch = 256  prompt = 8192  generate = 128  rate = 4 requests/s  requests = 200 }   # runs of 512
        calibration from "cal.json"
    Fixed:
        workload { batch = 256  prompt = 512  generate = 128  rate = 4 requests/s  requests = 200 }
        calibration from "cal.json"
    Bad:
        workload { batch = 64  prompt = 512  generate = 128 }      # serving = static, the default; runs in flight
        calibration from "cal.json"
    Fixed:
        workload { batch = 64  prompt = 512  generate = 128  serving = inflight }
        calibration from "cal.json"
    """
    lay = ctx.layout
    # a pool's instance (its workload the pool's role's: a prefill instance generates 1 token) is judged by the
    # disaggregated strategy, on the plan's own workload (`dagc.verdict.pools`)
    if ctx.plan.calibration is None or mode_of(ctx.plan.workload).role is not None or lay is None:
        return
    far = calibration_range(ctx.plan, (("", lay.gpus_used // max(1, lay.dp)),))
    if far is not None:
        yield far


def calibration_range(plan: Plan, engines: Sequence[tuple[str, int]]) -> Diagnostic | None:
    """W540 of a plan whose strategy runs engine instances of `engines` (each its pool's role, "" when not
    disaggregated, and its GPUs), on the plan's own workload (`check_calibration_range`); None when within."""
    cal = plan.calibration
    if cal is None:
        return None
    w, r = plan.workload, cal.range
    tr = w.traffic
    # the requests in flight the steady state is judged at, the plan's batch (`batch = max` once chosen): until
    # 2026-11-30 a batch of 256 on runs of at most 90 in flight went unwarned, whatever the fit made of it
    batch = w.batch if not w.batch_max or w.batch_note is not None else None
    written: tuple[tuple[str, float | None, tuple[float, float] | None], ...] = (
        ("prompt", w.prompt, r.prompt), ("generate", w.generate, r.generate),
        ("rate", tr.rate if tr is not None else None, r.rate),
        ("concurrency", tr.concurrency if tr is not None else None, r.concurrency), ("batch", batch, r.in_flight))
    # each with its unit, the runs' range one value where they were all one (until 2026-11-30 `rate 40 (runs 1–16)`,
    # `prompt 8,192 (runs 512–512)`)
    units = {"prompt": "tokens", "generate": "tokens", "rate": "requests/s", "concurrency": "clients",
             "batch": "requests in flight"}
    far = [f"{name} {_num(value)} {units[name]} (runs {_range(span)})"
           for name, value, span in written if value is not None and span is not None and _outside(float(value), span)]
    far += _other_loop(tr, r.rate, r.concurrency)
    low, high = cal.instance_gpus or (cal.gpus, cal.gpus)
    runs = f"{low:,}" if low == high else f"{low:,}–{high:,}"
    far += [f"{role + ' ' if role else ''}engine instance{'s' if role else ''} of {count_text(gpus, 'GPU')} "
            f"(runs {runs})"
            for role, gpus in engines if not low <= gpus <= high]
    # how the plan serves, before the figures: the regime every other one is measured in (until 2026-12-02 unsaid)
    mode = "disaggregated" if any(role for role, _ in engines) else w.serving.value
    served = _other_serving(mode, cal.serving)
    if not far and not served:
        return None
    return diag("W540", Severity.WARNING,
                f"the plan is far outside the runs calibration {code(cal.file)} was fitted on: "
                + "; ".join(served + far),
                plan.span_of("calibration.file"),
                "; ".join([_SERVE_AS_RUNS[mode]] * bool(served)
                          + ["calibrate on runs that cover this traffic and engine instance (`dagc calibrate`)"]
                          * bool(far)) + ", or read its figures and bands as extrapolated")


# how a plan or a calibration's runs serve their requests (`dagc.plan.calibration.SERVINGS`), in W540's words
_SERVED = {"static": "as static batches", "inflight": "in flight",
           "disaggregated": "by disaggregated prefill and decode pools"}
# W540's hint to a plan served otherwise than its runs, by the plan's serving
_SERVE_AS_RUNS = {
    "static": "serve the plan in flight, as its runs were (`serving = inflight`; `dagc calibrate` fits no static "
              "plan: no benchmark run measures static batches)",
    "inflight": "calibrate on runs of a strategy without pools, as the plan's (`dagc calibrate`), or plan the runs' "
                "disaggregated pools (`prefill N < … > decode M < … >`)",
    "disaggregated": "calibrate on runs of disaggregated pools, as the plan's (`dagc calibrate` with the plan's "
                     "`strategy prefill N < … > decode M < … >`)"}


def _other_serving(mode: str, runs: tuple[str, ...] | None) -> list[str]:
    """A plan served otherwise than every run of its calibration (`mode` none of `runs`): static batches on runs of
    servers, which batch in flight, or a strategy of disaggregated pools on runs of instances that prefill and
    decode, or the reverse — as `calibration_range` words it; nothing when the runs do not say (a file written
    before 2026-12-02).

    Example:
        >>> _other_serving("static", ("inflight",)), _other_serving("inflight", ("inflight", "disaggregated"))
        (['served as static batches (runs: served in flight)'], [])
        >>> _other_serving("static", None)
        []
        >>> _other_serving("disaggregated", ("inflight",))[0].split(" (runs: ")
        ['served by disaggregated prefill and decode pools', 'served in flight, each instance prefilling and decoding)']
    """
    if runs is None or mode in runs:
        return []
    pools = "disaggregated" in (mode, *runs)        # then "in flight" is said of instances that do both

    def said(m: str) -> str:
        return _SERVED[m] + (", each instance prefilling and decoding" if m == "inflight" and pools else "")
    return [f"served {said(mode)} (runs: served {said_list([said(m) for m in runs])})"]


def _other_loop(traffic: Traffic | None, rates: tuple[float, float] | None,
                concurrencies: tuple[float, float] | None) -> list[str]:
    """An open loop on a calibration of closed loops only, or a closed loop on one of open loops only: a traffic
    kind its runs never had (queues as arrivals make them, or none), as `calibration_range` words it."""
    if traffic is None:
        return []
    if traffic.rate is not None and rates is None and concurrencies is not None:
        return [f"an open loop at {_num(traffic.rate)} requests/s (runs: closed loops of {_range(concurrencies)} "
                "clients)"]
    if traffic.concurrency is not None and concurrencies is None and rates is not None:
        return [f"a closed loop of {_num(traffic.concurrency)} clients (runs: open loops at {_range(rates)} "
                "requests/s)"]
    return []


def _range(span: tuple[float, float]) -> str:
    """The runs' range, one value where they were all one (until 2026-12-01 the traffic kind's read `closed loops of
    4–4 clients`).

    Example:
        >>> _range((4.0, 4.0)), _range((1.0, 16.0))
        ('4', '1–16')
    """
    return _num(span[0]) if span[0] == span[1] else f"{_num(span[0])}–{_num(span[1])}"


W542 = """
`dagc calibrate` fitted terms that predict a quantity of its own runs worse than the engine's own terms: a median
|error| 1 percentage point and a tenth or more above the uncalibrated (0.1 % → 0.4 % is not: no band shows it).

The fit weighs every run's TPOT, TTFT and throughput together (docs/calibrate.md, "The fit"); with few runs, or
runs alike, it may buy one quantity with another — three SGLang runs at three rates: throughput 3.9 % → 3.2 % off,
TPOT 32.6 % → 38.5 %; a plan naming the file gets TPOT worse than without it. The warning names the quantity, its
median |error| uncalibrated, calibrated and cross-validated, at the run's figure the fit moved furthest off. Add runs
of other traffic (other rates, clients or prompt lengths) and calibrate again, or leave the calibration out of a plan
whose verdict rests on that quantity.

Example:
    dagc calibrate runs.toml -o cal.json      # 3 runs: tpot 32.6 % uncalibrated, 38.5 % calibrated → W542
"""


_BEFORE_FIRST_TOKEN, _SAID = ("frontend_s", "ingest_s"), {"tpot": "TPOT", "ttft": "TTFT", "e2e": "E2E"}


def calibration_worse(quantity: str, errors: tuple[float, float, float | None], figure: str, span: Span,
                      fitted: Sequence[str], better: Sequence[str] = (), also: Sequence[str] = ()) -> Diagnostic:
    """W542: the calibrated terms predict `quantity` of the runs worse than the engine's own (`errors`: the median
    |error| in percent before, after the fit, and cross-validated — None when the runs are too few to cross-validate),
    at the run's `figure` the fit moved furthest off; `better`, the quantities it predicts closer, `also` the others
    further off; `dagc.calibrate.worse` finds them."""
    # the fitted terms entering it: a front end's time (`frontend_s`, `ingest_s`) is before the first token, in no TPOT
    moving = [t for t in fitted if quantity != "tpot" or t not in _BEFORE_FIRST_TOKEN]
    terms, one, named = said_list([f"`{t}`" for t in moving]) or "no term", len(moving) == 1, _SAID
    off = said_list([named.get(q, q) for q in (quantity, *also)])
    # what it bought with what (until 2026-12-01 "the other quantities", though TTFT and E2E were worse too)
    buy = (f"{'buys' if one else 'buy'} {said_list([named.get(q, q) for q in better])} with {off}" if better
           else f"{'leaves' if one else 'leave'} {off} further off and no quantity closer")
    quantity, (before, after, cross) = named.get(quantity, quantity), errors
    left = "" if cross is None else f", {cross:.1f} % cross-validated"
    # which is further off: the calibrated terms on the runs they were fitted on, or only those fitted without each run
    which = "calibrated" if after > before or cross is None else "cross-validated"
    return diag("W542", Severity.WARNING,
                f"{which}, {quantity} is further off its runs than uncalibrated: median |error| {before:.1f} % "
                f"uncalibrated, {after:.1f} % calibrated{left}; {figure} moved furthest off",
                span,
                f"the fit's {terms} {buy}: add runs of other traffic (other rates, clients or prompt lengths) and "
                f"calibrate again, or leave the calibration out of a plan whose verdict rests on {quantity}")


def term_at_bound(name: str, value: float) -> str | None:
    """`lower` or `upper` when a calibrated term is at that bound of its (`TERM_BOUNDS`), else None.

    Example:
        >>> term_at_bound("compute_time_scale", 5.0), term_at_bound("frontend_s", 0.0), term_at_bound("step_s", 0.003)
        ('upper', 'lower', None)
    """
    low, high = TERM_BOUNDS[name]
    return next((side for side, b in (("lower", low), ("upper", high))
                 if math.isclose(value, b, rel_tol=1e-6, abs_tol=1e-12)), None)


def check_calibration_bound(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A term the plan's calibration fitted stopped at one of its bounds.

    `dagc calibrate` fits each engine term within bounds no engine goes past: a host time of at most 1 s a step and
    60 s a request, kernels at most 5 times slower or faster than profiled. A term fitted to a bound is where the
    runs would have taken it further, and dagc did not follow: its value, and every figure the plan gets from it
    (TTFT, TPOT, a capacity), rest on a term the runs did not determine. Its likelier cause is not the engine: a
    term the runs had no room to fit beside the others (3 runs fit 2 terms; `dagc calibrate` names it, at the run
    it leaves furthest off), or runs that differ from their plan — another model, GPU count, quantisation or engine
    setting. Calibrate again with a run more, or runs of the plan's deployment. The same warning is `dagc
    calibrate`'s when it writes such a file.

    Bad:
        calibration from "cal.json"     # cal.json: "compute_time_scale": 5.0, fitted on 3 runs
    Fixed:
        calibration from "cal.json"     # calibrated again on 4 runs: the front end fitted, the multiplier 1.0
    """
    cal = ctx.plan.calibration
    if cal is None:
        return
    for name in (n for n in TERM_BOUNDS if n not in cal.kept):
        value = float(getattr(cal, name))
        if (side := term_at_bound(name, value)) is not None:
            shown = f"{value * 1e3:g} ms" if name.endswith("_s") else f"{value:g}×"
            yield diag("W541", Severity.WARNING,
                       f"calibration {code(cal.file)} fitted `{name}` to its {side} bound, {shown}: the runs would "
                       "take it further, so it, and the figures that rest on it, are not what the runs determined",
                       ctx.plan.span_of("calibration.file"),
                       "likelier than such an engine: a term the runs had no room for, or runs that differ from "
                       "the plan (`dagc calibrate` names which, at the run); calibrate again with a run more, or "
                       "with runs of this deployment")

RULES = (
    make_rule("W540", Severity.WARNING, "the plan is far outside the runs its calibration was fitted on",
              check_calibration_range),
    make_rule("W541", Severity.WARNING, "a term of the calibration stopped at its bound", check_calibration_bound,
              plan_level=True),
    pass_rule("W542", Severity.WARNING, "a calibration predicts a quantity of its runs worse than the engine's own",
              doc=W542, passes=(calibration_worse,)),
)
