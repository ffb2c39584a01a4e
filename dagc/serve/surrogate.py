"""A step-time surrogate: the time of an engine step at any (requests, prompt tokens, prefix), interpolated
between exact prices on a grid.

Input: `StepPrices` (exact: the schedule's recurrence on the step's DAG, a few milliseconds each) and the
most requests a replica holds. Output: `StepSurface`, whose `time(n, p, ell)` is the step of a replica with
`n` requests in flight, `p` prompt tokens of chunks on its busiest rank and a prefix of `ell` tokens (the
prompt its decode tokens and chunk are priced at: `StepPrices`), trilinear between the prices at the
surrounding grid points, each priced the first time a step needs it:

- requests: every count up to max(8, attention DP) (where each request moves the busiest rank's
  share), then a geometric grid of ratio √2, and the replica's most;
- prompt tokens: 0 (a decode step), then a geometric grid of ratio √2 from 16 up to the step's budget
  (`chunk`), the workload's prompt and the prompt tokens its steady state's mixed step carries (a
  geometric point within 2^⅛ of one of those three left out);
- prefix: the workload's prompt × 2^(j/2) for any whole j (the attention's work is linear in it).

A step whose other attention-DP ranks carry prompt tokens too (`spread`) reads a second surface on the same grid,
of the prices with the chunk on every rank (`StepPrices.every_rank`), in proportion to the other ranks' tokens.

Under an engine's CUDA graphs (`EngineTerms.graph_sizes`, `dagc.ir.op_shapes.graphed_tokens`) the step is
a step function of its tokens: a decode step is padded to the next captured size (or, without padding, runs
eagerly between sizes) and eagerly above the largest; a mixed step runs eagerly, or (vLLM) is padded the same
way up to the largest size. So that no cell spans a jump, the grid also holds, within its range:

- requests, for a decode step: on each side of each captured size (the last count a size holds on the busiest
  rank and the next; without padding the count below too), the largest size's being its eager boundary;
- prompt tokens: 1 (a mixed step's first, eager where the decode step is graphed) and, where mixed steps are
  graphed, beside `d` requests on the busiest rank the chunks that fill each captured size up to 64 tokens and
  the largest, and the next (the mixed step's eager boundary above the largest: above 64 tokens a size's
  padding costs a weight-bound step little); and between two counts of requests (the geometric grid) a mixed
  step is interpolated at the same tokens on the busiest rank (so at the same graph, or eager at both), priced
  at its own count where the upper one's requests alone would fill them.

It is exact at the grid points — at the workload's own steady state too — and monotone along each axis
wherever the exact prices are. Its error against exact pricing at points off the grid is measured in
tests/test_surrogate.py and stated in docs/load.md.
"""

from __future__ import annotations

import bisect
import math

from .step_prices import StepPrices

__all__ = ["StepSurface", "surface_for"]

_N_RATIO = 2 ** 0.5
_P_FIRST, _P_RATIO = 16, 2 ** 0.5
_MEMO_LIMIT = 1 << 17
# a cell's corners: the product of their weights, each in turn, and their (requests, prompt tokens), flat
Corners = tuple[tuple[float, ...], tuple[int, ...]]
# a cell: its corners, its steps made by whole prefix, and its corners' exact prices by prefix, each in turn
Cell = tuple[tuple[float, ...], tuple[int, ...], dict[int, float], dict[int, tuple[float, ...]]]
# The captured sizes up to which a graphed mixed step's padding (to the next size) is a jump worth a grid point:
# above, a few more padded tokens cost a weight-bound step little (0.74 % at worst, docs/load.md), and the knots of
# every size beside every count of requests made most of a request log's exact prices. The largest size (the eager
# boundary above it) always has its knots.
_MIXED_KNOTS_UP_TO = 64


def _geometric(first: float, ratio: float, last: int) -> list[int]:
    out, x = [], float(first)
    while x < last:
        out.append(round(x))
        x *= ratio
    return out


class StepSurface:
    """Step times interpolated between exact prices (module docstring).

    Example:
        >>> class Linear:                 # a stand-in for StepPrices: 1 ms + 0.1 ms a request + 1 µs a token
        ...     plan = terms = None
        ...     def step(self, n, p, ell): return 1e-3 + 1e-4 * n + 1e-6 * p * ell / 1000
        >>> s = StepSurface(Linear(), most_requests=64, adp=1, chunk=8192, prompt=1000, steady_chunk=1000)
        >>> round(s.time(40, 3000, 1500) * 1e3, 6)     # off the grid, exact for a linear price
        9.5
    """

    def __init__(self, prices: StepPrices, most_requests: int, adp: int, chunk: int, prompt: int,
                 steady_chunk: int) -> None:
        self.prices = prices
        dense = max(8, adp)
        terms = getattr(prices, "terms", None)
        self.sizes: tuple[int, ...] = terms.graph_sizes if terms is not None else ()
        self.padding = terms is None or terms.graph_padding
        self.mixed_graphs = bool(self.sizes) and terms is not None and terms.mixed_graphs
        if self.sizes:
            self.q = prices.plan.workload.step_positions / prices.lay.cp     # a request's tokens on its rank
            self.cp = prices.lay.cp
            # what a captured size counts of a request on its rank: its tokens, or (SGLang, TensorRT-LLM) itself
            self.unit = 1.0 / self.cp if terms is not None and terms.graph_per_request else self.q
        self.adp, self.chunk = adp, chunk
        graphed = self._graph_requests()
        # the captured sizes' counts are closer than the geometric grid's below the largest: those alone there
        above = max(graphed, default=0)
        geometric = [k for k in _geometric(dense, _N_RATIO, most_requests) if k > dense]
        self.n_grid = sorted({*range(1, min(dense, most_requests) + 1), *(k for k in geometric if k > above),
                              most_requests, *(k for k in graphed if 1 <= k <= most_requests)})
        # an eager mixed step has no jumps along the requests (at the same tokens): the geometric grid
        self.n_eager = sorted({*range(1, min(dense, most_requests) + 1), *geometric, most_requests})
        marks = {chunk, *(x for x in (prompt, steady_chunk) if 0 < x <= chunk)}
        # a geometric point within 2^⅛ of a marked one adds a cell, not precision
        near = [x for x in _geometric(_P_FIRST, _P_RATIO, chunk)
                if not any(abs(math.log2(x / m)) < 0.125 for m in marks)]
        # with CUDA graphs the decode step (p = 0) is graphed and a mixed one may not be: 1 is a mixed step's first
        self.p_grid = sorted({0, *near, *marks, *((1,) if self.sizes else ())})
        self.p_grids: dict[int, list[int]] = {}
        self.prompt = max(1, prompt)
        # per (requests, prompt tokens), keyed n << 32 | p: its corners (`_corners`), its steps made by whole prefix
        # and its corners' prices by grid prefix (`Cell`). An int key and flat corners: a run makes thousands of
        # cells, and each tuple or list kept is one more object for the garbage collector to count and to scan
        self.cells: dict[int, Cell] = {}
        self.memoised = 0                                                             # steps held in `cells`
        self.ells: dict[int, tuple[int, int, float]] = {}                             # `_ell_bracket`
        # the prices made (`StepPrices.cache`), else `step`
        self.exact: dict[tuple[int, int, int], float] = getattr(prices, "cache", {})
        self._args = (most_requests, adp, chunk, prompt, steady_chunk)
        self._every: StepSurface | None = None          # `every_rank`

    def _around(self) -> tuple[int, ...]:
        """The offsets from the last count a captured size holds that bound its graph's price: that count and
        the next (padded up to the next size); without padding the one below too (eager between sizes)."""
        return (0, 1) if self.padding else (-1, 0, 1)

    def _graph_requests(self) -> list[int]:
        """Requests in flight at which the decode step's CUDA graph changes (the last ones each captured size
        holds and the first of the next, `dagc.ir.op_shapes.graphed_tokens`): the busiest rank's ⌈n / adp⌉
        requests at `q` tokens each (or, where sizes count requests, each one), on each side of each size and of the
        largest (eager above)."""
        out: list[int] = []
        for s in self.sizes:
            d = math.floor(s / self.unit + 1e-9)           # the most requests a rank holds within size s
            for k in (d - 1, d) if not self.padding else (d,):
                out += [k * self.adp, k * self.adp + 1]
        return out

    def _p_grid(self, d: int) -> list[int]:
        """The prompt tokens' grid beside `d` requests on the busiest rank: with mixed steps graphed, the last
        chunk and the next of each captured size up to `_MIXED_KNOTS_UP_TO` and of the largest (on each side of the
        eager boundary above it)."""
        grid = self.p_grids.get(d)
        if grid is None:
            grid = self.p_grid
            if self.mixed_graphs:
                sizes = [s for s in self.sizes if s <= _MIXED_KNOTS_UP_TO] + [self.sizes[-1]]
                knots = {round((s - d * self.q) * self.cp) + k for s in sizes for k in self._around()}
                grid = sorted({*grid, *(k for k in knots if 1 <= k <= self.chunk)})
            self.p_grids[d] = grid
        return grid

    @staticmethod
    def _bracket(grid: list[int], x: float) -> tuple[int, int, float]:
        """The grid points around `x` and the weight of the upper one (flat beyond the ends)."""
        if x <= grid[0]:
            return grid[0], grid[0], 0.0
        if x >= grid[-1]:
            return grid[-1], grid[-1], 0.0
        i = bisect.bisect_left(grid, x)
        hi = grid[i]
        if hi == x:
            return hi, hi, 0.0
        lo = grid[i - 1]
        return lo, hi, (x - lo) / (hi - lo)

    def _ell_bracket(self, ell: float) -> tuple[int, int, float]:
        j = math.floor(2 * math.log2(max(1.0, ell) / self.prompt) + 1e-9)
        lo, hi = max(1, round(self.prompt * 2 ** (j / 2))), max(1, round(self.prompt * 2 ** ((j + 1) / 2)))
        if ell <= lo or hi == lo:
            return lo, lo, 0.0
        if ell >= hi:
            return hi, hi, 0.0
        return lo, hi, (ell - lo) / (hi - lo)

    def time(self, n: int, p: int, ell: float) -> float:
        """The step of `n` requests in flight, `p` prompt tokens on the busiest rank, a prefix of `ell`.

        Across the requests a mixed step is interpolated at the busiest rank's tokens held (its chunk
        shrinking as its requests grow) where the engine graphs mixed steps, so that every corner runs as
        the step does (the same graph, or eagerly); a decode step's corners share its graph by the grid
        (`n_grid`); a mixed step (and any without graph sizes) is interpolated on the geometric one (`n_eager`).
        The corners of (`n`, `p`) and their weights are found once (`_corners`), and the prefix's bracket once
        per whole prefix (`_ells`): a run asks for the same requests and tokens at ever other prefixes. Each step
        made is kept under its (`n`, `p`) by its whole prefix (`cells`: one look-up finds the corners and the
        steps made, in dicts small enough to stay in the caches), and its corners' prices by the grid's prefix:
        the whole prefixes between two of the grid's read the same ones."""
        cell = self.cells.get(n << 32 | p)
        if cell is None:
            if len(self.cells) > _MEMO_LIMIT or self.memoised > _MEMO_LIMIT:
                self.cells.clear()
                self.memoised = 0
            cell = self.cells[n << 32 | p] = (*self._corners(n, p), {}, {})
        weights, points, memo, at = cell
        e = round(ell)
        out = memo.get(e)
        if out is not None:
            return out
        ells = self.ells.get(e)
        if ells is None:
            ells = self.ells[e] = self._ell_bracket(e)
        l0, l1, wl = ells
        c0, c1 = 1.0 - wl, wl        # c0 > 0: the weight wl of the upper prefix is below 1
        at0 = at.get(l0)
        at1 = at.get(l1) if c1 else at0
        if at0 is None or at1 is None:
            at0, at1 = self._prices(points, at, l0, l1 if c1 else l0)
        out = _corner_sum(weights, at0, at1, c0, c1)
        memo[e] = out
        self.memoised += 1
        return out

    def _prices(self, points: tuple[int, ...], at: dict[int, tuple[float, ...]], l0: int,
                l1: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The corners' (`points`) exact prices at prefixes `l0` and `l1`, those not in `at` made and kept there,
        corner by corner, `l0`'s before `l1`'s (as `time` read them, so that the prices are made in the same order)."""
        exact, step = self.exact, self.prices.step
        ls = [x for x in dict.fromkeys((l0, l1)) if x not in at]
        rows: list[list[float]] = [[] for _ in ls]
        flat = iter(points)
        for nn, pp in zip(flat, flat, strict=True):
            for x, row in zip(ls, rows, strict=True):
                price = exact.get((nn, pp, x))
                row.append(price if price is not None else step(nn, pp, x))
        for x, row in zip(ls, rows, strict=True):
            at[x] = tuple(row)
        return at[l0], at[l1]

    def spread(self, n: int, p: int, total: int, ell: float) -> float:
        """`time` of a step whose attention-DP ranks carry `total` prompt tokens, `p` of them on the busiest: the
        step of the busiest rank's chunk alone, and what the other ranks' chunks add to the experts they share (an
        EP group spanning the ranks runs every rank's tokens), in proportion to their tokens — between the step
        of `p` on one rank (`time`) and the step of `p` on each (`every_rank`), exact at both.

        Example:
            >>> class Linear:      # 10 ms and 1 µs a prompt token on one rank; 4 µs with every one of 4 ranks' chunk
            ...     plan = terms = None
            ...     def __init__(self, per_token=1e-6): self.per_token, self.surfaces = per_token, {}
            ...     def step(self, n, p, ell): return 0.01 + self.per_token * p
            ...     def every_rank(self): return Linear(4e-6)
            >>> s = StepSurface(Linear(), most_requests=64, adp=4, chunk=8192, prompt=4096, steady_chunk=4096)
            >>> [round(s.spread(64, 4096, total, 4096) * 1e3, 3) for total in (4096, 3 * 4096, 4 * 4096)]
            [14.096, 22.288, 26.384]
        """
        one = self.time(n, p, ell)
        if total <= p or self.adp <= 1:
            return one
        every = self.every_rank().time(n, p, ell)
        return one + (every - one) * min(1.0, (total - p) / ((self.adp - 1) * p))

    def every_rank(self) -> StepSurface:
        """The surface of these prices' `every_rank`, on the same grid."""
        if self._every is None:
            every = getattr(self.prices, "every_rank", None)
            self._every = self if every is None else surface_for(every(), *self._args)
        return self._every

    def _corners(self, n: int, p: int) -> Corners:
        """The grid's corners around (`n`, `p`) in requests and prompt tokens: each the product of its two
        weights, and each its requests and its tokens, one after the other in the order `time` sums them (module
        docstring)."""
        n0, n1, wn = self._bracket(self.n_grid if self.sizes and not p else self.n_eager, n)
        d = -(-n // self.adp)
        if p and self.mixed_graphs and p + round((d - -(-n1 // self.adp)) * self.q * self.cp) < 1:
            n0, n1, wn = n, n, 0.0       # the upper corner holds all the tokens in requests: priced at n itself
        weights: list[float] = []
        points: list[int] = []
        for nn, a in ((n0, 1.0 - wn), (n1, wn)):
            if a == 0.0:
                continue
            dn = -(-nn // self.adp)
            pn = p
            if p and self.mixed_graphs:
                held = p + round((d - dn) * self.q * self.cp)      # the same tokens on the busiest rank
                pn = held if held <= self.chunk else p
            p0, p1, wp = self._bracket(self._p_grid(dn) if pn else self.p_grid, pn)
            for pp, b in ((p0, 1.0 - wp), (p1, wp)):
                if b != 0.0:
                    weights.append(a * b)
                    points += (nn, pp)
        return tuple(weights), tuple(points)


def _corner_sum(weights: tuple[float, ...], at0: tuple[float, ...], at1: tuple[float, ...], c0: float,
                c1: float) -> float:
    """Σ `a * b * c * step` over a cell's corners (`weights`: each a · b) and its two prefixes (c0, c1: their weights;
    `at0`, `at1`: the corners' prices at each), in their order, as ever: `out += ab * c0 * p0`, then `out += ab * c1 *
    p1`, corner by corner from 0.0 — written out for one, two and four corners (a cell on the grid, a decode step's, a
    mixed step's: nearly every step), the same floats without a loop.

    Example:
        >>> w, at0, at1 = (0.1, 0.2, 0.3, 0.4), (1.0, 2.0, 3.0, 4.0), (1.5, 2.5, 3.5, 4.5)
        >>> looped = 0.0
        >>> for ab, p0, p1 in zip(w, at0, at1):
        ...     looped += ab * 0.7 * p0
        ...     looped += ab * 0.3 * p1
        >>> _corner_sum(w, at0, at1, 0.7, 0.3) == looped, _corner_sum(w[:1], at0[:1], at1[:1], 1.0, 0.0) == 0.1
        (True, True)
    """
    k = len(weights)
    if not c1:
        out = 0.0
        for ab, p0 in zip(weights, at0, strict=True):
            out += ab * c0 * p0
        return out
    if k == 2:
        a, b = weights
        a0, b0 = at0
        a1, b1 = at1
        return 0.0 + a * c0 * a0 + a * c1 * a1 + b * c0 * b0 + b * c1 * b1
    if k == 4:
        a, b, c, d = weights
        a0, b0, x0, d0 = at0
        a1, b1, x1, d1 = at1
        return 0.0 + a * c0 * a0 + a * c1 * a1 + b * c0 * b0 + b * c1 * b1 + c * c0 * x0 + c * c1 * x1 \
            + d * c0 * d0 + d * c1 * d1
    if k == 1:
        return 0.0 + weights[0] * c0 * at0[0] + weights[0] * c1 * at1[0]
    out = 0.0
    for ab, p0, p1 in zip(weights, at0, at1, strict=True):
        out += ab * c0 * p0
        out += ab * c1 * p1
    return out


def surface_for(prices: StepPrices, most_requests: int, adp: int, chunk: int, prompt: int,
                steady_chunk: int) -> StepSurface:
    """The surface of `prices` with these arguments, made once and kept with them (`StepPrices.surfaces`): its
    interpolated steps are a function of the prices and the arguments alone, so that every run of the same
    strategy in this process (a check's, its capacity's trials', its next steps' and the search's) shares them."""
    key = (most_requests, adp, chunk, prompt, steady_chunk)
    surface = prices.surfaces.get(key)
    if not isinstance(surface, StepSurface):
        surface = prices.surfaces[key] = StepSurface(prices, most_requests, adp, chunk, prompt, steady_chunk)
    return surface
