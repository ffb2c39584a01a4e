"""The step-time surrogate (`dagc.serve.surrogate`): exact at its grid points, monotone along its axes,
and within 3 % of exact pricing off the grid (the largest error measured over these 40 seeded points per
strategy is 1.8 % on vLLM, 1.9 % on the plain reference, docs/load.md), across each engine's CUDA graphs too."""

from __future__ import annotations

import numpy as np
import pytest

from dagc.lang.load import load_plan_text
from dagc.layout.mix import shares
from dagc.serve.step_prices import StepPrices
from dagc.serve.surrogate import StepSurface, surface_for
from dagc.verdict.check import check
from conftest import cache_by_arguments

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h200"  engine = {engine} }}
workload {{ batch = 64  prompt = 4000  generate = 500  serving = inflight  chunk = 8192 }}
strategy {strategy}
"""
BOUND = 0.03


@cache_by_arguments
def _surface(strategy: str, engine: str = "vllm", batch: int = 64) -> tuple[StepSurface, StepPrices, int]:
    """The plan's check, its step prices and surface, made once in this module for each strategy, engine and
    batch (`_surface("tp 8")` and `_surface("tp 8", "vllm")` are one) and read by every test of it (the prices
    remember what they priced; a price is the same figure asked first or again, and the surface built afresh
    from them is the last test's own)."""
    plan = load_plan_text(PLAN.format(strategy=strategy, engine=engine).replace("batch = 64", f"batch = {batch}"))
    r = check(plan)[0]
    w, lay = plan.workload, r.layout
    prices = StepPrices(plan, r.strategy, lay)
    most = w.batch // lay.dp
    surface = StepSurface(prices, most, lay.adp, w.chunk_tokens, w.prompt, shares(w, lay).chunk_prompt_tokens)
    return surface, prices, most


@pytest.mark.parametrize("strategy", ["tp 8", "dp 8", "tp 1 ; ep 8"])
def test_the_surrogate_is_within_its_bound_of_exact_pricing(strategy):
    surface, prices, most = _surface(strategy)
    rng = np.random.default_rng(1)
    worst = 0.0
    for _ in range(40):
        n = int(rng.integers(1, most + 1))
        p = 0 if rng.random() < 0.5 else int(np.exp(rng.uniform(np.log(16), np.log(8000))))
        ell = int(np.exp(rng.uniform(np.log(500), np.log(16000))))
        worst = max(worst, abs(surface.time(n, p, ell) / prices.step(n, p, ell) - 1))
    assert worst <= BOUND, worst


@pytest.mark.parametrize("strategy", ["tp 8", "tp 1 ; ep 8"])
def test_the_surrogate_is_exact_on_its_grid_and_monotone(strategy):
    """At grid points the surrogate is the exact price — a decode step at each count of requests of its
    grid (the captured sizes' among them), an eager mixed step at each of the geometric one — and along each
    axis it grows (as the prices do)."""
    surface, prices, _ = _surface(strategy)
    ell = 4000
    # past vLLM's sizes 8, 16 and 32 on one rank (tp 8), or 1, 2 and 4 on each of 8 attention-DP ranks (ep 8)
    assert {9, 17, 33} <= set(surface.n_grid) - set(surface.n_eager)
    for n in surface.n_grid:
        assert surface.time(n, 0, ell) == prices.step(n, 0, ell)
    for n in surface.n_eager:
        assert prices.mixed_eager(n, 4000) and surface.time(n, 4000, ell) == prices.step(n, 4000, ell)
    both = sorted(set(surface.n_grid) & set(surface.n_eager))
    grid = {(n, p): surface.time(n, p, ell) for n in both[::3] + [both[-1]]
            for p in surface.p_grid[::3] + [4000]}
    for (n, p), t in grid.items():
        assert t == prices.step(n, p, ell)
    ns = sorted({n for n, _ in grid})
    ps = sorted({p for _, p in grid})
    # the exact prices themselves dip by up to 1.6 % along the requests where a step carries more prompt
    # tokens than its prefix (extrapolated from one prompt, `StepPrices.mixed`): monotone within 2 %
    for n in ns:
        _monotone([grid[n, p] for p in ps])
    for p in ps:
        _monotone([grid[n, p] for n in ns])
    _monotone([surface.time(32, 1000, x) for x in (1000, 2000, 2828, 4000, 5000, 8000)])


@pytest.mark.parametrize("engine", ["vllm", "sglang", "trtllm", "pytorch"])
def test_the_surrogate_is_within_its_bound_at_every_batch_across_the_engines_graphs(engine):
    """The step is a step function of the batch under an engine's CUDA graphs (a decode step padded to the
    next captured size, or eager between sizes or above the largest; vLLM's mixed steps graphed up to 512
    tokens, eager above): at every batch 1..64, as a decode step and beside chunks that put the busiest
    rank's tokens right at and just above each captured size and vLLM's eager boundary (512), the surrogate
    is within its bound of exact pricing. Where the engine runs every mixed step eagerly (SGLang, TensorRT-LLM,
    the plain reference) a mixed step has no jump at a size, nor along the batch: the chunks at the sizes are
    tried at every fourth batch (1, 5, …, 61; until 2026-12-02 at every batch, 6,000 exact prices on SGLang, 7 CPU
    s), the decode step and the other chunks at every batch. Priced as if SGLang graphed its mixed steps, the
    surrogate is 152 % off at 1 request beside 511 prompt tokens (4 % at the other chunks alone)."""
    surface, prices, most = _surface("tp 8", engine)
    terms = prices.plan.cluster.engine.terms
    sizes = terms.graph_sizes
    assert most == 64 and prices.adp == 1 and prices.plan.workload.step_positions == 1
    assert terms.mixed_graphs == (engine == "vllm")
    worst, at = 0.0, None
    for n in range(1, most + 1):
        # tokens on the busiest rank: n + p; at and just above each size from n + 1 up to 513, and a prompt
        near = {s + k - n for s in (*sizes, 512) for k in (0, 1) if n < s + k <= 513} \
            if terms.mixed_graphs or n % 4 == 1 else set()
        for p in sorted({0, 1, 16, 700, 4000, *near}):
            err = abs(surface.time(n, p, 4000) / prices.step(n, p, 4000) - 1)
            if err > worst:
                worst, at = err, (n, p)
    assert worst <= BOUND, (worst, at)


@pytest.mark.parametrize(("engine", "largest"), [("vllm", 512), ("sglang", 512), ("trtllm", 128)])
def test_the_surrogate_is_within_its_bound_across_the_decode_steps_eager_boundary(engine, largest):
    """Above its largest captured size a decode step runs eagerly: with room for more requests than that
    (tp 8, one request a token on one rank), every batch from 8 below to 8 above it, decode and mixed."""
    surface, prices, most = _surface("tp 8", engine, batch=largest + 64)
    assert prices.plan.cluster.engine.terms.graph_sizes[-1] == largest and most == largest + 64
    worst, at = 0.0, None
    for n in range(largest - 8, largest + 9):
        for p in (0, 1, 700, 4000):
            err = abs(surface.time(n, p, 4000) / prices.step(n, p, 4000) - 1)
            if err > worst:
                worst, at = err, (n, p)
    assert worst <= BOUND, (worst, at)


def test_a_chunk_beyond_the_prompt_is_extrapolated_from_mixed_steps_run_as_it_is():
    """vLLM graphs a mixed step of up to 512 tokens and runs a longer one eagerly. A chunk of 1,000 prompt
    tokens beside 8 requests at a prefix of 400 (more than a prompt: dagc prices a chunk of one prompt) is
    eager; it is extrapolated from the eager mixed steps of a whole prompt (400) and half one (200), not
    from the graphed decode step (nor from the graphed 408- and 208-token mixed steps)."""
    _, prices, _ = _surface("tp 8", "vllm")
    assert not prices.mixed_eager(8, 400) and prices.mixed_eager(8, 1000)
    eager = prices._eager_prices()
    whole, half = eager.mixed(8, 400, 400), eager.mixed(8, 200, 400)
    assert eager is not prices and whole > prices.mixed(8, 400, 400)
    assert prices.mixed(8, 1000, 400) == pytest.approx(whole + (whole - half) * (1000 - 400) / (400 - 200), rel=1e-12)


def _monotone(along: list[float]) -> None:
    assert all(b >= a * (1 - 0.02) for a, b in zip(along, along[1:], strict=False)), along


def _trilinear(surface: StepSurface, n: int, p: int, ell: float) -> float:
    """The surrogate's sum written plainly, each corner's bracket found afresh (the module docstring's rule):
    what `StepSurface.time` gives from its corners and prefix brackets found once."""
    n0, n1, wn = surface._bracket(surface.n_grid if surface.sizes and not p else surface.n_eager, n)
    l0, l1, wl = surface._ell_bracket(round(ell))
    d = -(-n // surface.adp)
    if p and surface.mixed_graphs and p + round((d - -(-n1 // surface.adp)) * surface.q * surface.cp) < 1:
        n0, n1, wn = n, n, 0.0
    out = 0.0
    for nn, a in ((n0, 1.0 - wn), (n1, wn)):
        if a == 0.0:
            continue
        dn = -(-nn // surface.adp)
        pn = p
        if p and surface.mixed_graphs:
            held = p + round((d - dn) * surface.q * surface.cp)
            pn = held if held <= surface.chunk else p
        p0, p1, wp = surface._bracket(surface._p_grid(dn) if pn else surface.p_grid, pn)
        for pp, b in ((p0, 1.0 - wp), (p1, wp)):
            if b == 0.0:
                continue
            for ll, c in ((l0, 1.0 - wl), (l1, wl)):
                if c:
                    out += a * b * c * surface.prices.step(nn, pp, ll)
    return out


@pytest.mark.parametrize("strategy,engine", [("tp 8", "vllm"), ("tp 1 ; ep 8", "vllm"), ("dp 8", "pytorch")])
def test_the_surface_sums_its_corners_as_the_plain_rule_to_the_last_bit(strategy, engine):
    """Its corners and prefix brackets are found once and kept (a run asks for the same requests and prompt
    tokens at ever other prefixes, and every run of a strategy shares the surface, `surface_for`): the figure
    is the plain rule's, bit for bit, asked in any order and again."""
    surface, prices, most = _surface(strategy, engine)
    rng = np.random.default_rng(7)
    points = [(int(rng.integers(1, most + 1)), 0 if rng.random() < 0.4 else int(rng.integers(1, 8192)),
               float(rng.uniform(200, 9000))) for _ in range(120)]
    points += [(n, p, ell * 1.37) for n, p, ell in points[:40]]        # the same corners at other prefixes
    for n, p, ell in points:
        assert surface.time(n, p, ell) == _trilinear(surface, n, p, ell)
    fresh = StepSurface(prices, most, surface.adp, surface.chunk, surface.prompt, shares(
        prices.plan.workload, prices.lay).chunk_prompt_tokens)
    assert all(fresh.time(n, p, ell) == surface.time(n, p, ell) for n, p, ell in reversed(points))
    shared = surface_for(prices, most, surface.adp, surface.chunk, surface.prompt, 0)
    assert surface_for(prices, most, surface.adp, surface.chunk, surface.prompt, 0) is shared
    assert surface_for(prices, most + 1, surface.adp, surface.chunk, surface.prompt, 0) is not shared
