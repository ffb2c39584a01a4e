"""The search's screen, a window of candidates at a time (SPEC 10: candidates evaluated together).

Input: the search's items in the order it visits them (`dagc.search.space.Item`), its `Pruner`,
and, per chunk of items, the `Bar` the chunk is judged against. Output: per item what
`Pruner.screen` decides from the bounds that time no stage pass of the candidate's own — set
aside with every variant (its weights, KV cache and reserve overflow a GPU), pruned with every
variant (its GPUs' physical bounds cannot reach the bar), pruned (its pipeline's bounds, its
attention split's floors or each op's own lower bound cannot) — or None: the search screens it
one by one (`Pruner.screen`: it may matter, or ties the bar's `k`-th best but for its name, or
the bar is not made yet), or with its strategy's first variant when that one is pruned with every
variant (`dagc.search.chunks._evaluate_items`: none of its own bounds is made).

The items are held as columns (`Columns`: one row per item, numpy arrays). A figure many
candidates share — their strategy's stage group and resident bytes, the bounds of their GPUs and
of their pipeline, their attention split's floors — is computed once per distinct key (the rows'
key columns made distinct by `np.unique`, the figure by the `Pruner`'s own function) and gathered
to the rows; each op's own lower bound is the candidate's (`CandidateBounds.op_floor_row`). The bars are
tested on whole columns (`out_of_reach`), so a window of chunks costs a few dozen numpy calls
and one Python step per candidate that reaches each op's own lower bound.

What it decides is what `Pruner.screen` would decide, chunk by chunk with the chunk's bar
(`tests/test_search_bound.py` compares them candidate by candidate; `tests/test_search_screen.py`
the column test of a bar with the scalar one). The search screens a window against the bars made
when it starts, which may be older than its later chunks' own (`dagc.search.chunks.evaluate_all`): bars
only tighten, so what the screen decides with an older bar the chunk's own decides too, and what it
leaves undecided `Pruner.screen` decides with the chunk's own bar; every count the search reports
is the same as when each chunk is screened alone with its own bar, as a worker process does. The
columns also give the search its order, best bound first (`Columns.best_first`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from .bar import Bar
from .bound import Pruner, Screen
from .space import Item

__all__ = ["Columns", "out_of_reach"]

# A `BestAtBounds` as a row of floats: requirements surely missed, −score, GPUs (its rank key's head) and its
# point for the front (−decode tokens/s per GPU, TPOT). Integers of a rank key are exact in a float64.
_ROW = 5


def out_of_reach(rows: npt.NDArray[np.float64], bar: Bar) -> npt.NDArray[np.bool_]:
    """`dagc.search.bar.is_out_of_reach` of every row of `rows` (`BestAtBounds.row`s, shape (n, 5)) at once:
    whether a candidate that does at most that row can matter under `bar` whatever its name —
    its head ranks after the bar's `k`-th best, and it misses a requirement, or no front is kept,
    or a front point beats it."""
    assert bar.kth is not None
    missed, score, gpus, x, y = rows.T
    k_missed, k_score, k_gpus = bar.kth[:3]
    after: npt.NDArray[np.bool_] = (missed > k_missed) | ((missed == k_missed) & (
        (score > k_score) | ((score == k_score) & (gpus > k_gpus))))
    if bar.front is None:
        return after
    front = np.asarray(bar.front, dtype=np.float64).reshape(-1, 2)
    fx, fy = front[:, :1], front[:, 1:]
    beaten = ((fx <= x) & (fy <= y) & ((fx < x) | (fy < y))).any(axis=0)
    reach: npt.NDArray[np.bool_] = after & ((missed > 0) | beaten)
    return reach


def _distinct(*columns: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The first row of each distinct combination of `columns` (integer columns of equal length, none
    negative) and, per row, the number of its combination (numbered in the order of their first rows)."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:                 # one integer per combination so far, then with this column
        base = int(column.max(initial=0)) + 1
        if base > 1 << 31:                                           # wide values: their ranks instead
            column = np.unique(column, return_inverse=True)[1].reshape(-1)
            base = int(column.max(initial=0)) + 1
        if int(key.max(initial=0)) >= (1 << 62) // base:           # would overflow: renumber first
            key = np.unique(key, return_inverse=True)[1].reshape(-1)
        key = key * base + column
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")           # numbered by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.reshape(-1)]


class Columns:
    """A sequence of search items as columns, with what the screen reads of each that needs no bar:
    the number of its strategy (its figures, set aside or not), the micro-batches it schedules, the
    bounds of its GPUs as a `BestAtBounds.row`, the numbers of its pipeline's bounds' and its attention
    split's floors' keys (their rows made when first asked for: `CandidateBounds.item_stage_best`,
    `CandidateBounds.split_row`)."""

    def __init__(self, pruner: Pruner, items: Sequence[Item]):
        self.pruner, self.items = pruner, items
        n = len(items)
        cols = np.array([(dp, pp, tp, cp, sp, ep or 0, etp or 0, mb, overlap == "microbatch")
                         for dp, pp, tp, cp, sp, ep, etp, mb, overlap in items], dtype=np.int64).reshape(n, 9)
        dp, pp, tp, cp, sp, mb, pair = (cols[:, k] for k in (0, 1, 2, 3, 4, 7, 8))
        first, self.shape = _distinct(*(cols[:, k] for k in range(7)))
        # a strategy's figures do not read its sequence parallelism: made once for the strategies that differ in it
        once, of = _distinct(*(cols[first, k] for k in (0, 1, 2, 3, 5, 6)))
        made = [pruner.bounds.strategy_figures(items[i][:7]) for i in first[once].tolist()]
        figures = [made[k] for k in of.tolist()]
        # a strategy with more stages than layers (E303) has no figures: `Pruner.screen` says so
        self.known = np.array([f is not None for f in figures], dtype=bool)[self.shape]
        self.aside = np.array([f is not None and f[3] for f in figures], dtype=bool)[self.shape]
        g = np.array([f[0] if f else 1 for f in figures], dtype=np.int64)[self.shape]
        adp = np.array([f[1] if f else 1 for f in figures], dtype=np.int64)[self.shape]
        first, inverse = _distinct(mb, pair, pp, dp, adp)
        self.microbatches = np.array([pruner.bounds.item_microbatches(items[i], int(adp[i])) for i in first.tolist()],
                                     dtype=np.int64)[inverse]
        gpus = dp * pp * g
        first, inverse = _distinct(gpus, dp)
        self.physical = np.array([pruner.bounds.physical_best(items[i], int(gpus[i])).row() for i in first.tolist()],
                                 dtype=np.float64).reshape(-1, _ROW)[inverse]
        self.stage_first, self.stage = _distinct(g, pp, dp, adp, self.microbatches, pair)
        self.split_first, self.split = _distinct(tp, cp, sp, g, pp, dp, self.microbatches, pair)
        self.g, self.adp, self.figures = g, adp, figures
        self._stage_table = np.full((len(self.stage_first), _ROW), np.nan)
        self._split_table: dict[bool, npt.NDArray[np.float64]] = {}

    def best_first(self) -> Columns:
        """These items in the order that lets branch and bound prune soonest: each strategy's variants
        together, as given (they come in a row), the strategies by the best their variant with the
        most micro-batches (the least bubble) could do at the bounds of its GPUs and its pipeline
        (`CandidateBounds.stage_bounds`; rank key order: requirements surely missed, then score, then GPUs),
        ties in the order given; strategies set aside for their resident bytes, and those with more
        stages than layers, last. Deterministic: the same items give the same order."""
        n = len(self.items)
        if n == 0:              # every candidate left out (e.g. by an engine that does not run on the GPU: E728)
            return self
        starts = np.flatnonzero(np.r_[True, self.shape[1:] != self.shape[:-1]])     # each strategy's run
        lengths = np.diff(np.r_[starts, n])
        last = starts + lengths - 1
        head = np.tile(np.array([float(1 << 30), 0.0, 0.0]), (len(starts), 1))
        ranked = self.known[last] & ~self.aside[last]
        head[ranked] = self._stage_rows(last[ranked])[:, :3]
        order = np.lexsort((head[:, 2], head[:, 1], head[:, 0]))                   # stable: ties as given
        lengths = lengths[order]
        offsets = np.cumsum(lengths) - lengths
        index = np.arange(n) - np.repeat(offsets, lengths) + np.repeat(starts[order], lengths)
        return self._taken(index)

    def _taken(self, index: npt.NDArray[np.int64]) -> Columns:
        """These columns with their rows in the order `index` (a permutation); the figures made so far kept."""
        out = object.__new__(Columns)
        out.__dict__.update(self.__dict__)
        out.items = [self.items[i] for i in index.tolist()]
        for name in ("shape", "known", "aside", "g", "adp", "microbatches", "physical", "stage", "split"):
            setattr(out, name, getattr(self, name)[index])
        where = np.empty_like(index)
        where[index] = np.arange(len(index))
        out.stage_first, out.split_first = where[self.stage_first], where[self.split_first]
        return out

    def _stage_rows(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """The bounds of the GPUs and pipeline of these rows' candidates (`CandidateBounds.item_stage_best`) as
        `BestAtBounds.row`s, each distinct key's computed the first time it is asked for."""
        def row(i: int) -> tuple[float, ...]:
            return self.pruner.bounds.item_stage_best(self.items[i], int(self.g[i]), int(self.adp[i]),
                                               int(self.microbatches[i])).row()

        return _filled(self._stage_table, self.stage_first, self.stage[rows], row)

    def _split_rows(self, tpot_floors: bool, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """The attention split's floors of these rows' candidates (`CandidateBounds.split_row`: its `BestAtBounds.row`,
        then its TTFT and TPOT bounds), each distinct key's computed the first time it is asked for."""
        table = self._split_table.get(tpot_floors)
        if table is None:
            table = self._split_table[tpot_floors] = np.full((len(self.split_first), _ROW + 2), np.nan)

        def row(i: int) -> tuple[float, ...]:
            return self.pruner.bounds.split_row(self.items[i], self.figures[self.shape[i]], int(self.microbatches[i]),
                                         tpot_floors)

        return _filled(table, self.split_first, self.split[rows], row)

    def screen(self, chunks: Sequence[tuple[int, int, Bar]]) -> list[Screen | None]:
        """What `Pruner.screen` decides, short of timing a stage pass of a candidate's own, for each
        item of the chunks `[start, stop)` (consecutive, in order), each with its own bar; None for
        an item it leaves to `Pruner.screen`, or to the first of its strategy when that one is pruned with
        every variant. An item is the first of its strategy when the item before it in its chunk is of
        another strategy (as `dagc.search.chunks._evaluate_items` walks a chunk)."""
        lo, hi = chunks[0][0], chunks[-1][1]
        out: list[Screen | None] = [None] * (hi - lo)
        codes = np.zeros(hi - lo, dtype=np.int8)            # 0 undecided, else an index of _CODES
        codes[self.aside[lo:hi]] = _ASIDE_ALL
        shape = self.shape[lo:hi]
        first = np.ones(hi - lo, dtype=bool)
        first[1:] = shape[1:] != shape[:-1]
        for start, _, _ in chunks:
            first[start - lo] = True
        pruner = self.pruner
        k = 0
        while k < len(chunks):                               # the chunks of one bar together
            start, _, bar = chunks[k]
            while k + 1 < len(chunks) and chunks[k + 1][2] == bar:
                k += 1
            stop = chunks[k][1]
            k += 1
            if bar.kth is None:
                continue
            rows = np.arange(start, stop)
            open_ = (codes[start - lo:stop - lo] == 0) & self.known[start:stop]
            heads = first[start - lo:stop - lo]
            all_ = open_ & heads & out_of_reach(self.physical[start:stop], bar)
            codes[start - lo:stop - lo][all_] = _PRUNED_ALL
            # the variants after a strategy's first pruned with every variant are left undecided, no bound of theirs
            # made: `_evaluate_items` decides them with their first
            open_ &= ~_of_first(all_, heads)
            pruned = np.zeros(stop - start, dtype=bool)
            if open_.any():
                pruned[open_] = out_of_reach(self._stage_rows(rows[open_]), bar)
            open_ &= ~pruned
            tpot_floors = pruner.floors_matter(bar)
            if open_.any() and (tpot_floors or pruner.bounds.ttft_first):
                live = rows[open_]
                split = self._split_rows(tpot_floors, live)
                out_split = out_of_reach(split[:, :_ROW], bar)
                pruned[open_] = out_split
                if tpot_floors:
                    keep = ~out_split
                    live, split = live[keep], split[keep]
                    if len(live):
                        ops = np.array([pruner.bounds.op_floor_row(self.items[i], self.figures[self.shape[i]],
                                                            int(self.microbatches[i]), ttft, tpot)
                                        for i, ttft, tpot in zip(live.tolist(), split[:, _ROW].tolist(),
                                                                 split[:, _ROW + 1].tolist(), strict=True)],
                                       dtype=np.float64).reshape(-1, _ROW)
                        pruned[live - start] = out_of_reach(ops, bar)
            codes[start - lo:stop - lo][pruned] = _PRUNED
        for i, code in enumerate(codes.tolist()):
            if code:
                out[i] = _CODES[code]
        return out


def _of_first(flags: npt.NDArray[np.bool_], first: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Per row, `flags` of the first row of its run: of the last row at or before it where `first` (the first
    row is one)."""
    of_first: npt.NDArray[np.bool_] = flags[np.flatnonzero(first)][np.cumsum(first) - 1]
    return of_first


def _filled(table: npt.NDArray[np.float64], first: npt.NDArray[np.int64], ids: npt.NDArray[np.int64],
            row: Callable[[int], tuple[float, ...]]) -> npt.NDArray[np.float64]:
    """`table`'s rows `ids` (one per distinct key; NaN until made), each made first where missing by
    `row` of the first item of its key (`first`)."""
    for key in np.unique(ids[np.isnan(table[ids, 0])]).tolist():
        table[key] = row(int(first[key]))
    rows: npt.NDArray[np.float64] = table[ids]
    return rows


_ASIDE_ALL, _PRUNED_ALL, _PRUNED = 1, 2, 3
_CODES = (None, Screen.ASIDE_ALL, Screen.PRUNED_ALL, Screen.PRUNED)
