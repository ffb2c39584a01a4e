"""The window screen (`dagc.search.screen`): its column test of a bar is the scalar one, row by row,
and its distinct keys are numbered as the rows first meet them."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from dagc.search.bar import Bar, BestAtBounds, is_out_of_reach
from dagc.search.screen import _distinct, out_of_reach

# figures drawn from a few values, so that ties with the bar's k-th best and with front points are common
_SCORE = st.sampled_from([-3.0, -2.0, -2.0 + 1e-12, -1.0, 0.0, 5.5])
_GPUS = st.sampled_from([1, 2, 8, 64])
_X = st.sampled_from([-10.0, -5.0, -5.0 - 1e-9, -1.0])
_Y = st.sampled_from([0.01, 0.02, 0.02 + 1e-12, 0.05])


@st.composite
def bests(draw) -> BestAtBounds:
    missed = draw(st.integers(0, 2))
    return BestAtBounds((missed, draw(_SCORE), draw(_GPUS)), missed, (draw(_X), draw(_Y)))


@st.composite
def bars(draw) -> Bar:
    kth = (draw(st.integers(0, 2)), draw(_SCORE), draw(_GPUS), "tp 2 with microbatches 1 overlap none", 1, "none")
    front = draw(st.one_of(st.none(), st.lists(st.tuples(_X, _Y), max_size=4).map(tuple)))
    return Bar(kth, front)


@settings(max_examples=300, deadline=None)
@given(st.lists(bests(), min_size=1, max_size=12), bars())
def test_the_column_test_is_the_scalar_test_row_by_row(rows, bar):
    got = out_of_reach(np.array([b.row() for b in rows]), bar)
    assert got.tolist() == [is_out_of_reach(b, bar) for b in rows]


def test_distinct_keys_are_numbered_by_their_first_row():
    a = np.array([5, 3, 5, 3, 7, 5])
    b = np.array([1, 1, 1, 2, 1, 1])
    first, number = _distinct(a, b)
    assert first.tolist() == [0, 1, 3, 4]                      # (5, 1), (3, 1), (3, 2), (7, 1)
    assert number.tolist() == [0, 1, 0, 2, 3, 0]
    big = np.array([2**61, 3, 2**61 + 1, 3])                   # keys that would overflow are renumbered
    first, number = _distinct(big, np.array([1, 2, 1, 2]), big)
    assert first.tolist() == [0, 1, 2] and number.tolist() == [0, 1, 2, 1]
    wide = np.array([2**62, 0, 2**62, 5])
    first, number = _distinct(wide, np.array([2**40, 2**40, 7, 2**40]), wide)
    assert first.tolist() == [0, 1, 2, 3] and number.tolist() == [0, 1, 2, 3]
