"""The window screen (`dagc.search.screen`): its column test of a bar is the scalar one, row by row,
its distinct keys are numbered as the rows first meet them, and it makes no bound of a variant whose
strategy's first variant is pruned with every variant."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from dagc.lang.load import load_plan
from dagc.rules.bounds import bounds
from dagc.schedule.timer import Timer
from dagc.search.bar import Bar, BestAtBounds, is_out_of_reach
from dagc.search.bound import Pruner, Screen
from dagc.search.screen import Columns, _distinct, out_of_reach
from dagc.search.space import space_items
from conftest import EXAMPLES

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


def test_the_variants_after_a_first_pruned_with_every_variant_make_no_bound():
    """Against a bar no candidate reaches (nothing ranks before its k-th best, no front kept), each strategy's
    first variant of a chunk is pruned with every variant at its GPUs' physical bounds, and the variants after
    it in the chunk are left to `dagc.search.chunks._evaluate_items`, which decides them with their first: no
    bound of their pipeline or attention split is made (on DeepSeek-V3 over 2,048 H800s, 4,270 of its 33,827
    candidates had theirs made, for nothing)."""
    plan = load_plan(EXAMPLES / "30b-moe-dp2-pp2-tp2-ep4-16gpu.moe")
    items = list(space_items(plan))
    columns = Columns(Pruner(plan, plan.objective, Timer(plan)), items)
    bar = Bar((0, -1e300, 1, "tp 2 with microbatches 1 overlap none", 1, "none"), None)
    screened = columns.screen([(lo, min(lo + 16, len(items)), bar) for lo in range(0, len(items), 16)])
    followers = 0
    for n, item in enumerate(items):
        first = n % 16 == 0 or item[:7] != items[n - 1][:7]
        if columns.aside[n]:
            assert screened[n] is Screen.ASIDE_ALL
        elif not columns.known[n] or not first:
            followers += columns.known[n] and not first
            assert screened[n] is None, item
        else:
            assert screened[n] is Screen.PRUNED_ALL, item
    assert followers > 100
    assert np.isnan(columns._stage_table).all() and not columns._split_table


def test_a_micro_batchs_bounds_and_the_best_at_bounds_are_remembered_as_computed():
    """`bounds(…, batch=b)` are those of the workload with b requests (its copy made only when none is
    remembered), and `CandidateBounds.best` hands back what it made for the same bounds, workload and GPUs: the
    window screen asks both thousands of times for a few hundred distinct answers (2,205 of 5,280 bests on
    DeepSeek-V3 over 2,048 H800s)."""
    plan = load_plan(EXAMPLES / "30b-moe-dp2-pp2-tp2-ep4-16gpu.moe")
    model, cluster, workload = plan.model, plan.cluster, plan.workload
    copied = bounds(model, workload.model_copy(update={"batch": 3}), cluster, gpus=8)
    assert bounds(model, workload, cluster, gpus=8, batch=3) == copied != bounds(model, workload, cluster, gpus=8)
    pruner = Pruner(plan, plan.objective, Timer(plan))
    w = pruner.bounds.workload_of(2, "none")
    best = pruner.bounds.best(0.5, 0.02, w, 16)
    assert pruner.bounds.best(0.5, 0.02, w, 16) is best
    assert pruner.bounds.best(0.5, 0.02, pruner.bounds.workload_of(4, "none"), 16) is not best
    assert pruner.bounds.best(0.5, 0.03, w, 16).point[1] > best.point[1]      # a larger TPOT bound: its own


def test_the_columns_make_a_strategys_figures_once_whatever_its_sequence_parallelism(monkeypatch):
    """`CandidateBounds.strategy_figures` reads no sequence parallelism, so the columns ask it once for the
    strategies that differ in it alone (5,260 asked of 9,165 strategies on DeepSeek-V3 over 2,048 H800s), and
    each row's figures are its own strategy's."""
    plan = load_plan(EXAMPLES / "30b-moe-dp2-pp2-tp2-ep4-16gpu.moe")
    items = list(space_items(plan))
    pruner = Pruner(plan, plan.objective, Timer(plan))
    asked = []
    figures_of = pruner.bounds.strategy_figures
    monkeypatch.setattr(pruner.bounds, "strategy_figures", lambda shape: asked.append(shape) or figures_of(shape))
    columns = Columns(pruner, items)
    apart_from_sp = {(dp, pp, tp, cp, ep, etp) for dp, pp, tp, cp, _, ep, etp, *_ in items}
    assert len(asked) == len(apart_from_sp) < len({item[:7] for item in items})
    fresh = Pruner(plan, plan.objective, Timer(plan)).bounds
    assert all(columns.figures[columns.shape[n]] == fresh.strategy_figures(item[:7]) for n, item in enumerate(items))
