"""`dagc calibrate RUN... --plan PLAN -o FILE` and `dagc calibrate MANIFEST -o FILE`: the engine's terms fitted
on the user's own benchmark runs (`dagc.calibrate`, docs/calibrate.md), written to FILE, which a plan names with
`calibration from "FILE"`.

Exit codes: 0 written; 2 usage error (several positional arguments without --plan); 4 a run file, the manifest or
a plan that cannot be read, a strategy `dagc check` refuses (its own E401, E302, …, at `--strategy` or the
manifest's `strategy`), or a run that is not of its plan (E110, located in the run file); 5 FILE not written (it
exists and is not replaced without --force, or cannot be written).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from ..exit_codes import EXIT_INPUT, EXIT_OK, EXIT_OUTPUT, EXIT_USAGE
from ..units import count_text, said_list
from .commands import ALLOW_PATH_HELP
from .once import Once
from .output_file import output_refused, write_beside

if TYPE_CHECKING:
    from pathlib import Path

    from ..calibrate.calibrate import Calibrated, Job

__all__ = ["add_parser"]

EPILOG = """\
examples:
  vllm bench serve … --save-result --result-filename rate4.json
  dagc calibrate rate4.json --plan mixtral.moe --set "workload.rate=4 requests/s" -o cal.json
  dagc calibrate runs.toml -o cal.json          # each run with its plan and --set overrides
  # then in the plan: calibration from "cal.json"
"""


_P = TypeVar("_P", bound=argparse.ArgumentParser)   # the CLI's parser class

def add_parser(subparsers: argparse._SubParsersAction[_P]) -> _P:
    """Add `dagc calibrate` to the CLI's subparsers."""
    p = subparsers.add_parser("calibrate",
                              help="fit the engine's step and front-end time, kernel-time multipliers and KV cache "
                              "share on your own benchmark runs",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="RUN",
                   help="run files (vLLM --save-result JSON, SGLang bench_serving JSON lines, AIPerf / genai-perf "
                   "profile export) with --plan; or one manifest (TOML or JSON) listing runs with their plans")
    p.add_argument("--plan", metavar="PLAN", help="the .moe plan every run file measured")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE", default=[], dest="overrides",
                   help="an override of the plan, as `dagc check --set` (repeatable)")
    p.add_argument("--strategy", metavar="EXPR", action=Once,
                   help="the strategy the runs measured (default: the plan's one)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the calibration file to write")
    p.add_argument("--force", action="store_true", help="replace FILE when it exists (a regular file only)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="simulate the runs in N processes (default: one for every CPU this process may use; "
                        "at most that many)")
    p.add_argument("--allow-path", action="append", metavar="DIR", default=[],
                   help=ALLOW_PATH_HELP)
    p.set_defaults(func=cmd_calibrate)
    return p


def _plan_line(target: str, plan: str, manifest: bool, allowed: tuple[Path, ...]) -> str:
    """The line that names the written file in a plan: its path from the plan's directory (a plan reads a
    calibration relative to itself, docs/language.md "calibration") — with a manifest, from the manifest's, where
    its plans' paths start. A file outside that directory and every `--allow-path` one the plan may not read
    there (E109): say so, and where it may.

    Example:
        >>> _plan_line("sub/c7.json", "mix.moe", False, ())
        'in the plan: calibration from "sub/c7.json"'
    """
    from pathlib import Path

    from ..diagnostics import printable
    base = Path(plan).absolute().parent.resolve()
    written = Path(target).absolute().resolve()
    rel = os.path.relpath(written, base).replace(os.sep, "/")
    beside = "a plan in the manifest's directory" if manifest else "the plan"
    if written.is_relative_to(base):
        return f"in {beside}: calibration from \"{printable(rel)}\""
    if any(written.is_relative_to(Path(a).absolute().resolve()) for a in allowed):
        return f"in {beside}: calibration from \"{printable(rel)}\", read with the same --allow-path"
    return (f"{beside} reads files only under its own directory ({printable(str(base))}) or an --allow-path one "
            f"(docs/limits.md): write it there, or check the plan with --allow-path "
            f"{printable(str(written.parent))} and calibration from \"{printable(rel)}\"")


def _an_input(target: str, inputs: Sequence[tuple[str, str | None]]) -> str | None:
    """The error of an `-o` that names an input of the calibration (`inputs`: each what it is and its path), which
    the calibration file would replace — a run file, measured once, or the plan; None when it names none. Until
    2026-11-30 `dagc calibrate rate4.json --plan p.moe -o rate4.json --force` wrote the calibration over the run."""
    from ..diagnostics import printable
    for what, path in inputs:
        try:
            same = path is not None and os.path.samefile(target, path)
        except OSError:
            continue
        if same:
            return (f"error: -o {printable(target)} is {what} this calibration reads: writing the calibration there "
                    "would replace it; give -o another path")
    return None


def _read(jobs: Sequence[Job]) -> list[tuple[str, str | None]]:
    """The files the calibration's jobs read, each with what it is (`_an_input`): their runs' files and plans."""
    return [("a run file", j.run.path) for j in jobs] + [
        ("a plan", next((s.source.path for s in j.plan.spans.values()), None)) for j in jobs]


def _workers(jobs: int | None) -> int:
    """Processes for the fit: `--jobs`, at most the CPUs this process may use; one for each of them when it is not
    given (docs/calibrate.md, "Speed")."""
    from ..search.pool import cpu_count
    return max(1, cpu_count() if jobs is None else min(jobs, cpu_count()))


def _pct(xs: list[float]) -> str:
    import statistics
    return f"{statistics.median(abs(x) for x in xs) * 100:.1f} %" if xs else "—"


def _term(name: str, value: float) -> str:
    """A term as the summary shows it: seconds in ms, a time scale as a multiplier."""
    from ..calibrate.bound import term_text
    return term_text(name, value)


class Kept(NamedTuple):
    """Why a term was kept (`dagc.calibrate.select.Choice.why_kept`: `few`, `room`, `idle`, `alike`; `bound` from
    `dagc.calibrate.stages`), of how many runs, beside which terms fitted, whether those were the first set in order
    (`JointFit.by_order`), and whether they were fitted in stages, each on its quantity (`JointFit.stages`)."""

    why: str | None
    runs: int
    fitted: tuple[str, ...]
    by_order: bool = True
    staged: bool = False


def _how(name: str, value: float, moved: int, kept: bool, context: Kept | None = None) -> str:
    """Why a term has its value: fitted on how many runs (and whether the fit stopped at a bound of the term,
    where the runs would have taken it further: W541 says more), or kept (the engine's own) and why (`context`;
    with `room`, whether the terms fitted were the first set in order or explained the runs clearly better)."""
    why, runs, fitted, by_order, staged = context or Kept(None, 0, ())
    from ..calibrate.solve import BOUNDS, MIN_RUNS
    said = f"{moved} run{'' if moved == 1 else 's'}"
    if not kept:
        at = next((f"; at its {side} bound, {_term(name, b)}: the runs would take it further, which dagc does not "
                   "follow (W541)" for side, b in zip(("lower", "upper"), BOUNDS[name], strict=True)
                   if math.isclose(value, b, rel_tol=1e-6, abs_tol=1e-12)), "")
        return f"fitted on {said}{at}"
    if why == "cv":     # fitted, then not taken (`dagc.calibrate.crossval`)
        return ("kept (the engine's own value): the terms without it predicted the runs left out best "
                "(cross-validation)")
    if moved < MIN_RUNS:
        return f"kept: it moves the figures of {said}, fewer than {MIN_RUNS}"
    named = [f"`{t}`" for t in fitted]
    others = said_list(named)
    if why == "room":
        room = f"kept: {count_text(runs, 'run')} fit {count_text(max(0, runs - 1), 'term')}"
        if staged:      # each quantity's stage fitted the first terms, in dagc's order, of those moving its figures
            return (f"kept (the engine's own value): the {count_text(runs, 'run')} were fitted one quantity at a time "
                    f"(TPOT, throughput, TTFT), up to {count_text(max(0, runs - 1), 'term')} each, and no quantity's "
                    f"fit took it; they took {others or 'none'}")
        return (f"{room}: {others} first (no other set explains them clearly better)" if by_order else
                f"{room}, and {others} explain them clearly better than the others")
    if why == "bound":     # a stage took it to a bound (`dagc.calibrate.stages.stage_fit`)
        return ("kept (the engine's own value): fitted on its quantity's figures alone it went to a bound of its "
                "range, which no engine's kernels are: those figures are off for something else dagc does not model")
    if why == "idle":
        return f"kept: fitting it beside {others} explains the runs no better" if others else \
            "kept: fitting it explains the runs no better"
    return "kept: these runs cannot tell it apart from the terms fitted"


def _kv_text(cal: Calibrated) -> str:
    """The KV cache's share and how it got its value (`dagc.calibrate.kv_share`), after `kv_cache_share = `."""
    from ..calibrate.kv_share import AGREE, MIN_BURSTS, TAKEN_BELOW
    kv = cal.kv
    held = (f"the engine decoded {kv.median:.3g} of dagc's requests at once, the median of "
            f"{count_text(kv.bursts, 'offline burst')}")
    if kv.taken:
        return (f"{kv.share:.3g} (was 1; {held}: in flight its KV cache holds that share of what the weights, "
                "activations and reserve leave, and the terms above were fitted with it)")
    if not kv.binds:
        return (f"1 (kept: {held}, but a KV cache of that share changes none of dagc's figures of them: what held the "
                "engine's requests at once below dagc's is not its KV cache — likelier its cap on requests in flight "
                "(vLLM's `--max-num-seqs`, SGLang's `--max-running-requests`) below the plan's `batch`: give the plan "
                "that cap, `--set workload.batch=N`)")
    if kv.bursts < MIN_BURSTS:
        return f"1 (kept: {held}; a share is fitted from {MIN_BURSTS} bursts or more)"
    return (f"1 (kept: {held}; {kv.below} of them below {TAKEN_BELOW:g}, where {AGREE.numerator} in "
            f"{AGREE.denominator} must be)")


def _instances(cal: Calibrated) -> str:
    """` (engine instances of 4 GPUs)` where the runs' engines ran on fewer GPUs than the cluster has — what the terms
    stand for, and what W540 compares a plan with (the file's `instance_gpus`); until 2026-11-30 the header named the
    cluster's 8 GPUs alone for runs of `tp 4` on it."""
    from ..calibrate.deployed import instance_gpus
    sizes = sorted({g for j in cal.jobs for g in instance_gpus(j.plan)})
    if not sizes or sizes == [cal.jobs[0].plan.cluster.gpus]:
        return ""
    gpus = count_text(sizes[0], "GPU") if len(sizes) == 1 else f"{sizes[0]:,}–{sizes[-1]:,} GPUs"
    return f" (engine instances of {gpus})"


def _summary(jobs: Sequence[Job], cal: Calibrated) -> None:
    """What the calibration fitted, how each term got its value, and its errors before and after."""
    from ..calibrate.solve import TERMS
    from ..diagnostics import printable
    first = cal.jobs[0].plan
    print(f"calibrated {first.cluster.engine.name}@{first.cluster.engine.release} on {first.cluster.gpus} × "
          f"{first.cluster.gpu.name}{_instances(cal)}, {first.model.name}: {count_text(len(jobs), 'run')}")
    ignored = sorted({j.ignored_calibration for j in cal.jobs if j.ignored_calibration is not None})
    if ignored:
        files = " and ".join(f'`calibration from "{printable(f)}"`' for f in ignored)
        print(f"  note: the plan's {files} is left out: the fit starts from, and compares with, "
              f"{first.cluster.engine.name}'s own terms")
    if not cal.fit.fitted:         # every term the engine's own (docs/calibrate.md, "Identifiability")
        from ..calibrate.select import MIN_RUNS
        why = (f"{count_text(len(jobs), 'run')} {'fits' if len(jobs) == 1 else 'fit'} none: a term is fitted from "
               f"the figures of {MIN_RUNS} runs or more that it moves" if len(jobs) < MIN_RUNS
               else "these runs tell none apart")
        own = ("the engine's own terms and the KV cache's share below, with the runs' errors at them: a plan that "
               "reads it keeps the engine's step and kernel times" if cal.kv.taken else "the engine's own terms, with "
               "the runs' errors at them: a plan that reads it keeps the engine's figures")
        from ..verdict.ledger import ledger
        least = ledger().min_runs   # a calibration's own bands need as many runs (docs/bands.md)
        bands = "from these runs' errors" if len(jobs) >= least else \
            f"the ledger's widened to these runs' errors (a band of the runs' own needs {least} runs, docs/bands.md)"
        print(f"  no term fitted: {why}, docs/calibrate.md; the file holds {own}, its bands {bands}")
    said: dict[str, str] = {}       # a reason said in full, by the first term it was said of
    for name in TERMS:
        how = _how(name, cal.terms[name], cal.fit.moved[name], name in cal.kept,
                   Kept(cal.fit.why_kept.get(name), len(jobs), cal.fit.fitted, cal.fit.by_order, bool(cal.fit.stages)))
        # the same reason of the next term is "as" the first's: until 2026-12-03 a run that fitted none said "kept:
        # it moves the figures of 1 run, fewer than 3" five times over
        shown = f"kept: as `{said[how]}`" if how.startswith("kept") and how in said else how
        said.setdefault(how, name)
        print(f"  {name} = {_term(name, cal.terms[name])} (was {_term(name, cal.start[name])}; {shown})")
    if cal.kv.bursts:
        print(f"  kv_cache_share = {_kv_text(cal)}")
    if (cv := cal.cv) is not None and cv.tried and (cv.names, cv.share) != (cv.tried[0].names, 1.0):
        taken = ", ".join(f"`{t}`" for t in cv.names) or "no term: the engine's own terms"
        share = f", {cv.share:g} of the way from the engine's own" if cv.names and cv.share != 1 else ""
        fit = cv.tried[0].ratio
        print(f"  chosen by cross-validation: {taken}{share} (on the median run left out {cv.ratio:.2g} of the "
              f"engine's own terms' loss, the fit {f'{fit:.2g}' if math.isfinite(fit) else 'worse'}; "
              "docs/calibrate.md)")
    before, after, cross = cal.errors("before"), cal.errors("after"), cal.errors("cross_validated")
    print("  median |error|   uncalibrated  calibrated  cross-validated")
    for q in ("tpot", "ttft", "e2e", "throughput"):
        if q in before:
            left = _pct(cross[q]) if cal.cross_validates else "—"
            print(f"  {q:15} {_pct(before[q]):>13} {_pct(after[q]):>11} {left:>16}")
    if not cal.cross_validates and cal.fit.fitted:
        print(f"  not cross-validated: a fit without one of {len(jobs)} runs has {len(jobs) - 1}, fewer than a term "
              "needs (docs/calibrate.md); its residuals are the calibrated ones")


def cmd_calibrate(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from ..calibrate.bound import at_bound_warnings
    from ..calibrate.calibrate import calibrate
    from ..calibrate.manifest import jobs_of, jobs_of_manifest
    from ..calibrate.worse import worse_warnings
    from ..diagnostics import PlanError, printable
    from .printing import make_console, render_diags
    err = make_console(sys.stderr)
    if args.jobs is not None and args.jobs < 1:
        err.print("error: --jobs is a number of processes, at least 1", markup=False)
        return EXIT_USAGE
    if args.plan is None and len(args.inputs) != 1:
        err.print("error: several run files need --plan PLAN (or give one manifest that lists them with their "
                  "plans)", markup=False)
        return EXIT_USAGE
    if args.plan is None and (args.overrides or args.strategy):
        err.print("error: --set and --strategy go with --plan; in a manifest, write them in its entries",
                  markup=False)
        return EXIT_USAGE
    target = args.output
    given = [("the plan", args.plan)] + [("a run file" if args.plan else "the manifest", x) for x in args.inputs]
    if (refused := _an_input(target, given)) is not None:
        err.print(refused, markup=False)
        return EXIT_OUTPUT
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        err.print(f"error: cannot write {printable(target)}: its directory does not exist", markup=False)
        return EXIT_OUTPUT
    allowed = tuple(Path(p) for p in args.allow_path)
    try:
        jobs = (jobs_of(args.inputs, args.plan, args.overrides, args.strategy, allowed) if args.plan is not None
                else jobs_of_manifest(args.inputs[0], allowed))
        # a manifest's run file or plan, before `--force` is suggested for it (`_an_input`)
        if (refused := _an_input(target, _read(jobs)) or output_refused(target, args.force)) is not None:
            err.print(refused, markup=False)
            return EXIT_OUTPUT
        cal = calibrate(jobs, workers=_workers(args.jobs))
    except PlanError as exc:
        render_diags(err, exc.diagnostics)
        err.print(f"error: {len(exc.diagnostics)} problem{'s' if len(exc.diagnostics) != 1 else ''}; nothing was "
                  "calibrated", markup=False)
        return EXIT_INPUT
    doc = cal.document()
    why = write_beside(target, json.dumps(doc, indent=1) + "\n", ".dagc-calibration-")
    if why is not None:
        err.print(f"error: cannot write {printable(target)}: {printable(why)}", markup=False)
        return EXIT_OUTPUT
    _summary(jobs, cal)
    print(f"wrote {printable(target)}; {_plan_line(target, args.plan or args.inputs[0], args.plan is None, allowed)}")
    if warned := at_bound_warnings(jobs, cal.fit) + worse_warnings(cal):
        render_diags(err, warned)
    return EXIT_OK
