"""`dagc fleet PLAN`: every cluster of the plan's `fleet { … }` searched at the arrival rate, ranked by cost per
million tokens among those meeting every requirement (docs/fleet.md).

Input: the parsed arguments. Output: the exit code (0: a cluster meets every requirement; 1: none does; 4: a
bad plan or fleet; 5: the outputs could not be written); the table (or JSON) on stdout, errors on stderr;
fleet.json (report.json's `fleet`, with the plan's path), fleet.md and fleet.html, fleet.svg (cost per million
tokens vs TPOT, at the percentile its table shows, by GPU type) and fleet-results.jsonl (each cluster's answer as it
arrives: run again after Ctrl-C to resume) in the output directory, out/<plan> by default.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..exit_codes import EXIT_INPUT, EXIT_OK, EXIT_REQUIREMENTS, EXIT_USAGE
from ..units import count_text
from .commands import ALLOW_PATH_HELP, allowed_paths, is_quiet, loading, progress_bar, search_jobs
from .engine_option import output_dir_or_default

if TYPE_CHECKING:
    import argparse
    from argparse import Namespace
    from collections.abc import Callable

    from rich.console import Console

    from ..fleet.rank import FleetResult, FleetRow
    from ..fleet.stored import StoredAnswer
    from ..jsontypes import JSONObject
    from ..lang.fleet_ir import Fleet, FleetPoint
    from ..plan.plan import Plan

__all__ = ["FLEET_JSON", "add_fleet_parser", "cmd_fleet"]

FLEET_JSON = "fleet.json"

_P = TypeVar("_P", bound="argparse.ArgumentParser")   # the CLI's parser class


def add_fleet_parser(sub: argparse._SubParsersAction[_P], positive_int: Callable[[str], int]) -> None:
    """`dagc fleet`'s arguments."""
    fl = sub.add_parser("fleet", help="which cluster to rent: every cluster of the plan's `fleet` searched at its "
                        "traffic, ranked by what renting it costs a million tokens (every GPU charged)",
                        epilog="example: dagc fleet plan.moe --jobs 2")
    fl.add_argument("plan", help="the .moe plan file, with a `fleet { … }` statement")
    fl.add_argument("-o", "--output", metavar="DIR", type=output_dir_or_default,
                    help="where fleet.json and fleet-results.jsonl are written (default out/<plan>)")
    fl.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                    help="search N clusters at once in worker processes (default: one, in this process)")
    fl.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                    help="search each cluster as a Ray task: on a local Ray, or on the cluster at ADDRESS "
                    "(the optional extra: pip install -e '.[ray]' in dagc's checkout)")
    fl.add_argument("--top", type=positive_int, default=10, metavar="N",
                    help="how many clusters to show (default 10)")
    fl.add_argument("--fresh", action="store_true",
                    help="search every cluster again, not resuming from fleet-results.jsonl")
    fl.add_argument("--launch", action="store_true",
                    help="then print the commands that start the best cluster's strategy on its engine (dagc launch)")
    fl.add_argument("--format", choices=("text", "json"), default="text",
                    help="what to print: the ranking (text) or fleet.json's document (json, docs/fleet.md)")
    fl.add_argument("--force", action="store_true",
                    help="write into an output directory that dagc cannot tell it wrote (docs/security.md)")
    fl.add_argument("--allow-path", action="append", metavar="DIR", default=[],
                    help=ALLOW_PATH_HELP)
    fl.add_argument("-q", "--quiet", action="store_const", const=-1, dest="volume", default=0,
                    help="print the best cluster only")
    fl.set_defaults(func=cmd_fleet)


def cmd_fleet(args: Namespace) -> int:
    with loading():
        from ..diagnostics import PlanError, printable, render
        from ..fleet.rank import rank_fleet
        from ..lang.fleet import fleet_plans, load_fleet
        from ..lang.parse import read_source
        from ..rules.log_lengths import log_lengths
        from ..rules.node_size import fleet_nodes_beyond_domain
        from ..rules.requirements import memory_above_gpu
        from ..rules.serving import percentile_samples
        from ..verdict.ledger import band_ratio
        from .printing import make_console, render_diags
    err = make_console(sys.stderr)
    if args.launch and args.format == "json":    # stdout holds fleet.json's document alone (docs/cli.md)
        err.print("error: --launch prints text, which --format json's standard output cannot hold beside fleet.json's "
                  "document: drop one, or run `dagc launch PLAN --strategy S --set OPTION …` with the best's `pick."
                  "strategy` and `options` from that document (docs/fleet.md)", markup=False)
        return EXIT_USAGE
    try:
        plan, fleet = load_fleet(args.plan, allow_paths=allowed_paths(args))
        items = fleet_plans(args.plan, fleet, allow_paths=allowed_paths(args))
        plan_text = read_source(args.plan).text        # for the results file's signature: read as a plan is
    except PlanError as exc:
        if args.format == "json":   # as `dagc check` and `dagc search` print a plan they cannot read (docs/cli.md)
            print(json.dumps({"plan": args.plan, "valid": False, "diagnostics": [d.to_json() for d in exc.diagnostics]},
                             indent=2))
        render_diags(err, exc.diagnostics)
        err.print(f"error: {printable(args.plan)}: the fleet was not searched", markup=False)
        return EXIT_INPUT
    # W524 of each GPU the fleet sweeps (its plans are the plan's on that cluster), once a GPU; W521 and W536 of the
    # traffic every cluster is judged under, as `dagc check` says them (until 2026-11-30 not said); W535 of each node
    said = (*(d for _, pl in items for d in (*memory_above_gpu(pl), *percentile_samples(pl), *log_lengths(pl))),
            *fleet_nodes_beyond_domain(fleet, items))
    render_diags(err, {render(d): d for d in said}.values())
    read = dict.fromkeys(f for pl in (plan, *(pl for _, pl in items)) for f in pl.files)   # each file the plan reads
    files = _fleet_files(args, plan.name, (plan_text, tuple(read)), {p.key for p, _ in items}, err)
    if isinstance(files, int):
        return files
    _say_rejected(files, {p.key: p for p, _ in items}, err)
    if files.known and not is_quiet(args):
        # read back as written, not searched again: a file the output directory held before this run — in CI, one a
        # pull request may have committed — decides them (docs/security.md; until 2026-12-03 not said)
        err.print(f"note: {len(files.known):,} of {len(items):,} searches resumed from {files.results}: their answers "
                  "are read back as that file holds them, not searched again (--fresh searches every cluster; in CI, "
                  "on files you did not write, pass --fresh or an -o of your own)", markup=False)
    if files.stale and not is_quiet(args):   # the same command after an interruption resumed nothing: say why
        err.print(f"note: {files.results} held {count_text(files.stale, 'answer')} of another sweep (the plan's text, "
                  "a file it reads or dagc itself changed since): every cluster is searched again", markup=False)
    answers = _run(args, fleet, items, files, err)
    if isinstance(answers, int):
        return answers
    result = rank_fleet(fleet, answers, plan.objective, band_ratio(plan, "cost"))
    if plan.calibration is not None:     # picks on instances its runs never had: said, as `dagc search` says them
        from ..fleet.calibrated import outside_calibration
        result = replace(result, outside_calibration=outside_calibration(plan, result.ranked))
    return _write_and_print(args, plan, _with_best_capacity(result, items), files, err)


def _with_best_capacity(result: FleetResult, items: list[tuple[FleetPoint, Plan]]) -> FleetResult:
    """`result` with its best pick's capacity bisected, under one traffic (no mixes): at the fleet's rate, the
    replicas of a search's strategy running their own batch together (`judged_batch`)."""
    best = result.best
    pick = None if best is None else best.answer.pick
    if best is None or pick is None or best.mixes:
        return result
    from ..fleet.cluster import judged_batch, pick_capacity
    point, cluster_plan = next((p, pl) for p, pl in items if p.cluster == best.index)
    return result.with_best_capacity(pick_capacity(cluster_plan, pick.strategy, judged_batch(pick.written),
                                                   point.rate))


@dataclass(frozen=True)
class _Files:
    """Where `dagc fleet` writes: the output directory, the results file (with the answers it already holds
    for this plan, `known`), fleet.json and the pages (fleet.md, fleet.svg, fleet.html)."""

    out_dir: Path
    results: Path
    report: Path
    pages: dict[str, Path]
    known: dict[str, StoredAnswer]
    rejected: tuple[tuple[str, str], ...] = ()     # stored answers not of dagc's shape (`Resumed.rejected`)
    stale: int = 0                                   # stored answers of another sweep (`Resumed.stale`)


def _say_rejected(files: _Files, points: dict[str, FleetPoint], err: Console) -> None:
    """A note for each stored answer that is not of the shape dagc writes: its cluster is searched again."""
    for key, why in files.rejected:
        p = points[key]
        name = p.label + (f', mix "{p.mix}"' if p.mix is not None else "")
        err.print(f"note: {files.results}: the stored answer of {name} is not of the shape dagc writes ({why}); "
                  "that cluster is searched again", markup=False)


def _fleet_files(args: Namespace, name: str, reads: tuple[str, tuple[str, ...]], keys: set[str],
                 err: Console) -> _Files | int:
    """The output files, the results file started (with the answers of `keys` it holds, unless `--fresh`, for the
    sweep of `reads`: the plan's text and the files it reads, `dagc.fleet.results_file.signature`); the exit code
    when they cannot be written."""
    with loading():
        from ..export.fleet_json import answer_json
        from ..export.output_dir import default_output_dir, plot_dir
        from ..export.write import OutputError
        from ..fleet.cluster import SEARCH_TOP
        from ..fleet.results_file import RESULTS_NAME, Resumed, file_digests, read_results, signature, start_results
        from .printing import output_failed
    force = bool(args.force)
    out_dir = Path(args.output or "out")            # named by an error before the default is made
    try:
        out_dir = Path(args.output) if args.output else default_output_dir(name)
        results = plot_dir(out_dir, RESULTS_NAME, force)
        report = plot_dir(out_dir, FLEET_JSON, force)
        pages = {page: plot_dir(out_dir, page, force) for page in ("fleet.md", "fleet.svg", "fleet.html")}
        sig = signature(reads[0], SEARCH_TOP, file_digests(reads[1]))
        resumed = Resumed() if args.fresh else read_results(results, sig)
        known = {k: a for k, a in resumed.answers.items() if k in keys}
        start_results(results, sig, {k: answer_json(a) for k, a in known.items()})
    except (OutputError, OSError) as exc:
        return output_failed(err, exc, out_dir)
    return _Files(out_dir, results, report, pages, known, tuple((k, w) for k, w in resumed.rejected if k in keys),
                  resumed.stale)


def _run(args: Namespace, fleet: Fleet, items: list[tuple[FleetPoint, Plan]], files: _Files,
         err: Console) -> list[tuple[FleetPoint, StoredAnswer]] | int:
    """Every cluster's answer (those known, and the others searched, each saved to the results file as it
    arrives); the exit code when Ray is missing."""
    with loading():
        from ..export.fleet_json import FLEET_ASK, answer_json
        from ..fleet.ray_run import RayMissing, RayUnreachable
        from ..fleet.results_file import append_result
        from ..fleet.run import run_fleet
    progress = progress_bar(f"searching {fleet.clusters:,} clusters"
                            + (f" under {len(fleet.mixes)} mixes" if fleet.mixes else ""), is_quiet(args))
    saved = len(files.known)

    def save(point: FleetPoint, answer: StoredAnswer) -> None:
        nonlocal saved
        append_result(files.results, point.key, answer_json(answer))
        saved += 1

    if args.ray is not None and args.jobs is not None:     # Ray runs as many tasks as its cluster has CPUs
        err.print(f"note: --jobs {args.jobs} is not read with --ray: Ray runs as many clusters at once as it has CPUs",
                  markup=False)
    try:
        jobs = 1 if args.ray is not None else search_jobs(args, err)
        return run_fleet(items, FLEET_ASK, jobs=jobs, ray=args.ray, known=files.known,
                         on_answer=save, progress=progress)
    except (RayMissing, RayUnreachable) as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        progress.close()
        err.print(f"note: {saved:,} of {len(items):,} searches' answers are saved in {files.results}; the same "
                  "command resumes from them", markup=False)
        raise
    finally:
        progress.close()


def _write_and_print(args: Namespace, plan: Plan, result: FleetResult, files: _Files, err: Console) -> int:
    """Write fleet.json and the pages, then print the table (or the JSON); the exit code."""
    name = plan.name
    with loading():
        from ..export.fleet_json import fleet_json
        from ..export.fleet_out import fleet_md, fleet_svg, svg_tpot
        from ..export.html import report_html
        from ..export.write import OutputError, write_text_atomic
        from .print_fleet import print_fleet
        from .printing import make_console, output_failed
    fleet = fleet_json(result)
    doc: JSONObject = {"plan": args.plan, "fleet": fleet}
    text = json.dumps(doc, indent=2, allow_nan=False)
    try:
        md = fleet_md(fleet, name) + "\n"
        svg = fleet_svg(fleet, f"{name}: cost per million tokens vs p{svg_tpot(fleet)} TPOT, by GPU type")
        write_text_atomic(files.report, text + "\n")
        write_text_atomic(files.pages["fleet.md"], md)
        write_text_atomic(files.pages["fleet.svg"], svg)
        write_text_atomic(files.pages["fleet.html"], report_html(md, {"fleet.svg": svg}))
    except (OutputError, OSError) as exc:
        return output_failed(err, exc, files.out_dir)
    if args.format == "json":
        print(text)
    else:
        print_fleet(make_console(), result, args.top, f"{files.report}, fleet.md, fleet.html, fleet.svg, "
                    f"{files.results.name} (each cluster's answer: the same command resumes from it)",
                    plan=args.plan, quiet=is_quiet(args))
    if result.best is None:
        return EXIT_REQUIREMENTS
    return _launch(args, result.best, plan) if args.launch else EXIT_OK


def _launch(args: Namespace, best: FleetRow, plan: Plan) -> int:
    """`--launch`: `dagc launch` of the best cluster's pick, on its engine, its plan read with its `--set` options
    and at the fleet's rate (with mixes, the heaviest mix's)."""
    import argparse

    from ..export.at_rate import rate_arg
    from .launch import cmd_launch
    sys.stdout.flush()
    engine = best.answer.cluster.engine.partition("@")[0]
    shown = best.heaviest if best.heaviest is not None else best
    options = shown.options
    # at the rate the fleet judged the pick at, as its `dagc search --rate R` line reads the plan: a workload with a
    # rate or a request log's times of its own was launched at those (until 2026-11-30), under the fleet's best
    traffic = plan.workload.traffic
    own = traffic.rate if traffic is not None and traffic.concurrency is None else None
    if shown.rate_requests_per_s not in (None, own) and not any(o.startswith("workload.rate=") for o in options):
        options = (*options, f"workload.rate={rate_arg(shown.rate_requests_per_s)} requests/s")
    # where the engine came from, not an `--engine` the user never typed (until 2026-11-30 "(--engine vllm: …)")
    swept = any(o.replace(" ", "").startswith("cluster.engine=") for o in options)
    whence = ("the engine of the fleet's best cluster" if swept else "the plan's engine, the fleet's best cluster's"
              if "cluster.engine" in plan.spans else "dagc's default engine: neither the plan nor the fleet names one")
    return cmd_launch(argparse.Namespace(
        plan=args.plan, engine=engine if engine != "pytorch" else None, engine_from=whence,
        strategy=None if best.answer.pick is None else best.answer.pick.strategy,
        output=None, allow_path=args.allow_path, overrides=tuple(options)))
