"""Tables that fit the terminal: what every table of the `dagc` command is drawn with.

Input: a title, the columns (each with its importance and whether its cells may wrap) and the rows as
strings; the console's width. Output: a rich `Table` whose columns have the widths computed here, and
the names of the columns left out.

A figure (a number with its unit, a preset's name) is never broken: its column is at least as wide as
its widest cell. A text cell (a strategy, `no: ttft_p99`) wraps between words, and a header between its
words, never inside one. When the columns' narrowest widths do not fit, the least important columns are
left out, the last first, until they do; the caller says which (`dropped_note`) and where to see them
(`--format json`, a wider terminal). The widths are computed here rather than by rich, whose last
resort on a table too wide is to narrow every column, figures included, down to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .printing import add_shown_row

if TYPE_CHECKING:
    from rich.console import JustifyMethod

__all__ = ["Col", "dropped_note", "fit_table", "fit_widths", "print_fitted"]

# The narrowest a console is laid out for: below it, tables are drawn as for this width (the terminal
# wraps their lines), so that a figure is still whole.
MIN_WIDTH = 40


@dataclass(frozen=True)
class Col:
    """A column of a fitted table.

    Attributes:
        header: its heading; it wraps between words.
        rank: its importance, 0 the most important; a column of rank 0 is never left out, the others
            are left out from the highest rank up (the rightmost first among equals).
        justify: `right` for figures, `left` for text.
        wrap: whether its cells may wrap between words (text); a figure's never do.
        floor: the narrowest a wrapping column is made before less important columns are left out
            (a strategy stays readable: a few words a line, not one).
        whole: for a wrapping column of rank 0, whether it is kept whole (to be pasted as it stands) while the
            columns of rank 1 fit beside it; False: it wraps first (a cluster's words beside a strategy).
    """

    header: str
    rank: int = 1
    justify: Literal["left", "right"] = "right"
    wrap: bool = False
    floor: int = 0
    whole: bool = True


def _longest_word(text: str) -> int:
    return max((cell_len(w) for w in text.split()), default=0)


def _widest_line(text: str) -> int:
    return max((cell_len(line) for line in text.split("\n")), default=0)


def fit_widths(width: int, cols: Sequence[Col], rows: Sequence[Sequence[str]]) -> tuple[list[int], list[int]]:
    """The columns kept (their indexes, in order) and each one's width, for a table drawn in `width`
    characters with rich's default box (a border and a space of padding either side of every column).

    Example:
        >>> cols = [Col("preset", 0, "left"), Col("memory", 2), Col("GPUs per node", 1)]
        >>> rows = [("h200", "140.40 GiB (143,771 MiB)", "8")]
        >>> fit_widths(60, cols, rows), fit_widths(40, cols, rows)      # memory, the least important, left out
        (([0, 1, 2], [6, 24, 13]), ([0, 2], [6, 13]))
        >>> cols = [Col("#", 0), Col("strategy", 0, "left", wrap=True, floor=12), Col("TPOT", 1)]
        >>> rows = [("1", "tp 8 ; ep 8 with microbatches 1 overlap none", "33.2 ms")]
        >>> fit_widths(80, cols, rows), fit_widths(40, cols, rows)      # the strategy whole, else wrapped
        (([0, 1, 2], [1, 44, 7]), ([0, 1, 2], [1, 22, 7]))
    """
    width = max(width, MIN_WIDTH)
    least, widest = [], []
    for k, col in enumerate(cols):
        cells = [row[k] for row in rows]
        most = max([_widest_line(col.header), *(_widest_line(c) for c in cells)])
        words = max([_longest_word(col.header), *((_longest_word(c) if col.wrap else _widest_line(c)) for c in cells)])
        least.append(max(words, min(col.floor, most)))
        widest.append(most)
    # a column of rank 0 that wraps (a strategy) is kept whole, to be pasted as it stands, when every column of
    # rank 1 fits beside it; else it wraps between its words, down to its floor
    whole = [widest[k] if cols[k].rank == 0 and cols[k].wrap and cols[k].whole else least[k] for k in range(len(cols))]
    kept = _kept(width, cols, whole)
    narrowest = whole
    if any(cols[k].rank <= 1 and k not in kept for k in range(len(cols))):
        kept, narrowest = _kept(width, cols, least), least
    widths = {k: narrowest[k] for k in kept}
    spare = _room(width, kept) - sum(widths.values())
    for k in sorted(kept, key=lambda k: (cols[k].rank, k)):      # the room left, to the most important first
        more = max(0, min(spare, widest[k] - widths[k]))
        widths[k] += more
        spare -= more
    return kept, [widths[k] for k in kept]


def _room(width: int, kept: Sequence[int]) -> int:
    """The characters left for the cells of the columns `kept`: a border and two spaces a column."""
    return width - 3 * len(kept) - 1


def _kept(width: int, cols: Sequence[Col], narrowest: Sequence[int]) -> list[int]:
    """The columns left when the least important are left out (among equals, the rightmost first) until the
    others' `narrowest` widths fit."""
    kept = list(range(len(cols)))
    for k in sorted((k for k in kept if cols[k].rank > 0), key=lambda k: (-cols[k].rank, -k)):
        if sum(narrowest[j] for j in kept) <= _room(width, kept):
            break
        kept.remove(k)
    return kept


def fit_table(width: int, title: str, cols: Sequence[Col], rows: Sequence[Sequence[str]],
              styles: Sequence[str | None] = (), caption: str | None = None,
              caption_justify: JustifyMethod = "center") -> tuple[Table, list[str]]:
    """A table of `rows` fitted to `width` characters, and the headers of the columns left out.

    Every cell passes through `dagc.cli.printing.shown`; `styles` are the rows' styles (none when shorter),
    `caption` and its `caption_justify` go to rich's `Table`.
    """
    kept, widths = fit_widths(width, cols, rows)
    t = Table(title=title, title_justify="left", caption=caption, caption_justify=caption_justify)
    for k, w in zip(kept, widths, strict=True):
        col = cols[k]
        # a figure's column is as wide as its widest cell and a header's longest word: nothing is cut, and
        # only a text cell or a header wraps (between words)
        t.add_column(Text(col.header, overflow="fold"), justify=col.justify, width=w, overflow="fold")
    for n, row in enumerate(rows):
        add_shown_row(t, *(row[k] for k in kept), style=styles[n] if n < len(styles) else None)
    return t, [cols[k].header for k in range(len(cols)) if k not in kept]


def dropped_note(width: int, dropped: Sequence[str]) -> str | None:
    """What a table left out at this width, and how to see it; None when nothing was."""
    if not dropped:
        return None
    names = ", ".join(f"`{h}`" for h in dropped)
    return (f"not shown at {width} columns: {names} (every figure is in `--format json`; a wider terminal, or "
            "COLUMNS=N when piped, shows more)")


def print_fitted(out: Console, title: str, cols: Sequence[Col], rows: Sequence[Sequence[str]],
                 styles: Sequence[str | None] = (), caption: str | None = None,
                 caption_justify: JustifyMethod = "center") -> list[str]:
    """`fit_table` at the console's width, printed, with a line under it naming the columns left out; their headers."""
    t, dropped = fit_table(out.width, title, cols, rows, styles, caption, caption_justify)
    out.print(t)
    note = dropped_note(out.width, dropped)
    if note:
        out.print(note, markup=False)
    return dropped
