"""The optimal verdict in words (`dagc.verdict.optimal.OptimalEvidence`) as report.json, report.md and `dagc check`
give it, the one place those sentences are made: the note (`optimal_note`), `optimal_evidence` (`evidence_json`),
what optimal means (`optimal_means`), a figure (`objective_text`) and how much better the best is (`gain`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lang.engine import engine_chosen
from ..launch.engine_check import PLAN_CODES
from ..plan.objective import DEFAULT_OBJECTIVE, OBJECTIVES, FigureKind, Objective, StrategyFigures
from ..plan.plan import Plan
from ..plan.workload import RequirementKind
from ..search.outside_calibration import best_extrapolated
from ..search.rejections import rejections_summary
from ..search.under_traffic import steady_claim
from ..units import Dimension, count_text, format_figure, format_si
from ..verdict.bands import OddsBasis, searched_odds
from ..verdict.ledger import CONFIDENCE
from ..verdict.optimal import OPTIMAL_TOLERANCE, OptimalEvidence, Why
from ..verdict.verdict import near_text
from .dominated_words import passed_over_text
from .missed_words import best_unverified, counted_misses, missed_text, own_misses, self_short
from .result_json import evidence_of

if TYPE_CHECKING:
    from ..verdict.check import StrategyResult

__all__ = ["NOT_SEARCHED", "evidence_json", "gain", "meets_words", "objective_text", "optimal_means", "optimal_note",
           "times", "within_error_text"]

NOT_SEARCHED = "not judged: no strategy search was run (--no-search)"     # a check without a search's optimal verdict
NOT_JUDGED = "not judged: "


def optimal_means(objective: str, source: str, name: str) -> str:
    """What an optimal verdict under `objective` (written `name`; from `source`) means: said above the verdicts."""
    return (f"{OBJECTIVES[objective].means} (objective {name}, {source}), subject to the plan's requirements; "
            f"within {OPTIMAL_TOLERANCE * 100:.0f} % of the best counts as optimal")


def evidence_json(evidence: OptimalEvidence | None, result: StrategyResult) -> dict[str, Any] | None:
    """report.json's `verdict.optimal_evidence` of `result`: the evidence with its note (None without a search)."""
    return None if evidence is None else evidence_of(evidence, optimal_note(evidence, result))


def optimal_note(evidence: OptimalEvidence | None, result: StrategyResult, judged_prefix: bool = True) -> str:
    """The evidence of the optimal verdict in words, as `dagc check` prints it (the same figures, the same
    caveats), or why there is none. `judged_prefix=False` leaves out the "not judged: " a verdict of None
    opens with, for a reader told the verdict already (report.md's "Optimal: not judged.")."""
    if evidence is None:
        text, unjudged = NOT_SEARCHED.removeprefix(NOT_JUDGED), True
    else:
        text, unjudged = _note(evidence, result)
        text += _unstartable(evidence, result) + _extrapolated(evidence, result, text)
    return (NOT_JUDGED if unjudged and judged_prefix else "") + text


def _note(ev: OptimalEvidence, result: StrategyResult) -> tuple[str, bool]:
    """The note, less its "not judged: ", and whether it is one."""
    after = f"the search stopped after {ev.evaluated:,} of {ev.total:,} candidates"
    stopped, by = f"{after} ({ev.order}, {ev.stop_reason})", rejections_summary(ev.rejected_by)
    match ev.why:
        case Why.OUTSIDE_SPACE:
            return (f"this strategy is legal, but none of the search's {ev.total:,} candidates is (it lies outside "
                    "the strategies the search tries, docs/search.md): there is nothing to compare it with"), True
        case Why.NONE_LEGAL:
            return (f"no legal strategy was found on this cluster (all {ev.total:,} candidates evaluated)"
                    f"{_plan_refused(result) or (': rejected by ' + by if by else '')}"), False
        case Why.STOPPED_BEFORE_LEGAL:
            return f"{stopped} before finding a legal strategy{': rejected by ' + by if by else ''}", True
        case Why.NONE_BETTER_SO_FAR:
            assert ev.best is not None
            return (f"no better strategy among the {ev.evaluated:,} evaluated (the best of them `{ev.best.text}`), "
                    f"but {stopped}"), True
        case Why.OWN_UNJUDGED:
            return ("this strategy scores within the best the search found, but its own requirements are not all "
                    f"judged{_why_own_unjudged(ev, result)}: optimal is subject to them"), True
        case Why.SELF_UNSIMULATED:
            return _self_note(ev, result), True
        case Why.SELF_SHORT:
            return self_short(ev, result), True
        case Why.BEST_UNVERIFIED:
            return best_unverified(ev), True
    return _against_best(ev, result, _caveats(ev, "" if ev.complete else f" ({after}, {ev.order}, {ev.stop_reason})"))


def _extrapolated(ev: OptimalEvidence, result: StrategyResult, note: str) -> str:
    b = ev.best     # named by the note: outside its plan's calibration (`dagc.search.outside_calibration`)
    return best_extrapolated(result.plan, b.instance_gpus) if b is not None and f"`{b.text}`" in note else ""


def _plan_refused(result: StrategyResult) -> str:
    """Why no candidate is legal when the plan's engine refuses the plan whatever the strategy (E706, E728, E729:
    `dagc.launch.engine_check.plan_refusals`), from the codes among `result`'s diagnostics; '' otherwise."""
    codes = sorted({d.code for d in result.diagnostics} & PLAN_CODES)
    who = "the plan's engine starts none" if codes and engine_chosen(result.plan) else "no engine dagc starts any"
    return f": {who} of them ({', '.join(codes)})" if codes else ""


def _unstartable(ev: OptimalEvidence, result: StrategyResult) -> str:
    """On a plan that names no engine, when the default engine cannot start the search's best: saying so, with the
    best it can start (docs/search.md, "On the plan's own engine"); '' otherwise."""
    if not ev.best_refused or ev.best is None:
        return ""
    from ..launch.engines import TABLES
    engine = result.plan.cluster.engine
    name = TABLES[engine.name].name if engine.name in TABLES else engine.name
    said = (f"; {name}, the engine dagc priced it for (the plan names none), cannot start `{ev.best.text}` "
            f"({', '.join(ev.best_refused)}: `dagc launch`)")
    st, m = ev.startable, ev.startable_figures
    if st is None or m is None:
        return said + f", nor any strategy the search kept: name the engine (`cluster {{ engine = {engine.name} }}`) " \
            "to search only what it starts"
    which = "this strategy" if ev.startable_is_this else f"`{st.text}`"
    return (said + f"; the best it can start is {which} ({count_text(st.gpus, 'GPU')}, TTFT "
            f"{format_si(m['ttft_s'], Dimension.TIME)}, TPOT {format_si(m['tpot_s'], Dimension.TIME)}, "
            f"{format_figure(m['decode_tokens_per_s_per_gpu'])} tokens/s per GPU); name the engine (`cluster {{ "
            f"engine = {engine.name} }}`) to search only what it starts")


def _against_best(ev: OptimalEvidence, result: StrategyResult, partial: str) -> tuple[str, bool]:
    """The notes that weigh the search's best against this strategy, each followed by `partial` (what it left out)."""
    b, price = ev.best, result.plan.cluster.price_per_gpu_hour
    assert b is not None, ev.why
    best_gpus = f"{b.gpus:,} GPU{'s' if b.gpus > 1 else ''}"
    match ev.why:
        case Why.BEST_IS_LEGAL if not b.meets_requirements:  # until 2026-11-29 "`tp 2` is a legal strategy that …"
            return (f"{'it has errors' if not result.valid else 'it has no figures'}; the search's best legal "
                    f"strategy, `{b.text}` on {best_gpus}, {meets_words(ev, result.plan)} too" + partial), False
        case Why.BEST_IS_LEGAL:
            return f"`{b.text}` is a legal strategy that {meets_words(ev, result.plan)} on {best_gpus}" + partial, False
        case Why.ONLY_BEST_MEETS_UNSIMULATED:
            return (f"`{b.text}` on {count_text(b.gpus, 'GPU')} {steady_claim(result.plan)} and this "
                    f"strategy does not meet every requirement, but dagc simulated {ev.simulated} of the search's "
                    "best under the plan's traffic, not this one (`dagc check --strategy` judges its load "
                    "requirements)" + partial), True
        case Why.ONLY_BEST_MEETS:
            m = _figures(ev.best_figures)
            return (f"`{b.text}` meets the requirements on {count_text(b.gpus, 'GPU')} (TTFT "
                    f"{format_si(m['ttft_s'], Dimension.TIME)}, TPOT {format_si(m['tpot_s'], Dimension.TIME)}, "
                    f"{format_figure(m['decode_tokens_per_s_per_gpu'])} tokens/s per GPU){_doubts(ev, result)}; "
                    "this strategy does not" + partial), False
        case Why.FEWER_MISSES:
            return (f"`{b.text}` misses fewer requirements on {best_gpus} ({b.misses} against "
                    f"{own_misses(result)})" + partial), False
        case Why.WITHIN_TOLERANCE:
            figure = objective_text(_objective(ev).name, _figures(ev.best_figures), price)
            if ev.own_score is not None and ev.own_score > b.score:     # counted out by the search, not by its check
                of = count_text(ev.evaluated, "strategy", "strategies")
                return (f"better by {ev.objective} than the search's best of {of} (`{b.text}`: {figure}), which "
                        "judged this one otherwise than this check does" + partial), False
            return (f"within {ev.tolerance * 100:.0f} % of the best of {ev.evaluated:,} strategies by "
                    f"{ev.objective} (`{b.text}`: {figure})" + partial), False
        case Why.ONLY_OWN_MEETS:
            figure = objective_text(_objective(ev).name, _figures(ev.best_figures), price)
            searched = count_text(ev.evaluated, "strategy", "strategies")
            return (f"this strategy meets the requirements; the best by {ev.objective} of the {searched} searched, "
                    f"`{b.text}` ({figure}), {meets_words(ev, result.plan)}" + partial), False
        case Why.FURTHER:
            among = "dagc searched" if ev.complete else "of those evaluated"
            return (f"no strategy {among} meets every requirement, and `{b.text}`, the best by {ev.objective} of "
                    f"those that miss the fewest, {gain(ev, price)} but is further than this strategy from "
                    f"{', '.join(f'`{t}`' for t in ev.further)} ({_shortfalls(ev, result)})" + partial), True
        case Why.BETTER:
            where = "" if _objective(ev).kind is FigureKind.GPUS else f" on {best_gpus}"     # gain names the GPUs
            ratio, factor = ev.error_band_ratio, ev.factor
            close = within_error_text(factor, ratio) if ratio is not None and factor is not None and factor <= ratio \
                else ""
            return (f"`{b.text}` {gain(ev, price)}{where}{_batch_text(ev, result)}{close}{_misses_too(ev, result)}"
                    f"{passed_over_text(ev)}{_doubts(ev, result)}" + partial), False
        case Why.BETTER_UNSIMULATED:
            return (f"`{b.text}` {gain(ev, price)}, but {_unsimulated(ev)}"
                    + _caveats(ev, "" if ev.complete else " (the search stopped early)")), True
    raise AssertionError(ev.why)


def meets_words(ev: OptimalEvidence, plan: Plan | None = None) -> str:
    """Whether the search's best meets the requirements, in words that say what was judged: "meets the
    requirements", "misses the requirements (under the plan's traffic, `tpot_p90 <= 30 ms`)", or "meets the
    steady-state requirements (…)" for one not simulated under the traffic (`dagc.search.under_traffic`),
    or for none when the traffic is past the load's work budget (W518)."""
    b = ev.best
    assert b is not None
    if not b.meets_requirements:
        missed = ", ".join(f"`{t}`" for t in b.load_missed)
        return "misses the requirements" + (f" (under the plan's traffic, {missed})" if missed else "")
    claim = "meets the steady-state requirements" if plan is None else steady_claim(plan)
    if b.judged != "all" and ev.load_skipped:
        return f"{claim} (the load requirements are not judged: W518)"
    if b.judged != "all":
        return (f"{claim} (the load requirements are judged by `dagc check --strategy`: "
                "dagc simulated only the search's first candidates under the plan's traffic)")
    return "meets the requirements"


def _caveats(ev: OptimalEvidence, partial: str) -> str:
    """What a note adds after `partial` (a partial search's words): estimated figures of the best, and a
    part of the space that a complete search still left out."""
    if ev.estimate:
        partial += "; its figures are the search's estimate: the time budget left no time to re-score it"
    return partial + (f"; the search left out {ev.left_out}" if ev.left_out else "")


def _unsimulated(ev: OptimalEvidence) -> str:
    """Why the search's best was judged on the steady state alone, in words."""
    if ev.load_skipped:
        return ("neither it nor this strategy was simulated under the plan's traffic, which is past the load's work "
                "budget (W518): their load requirements are not judged")
    return (f"it was judged on the steady state alone: dagc simulated {ev.simulated} of the search's best under "
            "the plan's traffic, not this one (`dagc check --strategy` judges its load requirements)")


def _why_own_unjudged(ev: OptimalEvidence, result: StrategyResult) -> str:
    if ev.load_skipped:
        return " (the plan's traffic is past the load's work budget, W518: the load requirements are not judged)"
    missing = ", ".join(f"`{q.requirement.text}`" for q in result.requirements if q.met is None)
    return f" ({missing})" if missing else ""


def _self_note(ev: OptimalEvidence, result: StrategyResult) -> str:
    """The note when the search's best is this strategy, judged there on the steady state alone, and its check
    does not show it meets every requirement: the best that does is among candidates dagc did not simulate."""
    if result.verdict.meets_requirements is False:
        said = f"checked here it misses {missed_text(result)}"
        rest = (f"dagc simulated {ev.simulated} of the search's best under the plan's traffic, and the best that "
                "meets every requirement is among those it did not (`dagc check --strategy` judges each)")
    else:
        said = f"its own requirements are not all judged{_why_own_unjudged(ev, result)}"
        rest = "nothing better is known"
    return (f"the search's best by {ev.objective} is this strategy, judged there on the steady state alone; "
            f"{said}, and {rest}")


def _misses_too(ev: OptimalEvidence, result: StrategyResult) -> str:
    """When the better strategy misses requirements as this one does (the best misses the fewest, so
    every strategy searched misses some): saying so, and which this one misses, lest the reader take
    it for a fix."""
    b = ev.best
    assert b is not None
    if b.meets_requirements is not False or result.verdict.meets_requirements is not False or not b.misses:
        return ""
    which = "a requirement" if b.misses == 1 else f"{b.misses} requirements"
    among = "dagc searched" if ev.complete else "of those evaluated"
    short = _shortfalls(ev, result)
    return (f"; it misses {which} too, as this strategy misses {counted_misses(result)} "
            f"no strategy {among} meets them all" + (f" ({short})" if short else ""))


def _doubts(ev: OptimalEvidence, result: StrategyResult) -> str:
    """What dagc cannot vouch for of the better strategy's own requirements (`best_requirements`, a load
    requirement on its run under the traffic), which it meets as judged: those only uncertain, or likely
    missed, within dagc's error (as `dagc check --strategy` gives their odds: `searched_odds`, the check that judged
    it in the search when one did); and a steady-state TTFT or
    TPOT, as the figures beside the note show it, past the target of a percentile of it that its run meets."""
    b = ev.best
    if b is None or not b.meets_requirements or not ev.best_requirements:
        return ""
    from .bands_words import p_text
    words = {"uncertain": "is uncertain", "misses": "likely misses"}
    said = [f"`{q.requirement.text}` {words[o.klass]} ({p_text(o.probability)})"
            for q, o in searched_odds(result.plan, b.pooled, ev.best_requirements,
                                      b.odds_basis if isinstance(b.odds_basis, OddsBasis) else None)
            if o.klass in words and o.probability is not None and q.met is not False]
    out = f", though within dagc's error its {', its '.join(said)}" if said else ""
    shown = _figures(ev.best_figures)
    for q in ev.best_requirements:
        req = q.requirement
        figure = {RequirementKind.TTFT: shown["ttft_s"], RequirementKind.TPOT: shown["tpot_s"]}.get(req.kind)
        if req.on_load and q.met is True and q.value is not None and figure is not None and not req.holds(figure):
            out += (f"; its {req.kind.value.upper()} of {format_si(figure, Dimension.TIME)} is the steady state with "
                    f"its whole batch in flight, past `{req.text}`'s target: its run under the plan's traffic "
                    f"meets it ({format_si(q.value, Dimension.TIME)})")
    return out


def _shortfalls(ev: OptimalEvidence, result: StrategyResult) -> str:
    """Each requirement the better strategy or this one misses, with both figures in its unit: how far
    each is from it (the better one by the objective can be further from a line both miss)."""
    return "; ".join(f"`{own.requirement.text}`: {theirs.value_text()} against this strategy's {own.value_text()}"
                     for own, theirs in zip(result.requirements, ev.best_requirements, strict=True)
                     if own.met is False or theirs.met is False)


def _batch_text(ev: OptimalEvidence, result: StrategyResult) -> str:
    """With a varied batch (`batch = max`): the requests each strategy serves and at what TPOT — the
    answer to "how much can this cluster serve"."""
    b = ev.best
    if b is None or b.batch is None or result.layout is None or result.metrics is None or ev.best_figures is None:
        return ""
    plan = result.plan

    def tpot(value: float) -> str:
        return near_text(plan, RequirementKind.TPOT, value, format_si(value, Dimension.TIME))

    return (f", serving {count_text(b.batch, 'request')} at TPOT {tpot(ev.best_figures['tpot_s'])}"
            f"{_limited(b.batch_breaks, plan)} (this strategy: {plan.workload.batch:,} at "
            f"{tpot(result.metrics.tpot_s)}{_limited(plan.workload.batch_breaks, plan)})")


def _limited(breaks: str | None, plan: Plan) -> str:
    """What one more request would break, of a strategy at its largest batch (`Workload.batch_breaks`,
    or a candidate's `binding`): a requirement of the plan, quoted, or the GPU's memory or a rule."""
    if not breaks:
        return ""
    text = breaks.strip("`")
    return f", limited by `{text}`" if any(r.text == text for r in plan.requirements) else f", limited by {text}"


def _figures(figures: StrategyFigures | None) -> StrategyFigures:
    """The evidence's figures of a strategy, which a verdict that compared the two holds."""
    assert figures is not None, "the figures of the strategies compared"
    return figures


def objective_text(objective: str, fig: StrategyFigures, price: float | None = None) -> str:
    """A strategy's figure under an objective (by its name), with its unit, of its figures
    (`dagc.verdict.optimal.figures`): what `dagc.plan.objective.Objective` says the figure is. GPU time per token
    is the steady state's (every request slot busy: the reports' Cost line charges the goodput under traffic),
    with `price` (the plan's per GPU-hour) in $ per million tokens, as docs/language.md's `cost` promises.

    Example:
        >>> fig = {"gpus": 8, "throughput_tokens_per_s": 8000.0}
        >>> objective_text("cost", fig), objective_text("cost", fig, price=2.0)
        ('0.2778 GPU-hours per million tokens in the steady state', '0.5556 $ per million tokens (0.2778 GPU-hours) \
in the steady state')
    """
    o = OBJECTIVES[objective]
    value = o.figure(fig)
    match o.kind:
        case FigureKind.LATENCY:
            return f"{o.label} {format_si(value, Dimension.TIME)}"
        case FigureKind.GPUS:
            return f"{value} GPU{'s' if value > 1 else ''}"
        case FigureKind.GPU_TIME:
            hours = value * 1e6 / 3600       # GPU-seconds per token → GPU-hours per million
            if price is not None:
                return f"{hours * price:,.4g} $ per million tokens ({hours:,.4g} GPU-hours) {STEADY}"
            return f"{hours:,.4g} {o.unit} {STEADY}"
    return f"{format_figure(value)} {o.unit}{o.unit_note}"


STEADY = "in the steady state"      # GPU time per token's basis: every request slot busy, no queueing


def times(ratio: float) -> str:
    """A ratio of two figures, '1.85×': with two decimals, three below 1.1 (a strategy within 5 % of the
    best is optimal: 1.054× is not '1.05×'), more where three would still read as 1.050.

    Example:
        >>> times(1.8512), times(1.0536), times(1.05004)
        ('1.85×', '1.054×', '1.05004×')
    """
    digits, edge = (2 if ratio >= 1.1 else 3), 1 + OPTIMAL_TOLERANCE
    while digits < 6 and ratio != edge and f"{ratio:.{digits}f}" == f"{edge:.{digits}f}":
        digits += 1
    return f"{ratio:.{digits}f}×"


def gain(ev: OptimalEvidence, price: float | None = None) -> str:
    """How much better the search's best is than the checked strategy, in the objective's own terms (GPU time
    per token in $ with the plan's `price` per GPU-hour)."""
    b, o = _figures(ev.best_figures), _figures(ev.own_figures)
    objective = _objective(ev)
    theirs, mine = objective.figure(b), objective.figure(o)
    match objective.kind:
        case FigureKind.LATENCY:
            return (f"has a {times(mine / theirs)} shorter {objective.label} ({objective_text(objective.name, b)} "
                    f"vs {format_si(mine, Dimension.TIME)})")
        case FigureKind.GPUS:
            return (f"needs fewer GPUs ({theirs} vs {mine}), decoding "
                    f"{format_figure(b['decode_tokens_per_s_per_gpu'])} vs "
                    f"{format_figure(o['decode_tokens_per_s_per_gpu'])} tokens/s per GPU")
        case FigureKind.GPU_TIME:
            hours = (theirs * 1e6 / 3600, mine * 1e6 / 3600)       # GPU-hours per million tokens
            if price is not None:
                return (f"costs {times(mine / theirs)} less per token {STEADY}, every request slot busy "
                        f"({hours[0] * price:,.4g} vs {hours[1] * price:,.4g} $ per million tokens at "
                        f"{price:,.2f} $/h; {hours[0]:,.4g} vs {hours[1]:,.4g} GPU-hours)")
            return (f"costs {times(mine / theirs)} less {objective.label} {STEADY}, every request slot busy "
                    f"({hours[0]:,.4g} vs {hours[1]:,.4g} {objective.unit})")
    return (f"gives {times(theirs / mine)} the {objective.label} ({format_figure(theirs)} vs "
            f"{format_figure(mine)} {objective.unit})")


def _objective(ev: OptimalEvidence) -> Objective:
    """The objective the evidence compared by (the default's when it names none)."""
    return OBJECTIVES[ev.objective or DEFAULT_OBJECTIVE]


def within_error_text(factor: float, ratio: float, confidence: float = CONFIDENCE) -> str:
    """The optimal verdict's words on a better strategy a factor `factor` ahead, when the bands overlap.

    Example:
        >>> within_error_text(1.2, 1.5)[:62]
        "; indistinguishable within dagc's error: 1.2× apart, where its"
    """
    return (f"; indistinguishable within dagc's error: {factor:.3g}× apart, where its figure's "
            f"{confidence * 100:.0f} % band spans {ratio:.3g}× (docs/bands.md), so the pick could change within "
            "the bands")
