"""Routing statistics of dagc.layout.routing (SPEC 3.3 `routing = random`, SPEC 6.5 dispatch).

Each function is checked against exact enumeration where the case is tiny, against a seeded
numpy Monte-Carlo simulation on a grid of small and medium cases, on its edge cases, and for the
monotonicity the cost model relies on (hypothesis).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dagc.layout import routing

# (experts, ep, top_k) shapes, all with ep dividing experts.
SHAPES = [(8, 2, 2), (8, 8, 2), (8, 4, 6), (16, 4, 1), (16, 16, 4), (64, 8, 8), (256, 32, 8), (256, 256, 8)]


def sample_experts(rng: np.random.Generator, rows: int, top_k: int, experts: int) -> np.ndarray:
    """(rows, top_k) distinct experts, uniform: argsort of random keys for small E, else draws with
    replacement and redrawing the rows that repeat an expert (rare when k² ≪ E)."""
    if experts <= 16 or 2 * top_k * top_k > experts:
        return np.argsort(rng.random((rows, experts)), axis=1)[:, :top_k]
    ids = rng.integers(0, experts, size=(rows, top_k))
    while True:
        ordered = np.sort(ids, axis=1)
        repeats = np.any(ordered[:, 1:] == ordered[:, :-1], axis=1)
        if not repeats.any():
            return ids
        ids[repeats] = rng.integers(0, experts, size=(int(repeats.sum()), top_k))


def simulate_max_load(tokens: int, top_k: int, experts: int, ep: int, trials: int, seed: int = 0):
    """Mean and standard error of the busiest rank's load over `trials` simulated batches."""
    rng = np.random.default_rng(seed)
    rank = sample_experts(rng, trials * tokens, top_k, experts) // (experts // ep)
    trial = np.repeat(np.arange(trials), tokens)[:, None]
    loads = np.bincount((trial * ep + rank).ravel(), minlength=trials * ep).reshape(trials, ep)
    busiest = loads.max(axis=1)
    return busiest.mean(), busiest.std() / math.sqrt(trials)


def enumerate_max_load(tokens: int, top_k: int, experts: int, ep: int) -> float:
    """The exact expected maximum by enumerating every choice of every token."""
    rank = np.arange(experts) // (experts // ep)
    choices = [np.bincount(rank[list(c)], minlength=ep) for c in itertools.combinations(range(experts), top_k)]
    total = 0.0
    for picks in itertools.product(choices, repeat=tokens):
        total += np.sum(picks, axis=0).max()
    return total / len(choices) ** tokens


def multinomial_max_load(tokens: int, ep: int) -> float:
    """Exact E[max] of a multinomial(tokens, 1/ep): top-1 routing."""
    total = 0.0
    for counts in itertools.product(range(tokens + 1), repeat=ep - 1):
        last = tokens - sum(counts)
        if last < 0:
            continue
        ways = math.factorial(tokens) / math.prod(math.factorial(c) for c in (*counts, last))
        total += ways * max(*counts, last)
    return total / ep ** tokens


# --- expected_max_load, max_load_factor -------------------------------------------------------------

def test_max_load_by_hand():
    # E=4, k=2, ep=2, one token: both experts on one rank with probability 2/C(4,2) = 1/3.
    assert routing.expected_max_load(1, 2, 4, 2) == pytest.approx(4 / 3, rel=1e-9)
    # One token, top-1: the busiest rank has that token.
    assert routing.expected_max_load(1, 1, 256, 256) == pytest.approx(1.0, rel=1e-9)
    # Two tokens, top-1, two ranks: same rank with p = 1/2 → 1.5.
    assert routing.expected_max_load(2, 1, 8, 2) == pytest.approx(1.5, rel=1e-9)


def conditioned_max_load(tokens, top_k, experts, ep):
    """E[max] of the conditioned model straight from its definition: P(max ≤ a) for every cap a as a
    ratio of two coefficients of ep-th powers, each taken from a whole inverse transform, and
    every term of Σ_a (1 − P(max ≤ a)) summed."""
    mean = tokens * top_k / ep
    sigma = math.sqrt(tokens * top_k * (experts - top_k) / (experts - 1) / ep)
    lo = max(0, math.floor(mean - routing._TAIL_SIGMAS * sigma) - 2)
    hi = min(tokens * min(top_k, experts // ep), math.ceil(mean + routing._TAIL_SIGMAS * sigma) + 4)
    loads = np.arange(lo, hi + 1, dtype=float)
    weights = np.exp(routing._log_weights(tokens, top_k, experts, ep, loads))
    size = ep * (hi - lo) + 1                   # the power's whole degree: no coefficient folds onto another

    def coefficient(row):
        return np.fft.irfft(np.fft.rfft(row, size) ** ep, size)[tokens * top_k - ep * lo]

    whole = coefficient(weights)
    first = math.ceil(mean - 1e-9)
    return first + sum(1.0 - min(1.0, max(0.0, coefficient(weights * (loads <= a)) / whole)) for a in range(first, hi))


@pytest.mark.parametrize(("tokens", "top_k", "experts", "ep"),
                         [(1, 8, 256, 8), (7, 8, 256, 32), (64, 8, 256, 16), (300, 8, 256, 256), (1024, 8, 256, 64),
                          (50, 2, 8, 4), (1000, 1, 64, 8), (200, 6, 60, 12)])
def test_max_load_is_the_conditioned_models(tokens, top_k, experts, ep):
    """`_max_load_exact` takes one coefficient of each power without a whole inverse transform and
    stops summing where the terms fall below rounding: the model's figure all the same."""
    assert routing._max_load_exact(tokens, top_k, experts, ep) == pytest.approx(
        conditioned_max_load(tokens, top_k, experts, ep), rel=1e-13)


@pytest.mark.parametrize(("tokens", "ep"), [(3, 2), (5, 3), (6, 4), (4, 6)])
def test_top1_is_the_exact_multinomial(tokens, ep):
    assert routing.expected_max_load(tokens, 1, 6 * ep, ep) == pytest.approx(multinomial_max_load(tokens, ep), rel=1e-9)


@pytest.mark.parametrize(("tokens", "top_k", "experts", "ep"),
                         [(1, 3, 8, 4), (1, 2, 6, 3), (2, 2, 4, 2), (3, 2, 4, 2), (2, 3, 8, 4), (3, 2, 6, 3),
                          (2, 2, 8, 8), (3, 2, 8, 8)])
def test_max_load_against_enumeration(tokens, top_k, experts, ep):
    """Exact at one token; the few-token cases are the model's hardest (most discrete): 1.5 %.
    The worst found is two tokens, top-2 of 8 experts on 8 ranks: 1.4457 for 1.4643 (−1.3 %)."""
    exact = enumerate_max_load(tokens, top_k, experts, ep)
    rel = 1e-9 if tokens == 1 else 0.015
    assert routing.expected_max_load(tokens, top_k, experts, ep) == pytest.approx(exact, rel=rel)


@pytest.mark.parametrize(("experts", "ep", "top_k"), SHAPES)
@pytest.mark.parametrize("tokens", [1, 4, 20, 100])
def test_max_load_against_simulation(experts, ep, top_k, tokens):
    """Within 4 standard errors of 3,000 simulated batches plus 1.5 % model error (the worst
    measured over this grid, and over T up to 1e6 offline, is below 1 %)."""
    mean, stderr = simulate_max_load(tokens, top_k, experts, ep, trials=3000, seed=tokens)
    model = routing.expected_max_load(tokens, top_k, experts, ep)
    assert abs(model - mean) <= 4 * stderr + 0.015 * mean, (model, mean, stderr)


def test_large_counts_against_simulation():
    """Past T·k = 8192 the normal limit takes over: top-1 (a multinomial) at 20,000 tokens, top-8 at
    2,000 (past its switch at 1,024). The deviation from the mean is then a few percent of the load,
    so a 0.3 % tolerance (plus 4 standard errors) still tests it."""
    rng = np.random.default_rng(7)
    for ep in (2, 16, 256):
        busiest = rng.multinomial(20_000, [1 / ep] * ep, size=2000).max(axis=1)
        model = routing.expected_max_load(20_000, 1, 256, ep)
        assert abs(model - busiest.mean()) <= 4 * busiest.std() / math.sqrt(2000) + 0.003 * busiest.mean()
    mean, stderr = simulate_max_load(2000, 8, 64, 8, trials=300, seed=3)
    assert abs(routing.expected_max_load(2000, 8, 64, 8) - mean) <= 4 * stderr + 0.003 * mean


@pytest.mark.parametrize(("top_k", "experts", "ep"), [(2, 8, 1), (8, 8, 4), (8, 256, 1), (1, 1, 1)])
def test_balanced_cases_are_the_mean(top_k, experts, ep):
    t = np.array([0.0, 0.5, 1.0, 7.0, 1e6])
    np.testing.assert_allclose(routing.expected_max_load(t, top_k, experts, ep), t * top_k / ep, rtol=1e-12)
    np.testing.assert_allclose(routing.max_load_factor(t, top_k, experts, ep), 1.0, rtol=1e-12)


def test_factor_limits():
    assert routing.max_load_factor(1, 1, 64, 8) == pytest.approx(8.0)       # one token: all on one rank
    for experts, ep, top_k in SHAPES:
        f = routing.max_load_factor(np.array([1.0, 1e3, 1e6]), top_k, experts, ep)
        assert np.all(f >= 1.0) and f[0] > f[1] > f[2]
        assert f[2] < 1.05                                             # → 1 as the batch grows


def test_fractional_and_array_tokens():
    args = (8, 256, 32)
    one, two = routing.expected_max_load(1, *args), routing.expected_max_load(2, *args)
    assert routing.expected_max_load(0.0, *args) == 0.0
    assert routing.expected_max_load(0.25, *args) == pytest.approx(0.25 * one)
    assert routing.expected_max_load(1.5, *args) == pytest.approx((one + two) / 2)
    grid = np.array([[0.0, 1.0, 2.5], [100.0, 5000.0, 1e6]])
    loads = routing.expected_max_load(grid, *args)
    assert isinstance(loads, np.ndarray) and loads.shape == grid.shape
    assert loads.tolist() == [[routing.expected_max_load(float(t), *args) for t in row] for row in grid]
    factors = routing.max_load_factor(grid, *args)
    assert factors.shape == grid.shape and isinstance(routing.max_load_factor(3, *args), float)


@pytest.mark.parametrize(("experts", "ep", "top_k"), SHAPES)
def test_monotone_across_the_switch(experts, ep, top_k):
    """Around T·k = 8192, where the exact model hands over to the normal limit."""
    switch = 8192 // top_k
    t = np.concatenate([np.arange(switch - 3, switch + 4, 0.5), [2 * switch, 10 * switch, 1e6, 1e7]])
    loads = routing.expected_max_load(t, top_k, experts, ep)
    factors = routing.max_load_factor(t, top_k, experts, ep)
    assert np.all(np.diff(loads) >= 0) and np.all(np.diff(factors) <= 1e-12)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SHAPES), st.floats(0, 300), st.floats(0, 300))
def test_load_non_decreasing_factor_non_increasing(shape, a, b):
    experts, ep, top_k = shape
    lo, hi = sorted((a, b))
    assert routing.expected_max_load(lo, top_k, experts, ep) <= routing.expected_max_load(hi, top_k, experts, ep) + 1e-9
    assert routing.max_load_factor(lo, top_k, experts, ep) >= routing.max_load_factor(hi, top_k, experts, ep) - 1e-9
    assert routing.max_load_factor(hi, top_k, experts, ep) >= 1.0 - 1e-12


@pytest.mark.parametrize("args", [(-1, 2, 8, 2), (float("nan"), 2, 8, 2), (1, 0, 8, 2), (1, 9, 8, 2),
                                  (1, 2, 8, 3), (1, 2, 8, 0), (np.array([1.0, -2.0]), 2, 8, 2)])
def test_bad_input_names_the_value(args):
    with pytest.raises(ValueError, match="must"):
        routing.expected_max_load(*args)


# --- expected_distinct_ranks, expected_distinct_nodes -----------------------------------------------

def test_distinct_ranks_by_hand():
    assert routing.expected_distinct_ranks(2, 4, 2) == pytest.approx(5 / 3)        # 2·(1 − 1/6)
    assert routing.expected_distinct_ranks(1, 64, 8) == pytest.approx(1.0)         # one expert, one rank
    assert routing.expected_distinct_ranks(8, 256, 1) == 1.0
    assert routing.expected_distinct_ranks(8, 256, 256) == pytest.approx(8.0)      # one expert per rank
    assert routing.expected_distinct_ranks(5, 8, 2) == 2.0                         # k > E/ep: both ranks, surely
    assert routing.expected_distinct_ranks(8, 8, 4) == 4.0                         # k = E
    # E=6, ep=3, k=2: both on one rank in 3 of C(6,2) = 15 pairs → 1·3/15 + 2·12/15 = 1.8.
    assert routing.expected_distinct_ranks(2, 6, 3) == pytest.approx(1.8)


def simulate_distinct(top_k: int, experts: int, group_of_expert: np.ndarray, trials: int = 20_000) -> float:
    picks = sample_experts(np.random.default_rng(11), trials, top_k, experts)
    groups = np.sort(group_of_expert[picks], axis=1)
    return float(np.mean(1 + np.sum(np.diff(groups, axis=1) != 0, axis=1)))


@pytest.mark.parametrize(("experts", "ep", "top_k"), SHAPES)
def test_distinct_ranks_against_simulation(experts, ep, top_k):
    """20,000 tokens: the standard error of the mean is below 0.01 ranks, so 2 % holds with margin."""
    rank = np.arange(experts) // (experts // ep)
    assert routing.expected_distinct_ranks(top_k, experts, ep) == pytest.approx(
        simulate_distinct(top_k, experts, rank), rel=0.02)


@pytest.mark.parametrize(("experts", "ep", "top_k", "per_node"),
                         [(256, 64, 8, 8), (256, 32, 8, 8), (64, 16, 4, 4), (64, 16, 6, 3), (16, 8, 2, 8)])
def test_distinct_nodes_against_simulation(experts, ep, top_k, per_node):
    node = np.arange(experts) // (experts // ep) // per_node
    assert routing.expected_distinct_nodes(top_k, experts, ep, per_node) == pytest.approx(
        simulate_distinct(top_k, experts, node), rel=0.02)


def test_distinct_nodes_edges():
    assert routing.expected_distinct_nodes(8, 256, 8, 8) == 1.0                    # one node
    assert routing.expected_distinct_nodes(8, 256, 4, 8) == 1.0                    # ep smaller than a node
    assert routing.expected_distinct_nodes(8, 256, 64, 1) == pytest.approx(routing.expected_distinct_ranks(8, 256, 64))
    # 8 experts on 4 ranks in nodes of 3 ranks: nodes hold 6 and 2 experts; k = 2:
    # 1 − C(2,2)/C(8,2) + 1 − C(6,2)/C(8,2) = 2 − 16/28.
    assert routing.expected_distinct_nodes(2, 8, 4, 3) == pytest.approx(2 - 16 / 28)
    eight_nodes = 8 * (1 - math.comb(224, 8) / math.comb(256, 8))                # 32 experts a node
    assert routing.expected_distinct_nodes(8, 256, 64, 8) == pytest.approx(eight_nodes)
    with pytest.raises(ValueError, match="ranks_per_node"):
        routing.expected_distinct_nodes(2, 8, 4, 0)


def test_the_shipped_large_t_table_is_what_the_model_computes():
    """`dagc.layout.routing_data.ROUTING_TABLE`: every row is `large_t_coefficients` recomputed (to the rounding of
    the FFTs, should another machine's differ in a last bit), it covers every EP size of the
    built-in models' routings, and a routing that is not in it is computed."""
    table = routing._routing_table()
    assert {(8, 256), (8, 128), (2, 8)} <= {(k, e) for k, e, _ in table}
    assert all((8, 256, ep) in table for ep in (2, 4, 8, 16, 32, 64, 128))
    for (top_k, experts, ep), (switch, a, b) in table.items():
        want = routing.large_t_coefficients(top_k, experts, ep)
        assert switch == want[0]
        assert a == pytest.approx(want[1], rel=1e-12, abs=1e-300) and b == pytest.approx(want[2], rel=1e-12, abs=1e-300)
    assert (3, 12, 4) not in table
    assert routing._large_t_coefficients(3, 12, 4) == routing.large_t_coefficients(3, 12, 4)


def test_the_table_is_the_one_the_generator_writes():
    """bench/make_routing_table.py would write the table that is shipped (no routing missed, none stale)."""
    from test_routing_exact import generator  # bench/make_routing_table.py, loaded as a module
    rows = {(r["top_k"], r["experts"], r["ep"]): r for r in generator().rows()}
    table = routing._routing_table()
    assert set(rows) == set(table)
    for key, r in rows.items():
        assert (r["switch"], float.fromhex(r["a"]), float.fromhex(r["b"])) == pytest.approx(table[key], rel=1e-12)
