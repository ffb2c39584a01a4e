"""The verdict lines of `dagc check` for one strategy: the three verdicts, the optimal verdict's note and
evidence, and the next steps (`dagc.verdict.next_steps`).

Input: a `StrategyResult` and a rich console. Output: text on the console.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from ..units import count_text, format_figure, format_percent
from ..verdict.carrying import PAST_CAPACITY

if TYPE_CHECKING:
    from ..verdict.check import StrategyResult

__all__ = ["WORD", "print_evidence", "print_next_steps", "print_verdict", "traffic_reason"]

WORD = {True: "yes", False: "no", None: "not judged"}


def print_verdict(console: Console, r: StrategyResult) -> None:
    v = r.verdict
    console.print(f"verdict: correct: {WORD[v.correct]} · meets requirements: {WORD[v.meets_requirements]} · "
                  f"optimal: {WORD[v.optimal]}", markup=False)
    if (why := traffic_reason(r)) is not None:
        console.print(f"  {why}", markup=False)
    from ..export.bands_words import odds_line
    if (odds := odds_line(r)) is not None:        # what the deployment is likely to do, within dagc's error
        console.print(f"  {odds}", markup=False)
    from ..export.optimal_words import optimal_note
    console.print(f"  optimal? {optimal_note(r.optimality, r)}", markup=False)
    if r.optimality is not None:
        print_evidence(console, r)


def traffic_reason(r: StrategyResult) -> str | None:
    """`meets? no under its traffic: …`, the line under the verdict that says why the traffic is not carried, where
    no requirement's line says it — a line whose figure holds but is not met for the traffic, a verdict with no line
    that misses, or a capacity below the rate (which no line's figure says); None otherwise (`check` and `compile`
    print it alike). A figure that misses says why itself. `meets? not judged: …` when the traffic was not
    simulated (`StrategyResult.traffic_unjudged`: W518, say) and nothing is missed: whether it is carried is not
    known; or when a requirement has no figure (`unjudged_requirements`: a TPOT of single-token requests). When
    the run itself misses a requirement and its capacity is below the rate too, the miss leads
    (`meets? no: this run misses …`), then the capacity: the run's own miss needs no longer run to show."""
    if r.verdict.meets_requirements is None and (unjudged := r.traffic_unjudged) is not None:
        return f"meets? not judged: {unjudged}"
    from ..export.unjudged_words import unjudged_requirements
    if r.verdict.meets_requirements is None and (unknown := unjudged_requirements(r)) is not None:
        return f"meets? not judged: {unknown}"          # until 2026-11-30 the verdict's "not judged" alone
    said = any(q.met is False and q.unmet is None for q in r.requirements)
    held = any(q.met is False and q.unmet is not None for q in r.requirements)
    if r.load is not None and (why := r.load.not_carried_because) and (
            held or not said or why.startswith(PAST_CAPACITY)):
        if said and why.startswith(PAST_CAPACITY):
            from ..verdict.verdict import requirement_value_text
            gone = [q for q in r.requirements if q.met is False and q.unmet is None]
            # a steady-state requirement's figure is no run's (until 2026-12-03 "this run misses `tpot <= 100 ms`
            # (515.1 ms)", the steady state's TPOT, where the run's was 34.6 ms)
            missed = ", ".join(f"`{q.requirement.text}` ({requirement_value_text(q.requirement, q.value)}"
                               f"{'' if q.requirement.on_load else ', its steady state'})" for q in gone)
            who = "this run misses" if all(q.requirement.on_load for q in gone) else "it misses"
            return f"meets? no: {who} {missed}; its capacity is short of the traffic too: {why}"
        return f"meets? no under its traffic: {why}"
    return None


def print_evidence(console: Console, r: StrategyResult) -> None:
    """The better strategy's figures beside this one's, under the optimal verdict's note: what the
    better one costs in the figures the objective does not read (a TTFT 20× longer, say); without a legal strategy,
    each rule's first candidate with the rule's message and hint (`dagc.search.reasons`)."""
    ev = r.optimality
    if ev is not None and ev.rejected_by:
        from ..search.rejections import example_lines
        for line in example_lines(ev.rejected_by, "    "):
            console.print(line, markup=False)
    best, own = (ev.best_figures, ev.own_figures) if ev is not None else (None, None)
    if best is None or own is None or r.verdict.optimal is not False:      # optimal: no better one to show
        return
    from ..export.summary import metric_text
    from ..plan.workload import RequirementKind
    from ..verdict.verdict import near_text
    for label, fig in (("the better one", best), ("this strategy", own)):
        share = fig["memory_fraction"]
        memory = "—" if share is None else near_text(r.plan, RequirementKind.MEMORY, share, format_percent(share))
        # in the unit of the plan's requirement on each, with the digits that tell a figure from its target
        console.print(f"    {label + ':':15} {count_text(fig['gpus'], 'GPU')} · TTFT "
                      f"{metric_text(r.plan, RequirementKind.TTFT, fig['ttft_s'])} · TPOT "
                      f"{metric_text(r.plan, RequirementKind.TPOT, fig['tpot_s'])} · "
                      f"{format_figure(fig['decode_tokens_per_s_per_gpu'])} tokens/s per GPU · memory {memory}",
                      markup=False)


def print_next_steps(console: Console, r: StrategyResult) -> None:
    from ..export.techniques import next_step_lines
    if r.next_steps or r.no_step:
        console.print("Next steps (each change checked by dagc as the plan is):", markup=False)
        for line in (*next_step_lines(r), *(f"{said[0].upper()}{said[1:]}." for said in r.no_step)):
            console.print(f"  {line}", markup=False)
