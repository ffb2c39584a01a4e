"""Fit each engine's `step_s`, `step_request_s` and `frontend_s` on the calibration half of the corpus; print them
with their residuals.

Usage:
    python bench/fit_engine_terms.py                  # every engine with calibration runs
    python bench/fit_engine_terms.py --engine sglang  # one engine
    python bench/fit_engine_terms.py --engine trtllm --hopper   # its Hopper expert scale alone (`fit_hopper`)
    python bench/fit_engine_terms.py --engine trtllm --blackwell    # its Blackwell expert scale, by the same rule,
                                                                    # from 1.2 and before it (`release_groups`)

Reads bench/corpus/split.json and only the runs of its `calibration` sources (`calibration_jobs`
refuses a held-out run), and of those only the releases of the generation the terms describe
(`GENERATION`: vLLM's V1 engine from 0.8, SGLang's overlap scheduler from 0.4, TensorRT-LLM's
PyTorch backend from 1.0) — an older release's host loop is another engine's.
Each term is fitted on what it moves, one after the other:

1. `step_s`, the host time per engine step, shifts every per-token time, and `step_request_s`, the host time
   per request the step runs, shifts it in proportion to the requests in flight: both are fitted on TPOT
   (`tpot_ms` and its median), a request's decode time over its tokens — not on ITL, which a
   client measures between streamed chunks (vLLM 0.6's multi-step scheduling streams up to 10
   tokens at once, InferenceX's ITL is ten times its TPOT) and which would be taken for step time —,
   one after the other, `ALTERNATIONS` times: `step_request_s` by golden-section search over
   `REQUEST_RANGE` minimising Σ |x − m| / m (`fit_request`), then `step_s` by the library's fit below, each
   with the other at its latest value (the runs at one request in flight say `step_s`, those at hundreds
   `step_request_s`);
2. `frontend_s`, the per-request time before the first token reaches the client, shifts TTFT and
   E2E alike: it is fitted on `ttft_ms` (and its median), where it is a share worth fitting — an
   E2E of minutes is the decode's, and its error would be taken for the front end's —, with
   `step_s` at its fitted value, of the runs whose client does not send every request at once
   (`concurrency` ≥ `requests`) and reaches the engine over its HTTP server (`client`, not a benchmark
   in the engine's own process): an offline burst's TTFT is the queue's (seconds), not the front end's,
   and an in-process run has no front end; either would be taken for it. Without such a figure the
   term keeps its value.

The fit is the library's (`dagc.calibrate.fit`, which `dagc calibrate` fits a user's runs with): least
absolute deviation on the relative error, dagc's figure x_i(t) linearised around the current value t (first
from t and t + δ, then from each new value and the one before, a secant step) and Σ |x_i(t') − m_i| / m_i
minimised by a weighted median, a term never below 0, re-evaluated until it moves less than 0.1 %; a term that
moves the figures of fewer than three runs keeps its value (one run's error is not a term's). Terms are replaced on
the lowered plan's cluster (`Engine.model_copy(update={"terms": …})`, bench/fidelity_corpus.py
`lowered`), never by editing source: the fitted values are printed for dagc/plan/engines.py.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

import fidelity_corpus as fc  # noqa: E402  (bench/, on the path above)

from dagc.calibrate.fit import MIN_RUNS, MOVES, Start, fit_term as library_fit, weighted_median  # noqa: E402
from dagc.plan.engines import EngineName, known_release  # noqa: E402

__all__ = ["BLACKWELL_MOVES", "GENERATION", "MIN_RUNS", "MOVES", "blackwell_jobs", "calibration_jobs",
           "fit_blackwell", "fit_older", "fit_request", "fit_term", "fronted", "golden", "main", "of_generation",
           "older_jobs", "queued_by_design", "release_groups", "weighted_median"]



class HeldOutError(ValueError):
    """A held-out run was given to the fit."""


# The first release of the engine whose terms dagc/plan/engines.py holds (its default release's generation):
# vLLM's V1 engine is the default from 0.8.0 (V0, with its multi-step scheduler, is another host loop);
# SGLang's overlap scheduler is on by default from 0.4; TensorRT-LLM serves with its PyTorch backend by
# default from 1.0 (before, a TensorRT engine under the C++ executor). A calibration run of an older release
# measures another engine's host time and is not fitted on; a run whose source names no release is (the
# sources that leave it out are the engines' recent blogs).
GENERATION = {"vllm": (0, 8), "sglang": (0, 4), "trtllm": (1, 0)}


def of_generation(engine: str, release: str | None) -> bool:
    """Whether `release` of `engine` is of the generation dagc's terms describe (GENERATION); None: yes.

    Example:
        >>> of_generation("trtllm", "0.17"), of_generation("trtllm", "1.0.0"), of_generation("vllm", None)
        (False, True, True)
    """
    if release is None:
        return True
    parts = [int(p) for p in re.findall(r"\d+", release)[:2]] + [0]
    return (parts[0], parts[1]) >= GENERATION[engine]


def calibration_jobs(files: Sequence[fc.CorpusFile], half: dict[str, str], engine: str) -> list[tuple]:
    """(source, run) of the engine's runs in calibration sources, of the generation its terms describe:
    held-out and unsplit sources are left out, and so are older releases (GENERATION)."""
    return [(f.source.id, r) for f in files if half.get(f.source.id) == "calibration"
            for r in f.runs if r.engine == engine and of_generation(engine, r.release)]


def queued_by_design(run: fc.Run) -> bool:
    """Whether the run's client sends every request at once (an offline burst: its TTFT is mostly queueing)."""
    traffic = fc.lowered(run).workload.traffic
    return traffic is not None and traffic.concurrency is not None and traffic.concurrency >= traffic.requests


def fronted(run: fc.Run) -> bool:
    """Whether a run's TTFT holds the engine's front end and little else: a serving client (not a benchmark in
    the engine's process, which has none) that does not send every request at once (`queued_by_design`)."""
    return run.client == "http" and not queued_by_design(run)


def fit_term(jobs: Sequence[tuple], engine: str, terms: dict[str, float], name: str,
             half: dict[str, str]) -> tuple[float, list[tuple]]:
    """The fitted value of term `name` (the others as in `terms`) over `jobs`, and its residuals (run, key,
    relative error). Every job must be of a calibration source of `half`, else HeldOutError. The fit is the
    library's (`dagc.calibrate.fit.fit_term`, which `dagc calibrate` fits a user's runs with)."""
    for sid, r in jobs:
        if half.get(sid) != "calibration":
            raise HeldOutError(f"{sid}: run {r.id} is not in the calibration half: the fit never reads it")
    if not jobs:
        return terms.get(name, 0.0), []
    # start from the engine's own value (dagc/plan/engines.py), which a term no figure moves keeps
    own = fc.lowered(jobs[0][1], engine).cluster.engine.terms
    start = terms[name] if name in terms else getattr(own, name)
    base = {"step_s": own.step_s, "step_request_s": own.step_request_s, "frontend_s": own.frontend_s} | terms

    def evaluate(at: dict[str, float]) -> list[dict[str, float]]:
        rows = fc.run_all([(sid, r, engine, dict(at)) for sid, r in jobs], progress=False)
        return [row["dagc"] for row in rows]

    measured = [dict(r.measured) for _, r in jobs]
    fitted = library_fit(evaluate, measured, Start({**base, name: start}), name)
    if fitted.kept:
        print(f"  {engine} {name}: it moves the figures of {fitted.moved} runs, fewer than {MIN_RUNS}: kept",
              file=sys.stderr, flush=True)
    else:
        print(f"  {engine} {name}: {fitted.value * 1e3:.3f} ms after {len(fitted.history) - 1} re-evaluations of "
              f"{len(jobs)} runs", file=sys.stderr, flush=True)
    return fitted.value, [(r.id, k, (x[k] - m[k]) / m[k])
                          for (_, r), x, m in zip(jobs, fitted.at, measured, strict=True)
                          for k in MOVES[name] if k in m and k in x]


# The figures `blackwell_memory_time_scale` is fitted on: it scales memory-bound ops, so a decode step (TPOT) and
# what the engine serves at a fixed concurrency (output tokens/s); not TTFT, mostly the front end's in these runs.
BLACKWELL_MOVES = ("tpot_ms", "tpot_ms_median", "output_tokens_per_s")
BLACKWELL_RANGE = (0.5, 3.0)        # the golden-section search's bounds
BLACKWELL_STEPS = 14                # its evaluations: the bracket shrinks to 0.618**14 ≈ 0.1 % of its width


def blackwell_jobs(jobs: Sequence[tuple]) -> list[tuple]:
    """The jobs whose plan runs on a Blackwell GPU priced by a borrowed profile (`dagc.cost.cost_model.
    blackwell_scale`'s condition): the runs `blackwell_memory_time_scale` moves."""
    from dagc.cost.cost_model import blackwell_scale
    probe = {"blackwell_memory_time_scale": 2.0}
    return [(sid, r) for sid, r in jobs if blackwell_scale(fc.lowered(r, None, probe).cluster) == 2.0]


def fit_blackwell(jobs: Sequence[tuple], engine: str, terms: dict[str, float],
                  half: dict[str, str]) -> tuple[float, list[tuple]]:
    """The engine's `blackwell_memory_time_scale` (the other terms as in `terms`) minimising Σ |x − m| / m over the
    jobs' BLACKWELL_MOVES figures, by golden-section search over BLACKWELL_RANGE (the figures are monotone in the
    scale), and its residuals; fewer than MIN_RUNS runs with such a figure: 1 kept. Held-out jobs: HeldOutError."""
    for sid, r in jobs:
        if half.get(sid) != "calibration":
            raise HeldOutError(f"{sid}: run {r.id} is not in the calibration half: the fit never reads it")
    jobs = [(sid, r) for sid, r in jobs if any(k in r.measured for k in BLACKWELL_MOVES)]
    if len(jobs) < MIN_RUNS:
        return 1.0, []
    measured = [dict(r.measured) for _, r in jobs]

    def residuals(scale: float) -> list[tuple]:
        rows = fc.run_all([(sid, r, engine, {**terms, "blackwell_memory_time_scale": scale}) for sid, r in jobs],
                          progress=False)
        return [(r.id, k, (row["dagc"][k] - m[k]) / m[k])
                for (_, r), row, m in zip(jobs, rows, measured, strict=True)
                for k in BLACKWELL_MOVES if k in m and k in row["dagc"]]

    cache: dict[float, float] = {}

    def cost(scale: float) -> float:
        if scale not in cache:
            cache[scale] = sum(abs(e) for _, _, e in residuals(scale))
        return cache[scale]

    value = round(golden(cost, *BLACKWELL_RANGE, BLACKWELL_STEPS), 3)
    print(f"  {engine} blackwell_memory_time_scale: {value:.3f} after {len(cache)} evaluations of {len(jobs)} runs",
          file=sys.stderr, flush=True)
    return value, residuals(value)


# `hopper_expert_time_scale` scales the routed experts' grouped GEMMs on a Hopper GPU: what a burst of an MoE model
# serves (output tokens/s) moves with it. Fitted by bisection over HOPPER_RANGE to the scale at which the median
# signed error of those figures is 0: a median, not Σ |x − m| / m, because a few runs sit further off than any
# scale of the experts explains (GPUStack's gpt-oss-120b through TensorRT-LLM on one H100, +509 % unscaled: its MXFP4
# experts run another kernel on Hopper) and the sum would follow them.
HOPPER_MOVES = ("output_tokens_per_s",)
HOPPER_RANGE = (1.0, 4.0)
HOPPER_STEPS = 9                    # the bracket halves 9 times: 3 / 512 ≈ 0.006 wide


def hopper_jobs(jobs: Sequence[tuple], name: str = "hopper_expert_time_scale") -> list[tuple]:
    """The jobs whose plan runs an MoE model on a Hopper GPU priced by a built-in profile (`dagc.cost.cost_model.
    expert_time_scale`'s condition): the runs `hopper_expert_time_scale` moves; with `name`
    "blackwell_expert_time_scale", those on a Blackwell GPU (fp4 units) that term moves."""
    from dagc.cost.cost_model import expert_time_scale
    probe = {name: 2.0}
    out = []
    for sid, r in jobs:
        plan = fc.lowered(r, None, probe)
        if expert_time_scale(plan.cluster) == 2.0 and plan.model.moe is not None and plan.model.moe.experts > 0:
            out.append((sid, r))
    return out


def fit_hopper(jobs: Sequence[tuple], engine: str, terms: dict[str, float], half: dict[str, str],
               name: str = "hopper_expert_time_scale") -> tuple[float, list[tuple]]:
    """The engine's `hopper_expert_time_scale` (the other terms as in `terms`) at which the median signed error of
    the jobs' HOPPER_MOVES figures is 0, by bisection over HOPPER_RANGE (the figures fall as the scale grows), and
    its residuals; fewer than MIN_RUNS runs with such a figure: 1 kept. Held-out jobs: HeldOutError. `name`: the
    term fitted by that rule (`blackwell_expert_time_scale`: `--blackwell`)."""
    for sid, r in jobs:
        if half.get(sid) != "calibration":
            raise HeldOutError(f"{sid}: run {r.id} is not in the calibration half: the fit never reads it")
    jobs = [(sid, r) for sid, r in jobs if any(k in r.measured for k in HOPPER_MOVES)]
    if len(jobs) < MIN_RUNS:
        return 1.0, []

    def residuals(scale: float) -> list[tuple]:
        rows = fc.run_all([(sid, r, engine, {**terms, name: scale}) for sid, r in jobs], progress=False)
        return [(r.id, k, row["errors"][k]) for (_, r), row in zip(jobs, rows, strict=True)
                for k in HOPPER_MOVES if k in row["errors"]]

    lo, hi = HOPPER_RANGE
    for _ in range(HOPPER_STEPS):
        mid = (lo + hi) / 2
        if statistics.median(e for *_, e in residuals(mid)) > 0:
            lo = mid            # still faster than measured: the experts take longer
        else:
            hi = mid
    value = round((lo + hi) / 2, 2)
    print(f"  {engine} {name}: {value:.2f} over {len(jobs)} runs", file=sys.stderr, flush=True)
    return value, residuals(value)


def golden(cost, lo: float, hi: float, steps: int) -> float:
    """The middle of the bracket [lo, hi] after `steps` golden-section steps on `cost` (unimodal there).

    Example:
        >>> round(golden(lambda x: abs(x - 0.3), 0.0, 1.0, 30), 4)
        0.3
    """
    g = (5 ** 0.5 - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    for _ in range(steps):
        if cost(a) <= cost(b):
            hi, b = b, a
            a = hi - g * (hi - lo)
        else:
            lo, a = a, b
            b = lo + g * (hi - lo)
    return (lo + hi) / 2


# The host time per request of a step (`step_request_s`): the golden-section search's bracket (s) and steps, and
# the alternations of its fit with `step_s`'s (each moves the figures the other is fitted on)
REQUEST_RANGE = (0.0, 300e-6)
GOLDEN_RANGE = {"step_request_s": REQUEST_RANGE, "layer_s": (0.0, 300e-6)}
REQUEST_STEPS = 12                  # the bracket shrinks to 0.618**12 ≈ 0.3 % of its width: under 1 µs
ALTERNATIONS = 2
STEP_MOVES = ("tpot_ms", "tpot_ms_median")
# The term each engine's runs at one request fit, alternately with `step_request_s`: vLLM's and SGLang's host loop
# per step (`step_s`); TensorRT-LLM's time per layer (`layer_s`), its `step_s` its overlap scheduler's 0.1 ms
# (docs/cost-model.md, "The engine": its runs at one request of models of 32 to 80 layers say the layer's).
STEP_TERM = {"vllm": "step_s", "sglang": "step_s", "trtllm": "layer_s"}


def fit_request(jobs: Sequence[tuple], engine: str, terms: dict[str, float], half: dict[str, str],
                name: str = "step_request_s") -> tuple[float, list[tuple]]:
    """The engine's `step_request_s` (or `layer_s`, `name`; the other terms as in `terms`) minimising
    Σ |x − m| / m over the jobs' TPOT figures (STEP_MOVES), by golden-section search over its range
    (GOLDEN_RANGE), and its residuals. `step_request_s` is told apart from `step_s` only by runs of more than one
    request in flight: with fewer than MIN_RUNS of them the engine's own value is kept; `layer_s` needs MIN_RUNS
    runs with such a figure. Held-out jobs: HeldOutError."""
    for sid, r in jobs:
        if half.get(sid) != "calibration":
            raise HeldOutError(f"{sid}: run {r.id} is not in the calibration half: the fit never reads it")
    jobs = [(sid, r) for sid, r in jobs if any(k in r.measured for k in STEP_MOVES)]
    telling = [r for _, r in jobs if name != "step_request_s" or fc.lowered(r).workload.batch > 1]
    if len(telling) < MIN_RUNS:
        return terms.get(name, getattr(fc.lowered(jobs[0][1]).cluster.engine.terms, name) if jobs else 0.0), []

    def residuals(value: float) -> list[tuple]:
        rows = fc.run_all([(sid, r, engine, {**terms, name: value}) for sid, r in jobs], progress=False)
        return [(r.id, k, (row["dagc"][k] - r.measured[k]) / r.measured[k])
                for (_, r), row in zip(jobs, rows, strict=True)
                for k in STEP_MOVES if k in r.measured and k in row["dagc"]]

    value = round(golden(lambda v: sum(abs(e) for *_, e in residuals(v)), *GOLDEN_RANGE[name], REQUEST_STEPS), 7)
    return value, residuals(value)


# The older generation's fit (`--older`): TensorRT-LLM before 1.0 served TensorRT engines under its C++ executor, a
# host loop other than the PyTorch backend's that `TRTLLM_LAYER_S` describes. Its calibration runs of a release dagc
# knows (the v0.6.1 performance page's static throughput and batch-1 first-token latency, in-process; Llama-3.1-8B's
# TensorRT-LLM 0.20 engine behind Triton at 1 to 128 clients, with TPOT) say whether that engine needs terms of its
# own: the engine's step term (`STEP_TERM`: `step_s`, TensorRT-LLM's `layer_s`) minimising Σ |x − m| / m over every
# figure they measured. A release dagc does not know (the H200 blog's "0.7a", SGLang 0.3.0) is priced as the newest,
# so an older generation's term would never reach it: it is left out (`older_jobs`). docs/cost-model.md, "The engine".
OLDER_RANGE = {"step_s": (0.0, 0.015), "layer_s": (0.0, 300e-6)}       # s, the golden-section search's bracket


def older_jobs(files: Sequence[fc.CorpusFile], half: dict[str, str], engine: str) -> list[tuple]:
    """(source, run) of `engine`'s calibration runs of a release dagc knows (`engine = trtllm@0.14`) from before the
    generation its terms describe (GENERATION): the runs a term of that older generation would price."""
    return [(f.source.id, r) for f in files if half.get(f.source.id) == "calibration"
            for r in f.runs if r.engine == engine and not of_generation(engine, r.release)
            and known_release(cast(EngineName, engine), r.release or "")]


def fit_older(files: Sequence[fc.CorpusFile], half: dict[str, str], engine: str) -> tuple[float, list[tuple]]:
    """The step term (`STEP_TERM`) of `engine`'s calibration runs of releases before its generation (`older_jobs`),
    every other term the engine's, and the residuals at that value; no such runs: the engine's own value and
    none."""
    name = STEP_TERM[engine]
    jobs = older_jobs(files, half, engine)
    if len(jobs) < MIN_RUNS:
        return getattr(fc.lowered(jobs[0][1]).cluster.engine.terms, name) if jobs else 0.0, []

    def residuals(value: float) -> list[tuple]:
        rows = fc.run_all([(sid, r, engine, {name: value}) for sid, r in jobs], progress=False)
        return [(r.id, k, (row["dagc"][k] - m) / m) for (_, r), row in zip(jobs, rows, strict=True)
                for k, m in r.measured.items() if k in row["dagc"]]

    value = round(golden(lambda t: sum(abs(e) for *_, e in residuals(t)), *OLDER_RANGE[name], BLACKWELL_STEPS), 7)
    return value, residuals(value)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=("vllm", "sglang", "trtllm"), help="fit this engine only")
    ap.add_argument("--hopper", action="store_true",
                    help="fit the Hopper expert scale alone, the other terms the engine's, and stop")
    ap.add_argument("--blackwell", action="store_true",
                    help="fit the Blackwell expert scale alone by the Hopper scale's rule, and stop")
    ap.add_argument("--older", action="store_true",
                    help="fit the step term on the calibration runs of releases before each engine's generation, "
                         "and stop")
    args = ap.parse_args(argv)
    half = fc.halves()
    if not half:
        print(f"no {fc.SPLIT.relative_to(ROOT)}: the split is fixed before any fit", file=sys.stderr)
        return 2
    files = fc.load_corpus()
    if args.hopper or args.blackwell:
        return _fit_hopper_alone(files, half, [args.engine] if args.engine else ["vllm", "sglang", "trtllm"],
                                 "blackwell_expert_time_scale" if args.blackwell else "hopper_expert_time_scale")
    if args.older:
        for engine in [args.engine] if args.engine else ["vllm", "sglang", "trtllm"]:
            value, residuals = fit_older(files, half, engine)
            errs = [abs(e) for *_, e in residuals]
            print(f"{engine} before {'.'.join(map(str, GENERATION[engine]))}: {STEP_TERM[engine]} = "
                  f"{value * 1e3:.4f} ms over "
                  f"{len({run for run, *_ in residuals})} runs" + (
                      f": median |error| {statistics.median(errs) * 100:.1f} %, worst {max(errs) * 100:.1f} %"
                      if errs else f" (fewer than {MIN_RUNS}: not fitted)"))
            for run, k, e in residuals:
                print(f"    {run:60} {k:20} {e * 100:+6.1f} %")
        return 0
    for engine in [args.engine] if args.engine else ["vllm", "sglang", "trtllm"]:
        jobs = calibration_jobs(files, half, engine)
        if not jobs:
            print(f"{engine}: no calibration runs")
            continue
        terms: dict[str, float] = {}
        fits = [("step_request_s", STEP_TERM[engine])] * ALTERNATIONS + [("frontend_s",)]
        for name in (n for names in fits for n in names):
            some = jobs if name != "frontend_s" else [(sid, r) for sid, r in jobs if fronted(r)]
            value, residuals = (fit_request(some, engine, terms, half, name) if name in GOLDEN_RANGE else
                                fit_term(some, engine, terms, name, half))
            terms[name] = value
            errs = [e for _, _, e in residuals]
            summary = (f"median |error| {statistics.median(abs(e) for e in errs) * 100:.1f} %, worst "
                       f"{max(abs(e) for e in errs) * 100:.1f} %, bias {statistics.median(errs) * 100:+.1f} %"
                       if errs else "no figures it moves")
            print(f"{engine} {name} = {value * 1e3:.4f} ms over {len(some)} runs: {summary}", flush=True)
            for run, k, e in residuals:
                print(f"    {run:44} {k:16} {e * 100:+6.1f} %")
        on_blackwell = blackwell_jobs(jobs)
        value, residuals = fit_blackwell(on_blackwell, engine, terms, half)
        terms["blackwell_memory_time_scale"] = value
        errs = [e for _, _, e in residuals]
        print(f"{engine} blackwell_memory_time_scale = {value:.3f} over {len(on_blackwell)} runs: " + (
            f"median |error| {statistics.median(abs(e) for e in errs) * 100:.1f} %, worst "
            f"{max(abs(e) for e in errs) * 100:.1f} %, bias {statistics.median(errs) * 100:+.1f} %" if errs else
            f"fewer than {MIN_RUNS} runs with a figure it moves: kept"), flush=True)
        for run, k, e in residuals:
            print(f"    {run:44} {k:16} {e * 100:+6.1f} %")
        step = STEP_TERM[engine]
        print(f"{engine}: EngineTerms({step}={terms[step]:.7f}, step_request_s={terms['step_request_s']:.7f}, "
              f"frontend_s={terms['frontend_s']:.6f}, "
              f"blackwell_memory_time_scale={terms['blackwell_memory_time_scale']:.3f})")
    return 0


def release_groups(jobs: Sequence[tuple], engine: str, name: str) -> list[tuple[str, list[tuple]]]:
    """The jobs as the term `name` is fitted on them: one group, or, where the engine holds a value of it before a
    release (`dagc.plan.engines.HELD_BEFORE`: TensorRT-LLM's `blackwell_expert_time_scale` before 1.2), the runs of
    releases from it and those before it, each fitted on its own (a run naming no release is the newest's).

    Example:
        >>> class R:
        ...     def __init__(self, release): self.release = release
        >>> [(g, [r.release for _, r in js]) for g, js in release_groups(
        ...     [("s", R("1.1")), ("s", R("1.2")), ("s", R(None))], "trtllm", "blackwell_expert_time_scale")]
        [('from 1.2', ['1.2', None]), ('before 1.2', ['1.1'])]
        >>> [g for g, _ in release_groups([("s", R("1.1"))], "trtllm", "hopper_expert_time_scale")]
        ['']
    """
    from dagc.plan.engines import HELD_BEFORE
    held = HELD_BEFORE.get(cast(EngineName, engine), {}).get(name)
    if held is None:
        return [("", list(jobs))]
    until = held[0]
    label = ".".join(map(str, until))

    def before(release: str | None) -> bool:
        parts = [int(p) for p in re.findall(r"\d+", release or "")[:2]]
        return bool(parts) and tuple(parts + [0])[:2] < until
    return [(f"from {label}", [(s, r) for s, r in jobs if not before(r.release)]),
            (f"before {label}", [(s, r) for s, r in jobs if before(r.release)])]


def _fit_hopper_alone(files: Sequence[fc.CorpusFile], half: dict[str, str], engines: Sequence[str],
                      name: str = "hopper_expert_time_scale") -> int:
    """`--hopper` (`--blackwell`): each engine's `name` on its calibration runs of MoE models on Hopper (Blackwell),
    by release where the engine holds a value of the term before a release (`release_groups`)."""
    for engine in engines:
        for group, on_hopper in release_groups(hopper_jobs(calibration_jobs(files, half, engine), name), engine, name):
            value, residuals = fit_hopper(on_hopper, engine, {}, half, name)
            errs = [e for *_, e in residuals]
            print(f"{engine} {name}{' ' + group if group else ''} = {value:.2f} over {len(on_hopper)} runs: " + (
                f"median |error| {statistics.median(abs(e) for e in errs) * 100:.1f} %, bias "
                f"{statistics.median(errs) * 100:+.1f} %" if errs else f"fewer than {MIN_RUNS} runs: kept"),
                flush=True)
            for run, k, e in residuals:
                print(f"    {run:60} {k:20} {e * 100:+6.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
