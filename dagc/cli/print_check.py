"""What `dagc check` and `dagc compile` print for each strategy: the plan, layout, memory, metrics,
critical paths, requirements and verdicts (check), and the files written with each verdict (compile).

Input: `StrategyResult`s (and compile's `Written`) and a rich console, made by `dagc.cli.printing`.
Output: text and tables on the console; every string from the user passes through `shown`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console

from ..diagnostics import Diagnostic, Severity, printable
from ..layout.modes import mode_of
from ..units import Dimension, count_text, format_params, format_si, share_text
from .print_figures import print_memory_table, print_metrics_table, print_pools, tokens_per_s
from .print_requirements import print_requirements
from .printing import is_input_error, render_diags, shown

if TYPE_CHECKING:
    from ..drive.drive import Driven
    from ..export.compile import Written
    from ..layout.layout import Layout
    from ..plan.plan import Plan
    from ..plan.workload import Workload
    from ..search.result import SearchResult
    from ..serve.metrics import Metrics
    from ..source import Span
    from ..verdict.check import StrategyResult

from .print_verdict import (
    WORD as _WORD,
    print_evidence as _print_evidence,
    print_next_steps as _print_next_steps,
    print_verdict as _print_verdict,
    traffic_reason,
)

# ---------------------------------------------------------------- dagc check

def print_plan(out: Console, plan: Plan, path: str, objective: str, overrides: Sequence[str] = ()) -> None:
    """The lines `dagc check` opens with: the plan's model, cluster and workload (`plan_line`), the `--set`
    overrides they are with, and `objective`: what its optimal verdicts optimise (`objective_text`)."""
    out.print(plan_line(plan, path), markup=False)
    print_overrides(out, overrides)
    out.print(objective, markup=False)
    out.print()


def plan_line(plan: Plan, path: str) -> str:
    """The first line of `dagc check` and `dagc compile`: the plan's path as the user gave it, its model, cluster
    and workload."""
    from ..plan.cluster import per_node_text
    from ..plan.params import active_params, total_params
    m, per_node = plan.model, per_node_text(plan.cluster)
    return (f"plan {printable(path)} · model {m.name} ({format_params(total_params(m))} params, "
            f"{format_params(active_params(m))} active, {m.weights.value}"
            f"{'; ' + m.structure_text if m.structure_text else ''}) · cluster {plan.cluster.gpus:,} × "
            f"{plan.cluster.gpu.name}{f' ({per_node})' if per_node else ''} · batch {plan.workload.batch_text} "
            f"× ({plan.workload.prompt:,} + {plan.workload.generate:,}) tokens")


def objective_text(plan: Plan, path: str | None = None) -> str:
    """What the optimal verdicts optimise and where that comes from: `--objective`, the plan's
    `objective = …`, or the default (`Plan.objective_from`); under a rate, the search that ranks at it, on the
    plan's `path` as the user gave it (one shell word with no control character, `path_word`; `PLAN` where none is
    given)."""
    from ..export.at_rate import at_rate_text
    from ..export.optimal_words import optimal_means
    from .shell_words import path_word
    at_rate = at_rate_text(plan, "PLAN" if path is None else path_word(path))
    return f"optimal means: {optimal_means(plan.objective, plan.objective_from, plan.objective)}{at_rate}"


def plan_diagnostics(results: list[StrategyResult]) -> list[Diagnostic]:
    """The diagnostics about the plan as a whole (plan-level rules such as N604): each strategy
    carries them, the terminal shows them once."""
    from ..rules import rule
    seen: dict[tuple[str, str, Span | tuple[int, int] | None], Diagnostic] = {}
    for r in results:
        for d in r.diagnostics:
            found = rule(d.code)
            if found is not None and found.plan_level:
                seen.setdefault((d.code, d.message, d.span and (d.span.line, d.span.column)), d)
    return list(seen.values())


def print_plan_diagnostics(console: Console, diags: list[Diagnostic]) -> None:
    if diags:
        console.rule("the plan, for every strategy", style="bold")
        render_diags(console, diags)


def print_result(console: Console, r: StrategyResult, err: Console | None = None) -> None:
    """One strategy of `dagc check`: first the three verdicts, the figures against each requirement and
    the next steps (one screen), then the layout, memory, metrics and diagnostics that are their evidence.

    Plan-level diagnostics are left to `print_plan_diagnostics`; input errors (E0xx, E1xx) go
    to `err` when it is given, as those found while loading the plan do."""
    from ..export.binding_text import binding_text, faster_weights
    from ..export.load_md import load_line
    from ..export.report import load_of
    from ..rules import rule
    from ..search.at_rate import shown_percentiles
    title = f"strategy {r.decl.name + ' = ' if r.decl.name else ''}{r.decl.text}"
    console.rule(shown(title), style="bold")
    _print_verdict(console, r)
    if r.requirements:
        print_requirements(console, r)
    _print_next_steps(console, r)
    if (line := load_line(load_of(r), shown_percentiles(r.plan, (99, 99)))) is not None:
        console.print(shown(line))
        if (bound := binding_text((load_of(r) or {}).get("binding"), faster_weights(r.plan))) is not None:
            console.print(shown(f"  {bound}"))
    _print_evidence_of_figures(console, r)
    own = [d for d in r.diagnostics if not ((found := rule(d.code)) is not None and found.plan_level)]
    if err is not None:
        render_diags(err, [d for d in own if is_input_error(d)])
        own = [d for d in own if not is_input_error(d)]
    if own:
        console.print()
        render_diags(console, own)
    console.print()


def _print_evidence_of_figures(console: Console, r: StrategyResult) -> None:
    """The layout, memory, metrics and critical paths the verdicts rest on."""
    from ..cost.cost_model import calibrated_by, cost_basis_text, engine_text
    from ..export.techniques import technique_lines
    if r.pooled is not None:
        print_pools(console, r)
    elif r.layout is not None:
        _print_layout(console, r)
        if r.memory is not None:
            print_memory_table(console, r)
    if r.metrics:
        print_metrics_table(console, r)
        if r.compiled is not None and r.compiled.metrics is not None and r.pooled is None:
            _print_critical_paths(console, r.compiled.metrics, r.plan, *r.running)
        console.print(cost_basis_text(r.plan.cluster), markup=False)
        console.print(engine_text(r.plan.cluster, calibrated_by(r.plan)), markup=False)
        for label, text in technique_lines(r):
            console.print(f"{label}: {text}", markup=False)


def _print_layout(console: Console, r: StrategyResult) -> None:
    from ..export.summary import data_parallel_text
    plan, lay = r.plan, r.layout
    assert lay is not None, "a strategy with a layout"
    experts = (f"ep {lay.ep} · etp {lay.etp}" if lay.expert_domain_written
               else f"experts follow tp (etp {lay.etp})") if plan.model.has_experts else "dense model"
    adp, edp = data_parallel_text(lay)
    console.print(f"GPUs: {lay.gpus_used:,} used of {plan.cluster.gpus:,} available  "
                  f"(dp {lay.dp} × pp {lay.pp} × stage group {lay.group_size})", markup=False)
    if plan.workload.batch_max and plan.workload.batch_note:      # its batch, and what one more would break
        console.print(plan.workload.batch_note, markup=False)
    console.print(f"stage group: attention tp {lay.tp} · cp {lay.cp}{' · sp' if lay.sp else ''} · attention DP "
                  f"{adp}  ;  {experts} · expert DP {edp}  ·  "
                  f"{count_text(lay.microbatches, 'micro-batch', 'micro-batches')}",
                  markup=False)


def _print_critical_paths(console: Console, m: Metrics, plan: Plan, running: Workload, lay: Layout | None) -> None:
    """The critical paths of prefill and decode by kind of work, the pipeline bubble and, in flight, the steady
    state of `running` on `lay`, the workload and layout the engine reaches (`StrategyResult.running`, W520)."""
    from ..plan.workload import RequirementKind
    from ..verdict.verdict import near_text
    inflight = mode_of(plan.workload).continuous
    for key, path in m.paths.items():
        phase = key.value if key.value == "prefill" else f"{key.value} (2 steps)"
        total = path.makespan_s or 1.0
        host = (f", of which the engine's host time {format_si(path.host_s, Dimension.TIME)}"
                if path.host_s > 0 else "")
        parts = " · ".join(f"{name} {format_si(v, Dimension.TIME)} ({share_text(v / total)}{host if k == 0 else ''})"
                           for k, (name, v) in enumerate((
                               ("compute", path.compute_s), ("TP comm", path.tp_comm_s), ("EP comm", path.ep_comm_s),
                               ("PP comm", path.pp_comm_s), ("waiting", path.waiting_s))) if v > 0)
        length = format_si(path.makespan_s, Dimension.TIME)
        if phase == "prefill":                  # the prefill's path is the TTFT
            length = near_text(plan, RequirementKind.TTFT, path.makespan_s, length)
        console.print(f"critical path, {phase}: {length} = {parts}", markup=False)
    console.print(f"pipeline bubble ({'mixed steps' if inflight else 'prefill'}): {m.bubble_fraction * 100:.1f} % "
                  "of stage time", markup=False)
    from ..layout.mix import shares
    from ..serve.inflight import InflightRates, eager_mixed_text
    if inflight and lay is not None and isinstance(m.rates, InflightRates):
        s = shares(running, lay)          # report.json's `serving` (`dagc.serve.inflight.serving_json`)
        decode, mixed = (format_si(t, Dimension.TIME) for t in (m.rates.decode_step_s, m.rates.mixed_step_s))
        whole = "" if running.chunked_prefill else ", whole prompts: chunked prefill off"
        console.print(f"in flight (chunk {running.chunk_tokens:,}{whole}): decode step {decode}, mixed step {mixed} (+ "
                      f"{s.chunk_prompt_tokens:,} prompt tokens); steps with a chunk f {s.share * 100:.1f} %"
                      + (f" of a rank's, f_g {s.group_share * 100:.1f} % of its group's ({s.group} attention-DP "
                         "ranks, which meet in every all-to-all: TPOT mixes the two steps by f_g)" if s.group > 1
                         else " (TPOT mixes the two steps by f)") + "; TTFT "
                      f"{count_text(s.first_token_steps, 'mixed step')}; the chunk keeps up with the prompts of at "
                      f"most {count_text(s.sustainable_batch, 'request')} in flight; " + _queueing(s.keeps_up, running),
                      markup=False)
        if (eager := eager_mixed_text(running, lay, plan.cluster)) is not None:
            console.print(eager[0].upper() + eager[1:] + ".", markup=False)


def _queueing(keeps_up: bool, running: Workload) -> str:
    """The in-flight line's last words: a steady state without a queue, or — the chunk short of the batch's prompts
    (W513) — one whose prompts queue, its TTFT a floor. Until 2026-12-03 it said "steady state, no queueing" beside
    W513's "prompts queue and TTFT grows"."""
    if keeps_up:
        return "steady state, no queueing"
    return (f"fewer than the batch's {running.batch:,}: prompts queue and the TTFT grows (W513), the steady state's "
            "TTFT is a floor")


# ---------------------------------------------------------------- dagc compile

def print_written(out: Console, err: Console, w: Written) -> None:
    """What `dagc compile` wrote for one strategy (or the side-by-side comparison), with its verdict."""
    r = w.result
    for warning in w.warnings:
        err.print(f"warning: {warning}", markup=False)
    if r is None:
        out.print("side-by-side comparison:", markup=False)
    else:
        _print_compiled(out, err, r)
    for f in w.files:
        out.print(f"  wrote {f}", markup=False)


def print_check(out: Console, err: Console, driven: Driven, path: str, volume: int, overrides: list[str]) -> None:
    """`dagc check` as text: the plan and each strategy; with `volume` -1 (`--quiet`) the verdicts
    alone (and the errors, on `err`), with 1 (`--verbose`) what the search examined too."""
    plan, results, found = driven.plan, list(driven.results), driven.found
    if volume < 0:
        for r in results:
            print_verdict_line(out, r)
        render_diags(err, [d for r in results for d in r.diagnostics if d.is_error])
        return
    print_plan(out, plan, path, objective_text(plan, path), overrides)
    print_plan_diagnostics(out, plan_diagnostics(results))
    for r in results:
        print_result(out, r, err)
    if volume > 0:
        _print_searched(out, found)


def print_compile(out: Console, err: Console, driven: Driven, written: list[Written], volume: int,
                  overrides: list[str], path: str) -> None:
    """`dagc compile` as text: the plan's line (`dagc check`'s first), then each strategy's verdicts and the files
    written; the verdicts alone with `volume` -1 (`--quiet`, what a script reads); each strategy's whole check first
    and the search's counts with 1 (`path`: the plan's, as the user gave it)."""
    plan, results, found = driven.plan, list(driven.results), driven.found
    if volume < 0:
        for r in results:
            print_verdict_line(out, r)
        return
    # which plan, model and GPUs the verdicts below are of, as `dagc check` opens (until 2026-12-02 compile's output
    # opened with a strategy's verdict, or `optimal means:`, and named neither the plan nor its model)
    out.print(plan_line(plan, path), markup=False)
    print_overrides(out, overrides)
    if found is not None:
        out.print(objective_text(plan, path), markup=False)
    for r in results if volume > 0 else ():
        print_result(out, r, err)
    for w in written:
        print_written(out, err, w)
    if volume > 0:
        _print_searched(out, found)


def _print_searched(out: Console, found: SearchResult | None) -> None:
    """`--verbose`: what the search examined and in how long."""
    if found is not None:
        out.print(f"search: {found.counts_text()}; in {found.seconds:.2f} s", markup=False)


def print_verdict_line(out: Console, r: StrategyResult) -> None:
    """One strategy's three verdicts on one line (compile's line of each strategy; all `--quiet` prints)."""
    v = r.verdict
    label = f"{r.decl.name} = {r.decl.text}" if r.decl.name else r.decl.text
    out.print(f"strategy {shown(label)}: correct {_WORD[v.correct]} · meets requirements "
              f"{_WORD[v.meets_requirements]} · optimal {_WORD[v.optimal]}", markup=False)


def print_overrides(out: Console, overrides: Sequence[str]) -> None:
    """The `--set` overrides the figures are for, under the plan's line: a what-if, not the plan."""
    if overrides:
        out.print("overrides (--set, not in the plan): " + " · ".join(shown(o) for o in overrides), markup=False)


def _print_compiled(out: Console, err: Console, r: StrategyResult) -> None:
    print_verdict_line(out, r)
    if (why := traffic_reason(r)) is not None:     # a `no` that no requirement's line says: the traffic's reason
        out.print(f"  {why}", markup=False)
    from ..export.bands_words import odds_line
    if (odds := odds_line(r)) is not None:        # which requirement, as `check` says it: the figures below are the
        out.print(f"  {odds}", markup=False)      # steady state's, not the load's percentile a requirement judged
    from ..export.optimal_words import optimal_note
    out.print(f"  optimal? {optimal_note(r.optimality, r)}", markup=False)
    if r.optimality is not None:
        _print_evidence(out, r)
    if r.metrics:
        from ..plan.workload import RequirementKind as K
        from ..verdict.verdict import near_text
        ttft, tpot = r.metrics.ttft_s, r.metrics.tpot_s
        out.print(f"  TTFT {near_text(r.plan, K.TTFT, ttft, format_si(ttft, Dimension.TIME))} · TPOT "
                  f"{near_text(r.plan, K.TPOT, tpot, format_si(tpot, Dimension.TIME))} · decode "
                  f"{tokens_per_s(r.metrics.decode_tokens_per_s_per_gpu, '/GPU')}", markup=False)
        if (few := r.figures_requests_text) is not None:     # a strategy with errors: not the deployment's figures
            out.print(f"  {few}", markup=False)
    chosen = [d for d in r.diagnostics if d.code == "N605"]      # `batch = max`: the batch the figures are for
    if chosen:
        out.print(f"  {chosen[0].message}", markup=False)
    for d in r.diagnostics:          # a line each; report.md shows them with their source and help
        if d.severity is Severity.WARNING:
            out.print(f"  warning[{d.code}]: {d.message}", markup=False)
    errors = [d for d in r.diagnostics if d.is_error]
    if errors:
        render_diags(err, errors)
