"""Routing statistics (SPEC 3.3 `routing = random`, SPEC 6.5 dispatch).

Input: a token count, top_k, the routed experts and the EP size (and, for nodes, the EP ranks per
node). Output: the expected load of the busiest EP rank when tokens pick their top-k experts at
random (`expected_max_load`, `max_load_factor`, and `busiest_rank_factor`, which also reads a
written imbalance), and the expected distinct EP ranks and nodes a token is sent to
(`expected_distinct_ranks`, `expected_distinct_nodes`). The large-T coefficients of the built-in
models' routings are read from `dagc/data/routing_large_t.json` (`routing_data.ROUTING_TABLE`), and so
are the exact model's values up to T_switch (`dagc/data/routing_exact.json`, `routing_data.EXACT_TABLE`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from ..plan.workload import ExpertLoad
from .eplb import ExpertSplit, measured_factor
from .routing_data import exact_table_value, routing_table as _routing_table
from .shards import Tokens

__all__ = ["busiest_rank_factor", "expected_max_load", "max_load_factor", "expected_distinct_ranks",
           "expected_distinct_nodes", "routing_slots"]

# T tokens each pick top_k distinct experts uniformly among E; the E experts sit E/ep per EP rank.
# A rank's load is the token-expert assignments landing on its experts.
#
# The expected maximum load is computed from a model that is exact in three cases — one token
# (any k), top-1 routing (any T: the multinomial) and k = E — and within a few tenths of a percent
# of simulation elsewhere, 1.3 % at worst at two tokens (tests/test_routing_math.py): the loads are
# taken as independent copies of one distribution conditioned on their sum being T·k. For top-1
# that distribution is Poisson(T/ep), which makes it the multinomial exactly. For top-k it is
# Binomial(N, q), N = (T·k − f)(E − 1)/(ep·(k − 1)) with f = (E − k)/(E − 1) (the without-
# replacement correction), chosen so that the conditioned loads have the true variance
# T·k·(1/ep)(1 − 1/ep)·f; at T = 1, N = E/ep and the model is the multivariate hypergeometric.
# P(max ≤ a) is then a ratio of two coefficients of an ep-th polynomial power (one FFT), and
# E[max] = Σ_a (1 − P(max ≤ a)).
#
# Past T·k = _EXACT_ASSIGNMENTS the FFT grows with T, and the normal limit takes over:
# factor = 1 + A/√T + B/T, where A/√T is σ·E[max of ep standard normals]/mean and B/T the skewness
# (Cornish–Fisher) term. A is refitted so that the factor is continuous at the switch, which keeps
# the load non-decreasing and the factor non-increasing in T across it.

_EXACT_ASSIGNMENTS = 8192   # T·k up to which the conditioned model is evaluated (one T: up to ~0.5 s)
_TAIL_SIGMAS = 14.0         # loads beyond mean ± this many σ are dropped (probability < 1e-40)


def _check_routing(top_k: int, experts: int, ep: int) -> None:
    if experts < 1:
        raise ValueError(f"experts must be at least 1, got {experts}")
    if ep < 1 or experts % ep:
        raise ValueError(f"ep must be a positive divisor of experts ({experts}), got {ep}")
    if not 1 <= top_k <= experts:
        raise ValueError(f"top_k must be between 1 and experts ({experts}), got {top_k}")


def routing_slots(experts: int, redundant: int, ep: int) -> int:
    """The equally likely places a token's top-k picks land on under random routing, spread evenly
    over `ep` ranks: the routed experts when ep divides them (the redundant slots, if any, copy
    experts nothing says are hot: they change no rank's expected share), else the experts and the
    `redundant` slots together — an EP group that only the slots split evenly (EP72 over 256 + 32,
    as EPLB deployments run it) holds (experts + redundant)/ep slots a rank, each taken as likely as
    any other: with no loads measured, nothing says which experts the slots copy.

    Example:
        >>> routing_slots(256, 32, 32), routing_slots(256, 32, 72), routing_slots(256, 0, 8)
        (256, 288, 256)
    """
    return experts if ep >= 1 and experts % ep == 0 else experts + redundant


def _balanced(top_k: int, experts: int, ep: int) -> bool:
    """Every rank always gets exactly the mean: one rank, or every token picks every expert."""
    return ep == 1 or top_k == experts


@functools.lru_cache(maxsize=64)
def _normal_max_moments(n: int) -> tuple[float, float]:
    """(E[Z_max], E[Z_max²]) of the maximum of n independent standard normals (quadrature)."""
    z, cdf, pdf = _standard_normal_grid()
    density = n * pdf * cdf ** (n - 1)
    dz = z[1] - z[0]
    return float(np.sum(z * density) * dz), float(np.sum(z * z * density) * dz)


@functools.lru_cache(maxsize=1)
def _standard_normal_grid() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The quadrature grid of `_normal_max_moments` with the standard normal's cdf and pdf on it: the
    same for every n (24,001 erf values, made once)."""
    z = np.linspace(-12.0, 12.0, 24001)
    cdf = 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    for a in (z, cdf, pdf):
        a.flags.writeable = False
    return z, cdf, pdf


def _log_weights(tokens: int, top_k: int, experts: int, ep: int,
                 loads: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Log-probabilities of `loads` under the per-rank distribution of the conditioned model."""
    mean = tokens * top_k / ep
    lgamma = np.vectorize(math.lgamma)
    log_p: npt.NDArray[np.float64]
    if top_k == 1:
        log_p = loads * math.log(mean) - mean - lgamma(loads + 1.0)
        return log_p
    f = (experts - top_k) / (experts - 1)
    n = (tokens * top_k - f) * (experts - 1) / (ep * (top_k - 1))
    q = mean / n
    log_p = (math.lgamma(n + 1.0) - lgamma(loads + 1.0) - lgamma(n - loads + 1.0)
             + loads * math.log(q) + (n - loads) * math.log1p(-q))
    return log_p


@functools.lru_cache(maxsize=4096)
def _max_load_exact(tokens: int, top_k: int, experts: int, ep: int) -> float:
    """`max_load_exact`, read from `EXACT_TABLE` when it holds it (the built-in models' routings, every
    token count up to T_switch), else computed."""
    kept = exact_table_value(tokens, top_k, experts, ep)
    return kept if kept is not None else max_load_exact(tokens, top_k, experts, ep)


def max_load_exact(tokens: int, top_k: int, experts: int, ep: int) -> float:
    """E[max load] of the conditioned model for an integer token count ≥ 1 (see the notes above),
    computed: a few milliseconds near T_switch."""
    mean = tokens * top_k / ep
    if _balanced(top_k, experts, ep):
        return mean
    sigma = math.sqrt(tokens * top_k * (experts - top_k) / (experts - 1) / ep)
    lo = max(0, math.floor(mean - _TAIL_SIGMAS * sigma) - 2)
    # A rank holds E/ep experts and a token hits each at most once: no load exceeds T·min(k, E/ep).
    hi = min(tokens * min(top_k, experts // ep), math.ceil(mean + _TAIL_SIGMAS * sigma) + 4)
    loads = np.arange(lo, hi + 1, dtype=float)
    weights = np.exp(_log_weights(tokens, top_k, experts, ep, loads))
    first = math.ceil(mean - 1e-9)              # the loads sum to T·k, so max ≥ the mean
    caps = np.arange(first, hi)                 # a with P(max ≤ a) < 1
    # The coefficient wanted, of the ep-th power (degree ep·(hi − lo)), is at `target`. A cyclic
    # transform of `size` sums the coefficients congruent to it; with size > target and
    # size > degree − target, that is the coefficient alone (exact), in about half the transform
    # a size above the degree needs. Of the inverse transform only that coefficient is needed:
    # irfft(Y, size)[target] = Re(Y · pick), one product instead of a transform per row.
    target = tokens * top_k - ep * lo
    size = _fft_size(max(target, ep * (hi - lo) - target) + 1)
    j = np.arange(size // 2 + 1)
    angle = 2.0 * np.pi * ((j * target) % size) / size
    scale = np.where((j == 0) | (2 * j == size), 1.0, 2.0) / size   # the terms irfft counts once, or twice
    pick_re, pick_im = scale * np.cos(angle), scale * np.sin(angle)

    def coefficients(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        y = _power(np.fft.rfft(rows, size, axis=1), ep)
        # numpy's own sums, not a BLAS product: the same additions in the same order on every machine
        coefficient: npt.NDArray[np.float64] = (y.real * pick_re).sum(axis=1) - (y.imag * pick_im).sum(axis=1)
        return coefficient

    # The rows are transformed a few hundred kilobytes at a time: arrays of tens of megabytes cost
    # more to allocate than to transform. 1 − P(max ≤ a) falls as a grows; once it is below
    # `_MAX_LOAD_TAIL` the caps left add less than the rounding of the sum, and are not transformed.
    step = max(8, _FFT_CHUNK_VALUES // size)
    whole = coefficients(weights[None, :])[0]
    excess = 0.0
    for i in range(0, len(caps), step):
        above = 1.0 - np.clip(coefficients(weights * (loads <= caps[i:i + step, None])) / whole, 0.0, 1.0)
        excess += float(np.sum(above))
        if above[-1] <= _MAX_LOAD_TAIL:
            break
    return first + excess


_MAX_LOAD_TAIL = 1e-17          # 1 − P(max ≤ a) below which the rest of E[max]'s sum is dropped
_FFT_CHUNK_VALUES = 1 << 16     # transform lengths × rows per batch of `_max_load_exact`


def _fft_size(n: int) -> int:
    """The smallest 2^a·3^b·5^c ≥ n: a length the FFT transforms fast."""
    best = 1 << (n - 1).bit_length()
    fives = 1
    while fives < best:
        size = fives
        while size < best:
            m = size
            while m < n:
                m *= 2
            best = min(best, m)
            size *= 3
        fives *= 5
    return best


def _power(z: npt.NDArray[np.complex128], e: int) -> npt.NDArray[np.complex128]:
    """z**e for a whole e ≥ 1, elementwise, by repeated squaring (complex `**` takes a logarithm
    and an exponential per element)."""
    out = None
    while True:
        if e & 1:
            out = z if out is None else out * z
        e >>= 1
        if not e:
            assert out is not None
            return out
        z = z * z


def _switch_tokens(top_k: int) -> int:
    """The token count from which the normal limit replaces the exact model."""
    return max(1, _EXACT_ASSIGNMENTS // top_k)


@functools.lru_cache(maxsize=1024)
def _large_t_coefficients(top_k: int, experts: int, ep: int) -> tuple[int, float, float]:
    """(T_switch, A, B): for T ≥ T_switch the factor is 1 + A/√T + B/T, equal to the exact model at
    T_switch, with A ≥ 0 and B ≥ 0 (so the load is non-decreasing and the factor non-increasing).
    Read from `routing_data.ROUTING_TABLE` when it holds them (the built-in models' routings), else computed."""
    kept = _routing_table().get((top_k, experts, ep))
    return kept if kept is not None else large_t_coefficients(top_k, experts, ep)


def large_t_coefficients(top_k: int, experts: int, ep: int) -> tuple[int, float, float]:
    """`_large_t_coefficients` computed: the exact model at T_switch (tens of milliseconds for a
    top-8 routing over hundreds of experts, each EP size)."""
    switch = _switch_tokens(top_k)
    q = (top_k - 1) / (experts - 1)
    _, z2 = _normal_max_moments(ep)
    # s·γ of the per-rank binomial is 1 − 2q; a negative skew term (k > E/2) is < 1e-4 there: dropped.
    b = max(0.0, (1.0 - 2.0 * q) * (z2 - 1.0) * ep / (6.0 * top_k))
    excess = max_load_exact(switch, top_k, experts, ep) / (switch * top_k / ep) - 1.0
    a = (excess - b / switch) * math.sqrt(switch)
    if a < 0.0:
        a, b = 0.0, excess * switch
    return switch, a, b


def _max_load_scalar(tokens: float, top_k: int, experts: int, ep: int) -> float:
    if _balanced(top_k, experts, ep):
        return tokens * top_k / ep
    if tokens >= _switch_tokens(top_k):
        switch, a, b = _large_t_coefficients(top_k, experts, ep)
        return tokens * top_k / ep * (1.0 + a / math.sqrt(tokens) + b / tokens)
    if tokens <= 1.0:   # 0 tokens load nothing; a fraction of one token loads that fraction
        return tokens * _max_load_exact(1, top_k, experts, ep)
    low = math.floor(tokens)
    frac = tokens - low
    value = _max_load_exact(low, top_k, experts, ep)
    if frac:
        value += frac * (_max_load_exact(low + 1, top_k, experts, ep) - value)
    return value


def expected_max_load(tokens: Tokens, top_k: int, experts: int, ep: int) -> Tokens:
    """Expected load of the busiest of `ep` EP ranks (SPEC 3.3 `routing = random`).

    `tokens` tokens each pick `top_k` distinct experts uniformly among `experts`, which sit
    experts/ep per rank; a rank's load is the token-expert assignments on its experts, and the mean
    load is tokens·top_k/ep. Exact for one token, for top-1 routing (below T·k = 8192) and for
    ep = 1 or top_k = experts; elsewhere within a few tenths of a percent of simulation, 1.3 % at
    worst at two tokens (see the notes above the function). Non-decreasing in `tokens`; fractional
    counts interpolate linearly between whole ones (and from 0 at 0 tokens).

    Args:
        tokens: tokens routed together (T ≥ 0), a float or a numpy array.
        top_k: experts per token.
        experts: routed experts E.
        ep: expert-parallel ranks; must divide `experts`.

    Returns:
        The expected maximum load, of the shape of `tokens`.

    Raises:
        ValueError: a negative or non-finite token count, or inconsistent top_k, experts, ep.

    Example:
        >>> round(expected_max_load(1, 2, 4, 2), 6)   # both experts on one rank with p = 1/3
        1.333333
        >>> expected_max_load(np.array([0.0, 1.0, 10.0]), 1, 8, 1).tolist()
        [0.0, 1.0, 10.0]
    """
    _check_routing(top_k, experts, ep)
    t = np.asarray(tokens, dtype=float)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"tokens must be finite and non-negative, got {tokens}")
    out: npt.NDArray[np.float64] = np.vectorize(lambda x: _max_load_scalar(float(x), top_k, experts, ep),
                                                otypes=[float])(t)
    return out if isinstance(tokens, np.ndarray) else float(out)


def max_load_factor(tokens: Tokens, top_k: int, experts: int, ep: int) -> Tokens:
    """Expected busiest-rank load over the mean load tokens·top_k/ep: ≥ 1, non-increasing in
    `tokens`, → 1 as tokens grow, exactly 1 when ep = 1 or top_k = experts. Below one token it is
    the one-token value (the load scales with the fraction).

    Args and Raises: as `expected_max_load`.

    Example:
        >>> round(max_load_factor(1, 1, 64, 8), 6), max_load_factor(1000, 2, 8, 1)
        (8.0, 1.0)
        >>> bool(max_load_factor(1e6, 8, 256, 64) < 1.02)
        True
    """
    t = np.maximum(np.asarray(tokens, dtype=float), 1.0)
    factor: npt.NDArray[np.float64] = expected_max_load(t, top_k, experts, ep) / (t * top_k / ep)
    return factor if isinstance(tokens, np.ndarray) else float(factor)


def _ranks_hit(top_k: int, experts: int, held: npt.NDArray[np.int64]) -> float:
    """Expected number of groups hit, a group holding `held[i]` experts: Σ 1 − C(E − e_i, k)/C(E, k)."""
    miss = np.array([math.comb(experts - e, top_k) / math.comb(experts, top_k) for e in held.tolist()])
    return float(np.sum(1.0 - miss))


@functools.lru_cache(maxsize=4096)
def expected_distinct_ranks(top_k: int, experts: int, ep: int) -> float:
    """Expected distinct EP ranks holding at least one of a token's top_k (distinct, uniform)
    experts, experts/ep per rank: ep·(1 − C(E − E/ep, k)/C(E, k)) (SPEC 6.5: a token is sent
    once to each such rank). Exact; 1 when ep = 1, min(k, ep) when a rank holds one expert.

    Example:
        >>> round(expected_distinct_ranks(2, 4, 2), 6)   # 2·(1 − C(2,2)/C(4,2)) = 5/3
        1.666667
        >>> expected_distinct_ranks(8, 256, 1), expected_distinct_ranks(8, 256, 256)
        (1.0, 8.0)
    """
    _check_routing(top_k, experts, ep)
    return _ranks_hit(top_k, experts, np.full(ep, experts // ep))


@functools.lru_cache(maxsize=4096)
def expected_distinct_nodes(top_k: int, experts: int, ep: int, ranks_per_node: int) -> float:
    """Expected distinct nodes holding at least one of a token's top_k experts, nodes being groups
    of `ranks_per_node` consecutive EP ranks (the last one smaller when it does not divide ep):
    Σ over nodes of 1 − C(E − e_node, k)/C(E, k). Exact; 1 when the EP group fits on one node.

    Example:
        >>> round(expected_distinct_nodes(8, 256, 64, 8), 4)   # 8 nodes of 32 experts
        5.2947
        >>> expected_distinct_nodes(8, 256, 8, 8)
        1.0
    """
    _check_routing(top_k, experts, ep)
    if ranks_per_node < 1:
        raise ValueError(f"ranks_per_node must be at least 1, got {ranks_per_node}")
    full, rest = divmod(ep, ranks_per_node)
    ranks = [ranks_per_node] * full + ([rest] if rest else [])
    return _ranks_hit(top_k, experts, np.array(ranks) * (experts // ep))


def busiest_rank_factor(routing: float | ExpertLoad | None, tokens: float, top_k: int, split: ExpertSplit) -> float:
    """The busiest EP rank's token-expert assignments over the mean, for `tokens` distinct tokens
    entering an EP group of `ep` ranks (`split`: the experts over it; `routing`: `Workload.routing`): the
    written imbalance (`routing = uniform` is 1.0, `imbalance X` is X, at most ep), or with `routing =
    random` (None) the expected maximum of the random assignment (`max_load_factor`), looked up once per
    whole token count. With measured loads (`routing from "…"`), the larger of their placement's busiest rank
    (`dagc.layout.eplb.measured_factor`: with `eplb`, EPLB's over `redundant` extra slots, the EP group
    spanning `nodes` nodes, the model's expert `groups`; else the contiguous one) and the random
    assignment's: the measured skew does not take away the randomness of a few tokens.

    Random routing over `redundant` extra slots that do not leave whole experts per rank is taken as
    routing over experts + redundant equally loaded slots (`routing_slots`): with no loads measured,
    nothing says which experts the slots copy.

    Example:
        >>> busiest_rank_factor(1.3, 100, 2, ExpertSplit(8, 4)), busiest_rank_factor(None, 1, 1, ExpertSplit(64, 8))
        (1.3, 8.0)
    """
    experts, ep, redundant, nodes, eplb, groups = (split.experts, split.ep, split.redundant, split.nodes,
                                                   split.eplb, split.groups)
    if ep <= 1:
        return 1.0
    if (experts + redundant) % ep or not 1 <= top_k <= experts:
        return 1.0          # not a legal expert split (E301): the rules say so, no statistics apply
    if routing is not None and not isinstance(routing, ExpertLoad):
        return min(routing, float(ep))
    random = _random_factor(max(1, round(tokens)), top_k, routing_slots(experts, redundant, ep), ep)
    if routing is None:
        return random
    return max(random, measured_factor(routing, ep, redundant, nodes, eplb, groups))


@functools.lru_cache(maxsize=65_536)
def _random_factor(tokens: int, top_k: int, experts: int, ep: int) -> float:
    return float(max_load_factor(tokens, top_k, experts, ep))
