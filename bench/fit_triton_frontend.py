"""Fit TensorRT-LLM's front end behind Triton Inference Server (`TRTLLM_TRITON_FRONTEND_S`, the `frontend_s` of
every release before `TRTLLM_TRITON_UNTIL`) on the calibration half of the corpus; print it with its residuals.

Usage:
    python bench/fit_triton_frontend.py

The runs: the calibration half's TensorRT-LLM runs of a release before 1.0 (`triton_jobs`) whose TTFT holds the
front end (`fit_engine_terms.fronted`: a serving client that does not send every request at once). The fit is the
one `bench/fit_engine_terms.py` fits every engine's `frontend_s` with (`fit_engine_terms.fit_term`, the library's
least absolute relative deviation over `ttft_ms` and `ttft_ms_median`, every other term the release's own:
`dagc.plan.engines.terms_of`); a term whose value moves the TTFT of fewer than `MIN_RUNS` runs keeps its value.
`bench/fit_engine_terms.py` leaves these releases out (`GENERATION`: their host loop is another engine's), so
their front end is fitted here, alone. Held-out runs are refused (`HeldOutError`), never read.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fidelity_corpus as fc  # noqa: E402
from fit_engine_terms import MIN_RUNS, fit_term, fronted  # noqa: E402

from dagc.plan.engines import TRTLLM_TRITON_UNTIL  # noqa: E402

__all__ = ["main", "served_by_triton", "triton_jobs"]


def served_by_triton(release: str | None) -> bool:
    """Whether dagc prices TensorRT-LLM `release` as served by Triton (a release before `TRTLLM_TRITON_UNTIL`);
    a run whose source names no release is priced as the newest, not.

    Example:
        >>> served_by_triton("0.14.0"), served_by_triton("0.20.0"), served_by_triton("1.0.0"), served_by_triton(None)
        (True, True, False, False)
    """
    if release is None:
        return False
    parts = [int(p) for p in release.split(".")[:2] if p.isdigit()] + [0, 0]
    return (parts[0], parts[1]) < TRTLLM_TRITON_UNTIL


def triton_jobs(files: Sequence[fc.CorpusFile], half: dict[str, str]) -> list[tuple]:
    """(source, run) of the calibration half's TensorRT-LLM runs served by Triton whose TTFT holds the front end."""
    return [(f.source.id, r) for f in files if half.get(f.source.id) == "calibration" for r in f.runs
            if r.engine == "trtllm" and served_by_triton(r.release) and fronted(r)]


def main(argv: list[str] | None = None) -> int:
    del argv
    half = fc.halves()
    if not half:
        print(f"no {fc.SPLIT.relative_to(fc.ROOT)}: the split is fixed before any fit", file=sys.stderr)
        return 2
    jobs = triton_jobs(fc.load_corpus(), half)
    if len(jobs) < MIN_RUNS:
        print(f"trtllm before {'.'.join(map(str, TRTLLM_TRITON_UNTIL))}: {len(jobs)} calibration runs measure "
              f"Triton's front end, fewer than {MIN_RUNS}: kept")
        return 0
    value, residuals = fit_term(jobs, "trtllm", {}, "frontend_s", half)
    errs = [e for _, _, e in residuals]
    print(f"trtllm before {'.'.join(map(str, TRTLLM_TRITON_UNTIL))}: frontend_s = {value * 1e3:.4f} ms over "
          f"{len(jobs)} runs: median |error| {statistics.median(abs(e) for e in errs) * 100:.1f} %, worst "
          f"{max(abs(e) for e in errs) * 100:.1f} %, bias {statistics.median(errs) * 100:+.1f} %")
    for run, k, e in residuals:
        print(f"    {run:60} {k:16} {e * 100:+6.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
