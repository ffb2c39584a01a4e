"""The columns of `dagc search`'s tables (the best, the Pareto front, the best at a rate) and how important each is
when the terminal is too narrow for all (`dagc.cli.tables.Col.rank`; docs/search.md, "The table at the terminal's
width").

Input: a table's headers and the figures it is ranked or drawn by. Output: its `Col`s.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from ..plan.workload import PERCENTILES
from .tables import Col

__all__ = ["COLUMNS", "PARETO_COLUMNS", "SEARCH_COLUMNS", "table_columns"]

SEARCH_COLUMNS = ("#", "strategy", "GPUs", "memory used", "TTFT", "TPOT", "decode (tokens/s/GPU)",
                  "meets requirements", "binding requirement")
PARETO_COLUMNS = ("strategy", "GPUs", "TTFT", "TPOT", "decode (tokens/s/GPU)")

# Each column's importance, 0 the most (`Col.rank`; among equals the rightmost is left out first, and a strategy is
# drawn whole only while every column of rank 1 fits beside it): the row's number, its strategy, whether it meets the
# requirements (a figure without its verdict misleads: a TTFT p99 past its target would read as a pick) and the figure
# the table is ranked by (`table_columns`' `kept`) are never left out; then, rank 1, the batch a row ran at, its GPUs
# and its figures — the GPUs left of the figures, so kept longest: how many GPUs a row takes is what a pick costs, a
# TTFT beside the tokens/s it is ranked by a second figure —; then whether a run kept up (`overloaded`, which
# `meets requirements` judges too); then memory and the requests served; last the binding requirement. Until
# 2026-12-02 the GPUs were rank 2, left out before every figure: at 120 columns the best of
# `examples/mixtral-8x7b-1node.moe`, strategies of 1 to 8 GPUs, showed each one's TTFT and not how many GPUs it takes.
COLUMNS = {c.header: c for c in (
    Col("#", 0), Col("strategy", 0, "left", wrap=True, floor=28), Col("batch (max)", 1), Col("batch", 1),
    Col("drafted", 0),           # `--vary speculative`: what tells two rows of one strategy apart
    Col("GPUs", 1), Col("memory used", 3), Col("TTFT", 1), Col("TPOT", 1), Col("decode (tokens/s/GPU)", 1),
    Col("meets requirements", 0, "left", wrap=True), Col("binding requirement", 4, "left", wrap=True),
    Col("goodput (requests/s/GPU)", 1), Col("served (requests/s)", 3),
    *(Col(f"{name} p{p}", 1) for name in ("TTFT", "TPOT") for p in PERCENTILES), Col("overloaded", 2, "left"))}


def table_columns(headers: Sequence[str], kept: Collection[str] = ()) -> list[Col]:
    """The columns of `headers`; those named in `kept` (the figures a table is ranked or drawn by) never left out.

    Example:
        >>> [(c.header, c.rank) for c in table_columns(("#", "GPUs", "TTFT", "TPOT"), ("TPOT",))]
        [('#', 0), ('GPUs', 1), ('TTFT', 1), ('TPOT', 0)]
    """
    # a load requirement's figure in the run `meets requirements` judged (`load_headers`): never left out either
    return [replace(COLUMNS.get(h) or Col(h, 0), rank=0) if h in kept else COLUMNS.get(h) or Col(h, 0)
            for h in headers]
