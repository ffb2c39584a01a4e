"""Fit each engine's `step_s` and `frontend_s` on the calibration half of the corpus; print them with their residuals.

Usage:
    python bench/fit_engine_terms.py                  # every engine with calibration runs
    python bench/fit_engine_terms.py --engine sglang  # one engine

Reads bench/corpus/split.json and only the runs of its `calibration` sources (`calibration_jobs`
refuses a held-out run), and of those only the releases of the generation the terms describe
(`GENERATION`: vLLM's V1 engine from 0.8, SGLang's overlap scheduler from 0.4, TensorRT-LLM's
PyTorch backend from 1.0) — an older release's host loop is another engine's.
Each term is fitted on what it moves, one after the other:

1. `step_s`, the host time per engine step, shifts every per-token time: it is fitted on TPOT
   (`tpot_ms` and its median), a request's decode time over its tokens — not on ITL, which a
   client measures between streamed chunks (vLLM 0.6's multi-step scheduling streams up to 10
   tokens at once, InferenceX's ITL is ten times its TPOT) and which would be taken for step time;
2. `frontend_s`, the per-request time before the first token reaches the client, shifts TTFT and
   E2E alike: it is fitted on `ttft_ms` (and its median), where it is a share worth fitting — an
   E2E of minutes is the decode's, and its error would be taken for the front end's —, with
   `step_s` at its fitted value, of the runs whose client does not send every request at once
   (`concurrency` ≥ `requests`) and reaches the engine over its HTTP server (`client`, not a benchmark
   in the engine's own process): an offline burst's TTFT is the queue's (seconds), not the front end's,
   and an in-process run has no front end; either would be taken for it. Without such a figure the
   term keeps its value.

The fit is least absolute deviation on the relative error: dagc's figure x_i(t) is linearised
around the current value t by re-evaluating every run at t and t + δ (x_i ≈ a_i + b_i·t), and
Σ |a_i + b_i·t − m_i| / m_i is minimised by the weighted median of (m_i − a_i) / b_i with weights
b_i / m_i; a term is never below 0. Three such re-evaluations per term; a term that moves the figures
of fewer than three runs keeps its value (one run's error is not a term's). Terms are replaced on
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

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

import fidelity_corpus as fc  # noqa: E402  (bench/, on the path above)

__all__ = ["GENERATION", "MIN_RUNS", "MOVES", "calibration_jobs", "fit_term", "fronted", "main",
           "of_generation",
           "queued_by_design", "weighted_median"]

MOVES = {"step_s": ("tpot_ms", "tpot_ms_median"),
         "frontend_s": ("ttft_ms", "ttft_ms_median")}
ROUNDS = 3
MIN_RUNS = 3        # a term moves only on the figures of this many runs at least: one run's error is not a term
DELTA = {"step_s": 1e-3, "frontend_s": 20e-3}     # the probe step of the linearisation, s


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


def weighted_median(values: Sequence[float], weights: Sequence[float]) -> float:
    """The value minimising Σ w_i |v_i − v| (the lower weighted median)."""
    pairs = sorted(zip(values, weights, strict=True))
    half, acc = sum(weights) / 2, 0.0
    for v, w in pairs:
        acc += w
        if acc >= half:
            return v
    raise ValueError("no values")


def _figures(jobs: Sequence[tuple], engine: str, terms: dict[str, float], keys: Sequence[str]) -> list[tuple]:
    """(run id, key, measured, dagc) of every fitted key the runs measure, with these terms."""
    rows = fc.run_all([(sid, r, engine, terms) for sid, r in jobs], progress=False)
    return [(row["run"], k, row["measured"][k], row["dagc"][k]) for row in rows
            for k in keys if k in row["dagc"]]


def fit_term(jobs: Sequence[tuple], engine: str, terms: dict[str, float], name: str,
             half: dict[str, str]) -> tuple[float, list[tuple]]:
    """The fitted value of term `name` (the others as in `terms`) over `jobs`, and its residuals (run, key,
    relative error). Every job must be of a calibration source of `half`, else HeldOutError."""
    for sid, r in jobs:
        if half.get(sid) != "calibration":
            raise HeldOutError(f"{sid}: run {r.id} is not in the calibration half: the fit never reads it")
    if not jobs:
        return terms.get(name, 0.0), []
    # start from the engine's own value (dagc/plan/engines.py), which a term no figure moves keeps
    t = terms[name] if name in terms else getattr(fc.lowered(jobs[0][1], engine).cluster.engine.terms, name)
    for _ in range(ROUNDS):
        at = _figures(jobs, engine, terms | {name: t}, MOVES[name])
        up = _figures(jobs, engine, terms | {name: t + DELTA[name]}, MOVES[name])
        xs, ws = [], []
        for (_, _, m, x0), (_, _, _, x1) in zip(at, up, strict=True):
            b = (x1 - x0) / DELTA[name]          # ms of the figure per s of the term
            if b > 0:
                xs.append(t + (m - x0) / b)      # where the linearised figure meets the measured one
                ws.append(b / m)                 # |x(t') − m| / m = (b / m) |t' − that|
        moved = {run for (run, _, _, x0), (_, _, _, x1) in zip(at, up, strict=True) if x1 > x0}
        if len(moved) < MIN_RUNS:
            print(f"  {engine} {name}: it moves the figures of {len(moved)} runs, fewer than {MIN_RUNS}: kept",
                  file=sys.stderr, flush=True)
            break
        t = max(0.0, weighted_median(xs, ws))
        print(f"  {engine} {name}: {t * 1e3:.3f} ms after a re-evaluation of {len(jobs)} runs", file=sys.stderr,
              flush=True)
    final = _figures(jobs, engine, terms | {name: t}, MOVES[name])
    return t, [(run, k, (x - m) / m) for run, k, m, x in final]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=("vllm", "sglang", "trtllm"), help="fit this engine only")
    args = ap.parse_args(argv)
    half = fc.halves()
    if not half:
        print(f"no {fc.SPLIT.relative_to(ROOT)}: the split is fixed before any fit", file=sys.stderr)
        return 2
    files = fc.load_corpus()
    for engine in [args.engine] if args.engine else ["vllm", "sglang", "trtllm"]:
        jobs = calibration_jobs(files, half, engine)
        if not jobs:
            print(f"{engine}: no calibration runs")
            continue
        terms: dict[str, float] = {}
        for name in MOVES:
            some = jobs if name != "frontend_s" else [(sid, r) for sid, r in jobs if fronted(r)]
            value, residuals = fit_term(some, engine, terms, name, half)
            terms[name] = value
            errs = [e for _, _, e in residuals]
            summary = (f"median |error| {statistics.median(abs(e) for e in errs) * 100:.1f} %, worst "
                       f"{max(abs(e) for e in errs) * 100:.1f} %, bias {statistics.median(errs) * 100:+.1f} %"
                       if errs else "no figures it moves")
            print(f"{engine} {name} = {value * 1e3:.3f} ms over {len(some)} runs: {summary}", flush=True)
            for run, k, e in residuals:
                print(f"    {run:44} {k:16} {e * 100:+6.1f} %")
        print(f"{engine}: EngineTerms(step_s={terms['step_s']:.6f}, frontend_s={terms['frontend_s']:.6f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
