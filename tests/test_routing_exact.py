"""The exact model's shipped values (dagc.layout.routing_data.EXACT_TABLE) against the model computed.

`routing._max_load_exact` reads the table for the built-in models' routings and computes every other one;
either way its figure must be the very bits the computation gave before the table existed, kept here as
`reference_max_load_exact` (the function as it was, line for line).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dagc.layout import routing, routing_data


def reference_max_load_exact(tokens: int, top_k: int, experts: int, ep: int) -> float:
    """`dagc.layout.routing._max_load_exact` before the table: E[max load] of the conditioned model."""
    mean = tokens * top_k / ep
    if routing._balanced(top_k, experts, ep):
        return mean
    sigma = math.sqrt(tokens * top_k * (experts - top_k) / (experts - 1) / ep)
    lo = max(0, math.floor(mean - routing._TAIL_SIGMAS * sigma) - 2)
    hi = min(tokens * min(top_k, experts // ep), math.ceil(mean + routing._TAIL_SIGMAS * sigma) + 4)
    loads = np.arange(lo, hi + 1, dtype=float)
    weights = np.exp(routing._log_weights(tokens, top_k, experts, ep, loads))
    first = math.ceil(mean - 1e-9)
    caps = np.arange(first, hi)
    target = tokens * top_k - ep * lo
    size = routing._fft_size(max(target, ep * (hi - lo) - target) + 1)
    j = np.arange(size // 2 + 1)
    angle = 2.0 * np.pi * ((j * target) % size) / size
    scale = np.where((j == 0) | (2 * j == size), 1.0, 2.0) / size
    pick_re, pick_im = scale * np.cos(angle), scale * np.sin(angle)

    def coefficients(rows):
        y = routing._power(np.fft.rfft(rows, size, axis=1), ep)
        return (y.real * pick_re).sum(axis=1) - (y.imag * pick_im).sum(axis=1)

    step = max(8, (1 << 16) // size)
    whole = coefficients(weights[None, :])[0]
    excess = 0.0
    for i in range(0, len(caps), step):
        above = 1.0 - np.clip(coefficients(weights * (loads <= caps[i:i + step, None])) / whole, 0.0, 1.0)
        excess += float(np.sum(above))
        if above[-1] <= 1e-17:
            break
    return first + excess


def generator():
    path = Path(__file__).resolve().parent.parent / "bench" / "make_routing_table.py"
    spec = importlib.util.spec_from_file_location("make_routing_table", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SPLITS = sorted(routing_data.exact_table())


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SPLITS), st.floats(0.0, 1.0))
def test_the_shipped_values_are_the_bits_the_model_computes(split, at):
    top_k, experts, ep = split
    count = len(routing_data.exact_table()[split])
    tokens = 1 + round(at * (count - 1))
    want = reference_max_load_exact(tokens, top_k, experts, ep)
    # the table's bits are the FFT's of the machine that wrote it: another CPU or numpy may differ in a last bit
    # (2026-11-29, an AMD EPYC: 284.7646260102667 computed, 284.76462601026674 shipped, at 513 tokens of
    # (8, 256, 16)), and the table then still gives every machine the same figures — the bits dagc reads
    assert routing._max_load_exact.__wrapped__(tokens, top_k, experts, ep) == pytest.approx(want, rel=1e-12)
    assert routing_data.exact_table_value(tokens, top_k, experts, ep) == pytest.approx(want, rel=1e-12)
    assert routing.max_load_exact(tokens, top_k, experts, ep) == pytest.approx(want, rel=1e-12)
    assert routing._max_load_exact.__wrapped__(tokens, top_k, experts, ep) == routing_data.exact_table_value(
        tokens, top_k, experts, ep)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 600), st.integers(1, 8), st.sampled_from([(12, 4), (24, 6), (48, 12), (96, 3), (200, 8)]))
def test_a_routing_not_shipped_is_computed_as_before(tokens, top_k, shape):
    experts, ep = shape
    assert (top_k, experts, ep) not in routing_data.exact_table()
    want = reference_max_load_exact(tokens, top_k, experts, ep)
    assert routing._max_load_exact.__wrapped__(tokens, top_k, experts, ep) == want
    assert routing.max_load_exact(tokens, top_k, experts, ep) == want


def test_the_table_covers_every_split_up_to_its_switch():
    """Every split the generator knows, every token count from 1 to T_switch; none beyond, none missing."""
    table = routing_data.exact_table()
    assert set(table) == set(generator().splits()) == set(routing._routing_table())
    for (top_k, experts, ep), values in table.items():
        assert len(values) == routing._switch_tokens(top_k) == routing._routing_table()[(top_k, experts, ep)][0]
        assert np.all(np.diff(values) >= 0.0)           # the load is non-decreasing in T
    assert routing_data.exact_table_value(0, 8, 256, 8) is None
    assert routing_data.exact_table_value(routing._switch_tokens(8) + 1, 8, 256, 8) is None
    assert routing_data.exact_table_value(5, 3, 12, 4) is None
