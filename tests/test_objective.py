"""The objectives' registry (dagc.plan.objective): each objective's score agrees with its figure, works
elementwise on arrays, reads only what its flags say, and the names are the ones plans and reports write."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from dagc.plan.objective import DEFAULT_OBJECTIVE, OBJECTIVES, FigureKind, objective
from dagc.verdict.optimal import figures
from conftest import ROOT


def metrics(ttft_s: float, tpot_s: float, decode: float, throughput: float) -> SimpleNamespace:
    """The figures an objective reads of a deployment (`dagc.plan.objective.Rated`)."""
    return SimpleNamespace(ttft_s=ttft_s, tpot_s=tpot_s, decode_tokens_per_s=decode,
                           throughput_tokens_per_s=throughput)


# Two strategies that differ in every figure: (metrics, GPUs)
A = (metrics(0.20, 0.010, 4_000.0, 20_000.0), 8)
B = (metrics(0.35, 0.008, 6_000.0, 18_000.0), 4)


def test_the_names_are_the_plans_and_reports():
    assert list(OBJECTIVES) == ["tokens-per-gpu", "min-gpus", "ttft", "tpot", "throughput", "cost"]
    assert DEFAULT_OBJECTIVE in OBJECTIVES and all(o.name == k and o.means for k, o in OBJECTIVES.items())


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_the_higher_score_is_the_better_figure(name):
    o = OBJECTIVES[name]
    fa, fb = (o.figure(figures(m, gpus, None)) for m, gpus in (A, B))
    sa, sb = (o.score(m, gpus) for m, gpus in (A, B))
    assert fa != fb and sa != sb
    assert (sa > sb) == ((fa < fb) if o.lower_is_better else (fa > fb))


def test_each_objective_ranks_the_two_strategies_as_its_figure_says():
    better = {name: "A" if o.score(*A) > o.score(*B) else "B" for name, o in OBJECTIVES.items()}
    # A: shorter TTFT, more end-to-end tokens/s; B: fewer GPUs, shorter TPOT, more decode tokens/s per GPU
    # (1,500 vs 500) and less GPU time per token (4/18,000 vs 8/20,000 s)
    assert better == {"tokens-per-gpu": "B", "min-gpus": "B", "ttft": "A", "tpot": "B", "throughput": "A",
                      "cost": "B"}


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_the_score_works_elementwise_on_arrays(name):
    o = OBJECTIVES[name]
    columns = SimpleNamespace(**{k: np.array([vars(A[0])[k], vars(B[0])[k]]) for k in vars(A[0])})
    scores = np.asarray(o.score(columns, np.array([A[1], B[1]])), dtype=float)
    assert scores.tolist() == [float(o.score(*A)), float(o.score(*B))]


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_an_objective_reads_ttft_and_tpot_only_when_it_says_so(name):
    o = OBJECTIVES[name]
    no_prefill = SimpleNamespace(**{k: v for k, v in vars(A[0]).items()
                                    if k not in ("ttft_s", "throughput_tokens_per_s")})
    no_decode = SimpleNamespace(**{k: v for k, v in vars(A[0]).items()
                                   if k not in ("tpot_s", "decode_tokens_per_s", "throughput_tokens_per_s")})
    for reads, partial in ((o.reads_ttft, no_prefill), (o.reads_tpot, no_decode)):
        if reads:
            with pytest.raises(AttributeError):
                o.score(partial, A[1])
        else:
            o.score(partial, A[1])


def test_min_gpus_breaks_ties_by_decode_tokens_per_gpu_and_cost_has_no_price_in_its_order():
    o = OBJECTIVES["min-gpus"]
    slow, fast = metrics(0.2, 0.01, 1_000.0, 5_000.0), metrics(0.2, 0.01, 2_000.0, 5_000.0)
    assert o.score(fast, 4) > o.score(slow, 4) > o.score(fast, 5)
    assert OBJECTIVES["cost"].priced and not any(x.priced for x in OBJECTIVES.values() if x.name != "cost")
    assert OBJECTIVES["min-gpus"].kind is FigureKind.GPUS and OBJECTIVES["min-gpus"].quantity is None


def test_an_unknown_name_is_a_value_error_listing_the_names():
    with pytest.raises(ValueError, match="unknown objective 'cheapest'; one of tokens-per-gpu, min-gpus"):
        objective("cheapest")
    with pytest.raises(ValueError):
        objective(["ttft"])     # type: ignore[arg-type]
    assert objective("tpot") is OBJECTIVES["tpot"]


def test_the_registry_loads_no_compiler():
    probe = "import sys, dagc.plan.objective; print(sorted(m for m in ('numpy', 'pydantic') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
