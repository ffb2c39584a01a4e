"""The opening of report.md: the summary a person reads first, and the assumptions under it.

Input: a `StrategyResult`. Output: Markdown lines: the three answers each in one sentence with its key figure, what
dominates the time, what to change (the better strategy, pasteable, with its figures beside the plan's) and the
diagnostics that matter; then the assumptions the figures rest on. Every requirement's figures are shown in the
requirement's own unit (`requirement_value_text`), here and in the rest of the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..diagnostics import Diagnostic, Severity
from ..layout.layout import Layout
from ..plan.objective import StrategyFigures
from ..plan.plan import Plan
from ..plan.workload import Requirement, RequirementKind
from ..rules.alone import precision_text
from ..units import Dimension, count_text, format_figure, format_in_unit, format_percent, format_si
from ..verdict.bands import bands_of
from ..verdict.check import StrategyResult
from ..verdict.optimal import ObjectivePick, OptimalEvidence, Why
from ..verdict.under_load import not_simulated
from ..verdict.verdict import RequirementResult, requirement_unit, requirement_value_text
from .at_rate import at_rate_text
from .bands_words import met_caveat
from .dominated_words import pick_words
from .hints_md import hints_list_md, said_at
from .md_escape import md_code, md_prose
from .optimal_words import optimal_note as _note_of
from .result_json import metrics_json
from .serving_md import front_end_words, inflight_summary, ttft_off_the_path
from .techniques import step_figures, step_load_figures, step_replaces, step_verdict, steps_said, technique_lines
from .unjudged_words import unjudged_requirements

__all__ = ["by_objective_md", "summary_md", "data_parallel_text", "requirement_value_text",
           "metric_text", "margin_text", "optimal_note", "dominant_costs", "COST_NAMES"]

# The critical-path categories of `Metrics.critical_path`, in words.
COST_NAMES = {"compute_s": "compute", "tp_comm_s": "TP communication", "ep_comm_s": "EP communication",
              "pp_comm_s": "pipeline send/receive", "waiting_s": "waiting"}

MAX_LISTED = 6      # diagnostics listed in the summary; the rest are counted
MAX_HINTS = 3       # hints of diagnostics repeated under "what to change"


# ------------------------------------------------------------------ units of requirements

def margin_text(q: RequirementResult) -> str:
    """The relative margin, and how many times off when a requirement's figure misses by more than 2× (not one
    missed only because its deployment does not carry its traffic: its figure is within the target)."""
    if q.margin is None:
        return ""
    text, v, t = q.margin_percent(), q.value, q.requirement.target
    if q.met is False and q.margin < 0 and v and t and max(v / t, t / v) >= 2 and "×" not in text:  # not said twice
        text += f"; {format_figure(max(v / t, t / v))}× off"
    return text


_TIMES = (RequirementKind.TTFT, RequirementKind.TPOT, RequirementKind.GPUS)     # no total and per-GPU forms


def metric_text(plan: Plan, kind: RequirementKind, value: float | None, per_gpu: bool = False) -> str:
    """A metric (SI) in its requirement's unit, else tokens/s, an adaptive time or a share of the GPU."""
    if value is None:
        return "—"
    for req in plan.steady_requirements:
        if req.kind is not kind:
            continue
        if kind is RequirementKind.MEMORY:          # a share as the memory table reads it (13.5 %), or bytes
            return requirement_value_text(req, value * (1 if req.memory_is_fraction else plan.cluster.gpu.memory_bytes))
        if kind in _TIMES or req.per_gpu == per_gpu:
            return requirement_value_text(req, value)      # as the requirement reads it (beside its target too)
        unit = requirement_unit(req, per_gpu if kind is not RequirementKind.GPUS else None)
        if unit is not None:
            return format_in_unit(value, unit)
    match kind:
        case RequirementKind.TTFT | RequirementKind.TPOT:
            return format_si(value, Dimension.TIME)
        case RequirementKind.MEMORY:
            return f"{format_percent(value)} of a GPU"
        case RequirementKind.GPUS:
            return f"{value:,.0f}"
    return f"{format_figure(value)} tokens/s" + ("/GPU" if per_gpu else "")     # as `dagc check`'s metrics


# ------------------------------------------------------------------ the summary

def dominant_costs(metrics: dict[str, Any]) -> dict[str, list[tuple[str, float]]]:
    """Per phase, the critical-path categories (keys of `COST_NAMES`) with their share of the
    makespan, largest first; categories with no time are left out.

    Example:
        >>> cp = {"makespan_s": 2.0, "compute_s": 0.4, "tp_comm_s": 0.0, "ep_comm_s": 1.5,
        ...       "pp_comm_s": 0.1, "waiting_s": 0.0}
        >>> dominant_costs({"critical_path": {"prefill": cp}})["prefill"]
        [('ep_comm_s', 0.75), ('compute_s', 0.2), ('pp_comm_s', 0.05)]
    """
    out = {}
    for phase, p in metrics["critical_path"].items():
        total = p["makespan_s"] or 1.0
        shares = [(k, p[k] / total) for k in COST_NAMES if p.get(k)]
        out[phase] = sorted(shares, key=lambda ks: -ks[1])
    return out


def _about(d: Diagnostic, req: Requirement) -> bool:
    """Does diagnostic `d` point into the line of requirement `req`?"""
    a, b = d.span, req.span
    return a is not None and b is not None and a.source is b.source and b.start <= a.start < max(b.end, b.start + 1)


def _diag_text(d: Diagnostic) -> str:
    where = f" ({said_at(d.span)})" if d.span is not None else ""
    return f"{d.severity.value} {d.code}{where}: {md_prose(d.message)}"


def _correct(r: StrategyResult, cited: set[int]) -> str:
    errors = [d for d in r.diagnostics if d.is_error]
    cited.update(id(d) for d in errors[:1])
    gpus = f"{r.gpus_used:,} of the {count_text(r.plan.cluster.gpus, 'GPU')}" if r.gpus_used else "no GPUs yet"
    if not errors:
        return f"**Correct: yes.** No rule finds an error; the strategy uses {gpus}."
    first = errors[0]
    more = f" and {count_text(len(errors) - 1, 'more error')}" if len(errors) > 1 else ""
    return (f"**Correct: no.** {_diag_text(first)}{more} — see [Diagnostics](#diagnostics).")


def _failed(r: StrategyResult, failed: list[RequirementResult], cited: set[int], carried: str | None) -> list[str]:
    """A sentence per failed requirement, then `carried` (the traffic not carried); each line's diagnostics under."""
    lines, why = [], []
    for q in failed:
        req = q.requirement
        value, target = requirement_value_text(req, q.value), requirement_value_text(req, req.target)
        # a figure within its target in a run that falls behind: said so, then why (until 2026-12-03 "… but …")
        lines.append(f"`{req.text}` is not met: the strategy gives **{value}** against {target} (margin "
                     f"{margin_text(q)})." if q.unmet is None else f"`{req.text}` is not met, though its run's "
                     f"figure, **{value}**, is within {target}: {md_prose(q.unmet)}.")
        why += [d for d in r.diagnostics if _about(d, req) and id(d) not in cited]
        cited.update(id(d) for d in why)
    lines += [f"The deployment cannot carry its traffic either: {md_prose(carried)}."] if carried else []
    return ["- **Meets the requirements: no.** " + " ".join(lines)] + [f"  - {_diag_text(d)}" for d in why]


def _requirements(r: StrategyResult, cited: set[int]) -> list[str]:
    if not r.verdict.correct:       # no requirement is judged on its figures (until 2026-12-03 each was, "not met: …")
        return ["- " + _requirements_met(r)]
    failed = [q for q in r.requirements if q.met is False]
    why = r.load.not_carried_because if r.load is not None and r.verdict.correct else None
    if failed:         # the traffic not carried said once: by the lines it makes unmet (a queue that grows), else after
        return _failed(r, failed, cited, None if any(q.unmet for q in failed) else why)
    if why:            # every line holds, but the deployment cannot carry its traffic
        return [f"- **Meets the requirements: no.** The deployment cannot carry its traffic: {md_prose(why)}."]
    return ["- " + _requirements_met(r)]


def _requirements_met(r: StrategyResult) -> str:
    head = "**Meets the requirements: "
    # the traffic not simulated (W518, say): whether it is carried is not known, as report.json (`meets_requirements:
    # null`) and the command line say — requirements or none
    unjudged = f" But {md_prose(u)}." if r.verdict.meets_requirements is None and (u := r.traffic_unjudged) else ""
    if not r.verdict.correct:       # requirements or none, as report.json says (until 2026-12-03 "yes" without them)
        return head + "no.** A strategy that is not correct cannot be deployed, so it meets nothing."
    if not r.requirements and unjudged:
        return head + f"not judged.** The plan states no requirements (`require {{ … }}`).{unjudged}"
    if not r.requirements:
        # as report.json (`meets_requirements: true`) and the command line say: nothing stated, nothing missed
        return head + "yes.** The plan states no requirements (`require { … }`), so there is none to miss."
    if (unknown := unjudged_requirements(r)) is not None:
        return head + f"not judged.** {md_prose(unknown)}.{unjudged}"
    if unjudged:
        return head + f"not judged.** All {len(r.requirements)} are met on the steady state.{unjudged}"
    binding = min(r.requirements, key=lambda q: q.margin if q.margin is not None else float("inf"))
    breaks = r.plan.workload.batch_breaks if r.plan.workload.batch_max else None
    limit = f" The batch (`batch = max`) is limited by {breaks} (N605)." if breaks else ""
    # what dagc's error leaves of it, as the Requirements table and `dagc check`'s odds line give it (docs/bands.md)
    odds = met_caveat(r.requirements, bands_of(r).requirements)
    unsure = f" {odds[0].upper()}{odds[1:]}." if odds else ""
    return (head + f"yes.** All {len(r.requirements)} are met; the closest to its limit (smallest margin) is "
            f"`{binding.requirement.text}` at {requirement_value_text(binding.requirement, binding.value)} "
            f"(margin {margin_text(binding)}).{unsure}{limit}")


def optimal_note(r: StrategyResult) -> str:
    """The optimal verdict's evidence in words, as `dagc check` prints it, or why there is none."""
    return _note_of(r.optimality, r)


def _optimal(r: StrategyResult) -> str:
    word = {True: "yes", False: "no", None: "not judged"}[r.verdict.optimal]
    note = _note_of(r.optimality, r, judged_prefix=False)      # the verdict's word says "not judged" already
    return f"**Optimal: {word}.** {note[0].upper() + note[1:]}{at_rate_text(r.plan) if r.optimality else ''}."


def _time(r: StrategyResult) -> list[str]:
    met = r.metrics
    if met is None:
        return ["- **Where the time goes:** not computed (the strategy is not sound enough to build its DAG)."]
    dom, out, front = dominant_costs(metrics_json(met)), [], met.ttft_s - met.ttft_server_s   # on no critical path
    ttft = f"TTFT {format_si(met.ttft_s, Dimension.TIME)}" + (
        f", of which {front_end_words(r.plan.cluster.engine.terms, ' and ')}" if front > 1e-12 else "")
    steps = (("prefill", "prefill", ttft), ("decode", "decode", f"TPOT {format_si(met.tpot_s, Dimension.TIME)}"),
             ("mixed", "the mixed steps", ttft))
    for phase, label, figure in steps:
        shares = dom.get(phase) or []
        if not shares:
            continue
        (k, share), rest = shares[0], shares[1:]
        then = f", then {COST_NAMES[rest[0][0]]} {rest[0][1] * 100:.0f} %" if rest else ""
        out.append(f"{COST_NAMES[k]} is **{share * 100:.0f} % of {label}** ({figure}){then}")
    return ["- **Where the time goes:** " + "; ".join(out) + " (shares of the critical path, "
            "[details](#critical-path))." + ttft_off_the_path(r)]


def _figures_table(r: StrategyResult, ev: OptimalEvidence) -> list[str]:
    plan, own, best = r.plan, ev.own_figures, ev.best_figures
    if not own or not best:
        gpus = count_text(ev.best.gpus, "GPU") if ev.best is not None else "? GPUs"
        return [f"  It uses {gpus}; the verdict's evidence holds no more of its figures.", ""]

    def row(name: str, fn: Callable[[StrategyFigures], str]) -> str:
        return f"  | {name} | {fn(own)} | {fn(best)} |"

    K = RequirementKind
    b = ev.best
    suggested = _candidate_yes(b.meets_requirements if b else None, b.judged if b else None,
                               list(b.load_missed) if b else None, _load_skipped(r))
    return ["", "  | | this strategy | suggested |", "  |---|---|---|",
            row("GPUs", lambda f: str(f["gpus"])),
            row("TTFT", lambda f: metric_text(plan, K.TTFT, f["ttft_s"])),
            row("TPOT", lambda f: metric_text(plan, K.TPOT, f["tpot_s"])),
            row("decode throughput per GPU",
                lambda f: metric_text(plan, K.DECODE_THROUGHPUT, f["decode_tokens_per_s_per_gpu"], per_gpu=True)),
            row("end-to-end throughput", lambda f: metric_text(plan, K.THROUGHPUT, f["throughput_tokens_per_s"])),
            row("memory of the fullest GPU", lambda f: metric_text(plan, K.MEMORY, f["memory_fraction"])),
            f"  | meets the requirements | {_YES[r.verdict.meets_requirements]} | "
            f"{suggested} |", ""]


_YES = {True: "yes", False: "**no**", None: "—"}      # a verdict's answer in a table cell


def _load_skipped(r: StrategyResult) -> bool:
    """Whether the plan's traffic was not simulated (past the load's work budget, W518, for every strategy)."""
    return not_simulated(r.plan) is not None


def _candidate_yes(meets: bool | None, judged: str | None, missed: list[str] | None, skipped: bool = False) -> str:
    """Whether a search candidate meets the requirements, saying what was judged: `**no**` with the load
    requirements it misses under the plan's traffic, or `yes (steady state only)` for one not simulated
    under it (`dagc.search.under_traffic`: the load requirements are judged by `dagc check --strategy`, or
    by nothing when the traffic is past the load's work budget, `skipped`)."""
    if meets and judged == "steady-state":
        if skipped:
            return "yes (steady state only: the load requirements are not judged, W518)"
        return "yes (steady state only: the load requirements are judged by `dagc check --strategy`)"
    if meets is False and missed:
        return "**no**: " + ", ".join(md_code(t, in_table=True) for t in missed)
    return _YES[meets]


def _change(r: StrategyResult) -> list[str]:
    head = "- **What to change:** "
    errors = [d for d in r.diagnostics if d.is_error]
    if errors:
        hints = hints_list_md(errors, MAX_HINTS)
        return [head + "fix the errors first ([Diagnostics](#diagnostics))" + (":" if hints else "."), *hints]
    ev = r.optimality
    best = ev.best.text if ev is not None and ev.best is not None else None
    hints = hints_list_md(r.diagnostics, MAX_HINTS)
    also = ["  The diagnostics suggest:", "", *hints, ""] if hints else []
    if r.verdict.optimal is not False or not best:
        own = ev is not None and ev.why in (Why.SELF_SHORT, Why.SELF_UNSIMULATED)   # not "another" 11-30
        why = ("no better strategy was found" if r.verdict.optimal else
               f"none better is known: the search's best, {md_code(best)}, is this strategy itself" if best and own else
               f"none better is confirmed: the search's best, {md_code(best)}, is not judged as this one is"
               if best and r.verdict.optimal is None else "no better strategy is known")
        note = "run `dagc search` to compare strategies" if ev is None else _note_of(ev, r)
        if r.verdict.optimal is None and ev is not None:
            note = "the optimal verdict above says why"          # its note, not again in full
        return [head + f"{why} ({note}).{steps_said(r)}" + (" The diagnostics suggest:" if hints else ""), *hints]
    impossible = [d for d in r.diagnostics if d.code == "N604"]
    assert ev is not None and ev.best is not None           # not optimal: a better strategy was found
    if impossible and ev.best.meets_requirements is False:
        # no strategy can meet a requirement: the change that matters is to the requirement or the cluster
        spans = {d.span for d in impossible}
        named = ", ".join(f"`{q.requirement.text}`" for q in r.requirements if q.requirement.span in spans)
        lines = [head + f"no strategy on this cluster can meet {named or 'a requirement'} at "
                 f"{precision_text(r.plan.model)} (N604): relax the requirement, or change the cluster, the workload "
                 "or the precision. For reference, "
                 + pick_words(ev, "the search's best") + ", which misses it too:", "", "  ```",
                 f"  strategy {best}", "  ```"]
        return lines + _figures_table(r, ev) + also
    where = "in place of the strategy" if r.plan.strategies else "as its strategy line (it writes none)"  # --strategy
    lines = [head + f"use {pick_words(ev, 'the best strategy of the search')}; "
             f"paste this line into the plan {where}:", "", "  ```", f"  strategy {best}", "  ```"]
    lines += _figures_table(r, ev)
    if ev.best.meets_requirements is False:
        lines += ["  It does not meet the requirements either.", ""]
    return lines + also


def by_objective_md(r: StrategyResult) -> list[str]:
    """What each objective would pick (`verdict.optimal_evidence.by_objective`, written by compile):
    one line when they agree, a table of their picks' figures when they do not."""
    ev = r.optimality
    picks: dict[str, ObjectivePick | None] = (ev.by_objective if ev is not None else None) or {}
    if not picks:
        return []
    texts = {p.strategy for p in picks.values() if p is not None}
    if not texts:               # nothing to disagree on: no objective has a pick
        return [f"- **No objective picks a strategy** ({', '.join(picks)}): the search found no legal one, or was "
                "cut short ([Verdicts](#verdicts) says which)."]
    if len(texts) == 1 and all(p is not None for p in picks.values()):
        return [f"- **Every objective picks the same strategy** ({', '.join(picks)}): `{texts.pop()}`."]
    plan, K, skipped = r.plan, RequirementKind, _load_skipped(r)
    batch = plan.workload.batch_max             # each pick at its own largest batch
    lines = ["- **The objectives disagree.** What each would pick — the best of the whole space under it, "
             "subject to the requirements (choose with `objective = …` in the plan, or `--objective`):", "",
             "  | objective | strategy | GPUs |" + (" batch |" if batch else "")
             + " TTFT | TPOT | decode throughput per GPU | throughput | meets the requirements |",
             "  |---|---|---:|" + ("---:|" if batch else "") + "---:|---:|---:|---:|---|"]
    for name, p in picks.items():
        label = f"**{name}** (this report's)" if ev is not None and name == ev.objective else name
        if p is None:
            lines.append(f"  | {label} | — (no legal strategy, or its search was cut short) |"
                         + " |" * (7 if batch else 6))
            continue
        size = f" {p.batch or '—'} |" if batch else ""
        meets = _candidate_yes(p.meets_requirements, p.judged, list(p.load_missed), skipped)
        f = p.figures
        lines.append(f"  | {label} | `{p.strategy}`{_running_fewer(p, plan.workload.batch)} | {f['gpus']} |{size} "
                     f"{metric_text(plan, K.TTFT, f['ttft_s'])} | {metric_text(plan, K.TPOT, f['tpot_s'])} | "
                     f"{metric_text(plan, K.DECODE_THROUGHPUT, f['decode_tokens_per_s_per_gpu'], per_gpu=True)} | "
                     f"{metric_text(plan, K.THROUGHPUT, f['throughput_tokens_per_s'])} | "
                     f"{meets} |")
    return lines + [""]


def _running_fewer(pick: ObjectivePick, batch: int) -> str:
    """A pick whose KV cache runs fewer requests at once than its batch (W520): how many, after its strategy — its
    figures are those of that concurrency, not of the batch the plan asks for."""
    cap = pick.batch or batch
    running = pick.concurrency_effective
    if running is None or running >= cap:
        return ""
    return f" (its KV cache runs {running:,} of its {cap:,} requests at once: W520)"


def _diagnostics(r: StrategyResult, cited: set[int]) -> list[str]:
    shown = [d for d in r.diagnostics if d.severity is not Severity.NOTE and id(d) not in cited]
    notes = sum(d.severity is Severity.NOTE for d in r.diagnostics)
    errors = sum(d.is_error for d in r.diagnostics)
    warnings = len(r.diagnostics) - errors - notes
    head = (f"- **Diagnostics:** {count_text(errors, 'error')}, {count_text(warnings, 'warning')}, "
            f"{count_text(notes, 'note')} — each with its "
            "source line and hint under [Diagnostics](#diagnostics)")
    if not shown:
        return [head + "."]
    lines = [head + ":"] + [f"  - {_diag_text(d)}" for d in shown[:MAX_LISTED]]
    if len(shown) > MAX_LISTED:
        lines.append(f"  - … and {len(shown) - MAX_LISTED} more")
    return lines


def _next_steps(r: StrategyResult) -> list[str]:
    """What would meet the requirements this strategy misses, each change tried by dagc."""
    if not r.next_steps and not r.no_step:
        return []
    out = ["- **Next steps** (each change checked by dagc as the plan is):"]
    steady, reqs = r.plan.workload.traffic is not None, r.plan.requirements
    for s in r.next_steps:
        out.append(f"  - {md_prose(s.change)}: {step_verdict(s, md_code, reqs)} ({step_load_figures(s, reqs)}"
                   f"{step_figures(s.figures, steady)}) — {md_code(' '.join(s.options))}{step_replaces(r, s, md_code)}")
    return out + [f"  - {said[0].upper()}{said[1:]}." for said in r.no_step]


def summary_md(r: StrategyResult) -> list[str]:
    """The summary section of report.md."""
    cited: set[int] = set()
    lines = ["## Summary", "", f"- {_correct(r, cited)}", *_requirements(r, cited), f"- {_optimal(r)}",
             *inflight_summary(r), *(f"- **{label}:** {text.removesuffix('.')}." for label, text in technique_lines(r))]
    lines += _next_steps(r)
    lines += _time(r)
    lines += _change(r)
    lines += by_objective_md(r)
    lines += _diagnostics(r, cited)
    return lines + [""]


def data_parallel_text(lay: Layout) -> tuple[str, str]:
    """The attention and expert data parallelism as reports print them: the degree, or "—" with the
    reason when a domain does not divide the stage group (E203: then there is no such degree, and
    the layout's `adp`/`edp` are only rounded quotients)."""
    def text(divides: bool, domain: int, degree: int) -> str:
        return f"{degree}" if divides else f"— ({domain} GPUs do not divide the stage group of {lay.group_size})"

    return (text(lay.attention_divides, lay.tp * lay.cp, lay.adp),
            text(lay.experts_divide, lay.ep * lay.etp, lay.edp))
