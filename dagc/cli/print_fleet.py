"""What `dagc fleet` prints: the clusters meeting every requirement, cheapest first, the best in a sentence,
and the clusters that miss with what they miss.

Input: a `FleetResult` (`dagc.fleet.rank`) and a rich console. Output: text and a fitted table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rich.console import Console

from ..export.fleet_json import fleet_json, row_json
from ..export.fleet_out import (
    binds_text,
    load_headers,
    missed_with_figures,
    pick_load_cells,
    pick_odds,
    shown_percentiles,
)
from ..export.fleet_words import (
    CLOSE_WORDS,
    SAME_PICK_WORDS,
    TOKENS_COUNTED,
    basis_words,
    capacity_words,
    close_text,
    cluster_text,
    cost_figure,
    held_by_batch,
    idle_instances,
    picks_text,
    rate_text,
    rented_text,
    search_command,
    strategy_cell,
)
from ..fleet.profiles import borrowed_note, engines_note
from ..fleet.rank import COSTS, FleetResult, FleetRow, rented_cost
from ..units import format_figure
from .shell_words import path_word
from .tables import Col, print_fitted

__all__ = ["MIXES_ALONE", "cost_text", "fleet_columns", "print_fleet", "rented_cost_text"]

# What a fleet's mixes are (docs/fleet.md, "The ranking"): scenarios, each judged alone on the whole cluster
MIXES_ALONE = ("each mix is judged alone, with the whole cluster to itself (a traffic scenario, its cost weighted "
               "by its share of the tokens): mixes that arrive together are one traffic — give it as a request log "
               "or a length distribution (docs/fleet.md)")

_COLUMNS = (Col("#", 0), Col("cluster", 0, "left", wrap=True, floor=12), Col("engine", 2, "left"),
            Col("strategy", 0, "left", wrap=True, floor=12), Col("GPUs", 1), Col("instances", 3),
            Col("goodput req/s", 2), Col("p99 TTFT", 3), Col("p90 TPOT", 3), Col("per Mtok", 0),
            Col("per Mtok on GPUs used", 3), Col("rent", 2), Col("binds", 4, "left", wrap=True, floor=10))


def fleet_columns(rows: Sequence[Sequence[str]], shown: tuple[int, int] = (99, 90)) -> tuple[Col, ...]:
    """The ranking's columns for `rows`: with more than one engine among them the engine is as important as the
    cluster (never left out, the cluster's cell wrapping first so that the strategy stays whole), else rows that
    differ only by engine would read the same; with one, the least important (the first left out: every row says
    the same, and the best's line names it), so that a narrow terminal keeps the strategy on fewer lines."""
    heads = dict(zip(("p99 TTFT", "p90 TPOT"), load_headers(shown), strict=True))     # the plan's percentiles
    columns = tuple(replace(c, header=heads[c.header]) if c.header in heads else c for c in _COLUMNS)
    if len({row[2] for row in rows}) <= 1:
        return tuple(replace(c, rank=4) if c.header == "engine" else c for c in columns)
    return tuple(replace(c, rank=0) if c.header == "engine" else replace(c, whole=False) if c.header == "cluster"
                 else c for c in columns)


def _figure(by: str) -> str:
    return COSTS[0] if by == "money" else COSTS[1]


def cost_text(row: FleetRow, by: str) -> str:
    """A cluster's cost per million tokens on the GPUs its pick uses: money (`$0.347`), else GPU-hours
    (`0.139 GPU-h`)."""
    return cost_figure(row.cost(_figure(by)), by)


def rented_cost_text(row: FleetRow, by: str) -> str:
    """A cluster's cost per million tokens with every GPU it rents charged (what the fleet ranks by)."""
    return cost_figure(rented_cost(row, _figure(by)), by)


def _whose(row: FleetRow) -> str:
    """Whose pick `dagc search` gives: the same — with mixes, the heaviest mix's (`search_command`)."""
    if row.heaviest is None:
        return "the same"
    return f'mix "{row.heaviest.mix}"\'s'


def _shown(result: FleetResult) -> tuple[int, int]:
    """The TTFT and TPOT percentiles the tables show: those the plan's requirements bound (`shown_percentiles`)."""
    return shown_percentiles(p.written for r in (*result.ranked, *result.missed) if (p := r.answer.pick))


def _table_rows(result: FleetResult, top: int) -> list[tuple[str, ...]]:
    """The table's rows: the ranking's first `top` clusters."""
    rows: list[tuple[str, ...]] = []
    shown = _shown(result)
    for k, r in enumerate(result.ranked[:top], 1):
        pick, j = r.answer.pick, row_json(r)
        assert pick is not None, "a cluster meeting every requirement has a pick"
        rent = r.answer.rent_per_hour
        rows.append((str(k), cluster_text(j), r.answer.cluster.engine, strategy_cell(j), str(pick.gpus),
                     str(r.answer.instances), *pick_load_cells(pick.written, shown), rented_cost_text(r, result.by),
                     cost_text(r, result.by), "—" if rent is None else f"${format_figure(rent)}/h", binds_text(j)))
    return rows


def _missed_line(r: FleetRow) -> str:
    """`  not meeting: LABEL: why`, with the figures its pick misses with, as fleet.md says it."""
    return f"  not meeting: {r.label}: {missed_with_figures(row_json(r))}"


def _table_notes(shown: Sequence[FleetRow]) -> list[str]:
    """The notes under the table: the clusters priced by another GPU's kernel profile, the engines by another
    release's terms (`dagc.fleet.profiles`)."""
    notes = (borrowed_note((r.answer.cluster.gpu, r.answer.cluster.kernel_profile) for r in shown),
             engines_note(r.answer.cluster.engine for r in shown))
    return [n for n in notes if n]


def print_fleet(out: Console, result: FleetResult, top: int, written: str | None = None, plan: str = "PLAN",
                quiet: bool = False) -> None:
    """The ranking's first `top` clusters, the best in words and the clusters that miss (module docstring);
    `plan`: the plan's path as the user gave it, for the pasteable `dagc search` line. `quiet` (`-q`): the best's
    line alone — the line of how many clusters meet, when none does."""
    rate = rate_text(fleet_json(result))
    headline = (f"{result.meeting_text} {rate}, ranked by "
                f"{'money' if result.by == 'money' else 'GPU-hours (no GPU has a price)'} per million tokens "
                f"({TOKENS_COUNTED}) with every GPU the cluster rents charged")
    if quiet:
        out.print(headline if result.best is None else _best_line(result, result.best, plan), markup=False)
        return
    rows = _table_rows(result, top)
    out.print(headline, markup=False)
    if result.mixes:
        out.print(MIXES_ALONE, markup=False)
    if rows:
        print_fitted(out, f"best {len(rows)} of {len(result.ranked)}", fleet_columns(rows, _shown(result)), rows)
        for note in _table_notes(result.ranked[:top]):
            out.print(note, markup=False)
    if result.outside_calibration is not None:
        out.print(result.outside_calibration, markup=False)
    best = result.best
    if best is not None:
        out.print(_best_line(result, best, plan), markup=False)
        if same := result.same_pick:
            out.print(f"  the same pick on more GPUs, where {SAME_PICK_WORDS} {rate}: "
                      + ", ".join(f"{cluster_text(row_json(r))} ({idle_instances(row_json(r))}"
                                  + (f", ${format_figure(rent)}/h" if (rent := r.answer.rent_per_hour) else "")
                                  + f", {rented_cost_text(r, result.by)} per million tokens "
                                  "with every GPU it rents charged)" for r in same), markup=False)
        if close := result.within_error:
            out.print(f"  within dagc's error of the best ({CLOSE_WORDS}): "
                      + close_text([row_json(r) for r in close], result.by)
                      + " — the pick could change within the bands", markup=False)
        if held := held_by_batch(row_json(best), [row_json(r) for r in result.missed]):
            out.print(f"  {held}", markup=False)
    for r in result.missed:
        out.print(_missed_line(r), markup=False)
    if written is not None:
        out.print(f"wrote {written}", markup=False)


def _best_line(result: FleetResult, best: FleetRow, plan: str) -> str:
    """`best: 1 x h100-sxm, vllm@0.33.0: tp 1 on 1 GPU, $0.1899 per million tokens … (dagc search … gives the same
    pick)`."""
    j = row_json(best)
    return (f"best: {cluster_text(j)}, {best.answer.cluster.engine}: {picks_text(j)}, "
            f"{rented_cost_text(best, result.by)} per million tokens{basis_words(j)}"
            + rented_text(j, result.by)
            + capacity_words(j) + " "
            f"({search_command(j, path_word(plan))} gives {_whose(best)} pick)"
            + (f"; {odds}" if (odds := pick_odds(j)) else ""))
