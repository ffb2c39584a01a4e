"""What `dagc search` prints: the counts, the best candidates and the Pareto front as tables whose
strategy cells never break, and the warnings of a partial search.

Input: a `SearchResult` of `dagc.search.search`, its plan and a rich console. Output: text and
tables on the console.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from ..plan.objective import OBJECTIVES, FigureKind
from ..search.under_traffic import (
    BEST_LIMIT,
    JUDGE_LIMIT,
    STEADY,
    capacity_decides,
    judged_under_traffic,
    load_requirements,
    steady_only_text,
    unsimulated_text,
)
from ..units import Dimension, format_figure, format_percent, format_si
from .search_columns import PARETO_COLUMNS, SEARCH_COLUMNS, table_columns
from .tables import print_fitted

if TYPE_CHECKING:
    from ..plan.plan import Plan
    from ..plan.workload import Requirement
    from ..search.result import Candidate
    from ..search.search import SearchResult
    from ..verdict.bands import Odds
    from ..verdict.verdict import RequirementResult


# with `--rate`, what the search's own tables were judged on: the plan's workload, not the rate's tables below them
OWN_WORKLOAD = " on the plan's own workload (without --rate)"


def print_search_warnings(err: Console, found: SearchResult, plan: Plan | None = None) -> None:
    """What a partial search did not do; with `plan`, that no candidate could be simulated under its traffic
    (W518: its load requirements are judged by nothing)."""
    over = unsimulated_text(plan) if plan is not None and judged_under_traffic(plan) else None
    if plan is not None and over is not None:
        names = ", ".join(f"`{r.text}`" for r in load_requirements(plan))
        what = f"the load requirements ({names}) are" if names else "whether a candidate carries the traffic is"
        err.print(f"warning[W518]: no candidate was simulated under the plan's traffic: {over}; {what} not judged "
                  "(simulate fewer requests, or --load-budget none)", markup=False)
    if not found.complete:
        err.print(f"warning: the search stopped {found.stop_reason()}: {found.evaluated:,} of {found.total:,} "
                  f"candidates evaluated ({found.order})", markup=False)
    if found.skipped:
        err.print(f"warning: the time budget left no time for: {', '.join(found.skipped)}", markup=False)


def load_headers(plan: Plan, best: Sequence[Candidate]) -> dict[str, Requirement]:
    """The columns of the load requirements' figures, by header (`tpot_p90 (traffic)`), when a row was simulated
    under the plan's traffic: the run that `meets requirements` judged them on, beside the steady state's TTFT
    and TPOT at the row's batch."""
    if not any(c.load_figures for c in best):
        return {}
    return {f"{r.name} (traffic)": r for r in plan.requirements if r.on_load}


def _load_cells(c: Candidate, loads: dict[str, Requirement]) -> tuple[str, ...]:
    """A row's load requirements' figures (`load_headers`), each in its requirement's unit; `—` not simulated."""
    from ..verdict.verdict import RequirementResult
    figures = dict(c.load_figures)
    return tuple("—" if figures.get(r.name) is None else RequirementResult(r, figures[r.name]).value_text()
                 for r in loads.values())


def print_search_verdict(out: Console, found: SearchResult, plan: Plan, label: str = "best") -> None:
    """`dagc search --quiet`: the best strategy, its GPUs and whether it meets the requirements; `label` says
    of what (with `--rate`, the plan's own workload, before the conclusion at that rate)."""
    if not found.ranked:
        from ..search.rejections import budget_stopped_line, legal_line
        stopped = budget_stopped_line(found)      # the budget stopped it: none legal is not known
        out.print(f"{label}: none — {stopped or 'no legal strategy on this cluster'}", markup=False)
        if found.rejected_by and not stopped:
            out.print(legal_line(found.rejected_by, found.legal, found.evaluated, found.complete), markup=False)
        return
    c = found.ranked[0]
    at = f" · batch {c.batch:,} (paste with `--set workload.batch={c.batch}`)" if c.batch is not None else ""
    said = _unsure_rows(plan, [c], written_names(plan)).get(1)   # `yes*` as the table's #1
    out.print(f"{label}: {c.text} · {c.gpus:,} GPU{'' if c.gpus == 1 else 's'} · meets requirements: "
              f"{meets_text(c, unsure=said is not None)}{at}", markup=False)
    if said:
        out.print(f"  {UNSURE_NOTE}{unsure_text(said)}", markup=False)
    if c.judged == STEADY and c.meets_requirements:
        out.print(f"  {_steady_note(plan, found)}", markup=False)


def written_names(plan: Plan) -> dict[str, str]:
    """Each requirement's line, and its name as report.json states it (`decode_throughput_per_gpu`), → its name as the
    plan writes it (`decode_throughput`): how a table's `no:` names what a row misses (until 2026-11-30 report.json's
    name, which no plan writes)."""
    return {k: r.written_name for r in plan.requirements for k in (r.text, r.name)}


def meets_text(c: Candidate, names: dict[str, str] | None = None, unsure: bool = False) -> str:
    """Whether a candidate meets the requirements, as the table and `--quiet` print it: `yes`, `no`, `no:`
    and the requirements it misses (simulated under the traffic, or checked: the load's and the others, each by
    its name), or `yes (steady state)` for one
    judged on the steady state alone (`dagc.search.under_traffic`); `unsure`: `yes*`, a requirement it meets
    uncertain or likely missed within dagc's error (`unsure_of`, told under the table: `UNSURE_NOTE`)."""
    if not c.meets_requirements:
        missed = ", ".join((names or {}).get(t, t) for t in (*c.load_missed, *c.others_missed))
        return f"no: {missed}" if missed else "no: short of the rate" if c.short_of_traffic else \
            PAST_CAPACITY if c.capacity_judged else "no"
    yes = "yes*" if unsure else "yes"
    return f"{yes} (steady state)" if c.judged == STEADY else yes


# a row judged with its capacity bisected (`dagc.search.verify`) that misses no line on its run but the rate
PAST_CAPACITY = "no: past its capacity"
# under a table with a `yes*` row: what the mark means, then each such row's `unsure_row`, `; ` between them
UNSURE_NOTE = ("yes*: it meets every requirement in dagc's figures, but within dagc's error the 80 % band of a "
               "requirement straddles its target (uncertain) or misses it (likely misses), with the odds "
               "`dagc check` gives: ")


def unsure_of(judged: Iterable[tuple[RequirementResult, Odds]], names: dict[str, str]) -> list[tuple[str, str, str]]:
    """A `yes` row's requirements that dagc's error leaves uncertain or likely missed, as `dagc check` classes them:
    each one's class, name and probability (`uncertain`, `e2e_p90`, `p ≈ 0.73`)."""
    from ..export.bands_words import UNSURE_CLASSES, p_text
    return [(str(o.klass), names.get(q.requirement.text, q.requirement.name), p_text(o.probability))
            for q, o in judged if o.klass in UNSURE_CLASSES and o.probability is not None]


def unsure_row(k: int, said: Sequence[tuple[str, str, str]]) -> str:
    """Row `k`'s entry of `UNSURE_NOTE`'s list: `#1 e2e_p90 uncertain (p ≈ 0.73)`."""
    return f"#{k} {unsure_text(said)}"


def unsure_text(said: Sequence[tuple[str, str, str]]) -> str:
    """A row's requirements `unsure_of` found, in words: `e2e_p90 uncertain (p ≈ 0.73)`."""
    return ", ".join(f"{t} {'likely misses' if klass == 'misses' else klass} ({p})" for klass, t, p in said)


def _steady_note(plan: Plan, found: SearchResult, shown: int | None = None) -> str:
    """What `yes (steady state)` means, why dagc did not judge the load, and how many it simulated that missed;
    `shown`: the rows the table shows (None: no table), so that the note points past them when those are below."""
    if unsimulated_text(plan) is not None:
        return f"yes (steady state): {steady_only_text(plan)}"
    places = [k for k, c in enumerate(found.ranked, 1) if c.judged != STEADY and c.load_missed]
    where = ("ranked above those not simulated, the walk having run out (dagc ranks by what is known)"
             if found.known_first else
             "ranked below" if shown is None or not places or places[0] <= shown else
             f"ranked below the {shown} rows shown (`--top {places[0]}` shows the first)")
    said = (f"; of those it simulated, {len(places)} missed a load requirement: {where}, `no:` with what they miss"
            if places else "")
    return (f"yes (steady state): {steady_only_text(plan)} (dagc simulates at most {JUDGE_LIMIT} of a search's best "
            f"under the plan's traffic, and up to {JUDGE_LIMIT * BEST_LIMIT} while its best is not judged{said})")


BATCH_NOTE = ("batch (max): each row runs its own largest batch, which its strategy text alone does not carry: paste "
              "a row with `--set workload.batch=N` (N its batch), or into a plan that says `batch = max`; "
              "otherwise it runs the plan's batch")
DRAFTED_NOTE = ("drafted: the tokens each row drafts per step (`--vary speculative`), which its strategy text alone "
                "does not carry: check a row with `--set workload.speculative.tokens=N --strategy '…'` (N its "
                "drafted tokens); otherwise it drafts the plan's")


ESTIMATE_NOTE = ("≈: an estimate of the search's fast cost model, not re-scored by the full schedule (the search's "
                 "time budget was spent, or it lies past what dagc re-scores); `dagc check --strategy` gives its exact "
                 "figures")


def _est(c: Candidate) -> str:
    """`≈ ` before the figures of a candidate not re-scored exactly (`Candidate.exact`)."""
    return "" if c.exact else "≈ "


def print_search(out: Console, found: SearchResult, top: int, svg_path: Path | None, plan: Plan,
                 scope: str = "") -> None:
    """`dagc search` as text: the counts, the best `top`, the Pareto front and where its plot is; `scope` follows
    the tables' titles (with `--rate`, `OWN_WORKLOAD`: what they were judged on is not the rate's tables below).
    `svg_path` None: the plot could not be written (said on stderr), and no "wrote" line.

    The strategy text carries its micro-batches and overlap (`… with microbatches 2 overlap
    none`), so they have no columns of their own.
    """
    out.print(f"{found.counts_text()}; in {found.seconds:.2f} s ({found.evaluated / max(found.seconds, 1e-9):,.0f} per "
              f"second); objective {found.objective}, subject to the plan's requirements", markup=False)
    if not found.ranked and (found.rejected_by or found.stopped == "budget"):   # no table: why none, what to change
        _print_rejections(out, found)
        if svg_path is not None:
            out.print(f"wrote {svg_path}", markup=False)
        return
    best = found.ranked[:top]
    hidden = _print_best(out, found, best, plan, scope)      # the `binding requirement` column left out at this width
    front = sorted(found.pareto, key=lambda c: c.metrics.tpot_s)[:20]
    note = _steady_note(plan, found, len(best))
    _print_notes(out, best, front, plan, note)
    if front:
        _print_front(out, best, front, plan, note, scope)
    else:
        out.print(f"Pareto front{scope}: empty — no candidate meets the requirements (their binding requirement is "
                  + ("in `--format json`, its column not shown at this width" if hidden else "in the table above")
                  + ")", markup=False)
        _print_closest(out, found, plan)
    if svg_path is not None:
        out.print(f"wrote {svg_path}", markup=False)


def _print_closest(out: Console, found: SearchResult, plan: Plan) -> None:
    """Each requirement no candidate meets, and the closest any comes (`dagc.search.closest`): the line out of reach."""
    from ..search.closest import closest_to_missed
    for r, k in closest_to_missed(plan, found.ranked):
        c = found.ranked[k]
        out.print(f"no candidate meets `{r.requirement.text}`: the closest is #{k + 1} `{c.text}` at "
                  f"{_est(c)}{r.value_text()}", markup=False)


def _print_rejections(out: Console, found: SearchResult) -> None:
    """A search without a legal strategy: how many each rule rejected, most first, and each rule's first candidate
    with its message and hint (`dagc.search.reasons`)."""
    from ..search.rejections import budget_stopped_line, example_lines, legal_line
    rows, stopped = found.rejected_by, budget_stopped_line(found)    # the budget stopped it: not the rules' hints
    out.print(stopped or legal_line(rows, found.legal, found.evaluated, found.complete), markup=False)
    for line in () if stopped else example_lines(rows):
        out.print(line, markup=False)


def _print_best(out: Console, found: SearchResult, best: Sequence[Candidate], plan: Plan, scope: str = "") -> bool:
    """The best's table and those within dagc's error of #1; whether the table left out `binding requirement`."""
    varied = any(c.batch is not None for c in best)       # `batch = max`: each at the largest batch it serves
    drafted = any(c.speculative_tokens is not None for c in best)     # `--vary speculative`
    # the column of the figure the objective ranks by (none: throughput and cost rank by figures the table does
    # not show), to the digit that tells the rows apart
    ranked_by = OBJECTIVES[found.objective]
    digits = {ranked_by.column: ranked_by.digits}
    ttft, tpot = digits.get("TTFT", 1), digits.get("TPOT", 1)
    from ..plan.workload import RequirementKind as K
    from ..verdict.verdict import near_text

    def shown(kind: K, value: float, text: str) -> str:
        return near_text(plan, kind, value, text)          # beside a requirement's target: its digits

    names = written_names(plan)     # a requirement missed, by its name (`ttft_p99`)
    loads = load_headers(plan, best)
    unsure = _unsure_rows(plan, best, names)

    extra = _objective_column(found.objective, plan)      # throughput and cost: the figure they rank by
    rows: list[tuple[str, ...]] = [(str(k), c.text, *((f"{c.batch:,}",) if varied else ()),
             *((str(c.speculative_tokens),) if drafted else ()), str(c.gpus),
             shown(K.MEMORY, c.memory_fraction, format_percent(c.memory_fraction)),   # as `memory <= 80 %` reads it
             _est(c) + shown(K.TTFT, c.metrics.ttft_s, format_si(c.metrics.ttft_s, Dimension.TIME, ttft)),
             _est(c) + shown(K.TPOT, c.metrics.tpot_s, format_si(c.metrics.tpot_s, Dimension.TIME, tpot)),
             _est(c) + format_figure(c.metrics.decode_tokens_per_s_per_gpu),
             *((_est(c) + _objective_cell(found.objective, c, plan),) if extra else ()), *_load_cells(c, loads),
             meets_text(c, names, k in unsure), c.binding or "—") for k, c in enumerate(best, 1)]
    columns = (SEARCH_COLUMNS[:2] + (("batch (max)",) if varied else ()) + (("drafted",) if drafted else ())
               + SEARCH_COLUMNS[2:7] + ((extra,) if extra else ()) + tuple(loads) + SEARCH_COLUMNS[7:])
    if not any(c.binding for c in best):        # no requirement binds (none given): no column of dashes
        rows, columns = [row[:-1] for row in rows], columns[:-1]
    dropped = print_fitted(out, f"best {len(best)}{scope}", table_columns(columns, [extra or ranked_by.column]), rows)
    if unsure:
        out.print(UNSURE_NOTE + "; ".join(unsure_row(k, said) for k, said in unsure.items()), markup=False)
    from ..verdict.ledger import within_error_of_best
    # among the candidates judged as #1 is (those that meet the requirements come first): a prefix of the ranking
    ratio, close = within_error_of_best(plan, found.objective, [c.score for c in best if c.meets_requirements
                                                                is best[0].meets_requirements] if best else [])
    if close:       # their figures' bands overlap the best's (docs/bands.md)
        out.print(f"indistinguishable within dagc's error from #1 (its 80 % band spans {ratio:.3g}×): "
                  + ", ".join(f"#{i + 1}" for i in close) + " — the pick could change within the bands", markup=False)
    from ..search.outside_calibration import outside_calibration
    if far := outside_calibration(plan, best):      # a calibration's terms and bands, where its runs never were
        out.print(far, markup=False)
    return SEARCH_COLUMNS[-1] in dropped


def _unsure_rows(plan: Plan, best: Sequence[Candidate], names: dict[str, str]) -> dict[int, list[tuple[str, str, str]]]:
    """The rows shown that meet every requirement but whose odds leave one uncertain or likely missed, by their
    number (`unsure_of` of `dagc.search.row_odds.row_odds`: the odds `dagc check --strategy` gives their figures),
    weighed for these rows alone."""
    from ..search.row_odds import row_odds
    said = {k: unsure_of(row_odds(plan, c), names) for k, c in enumerate(best, 1) if c.meets_requirements}
    return {k: s for k, s in said.items() if s}


def _objective_column(objective: str, plan: Plan) -> str:
    """The header of the column an objective ranks by that the table has no other column for ('' for the others,
    `Objective.own_column`): end-to-end throughput, or the cost per million tokens — in $ with the plan's `price`,
    else in GPU-hours (until 2026-11-28 `--objective cost` ranked by a figure no column showed)."""
    o = OBJECTIVES[objective]
    return o.own_column_priced if o.own_column_priced and plan.cluster.price_per_gpu_hour is not None \
        else o.own_column


def _objective_cell(objective: str, c: Candidate, plan: Plan) -> str:
    """A row's figure in `_objective_column`: its steady state's end-to-end throughput, or its cost per million
    tokens on the steady state (`dagc.serve.price.token_cost`, as `--format json`'s `cost` and report.json's)."""
    if OBJECTIVES[objective].kind is not FigureKind.GPU_TIME:
        return format_figure(c.metrics.throughput_tokens_per_s)
    from ..serve.price import token_cost
    cost = token_cost(c.metrics, plan.cluster.price_per_gpu_hour, plan.workload.prompt, plan.workload.generate)
    money, hours = cost["per_million_tokens"], cost["gpu_hours_per_million_tokens"]
    value = money if money is not None else hours
    return "—" if value is None else f"{value:,.4g}"


def judged_note(plan: Plan) -> str:
    """How the table's `meets requirements` was judged under the plan's traffic: in an open loop, the first row that
    meets every requirement on its run with its capacity bisected too, as `dagc check --strategy` judges it
    (docs/load.md, "Carrying the traffic"), and the next while that one falls short (`dagc.search.verify`); a row
    missing a percentile on its run counts every load line, as its check does (`dagc.search.under_traffic._judged`).
    Until 2026-11-30 no row was, and #1 could be one its check calls "meets requirements: no"
    (docs/search.md)."""
    from ..search.verify import VERIFIED
    from ..verdict.carrying import CAPACITY_TOLERANCE
    head = ("meets requirements: every requirement judged, the load's by simulating the plan's traffic through each "
            "strategy, as `dagc check --strategy` does (`no:` names every requirement missed)")
    return head if not capacity_decides(plan) else (
        head + "; the first row that meets every requirement on its run is judged with its capacity bisected too, "
        f"as `dagc check` judges it (`{PAST_CAPACITY}` when that is more than {CAPACITY_TOLERANCE * 100:g} % below "
        f"the arrival rate, and then the next is judged so, {VERIFIED} at most), the rows below it on their runs "
        "alone; a row whose run misses a percentile requirement counts every load requirement missed, as its check "
        "does (its capacity lies below the rate)")


def _print_notes(out: Console, best: Sequence[Candidate], front: Sequence[Candidate], plan: Plan, note: str) -> None:
    """What the table's marks and columns mean: `≈`, `batch (max)`, the binding requirement, how the
    requirements were judged."""
    varied = any(c.batch is not None for c in best)
    if not all(c.exact for c in (*best, *front)):
        out.print(ESTIMATE_NOTE, markup=False)
    if varied:
        out.print(BATCH_NOTE, markup=False)
    if any(c.speculative_tokens is not None for c in best):
        out.print(DRAFTED_NOTE, markup=False)
    if any(c.binding for c in best):
        out.print("binding requirement: " + ("what one more request would break (memory, or a requirement)"
                                             if varied else "the requirement with the least margin: of a candidate "
                                             "that meets them all, the first to fail if things get worse; of one "
                                             "that does not, the one it misses by the most"),
                  markup=False)
    if any(c.judged == STEADY and c.meets_requirements for c in best):
        out.print(note, markup=False)
    elif judged_under_traffic(plan):
        out.print(judged_note(plan), markup=False)
    refused = [(k, c) for k, c in enumerate(best, 1) if c.engine_refusals]
    if refused:         # a plan that names no engine: what the engine its figures are priced for cannot start
        from ..launch.engines import TABLES
        engine = plan.cluster.engine.name
        start = next((f"#{k}" for k, c in enumerate(best, 1) if not c.engine_refusals), "none of these rows")
        out.print(", ".join(f"#{k} ({', '.join(c.engine_refusals)})" for k, c in refused) + f": {TABLES[engine].name}, "
                  "the engine dagc priced them for (the plan names none), cannot start them (`dagc launch` refuses "
                  f"them); the best it can start: {start}; name the engine (`cluster {{ engine = {engine} }}`) to rank "
                  "only what it starts", markup=False)
    loads = load_headers(plan, best)
    if loads:
        out.print(f"{', '.join(f'`{h}`' for h in loads)}: the figure of that run each load requirement is judged on "
                  f"({', '.join(f'`{r.text}`' for r in loads.values())}; `—`: not simulated); TTFT and TPOT: the "
                  "steady state, every request of the row's batch in flight at once, which the plan's traffic need "
                  "not reach", markup=False)


def _print_front(out: Console, best: Sequence[Candidate], front: Sequence[Candidate], plan: Plan, note: str,
                 scope: str = "") -> None:
    """The Pareto front's table (its columns those of the best's table: `batch (max)`, `drafted`)."""
    varied = any(c.batch is not None for c in best)
    drafted = any(c.speculative_tokens is not None for c in best)
    steady = any(c.judged == STEADY for c in front)
    names = written_names(plan)
    unsure = _unsure_rows(plan, front, names) if steady else {}      # `yes*` where the column is shown
    rows = [(c.text, *((f"{c.batch:,}",) if varied and c.batch is not None else ()),
             *((str(c.speculative_tokens),) if drafted else ()), str(c.gpus),
             _est(c) + format_si(c.metrics.ttft_s, Dimension.TIME), _est(c) + format_si(c.metrics.tpot_s,
             Dimension.TIME), _est(c) + format_figure(c.metrics.decode_tokens_per_s_per_gpu),
             *((c.binding or "—",) if varied else ()),          # with `batch = max`: what one more request breaks
             *((meets_text(c, names, k in unsure),) if steady else ()))
            for k, c in enumerate(front, 1)]
    columns = (PARETO_COLUMNS[:1] + (("batch (max)",) if varied else ()) + (("drafted",) if drafted else ())
               + PARETO_COLUMNS[1:]
               + (("binding requirement",) if varied else ()) + (("meets requirements",) if steady else ()))
    meeting = "meeting the requirements"
    if steady:       # each point says what it was judged on; the note above the front says what that means
        meeting = "meeting the requirements; `yes (steady state)`: a point not simulated under the plan's traffic"
    if scope:       # `OWN_WORKLOAD` inside the parentheses: " on the plan's own workload, without --rate"
        meeting += scope.replace(" (", ", ").rstrip(")")
    print_fitted(out, f"Pareto front ({meeting}): decode tokens/s per GPU vs TPOT",
                 table_columns(columns, ("decode (tokens/s/GPU)", "TPOT")), rows)      # the front's two axes
    if unsure:
        out.print(UNSURE_NOTE + "; ".join(f"{front[k - 1].text}: {unsure_text(said)}" for k, said in unsure.items()),
                  markup=False)
    if steady and not any(c.judged == STEADY and c.meets_requirements for c in best):
        out.print(note, markup=False)
