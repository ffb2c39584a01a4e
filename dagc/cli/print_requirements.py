"""`dagc check`'s requirements table, fitted to the terminal (`dagc.cli.tables`).

Input: a checked strategy (`StrategyResult`) and the console's width. Output: the table — each
requirement (its target in its own words), its figure with the band where the measured one lies
(docs/bands.md), the margin, whether dagc's figure meets it, the odds that the deployment would, and
with traffic what the figure is judged on (the simulated load, or the steady state with the load's mean
beside it) — and the note naming any column left out.

Every cell has a one-line form and a form on a few lines broken where a figure ends (`68.14 ms` above
its band `[43.78–275.8]`; `uncertain` above `(p ≈ 0.75)`), so that a narrow terminal wraps no figure
and splits no number from its unit: the one-line forms are used while the table fits, else the
columns' own lines, the widest first; only then does `fit_table` wrap the requirement's words or
leave a column out.
"""

from __future__ import annotations

from rich.console import Console

from ..verdict.check import StrategyResult
from .printing import shown
from .tables import Col, dropped_note, fit_table

__all__ = ["REQUIREMENT_COLUMNS", "print_requirements", "requirement_rows"]

REQUIREMENT_COLUMNS = (Col("requirement", 0, "left", wrap=True, floor=12), Col("value [band]", 0, "left"),
                       Col("margin", 1), Col("met", 0, "left", wrap=True), Col("odds", 1, "left"),
                       Col("judged on", 1, "left"))
# the columns whose cells go on their own lines when the table does not fit on one, the widest first
NARROWED = ("judged on", "value [band]", "odds", "requirement")


def _cells(r: StrategyResult, narrow: set[str]) -> list[list[str]]:
    """Each requirement's cells, those of the columns in `narrow` on their own lines; a last cell (judged
    on) only with traffic."""
    from ..export.bands_words import counted_text, odds_text, value_band_text
    from ..verdict.bands import bands_of
    from ..verdict.verdict import met_text, requirement_value_text

    def lines(column: str, one: str, *parts: str) -> str:
        return "\n".join(parts) if column in narrow else one

    odds = bands_of(r).requirements
    rows = []
    for q, o in zip(r.requirements, odds, strict=True):
        if q.value is None:
            why = "not computed: the strategy has errors" if r.verdict.correct is False else "not computed"
            value = lines("value [band]", why, *(("not computed:", "the strategy", "has errors")
                                                 if r.verdict.correct is False else ("not computed",)))
        else:
            counted = counted_text(q.requirement)         # the tokens a `throughput` counts: a line of its own
            text = value_band_text(q, o).replace(counted, "", 1)
            figure, _, band = text.partition(" [")
            value = (lines("value [band]", text, figure, f"[{band}") if band else text) + counted.replace(" ", "\n", 1)
            if (few := r.figures_requests) is not None:       # E402: one request's figure, not the deployment's
                value += f"\n(at {few:,} request{'s' if few > 1 else ''})"
        chance = odds_text(o, r.valid)
        klass, _, p = chance.partition(" (")
        said = q.requirement.text
        name, op, target = said.split(" ", 2) if said.count(" ") >= 2 else (said, "", "")
        row = [lines("requirement", said, f"{name} {op}", target) if target else said, value, q.margin_percent(),
               met_text(q, r.verdict.correct, "NO"), lines("odds", chance, klass, f"({p}") if p else chance]
        if q.judged_on == "load":
            row.append("load")
        elif q.load_value is None:
            row.append(lines("judged on", "steady state", "steady", "state"))
        else:
            mean = requirement_value_text(q.requirement, q.load_value)
            row.append(lines("judged on", f"steady state; the load's mean {mean}", "steady", "state;", "load's",
                             "mean", mean))
        rows.append(row)
    return rows


def requirement_rows(r: StrategyResult, width: int) -> tuple[tuple[Col, ...], list[list[str]]]:
    """The columns and rows of the requirements table at `width` characters (module docstring): the
    `judged on` column only with traffic (some figure judged on the load or with its mean beside it)."""
    traffic = r.plan.workload.traffic is not None
    cols = REQUIREMENT_COLUMNS if traffic else REQUIREMENT_COLUMNS[:-1]
    narrow: set[str] = set()
    for column in ("", *NARROWED):
        narrow.add(column)
        rows = [row[:len(cols)] for row in _cells(r, narrow)]
        if _one_line_width(cols, rows) <= width:
            break
    return cols, rows


def _one_line_width(cols: tuple[Col, ...], rows: list[list[str]]) -> int:
    """The width of the table with every column as wide as its widest line (a border and two spaces a column)."""
    from rich.cells import cell_len
    widest = [max(cell_len(line) for text in (c.header, *(row[k] for row in rows)) for line in text.split("\n"))
              for k, c in enumerate(cols)]
    return sum(widest) + 3 * len(cols) + 1


def print_requirements(console: Console, r: StrategyResult) -> None:
    """The requirements table at the console's width, its bands' regimes under it, and the note naming the
    columns left out."""
    from ..export.bands_words import bound_warning, regimes_text
    from ..verdict.bands import bands_of
    banded = bands_of(r)
    caption = "\n".join(x for x in (regimes_text(banded.requirements), bound_warning(banded), _not_carried(r)) if x)
    cols, rows = requirement_rows(r, console.width)
    t, dropped = fit_table(console.width, "requirements", cols, rows,
                           caption=shown(caption) if caption else None, caption_justify="left")
    console.print(t)
    if (note := dropped_note(console.width, dropped)) is not None:
        console.print(note, markup=False)


def _not_carried(r: StrategyResult) -> str | None:
    """Why a load row whose figure is within its target says NO: the deployment does not carry its traffic,
    so it meets none of the load's requirements (docs/load.md, "Carrying the traffic"); None otherwise."""
    load = r.load
    if load is None or load.carries_traffic:
        return None
    within = [q.requirement.text for q in r.requirements
              if q.met is False and q.judged_on == "load" and q.value is not None and q.requirement.holds(q.value)]
    if not within:
        return None
    return (f"NO on a figure within its target ({', '.join(within)}): the deployment does not carry its traffic — "
            f"{load.not_carried_because}")

