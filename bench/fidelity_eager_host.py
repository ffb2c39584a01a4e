"""Whether what SGLang's calibration runs leave above dagc's server TTFT is the host time of its eager steps: an
experiment, not a term (docs/cost-model.md, "SGLang's eager steps' host time, measured: not a term (2026-12-01)").

SGLang 0.5 runs an extend (prefill) batch outside any CUDA graph unless `--enable-piecewise-cuda-graph` is given
(`ModelRunner.forward_extend`), so each layer's Python and kernel launches are on a prompt's critical path, where a
decode step replays its graph. This script adds such a host time to every eager step dagc prices — per layer (carried
by each layer's QKV projection when its kernels are eager), or per eager launch dagc counts (`--per-launch`) — beside
a front end `frontend_s`, and fits the two on the calibration half's SGLang runs of the generation the engine terms
describe whose client does not send every request at once (`bench/fit_engine_terms.py`: `calibration_jobs`,
`fronted`): for each host time of the grid the runs are simulated with `frontend_s` = 0, and the front end that
minimises Σ |x + f − m| / m over their TTFT figures (mean and median) is the weighted median of m − x with weights
1 / m, at least 0 (it adds to every client TTFT alike). `--at` prints one point's figures for every SGLang run of
both halves (the held-out half reported, never fitted on).

The host time is added by wrapping `dagc.cost.op_price.OpPrice.seconds` in this process and the processes it forks
(`patched`), the path of every step the load simulation prices; dagc's library is not changed.

Usage:
    python bench/fidelity_eager_host.py                       # per layer of an eager step: the grid and its fit
    python bench/fidelity_eager_host.py --per-launch          # per eager launch instead
    python bench/fidelity_eager_host.py --at 0.0003 0         # 0.3 ms a layer, no front end: both halves' runs
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

import fidelity_corpus as fc  # noqa: E402  (bench/, on the path above)
import fit_engine_terms as fe  # noqa: E402

from dagc.calibrate.fit import weighted_median  # noqa: E402
from dagc.cost.cost_model import CostModel  # noqa: E402
from dagc.cost.op_price import OpPrice  # noqa: E402
from dagc.schedule import timer  # noqa: E402
from dagc.serve.shared import cache_clear  # noqa: E402
from dagc.verdict.analyse import compiled_clear  # noqa: E402

__all__ = ["LAYER_GRID", "LAUNCH_GRID", "best_frontend", "eager_launches", "forget", "fronted_jobs", "main", "patched"]

LAYER_GRID = (0.0, 0.1e-3, 0.2e-3, 0.3e-3, 0.5e-3, 1e-3, 1.5e-3, 2e-3, 2.5e-3, 3e-3)      # s per layer
LAUNCH_GRID = (0.0, 10e-6, 20e-6, 40e-6, 80e-6, 120e-6, 160e-6)                          # s per eager launch
TTFT = ("ttft_ms", "ttft_ms_median")
RESULTS = ROOT / "bench" / "corpus_results.json"


def eager_launches(price: OpPrice) -> int:
    """The eager launches dagc counts in an op's price (its kernels launched outside a CUDA graph); 0: graphed.

    Example:
        >>> eager_launches(OpPrice(alike=((1e-6, 1.0, 3), (2e-6, 1.0, 1)))), eager_launches(OpPrice(alike=((1e-6,
        ...     1.0, 0),)))
        (4, 0)
    """
    if price.alike is not None:
        return sum(n for _, _, n in price.alike)
    return sum(price.launches)


def forget() -> None:
    """Forget the DAGs, timers, step prices and runs this process keeps: they are kept by the engine's terms, which
    `patched` leaves as they are, so a run priced before would be found again under another host time."""
    compiled_clear()
    cache_clear()
    timer._TIMERS.clear()


@contextlib.contextmanager
def patched(per_layer_s: float = 0.0, per_launch_s: float = 0.0) -> Iterator[None]:
    """`OpPrice.seconds` with a host time added to every eager op: `per_layer_s` on each layer's QKV projection
    (`OpPrice.layer`) and `per_launch_s` for each eager launch; restored on leaving. What this process keeps of
    earlier runs is forgotten on entering and on leaving (`forget`).

    Example:
        >>> from dagc.plan.cluster import Cluster
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> cm = CostModel.from_cluster(Cluster(gpus=1, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9))
        >>> eager = OpPrice(alike=((1e-3, 1.0, 2),), layer=True)
        >>> graphed = OpPrice(alike=((1e-3, 1.0, 0),), layer=True)
        >>> with patched(per_layer_s=0.5e-3, per_launch_s=10e-6):
        ...     round(eager.seconds(cm) * 1e3, 3), round(graphed.seconds(cm) * 1e3, 3)
        (1.52, 1.0)
        >>> round(eager.seconds(cm) * 1e3, 3)
        1.0
    """
    plain = OpPrice.seconds

    def seconds(self: OpPrice, cm: CostModel) -> float:
        n = eager_launches(self)
        return plain(self, cm) + (per_layer_s if self.layer and n else 0.0) + per_launch_s * n

    forget()
    OpPrice.seconds = seconds  # type: ignore[method-assign]
    try:
        yield
    finally:
        OpPrice.seconds = plain  # type: ignore[method-assign]
        forget()


def fronted_jobs() -> list[tuple[str, fc.Run]]:
    """(source, run) of the calibration half's SGLang runs of the terms' generation whose TTFT is the front end's and
    the engine's (`fit_engine_terms.fronted`); `calibration_jobs` never gives a held-out run."""
    half = fc.halves()
    return [(sid, r) for sid, r in fe.calibration_jobs(fc.load_corpus(), half, "sglang") if fe.fronted(r)]


def best_frontend(figures: Sequence[tuple[float, float]]) -> float:
    """The front end f ≥ 0 (ms) minimising Σ |x + f − m| / m over (dagc's x without a front end, measured m).

    Example:
        >>> best_frontend([(10.0, 20.0), (100.0, 130.0), (5.0, 40.0)]), best_frontend([(30.0, 20.0), (40.0, 30.0)])
        (10.0, 0.0)
    """
    return max(weighted_median([m - x for x, m in figures], [1 / m for _, m in figures]), 0.0)


def _figures(jobs: Sequence[tuple[str, fc.Run]], per_layer_s: float,
             per_launch_s: float) -> list[tuple[str, str, float, float]]:
    """(run, key, dagc's TTFT without a front end, measured) of the jobs under the host time given."""
    with patched(per_layer_s, per_launch_s):
        rows = fc.run_all([(sid, r, "sglang", {"frontend_s": 0.0}) for sid, r in jobs], progress=False)
    return [(r.id, k, row["dagc"][k], r.measured[k]) for (_, r), row in zip(jobs, rows, strict=True)
            for k in TTFT if k in r.measured and k in row["dagc"]]


def grid(per_launch: bool) -> int:
    """Each host time of the grid with its best front end: Σ, median and worst |error| of the TTFT figures."""
    jobs = fronted_jobs()
    unit, scale = ("µs a launch", 1e6) if per_launch else ("ms a layer", 1e3)
    timed = [(sid, r) for sid, r in jobs if any(k in r.measured for k in TTFT)]
    print(f"{len(timed)} calibration runs of SGLang with a TTFT that is the front end's and the engine's")
    jobs = timed
    for t in LAUNCH_GRID if per_launch else LAYER_GRID:
        figs = _figures(jobs, 0.0 if per_launch else t, t if per_launch else 0.0)
        f = best_frontend([(x, m) for _, _, x, m in figs])
        errs = [(x + f - m) / m for _, _, x, m in figs]
        print(f"{t * scale:7.2f} {unit}, front end {f:6.2f} ms: Σ|error| {sum(abs(e) for e in errs):6.3f}, median "
              f"{statistics.median(abs(e) for e in errs) * 100:5.1f} %, worst {max(abs(e) for e in errs) * 100:6.1f} %"
              + "".join(f"\n      {run:48} {k:15} {m:7.1f} ms: {x + f:7.1f} ({e * 100:+.0f} %)"
                        for (run, k, x, m), e in zip(figs, errs, strict=True)), flush=True)
    return 0


def at(host_s: float, frontend_s: float, per_launch: bool) -> int:
    """Every SGLang run of both halves at one host time and front end: its errors, and each half's summary — of its
    SGLang runs, and of all its runs with every other engine's as bench/corpus_results.json holds them (their figures
    do not read SGLang's terms)."""
    half = fc.halves()
    jobs = [(f.source.id, r) for f in fc.load_corpus() for r in f.runs if r.engine == "sglang"]
    with patched(0.0 if per_launch else host_s, host_s if per_launch else 0.0):
        rows = fc.run_all([(sid, r, "sglang", {"frontend_s": frontend_s}) for sid, r in jobs], progress=False)
    for row in rows:
        row["half"] = half.get(row["source"])
        print(f"  {row['half']:11} {row['run'][:50]:50} " + " ".join(
            f"{k} {e * 100:+.1f} %" for k, e in row["errors"].items()))
    ours = {row["run"]: row for row in rows}
    shipped = json.loads(RESULTS.read_text(encoding="utf-8"))["runs"]
    every = [ours.get(r["run"], r) | {"half": r["half"]} for r in shipped]
    for what, summary in (("SGLang's runs", fc.summarise(rows)), ("all runs", fc.summarise(every))):
        for h, qs in summary.items():
            print(f"{h}, {what}: " + "; ".join(f"{q} median {v['median'] * 100:.1f} %, worst {v['worst'] * 100:.1f} %"
                                               f" ({v['count']})" for q, v in qs.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-launch", action="store_true", help="a host time per eager launch, not per layer")
    ap.add_argument("--at", nargs=2, type=float, metavar=("HOST_S", "FRONTEND_S"),
                    help="one host time (s) and front end (s): every SGLang run of both halves")
    args = ap.parse_args(argv)
    if args.at is not None:
        return at(args.at[0], args.at[1], args.per_launch)
    return grid(args.per_launch)


if __name__ == "__main__":
    sys.exit(main())
