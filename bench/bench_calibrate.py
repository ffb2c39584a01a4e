"""How fast `dagc calibrate` is, and how much a calibration helps on the public corpus.

Usage:
    python bench/bench_calibrate.py                 # both parts
    python bench/bench_calibrate.py --timing        # 50 runs only
    python bench/bench_calibrate.py --corpus        # the corpus only
    python bench/bench_calibrate.py --corpus --folds   # … and each fold's runs, figure by figure
    python bench/bench_calibrate.py --corpus --other-half   # calibrated on the other half of each group's runs

1. Timing: 50 runs dagc makes itself with known terms (step_s = 3 ms, frontend_s = 40 ms, compute-bound ops
   1.3 times and memory-bound ones 0.8 times the profile's time, step_request_s = 100 µs) — Mixtral 8x7B on 8 H100s
   with vLLM at tp 8, tp 4 and tp 2, 100 requests each at rates of 0.5 to 12 requests/s, prompts of 512 to 8,192
   and outputs of 64 or 256 tokens — written as `vllm bench serve --save-result` writes them, listed in a manifest
   and calibrated as `dagc calibrate MANIFEST --jobs 1`, then `--jobs 2`, then as the command runs by default
   (without `--jobs`: a process for every CPU this one may use), each in a process of its own (reading
   the files, lowering the plans with their overrides, the fit and the cross-validation, the file written). Prints
   the wall seconds, the CPU seconds of the command and its workers, and the terms recovered. Targets: at most
   10 s; every term within 2 %.
2. The corpus: each source of bench/corpus with at least 5 runs of one deployment (engine and release, and the
   plan but its workload: model and weights, cluster, strategy) and TPOT or TTFT measured, its runs in file
   order alternately calibration and test; dagc's terms are
   calibrated on the first half (`dagc.calibrate.calibrate.fit_jobs`: the corpus's plans are its runs' own) and
   its error on the test half reported, uncalibrated (the shipped terms) against calibrated, per quantity: the
   median |error| over the figures. A plan without traffic is a steady state whose TTFT is fitted on (as
   bench/fit_engine_terms.py does). Each group's line says which terms the calibration's cross-validation took,
   how far, and its median ratio and loss on the runs left out against the fit's and the engine's own terms'
   (`dagc.calibrate.crossval`: the choice `dagc calibrate` makes, in the same function). Target: the calibrated
   error at most half the uncalibrated. With `--folds`,
   each run of each fold (calibrated on, or tested) and its traffic, then each figure's error uncalibrated and
   calibrated (means and medians; p99s are in the medians above but not listed), and the requests it decoded at
   once (Little's law: output tokens/s × mean TPOT; measured, dagc's uncalibrated and calibrated): where the
   calibration helps, where the runs' errors go two ways that no engine term follows, and where the engine held
   fewer requests in flight than dagc's (its KV cache, its cap on sequences), which no term moves. With
   `--other-half`, calibrated on each group's runs 2nd, 4th, … (and, of an odd count, the last: 3 runs at least)
   and tested on the others — the same groups split the other way, to tell what the split itself moves the ratios
   by. Each group's line says the KV cache's share the calibration took (`dagc.calibrate.kv_share`: the median, over
   its calibration runs' offline bursts, of the requests decoded at once measured over dagc's, taken below 0.8 from
   2 bursts or more). With `--kv SHARE`, a what-if: the share taken below SHARE instead (0: never, the fit before
   it; 1: whenever the engine held fewer); the uncalibrated figures stay the shipped plans' (docs/calibrate.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import fidelity_corpus as fc  # noqa: E402

from dagc.calibrate import kv_share  # noqa: E402
from dagc.calibrate.calibrate import Job, fit_jobs  # noqa: E402
from dagc.calibrate.figures import dagc_figures, quantity_of  # noqa: E402
from dagc.calibrate.measured import MeasuredRun  # noqa: E402
from dagc.lang.calibration import per_step_terms  # noqa: E402
from dagc.lang.load import load_plan_text  # noqa: E402
from dagc.source import SourceFile  # noqa: E402

PLAN = ('model preset "mixtral-8x7b"\ncluster {{ gpus = 8  gpu preset "h100-sxm"  engine = vllm }}\n'
        "workload {{ batch = 256  prompt = {p}  generate = {g}  serving = inflight  rate = {r} requests/s  "
        "requests = 100 }}\nstrategy {s}\n")
TRUE = {"step_s": 3e-3, "frontend_s": 40e-3, "compute_time_scale": 1.3, "memory_time_scale": 0.8,
        "step_request_s": 100e-6}
# (prompt, generate, rate, strategy) of each run: prefills long enough, and loads high enough, that compute-bound
# time moves the figures, and strategies whose GPUs each read 1, 2 or 4 eighths of the weights a step, that the
# memory-bound time of a decode step is told apart from the host time of one
COMBOS = [(p, g, r * share, s) for s, share in (("tp 8", 1.0), ("tp 4", 0.5), ("tp 2", 0.25))
          for p in (512, 2048, 8192) for g in (64, 256) for r in (2, 6, 12)][:50]
MIN_GROUP = 5          # 3 runs to calibrate on (a term moves on 3 runs at least), 2 to test


def _vllm_result(p: int, g: int, r: float, s: str = "tp 8") -> dict:
    f, why = dagc_figures(load_plan_text(PLAN.format(p=p, g=g, r=r, s=s)), TRUE)
    assert why is None, why
    doc = {"endpoint_type": "vllm", "backend": "vllm", "num_prompts": 100, "request_rate": r, "max_concurrency": None,
           "completed": 100, "total_input_tokens": p * 100, "total_output_tokens": g * 100,
           "request_throughput": f["requests_per_s"], "output_throughput": f["output_tokens_per_s"],
           "total_token_throughput": f["total_tokens_per_s"]}
    for k, name in (("ttft", "ttft"), ("tpot", "tpot"), ("itl", "itl"), ("e2e", "e2el")):
        for suf, pre in (("", "mean"), ("_median", "median"), ("_p99", "p99")):
            doc[f"{pre}_{name}_ms"] = f[f"{k}_ms{suf}"]
    return doc


def timing(n: int = 50, workers: int | None = 1) -> float:
    """Seconds `dagc calibrate MANIFEST --jobs WORKERS` (None: without `--jobs`, the command's default) takes on `n`
    runs, in a process of its own (no step price or run of an earlier calibration in its memory; files and manifest
    written first, not timed)."""
    combos = COMBOS[:n]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "plan.moe").write_text(PLAN.format(p=512, g=128, r=4, s="tp 8"))
        entries = []
        for i, (p, g, r, s) in enumerate(combos):
            (d / f"run{i}.json").write_text(json.dumps(_vllm_result(p, g, r, s)))
            entries.append(f'[[run]]\nfile = "run{i}.json"\nstrategy = "{s}"\nset = ["workload.prompt={p}", '
                           f'"workload.generate={g}", "workload.rate={r} requests/s"]\n')
        (d / "runs.toml").write_text('plan = "plan.moe"\n' + "\n".join(entries))
        command = [sys.executable, "-m", "dagc", "calibrate", str(d / "runs.toml"), "-o", str(d / "cal.json"),
                   *(("--jobs", str(workers)) if workers is not None else ())]
        t0, c0 = time.perf_counter(), _cpu()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        took, cpu = time.perf_counter() - t0, _cpu() - c0
        if done.returncode != 0:
            raise SystemExit(f"dagc calibrate failed: {done.stderr[-2000:]}")
        doc = json.loads((d / "cal.json").read_text())
    how = (f"{workers} process" + ("es" if workers > 1 else "") if workers is not None
           else f"the default processes (one a CPU: {len(os.sched_getaffinity(0))} here)")
    flag = f" --jobs {workers}" if workers is not None else ""
    print(f"timing: {len(combos)} runs calibrated in {took:.1f} s wall with {how}, {cpu:.1f} s of CPU in all "
          f"(`dagc calibrate{flag}` in a process of its own, its start included; "
          f"{doc['fit']['evaluations']} sets of terms simulated; load average {os.getloadavg()[0]:.1f} after); "
          f"{recovered_text(doc['terms'])}", flush=True)
    return took


def _cpu() -> float:
    """CPU seconds of the processes this one started and waited for (the command and its workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def recovered_text(terms) -> str:
    """The fitted terms against the true ones, and the largest relative miss."""
    miss = max(abs(terms[k] - v) / v for k, v in TRUE.items())
    return (f"step_s {terms['step_s'] * 1e3:.4f} ms (true 3 ms), frontend_s {terms['frontend_s'] * 1e3:.3f} ms "
            f"(true 40 ms), compute_time_scale {terms['compute_time_scale']:.4f} (true 1.3), memory_time_scale "
            f"{terms['memory_time_scale']:.4f} (true 0.8), step_request_s {terms['step_request_s'] * 1e6:.2f} µs "
            f"(true 100 µs): at most {miss:.2%} off")


def _job(run: fc.Run, plan=None) -> Job:
    """A corpus run as a calibration job: its plan lowered with its engine (or `plan`), its traffic the plan's own."""
    plan = plan if plan is not None else fc.lowered(run)
    tr, w = plan.workload.traffic, plan.workload
    src = SourceFile(f"{run.id}.json", "", echo=False)
    m = MeasuredRun(run.id, run.id, "corpus", src, 0, 0, tr.requests if tr else w.batch,
                    tr.rate if tr else 1.0, tr.concurrency if tr else None, float(w.prompt), float(w.generate),
                    dict(run.measured), {})
    return Job(m, plan, run.id)


def _deployment(plan_text: str) -> str:
    """The plan without its workload: the model (its weights too), the cluster and the strategy."""
    return " ".join(re.sub(r"workload\s*\{[^}]*\}", "", plan_text).split())


def _groups() -> dict[tuple, list[fc.Run]]:
    """The runs of each source's deployments (engine and release, and the plan but its workload), with TPOT or
    TTFT measured, for those with at least `MIN_GROUP`."""
    out: dict[tuple, list[fc.Run]] = defaultdict(list)
    for f in fc.load_corpus():
        for r in f.runs:
            if any(k.startswith(("tpot", "ttft")) for k in r.measured):
                out[(f.source.id, r.engine, r.release, _deployment(r.plan))].append(r)
    return {k: v for k, v in out.items() if len(v) >= MIN_GROUP}


def _terms_text(terms) -> str:
    return (f"step_s {terms['step_s'] * 1e3:.3f} ms, frontend_s {terms['frontend_s'] * 1e3:.2f} ms, compute "
            f"×{terms['compute_time_scale']:.3f}, memory ×{terms['memory_time_scale']:.3f}")


def _kv_text(kv) -> str:
    """The KV cache's share the calibration took (`dagc.calibrate.kv_share`), or why it took none."""
    said = f"the engine held {kv.median:.2f} of dagc's requests at once over {kv.bursts} bursts"
    return f"{said}: its KV cache scaled" if kv.taken else f"{said}: left" if kv.bursts else "no burst: left"


def _chosen_text(cal) -> str:
    """The cross-validation's choice (`dagc.calibrate.crossval`): the terms it took, how far, its median ratio to
    the engine's own terms' loss on the runs left out, against the fit's, and the losses."""
    cv = cal.cv
    if cv is None or not cv.tried:
        return "the fit, not cross-validated (a fold would leave fewer than 3 runs to fit on)"
    fit = cv.tried[0]
    return (f"chosen by cross-validation: {', '.join(cv.names) or 'no term'}"
            f"{f' ×{cv.share:g}' if cv.names and cv.share != 1 else ''} (median ratio {cv.ratio:.3g}, cross-validated "
            f"loss {cv.loss:.4f}; the fit of {', '.join(fit.names) or 'no term'} {fit.ratio:.3g}, {fit.loss:.4f}; the "
            f"engine's own terms {cv.uncalibrated:.4f})")


def _median_abs(errs: list[float]) -> float:
    return statistics.median(abs(e) for e in errs) if errs else float("nan")


def _fold_lines(role: str, run: fc.Run, before: dict[str, float], after: dict[str, float]) -> list[str]:
    """A run of a fold (`role`: fit or test), its traffic, and each figure it measured but p99s: measured, dagc
    uncalibrated and calibrated, with their errors."""
    plan = fc.lowered(run)
    w, tr = plan.workload, plan.workload.traffic
    load = (f"{tr.requests} requests, " + (f"rate {tr.rate:g}/s" if tr.rate else f"{tr.concurrency} clients")
            if tr else f"steady state, batch {w.batch}")
    out = [f"    {role} {run.id}: prompt {w.prompt}, generate {w.generate}, {load}"]
    for k, m in sorted(run.measured.items()):
        if k in before and k in after and not k.endswith("_p99"):
            out.append(f"      {k:20} measured {m:11.2f}  uncalibrated {before[k]:11.2f} "
                       f"({(before[k] - m) / m:+7.1%})  calibrated {after[k]:11.2f} ({(after[k] - m) / m:+7.1%})")
    got = [_decoding(f) for f in (run.measured, before, after)]
    if None not in got:
        m, b, a = got
        out.append(f"      {'decoding at once':20} measured {m:11.1f}  uncalibrated {b:11.1f} ({(b - m) / m:+7.1%})  "
                   f"calibrated {a:11.1f} ({(a - m) / m:+7.1%})")
    return out


def _decoding(figures: dict[str, float]) -> float | None:
    """The requests a run decoded at once on average, by Little's law (`dagc.calibrate.kv_share.decoding`): what
    tells a run whose engine held fewer requests in flight than dagc's (its KV cache, its cap on sequences) from one
    whose steps are slower. None without both."""
    return kv_share.decoding(figures)


def _halves(runs: list[fc.Run], other: bool) -> tuple[list[fc.Run], list[fc.Run]]:
    """A group's runs calibrated on and tested on: 1st, 3rd, 5th… and the others; `other`: 2nd, 4th… and, of an
    odd count, the last (that 5 runs give 3 to calibrate on), and the others."""
    if not other:
        return runs[0::2], runs[1::2]
    odd = len(runs) % 2 == 1
    return runs[1::2] + runs[-1:] * odd, runs[0:len(runs) - odd:2]


def _free_bytes(plan) -> float:
    """A GPU's memory less its weights and activations (the worst rank's): the KV cache and the reserve."""
    from dagc.layout.layout import resolve
    from dagc.memory.activations import activation_bytes_by_stage
    from dagc.memory.memory import memory
    c, strategy = plan.cluster, fc.flatten_first(plan)
    w = strategy.workload_for(plan.workload)
    lay = resolve(plan.model, c, w, strategy)
    worst = memory(plan.model, w, c, lay, activation_bytes_by_stage(plan.model, w, c, lay)).worst
    return c.gpu.memory_bytes - worst.weights_bytes - worst.activation_bytes


def _kv_scaled(plan, share: float):
    """The plan with its KV cache `share` of dagc's as the what-if before the term measured it: its reserve grown by
    the rest (`cluster.reserve_bytes`) — what `kv_cache_share` gives the KV cache (tests/test_calibrate_bench.py)."""
    grow = (1 - share) * (_free_bytes(plan) - plan.cluster.reserve_bytes)
    return plan.model_copy(update={"cluster": plan.cluster.model_copy(
        update={"reserve_bytes": plan.cluster.reserve_bytes + grow})})


def corpus(folds: bool = False, other: bool = False, kv: float | None = None) -> dict[str, tuple[float, float]]:
    """quantity → (uncalibrated, calibrated) median |error| on the test halves, over every group (`other`: the
    groups split the other way, `_halves`). `kv`: a what-if — the KV cache's share taken below `kv` in place of
    `dagc.calibrate.kv_share.TAKEN_BELOW`; the uncalibrated figures stay the shipped plans'."""
    before: dict[str, list[float]] = defaultdict(list)
    after: dict[str, list[float]] = defaultdict(list)
    if kv is not None:
        kv_share.TAKEN_BELOW = kv
    for key, runs in sorted(_groups().items()):
        fit_runs, test_runs = _halves(runs, other)
        t0 = time.perf_counter()
        try:
            cal = fit_jobs([_job(r) for r in fit_runs])
        except Exception as exc:  # noqa: BLE001  (a group dagc refuses is reported, not fitted)
            print(f"  {key[0]} {key[1]}: not calibrated: {type(exc).__name__}: {str(exc)[:120]}", flush=True)
            continue
        g_before, g_after = defaultdict(list), defaultdict(list)
        lines: list[str] = []
        for r in runs if folds else test_runs:
            plan = fc.lowered(r)
            got = []
            # calibrated as a plan naming the calibration is (`calibrated_cluster`): the fitted step_s holds the
            # engine's time per layer (`per_step_terms`), which it replaces
            for terms, into, g in ((None, before, g_before), (cal.terms, after, g_after)):
                figs, why = dagc_figures(plan if terms is None else per_step_terms(plan), terms)
                got.append(figs if why is None else {})
                for k, m in r.measured.items():
                    if why is None and k in figs and r in test_runs:
                        e = (figs[k] - m) / m
                        into[quantity_of(k)].append(e)
                        g[quantity_of(k)].append(e)
            if folds:
                lines += _fold_lines("test" if r in test_runs else "fit ", r, *got)
        shown = "; ".join(f"{q} {_median_abs(g_before[q]) * 100:.1f} % → {_median_abs(g_after[q]) * 100:.1f} %"
                          for q in ("tpot", "ttft", "e2e", "throughput") if g_before[q])
        kept = cal.kept
        first = fc.lowered(runs[0])
        print(f"  {key[0]} ({key[1]} {key[2] or ''} {first.cluster.gpus}×{first.cluster.gpu.name} "
              f"{first.strategies[0].text}; {', '.join(r.id for r in fit_runs)}): calibrated on {len(fit_runs)}, "
              "tested "
              f"on {len(test_runs)}: {_terms_text(cal.terms)}{' (kept: ' + ', '.join(kept) + ')' if kept else ''}; "
              f"{_kv_text(cal.kv)}; "
              f"{_chosen_text(cal)}; "
              f"median |error| {shown} [{time.perf_counter() - t0:.0f} s]", flush=True)
        if lines:
            print("\n".join(lines), flush=True)
    out = {q: (_median_abs(before[q]), _median_abs(after[q])) for q in before}
    for q, (b, a) in out.items():
        print(f"corpus: {q:10} test figures {len(before[q]):3}: median |error| uncalibrated {b * 100:5.1f} %, "
              f"calibrated {a * 100:5.1f} % ({a / b:.2f}× the uncalibrated)" if b else f"corpus: {q}: no error")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timing", action="store_true", help="the 50-run timing only")
    ap.add_argument("--corpus", action="store_true", help="the corpus comparison only")
    ap.add_argument("--folds", action="store_true", help="each fold's runs, figure by figure, uncalibrated and "
                    "calibrated")
    ap.add_argument("--other-half", action="store_true", help="calibrate on each group's other half of runs "
                    "(2nd, 4th, …), test on the rest")
    ap.add_argument("--kv", type=float, metavar="SHARE", help="what if a calibration took the KV cache's share "
                    "when below SHARE (the library's 0.8; 0: never, the fit before it; 1: whenever below dagc's)")
    args = ap.parse_args(argv)
    if args.timing or not args.corpus:
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs", flush=True)
        timing()
        timing(workers=2)
        timing(workers=None)
    if args.corpus or not args.timing:
        corpus(args.folds, args.other_half, args.kv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
