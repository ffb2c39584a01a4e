"""bench/bench_calibrate.py's readout of the requests a run decoded at once (Little's law), which its `--folds`
lines print beside each figure: what tells an engine that held fewer requests in flight than dagc's from one whose
steps are slower (docs/calibrate.md)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _bench_module(name: str) -> Iterator[ModuleType]:
    """bench/NAME.py loaded as a module, with bench/ on the path while it is used."""
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def bench():
    yield from _bench_module("bench_calibrate")


def test_decoding_is_output_tokens_per_s_times_tpot(bench):
    # gpt-oss-120b on one H100, vLLM 0.10.2, 500 prompts of 2,000 tokens at once (bench/corpus): 675.11 tokens/s
    # at a mean TPOT of 41.35 ms is about 28 requests decoding at once
    assert bench._decoding({"output_tokens_per_s": 675.11, "tpot_ms": 41.35}) == pytest.approx(27.916, abs=1e-3)


@pytest.mark.parametrize("figures", [{"output_tokens_per_s": 675.11}, {"tpot_ms": 41.35},
                                     {"output_tokens_per_s": 675.11, "itl_ms": 30.0}])
def test_decoding_needs_throughput_and_mean_tpot(bench, figures):
    assert bench._decoding(figures) is None


def test_a_fold_line_shows_decoding_beside_the_figures(bench, monkeypatch):
    class Run:
        id = "r"
        measured = {"output_tokens_per_s": 100.0, "tpot_ms": 50.0}

    class Workload:
        prompt, generate, batch, traffic = 2000, 100, 8, None

    class Plan:
        workload = Workload()

    monkeypatch.setattr(bench.fc, "lowered", lambda run: Plan())
    lines = bench._fold_lines("test", Run(), {"output_tokens_per_s": 200.0, "tpot_ms": 50.0},
                              {"output_tokens_per_s": 100.0, "tpot_ms": 25.0})
    assert "decoding at once" in lines[-1]
    assert "measured         5.0" in lines[-1]
    assert "uncalibrated        10.0 (+100.0%)" in lines[-1]
    assert "calibrated         2.5 ( -50.0%)" in lines[-1]


def test_a_kv_share_leaves_that_share_of_the_cache(bench):
    # `--kv`: gpt-oss-120b on one H100 held about a fourth of dagc's requests at once; its plan with a KV cache of
    # 0.25 keeps a fourth of the memory beside the weights and activations that its reserve left the cache
    _, runs = bench.fc.source_runs("gpustack-perf-lab-gpt-oss-120b-h100")
    plan = bench.fc.lowered(next(r for r in runs if r.id == "gpt-oss-120b-h100-vllm-tp1-random-2k"))
    free = bench._free_bytes(plan)
    scaled = bench._kv_scaled(plan, 0.25)
    assert free - plan.cluster.reserve_bytes > 1e9
    assert free - scaled.cluster.reserve_bytes == pytest.approx(0.25 * (free - plan.cluster.reserve_bytes))
    assert bench._kv_scaled(plan, 1.0).cluster.reserve_bytes == pytest.approx(plan.cluster.reserve_bytes)


def test_the_kv_cache_share_gives_the_kv_cache_the_what_if_measured(bench):
    # `kv_cache_share` 0.25 gives gpt-oss-120b on one H100 the KV cache the what-if of docs/calibrate.md measured
    # (its reserve grown by three fourths of what it left the cache): a fourth of the tokens, in one place for the
    # steady state and the load simulation (`dagc.serve.kv_blocks.kv_capacity_of`)
    from dagc.calibrate.figures import with_terms
    from dagc.layout.layout import resolve
    from dagc.memory.activations import activation_bytes_by_stage
    from dagc.memory.memory import memory
    from dagc.serve.kv_blocks import kv_capacity_of

    def tokens(p) -> int:
        c, strategy = p.cluster, bench.fc.flatten_first(p)
        w = strategy.workload_for(p.workload)
        lay = resolve(p.model, c, w, strategy)
        return kv_capacity_of(memory(p.model, w, c, lay, activation_bytes_by_stage(p.model, w, c, lay)), lay, w)
    _, runs = bench.fc.source_runs("gpustack-perf-lab-gpt-oss-120b-h100")
    plan = bench.fc.lowered(next(r for r in runs if r.id == "gpt-oss-120b-h100-vllm-tp1-random-2k"))
    own, share = tokens(plan), tokens(with_terms(plan, {"kv_cache_share": 0.25}))
    assert own > 100_000
    assert share == pytest.approx(tokens(bench._kv_scaled(plan, 0.25)), abs=1)
    assert share == pytest.approx(0.25 * own, abs=1)


@pytest.fixture(scope="module")
def folds_bench():
    yield from _bench_module("bench_calibrate_folds")


def test_the_shift_bound_corrects_each_figure_by_the_other_runs_median(folds_bench):
    """`bench_calibrate_folds.py --bounds`: each run's figure divided by the geometric median of the deployment's
    other runs' ratios dagc / measured on it. Three runs whose TPOT dagc puts 20 % above, 20 % above and 20 % below
    the measured: runs 0 and 1 are corrected by √(1.2 · 0.8) = 0.9798 (the median of two logarithms is their mean),
    1.2 / 0.9798 − 1 = +22.47 %; run 2 by 1.2, 0.8 / 1.2 − 1 = −33.33 %: a deployment whose runs err two ways keeps
    its error (median |error| 20 % → 22.47 %), one whose runs err alike loses it (three runs 20 % above: 0 %). A
    figure one run alone measured (its TTFT, 10 % below) has no other run to correct it and stays at −10 %."""
    e = folds_bench.shift_bound([{"tpot_ms": 1.2, "ttft_ms": 0.9}, {"tpot_ms": 1.2}, {"tpot_ms": 0.8}])
    assert e["tpot"] == pytest.approx([0.2247, 0.2247, -1 / 3], abs=1e-4)
    assert e["ttft"] == pytest.approx([-0.1])
    alike = folds_bench.shift_bound([{"output_tokens_per_s": 1.2}] * 3)
    assert alike["throughput"] == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)


def test_a_ttft_scale_is_the_calibration_runs_median_taken_where_it_predicts_them_left_out(folds_bench):
    """`bench_calibrate_folds.py --ttft-scale` (docs/calibrate.md, "A scale of TTFT"): the scale's logarithm is the
    median of every calibration run's TTFT log-ratios ln(dagc / measured). Three runs that err alike, −0.4 and −0.3,
    −0.2, −0.5 and −0.5: the median of the five is −0.4, and each run left out is predicted by the others' median
    (−0.5, −0.45, −0.3) with median |error| 0.15, 0.25, 0.2 — their median 0.2 against 0.35 without (0.35, 0.2,
    0.5): taken, gated or not. Three that split, −0.6, +0.1, +0.2: the median is +0.1, but left out each is off by
    0.75, 0.3, 0.45 (the others' medians +0.15, −0.2, −0.25), median 0.45 against 0.2 without: gated, none. Two runs
    fit no scale (a term is fitted from 3 runs), nor runs without a TTFT."""
    alike = [[-0.4, -0.3], [-0.2], [-0.5, -0.5]]
    assert folds_bench.ttft_scale(alike, gated=True) == pytest.approx(-0.4)
    assert folds_bench.ttft_scale(alike, gated=False) == pytest.approx(-0.4)
    split = [[-0.6], [0.1], [0.2]]
    assert folds_bench.ttft_scale(split, gated=False) == pytest.approx(0.1)
    assert folds_bench.ttft_scale(split, gated=True) == 0.0
    assert folds_bench.ttft_scale([[-0.4], [-0.4], []], gated=False) == 0.0


def test_a_burst_test_run_counts_by_its_kind_and_gives_its_errors_logarithms(folds_bench, monkeypatch):
    """`bench_calibrate_folds.py`'s split of the test figures by kind of run: a burst (every request sent at once)
    whose throughput, TTFT and TPOT dagc puts at 120, 500 and 40 against 100, 1,000 and 50 measured counts +20 %,
    −50 %, −20 % under its quantities and again under `…@burst`, and, calibrated, gives ln 1.2, ln 0.5, ln 0.8 to the
    correlation of the bursts' errors; uncalibrated it gives none, and a run at a rate counts under `…@other`; each
    figure counts under its own key too (`figure tpot_ms@burst`)."""
    measured = {"output_tokens_per_s": 100.0, "ttft_ms": 1000.0, "tpot_ms": 50.0}
    figs = {"output_tokens_per_s": 120.0, "ttft_ms": 500.0, "tpot_ms": 40.0, "itl_ms": 1.0}

    class Run:
        id = "r"

    Run.measured = measured
    burst = {"yes": True}
    monkeypatch.setattr(folds_bench.fc, "lowered", lambda run: "plan")
    monkeypatch.setattr(folds_bench, "per_step_terms", lambda plan: plan)
    monkeypatch.setattr(folds_bench, "dagc_figures", lambda plan, terms=None: (figs, None))
    monkeypatch.setattr(folds_bench.bc, "_job", lambda run: type("Job", (), {"run": run}))
    monkeypatch.setattr(folds_bench, "queued_by_design", lambda run: burst["yes"])
    e = folds_bench._errors(Run(), {"step_s": 0.0})
    assert e["throughput@burst"] == pytest.approx([0.2]) and e["ttft@burst"] == pytest.approx([-0.5])
    assert e["tpot"] == pytest.approx([-0.2]) and e["tpot@burst"] == pytest.approx([-0.2])
    assert [e[f"ln {k}"][0] for k in folds_bench.MIRROR] == pytest.approx([0.18232, -0.69315, -0.22314], abs=1e-5)
    assert "ln ttft_ms" not in folds_bench._errors(Run(), None)
    burst["yes"] = False
    other = folds_bench._errors(Run(), {"step_s": 0.0})
    assert other["ttft@other"] == pytest.approx([-0.5]) and "ttft@burst" not in other and "ln ttft_ms" not in other
    # by figure too, which figures keep the error: `figure tpot_ms@burst`, `figure ttft_ms@other`
    assert e["figure tpot_ms@burst"] == pytest.approx([-0.2]) and "figure itl_ms@burst" not in e
    assert other["figure ttft_ms@other"] == pytest.approx([-0.5]) and "figure ttft_ms@burst" not in other
