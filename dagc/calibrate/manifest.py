"""What `dagc calibrate` calibrates on: run files with their plans, from the command line or a manifest.

Input: run files, a plan with its `--set` overrides and `--strategy`; or a manifest (TOML, or JSON of the same
shape, docs/calibrate.md) listing each run file with its plan, overrides and strategy:

    [[run]]
    file = "runs/rate4.json"          # relative to the manifest
    plan = "mixtral.moe"
    set = ["workload.rate=4", "workload.requests=200"]
    strategy = "tp 8"                 # optional: the plan's one strategy
    run = 2                           # optional: the 2nd run of a file of several (JSON lines)

Top-level `plan`, `set` and `strategy` are every entry's default. Output: the `Job`s
(`dagc.calibrate.calibrate`), or a `PlanError`: E110 located in the manifest (a key missing or of the wrong
type, a run number the file does not have), the plans' own diagnostics, the run files' E110.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, PlanError, code, path_word, printable, quote
from ..lang.fields import did_you_mean
from ..lang.load import strategy_option
from ..lang.overrides import load_plan_with
from ..lang.parse import MAX_PLAN_BYTES
from ..plan.plan import Plan
from ..rules.syntax import run_refusal
from ..source import SourceFile
from .calibrate import Job
from .manifest_paths import LINK_HINT, inside, missing_hint, outside_hint, written_inside
from .manifest_sets import in_manifest
from .manifest_slips import no_entries
from .match import Shared, disagreements, several_traffics
from .measured import MeasuredRun
from .refused import refusals
from .runs import MANIFEST_HINT, manifest_like, read_runs, read_text

__all__ = ["MAX_MANIFEST_BYTES", "MAX_MANIFEST_RUNS", "jobs_of", "jobs_of_manifest", "plan_for"]

MAX_MANIFEST_RUNS = 10_000
MAX_MANIFEST_BYTES = MAX_PLAN_BYTES         # 1 MiB, as a plan
_FORM = ('a manifest is `[[run]]` tables of `file`, `plan`, `set` (a list of "FIELD=VALUE"), `strategy` and `run` '
         "(docs/calibrate.md)")
_RUN_FILE = "a run file is given with `--plan PLAN`: `dagc calibrate RUN… --plan PLAN -o FILE`"
_PLAN_GIVEN = ("give the plan with `--plan`, after the run files it measured: `dagc calibrate RUN… --plan PLAN -o "
               "FILE`; or a manifest of runs and their plans (docs/calibrate.md, \"The manifest\")")


def plan_for(path: str | Path, overrides: Sequence[str], strategy: str | None,
             allow_paths: Sequence[Path] = ()) -> Plan:
    """The plan a run measured: its file with the overrides, its one strategy (or `strategy`).

    Raises:
        PlanError: the plan's diagnostics; E110 when it has several strategies and none is named; every error
            `dagc check` gives the strategy (`refusals`: E401, E302, …), located as `dagc check` locates them.
    """
    plan = _chosen(path, overrides, strategy, allow_paths)
    if refused := refusals(plan):           # what `dagc check` refuses is no deployment a run measured
        raise PlanError(refused)
    return plan


def _chosen(path: str | Path, overrides: Sequence[str], strategy: str | None, allow_paths: Sequence[Path]) -> Plan:
    """The plan with the overrides and its one strategy (`plan_for`), not yet checked; with `strategy`, a plan
    without a strategy line is read (the strategy given is the one the runs measured, as `dagc check --strategy`)."""
    plan = load_plan_with(path, overrides, allow_paths=allow_paths, needs_strategy=strategy is None)
    if strategy is not None:
        return plan.model_copy(update={"strategies": (strategy_option(strategy, plan),)})
    if len(plan.strategies) > 1:
        raise PlanError([run_refusal(f"the plan has {len(plan.strategies)} strategies: "
                                    "which one did the runs measure?", plan.strategies[1].span,
                                    "name it with --strategy, by its name or its expression "
                                    "(in a manifest, `strategy = \"…\"`)")])
    return plan


def _shown(plan: str | Path, overrides: Sequence[str], strategy: str | None = None) -> str:
    """The plan a run measured, as messages name it: its file, `--set`s and `--strategy`, each one shell word to paste
    (until 2026-12-01 bare: `q.moe --set workload.rate=4 requests/s`, which a shell splits)."""
    return path_word(str(plan)) + "".join(f" --set {printable(shlex.quote(o))}" for o in overrides) + (
        "" if strategy is None else f" --strategy {printable(shlex.quote(strategy))}")


def jobs_of(runs: Sequence[str | Path], plan: str | Path, overrides: Sequence[str] = (), strategy: str | None = None,
            allow_paths: Sequence[Path] = ()) -> list[Job]:
    """Every run of every run file, each with the one plan (`dagc calibrate RUN... --plan PLAN`).

    Raises:
        PlanError: the plan's diagnostics; else every problem at once — the strategy's errors (`refusals`), each run
            file's E110, a run given twice, each run's disagreements with the plan (`dagc.calibrate.match`).
    """
    try:
        p = _chosen(plan, overrides, strategy, allow_paths)
    except PlanError as exc:        # a manifest given as the plan (`--plan runs.toml`): said so, not as a plan's E001
        if (manifest := _as_manifest(plan)) is not None:
            raise PlanError([run_refusal("`--plan` names a manifest, not a plan", manifest.span(0, 0),
                                         MANIFEST_HINT)]) from None
        raise exc from None
    problems = refusals(p)
    jobs: list[Job] = []
    entries: list[str] = []             # each job's manifest entry, were it given one of its own
    seen: dict[tuple[str, int], int] = {}
    for n, f in enumerate(runs, 1):
        try:
            found = read_runs(f)
        except PlanError as exc:
            problems += exc.diagnostics
            continue
        for i, r in enumerate(found, 1):
            first = seen.setdefault(_measurement(f, r), n)
            if first != n:
                problems.append(run_refusal(f"run {quote(r.id)} is given twice (run files {first} and {n} are one "
                                            "file): a run counted twice would fit terms on one measurement as if "
                                            "on several", r.span("requests"), "give each run file once"))
                continue
            jobs.append(Job(r, p, _shown(plan, overrides, strategy)))
            entries.append(_entry_keys(f, i, len(found), plan, strategy))
    why = ("run files on the command line share one plan, and these runs are of several traffics: in a manifest "
           "(docs/calibrate.md, \"The manifest\"),")
    shared = several_traffics([j.run for j in jobs])
    problems += [d for j, e in zip(jobs, entries, strict=True) for d in disagreements(
        j.run, j.plan, j.plan_shown, Shared(why, e, tuple(overrides)) if shared else None)]
    if problems:
        raise PlanError(problems)
    return jobs


def _as_manifest(path: str | Path) -> SourceFile | None:
    """A file given as the plan, when it is a manifest — TOML with `[[run]]` tables, which no plan is — read as a
    manifest is (a regular file, never echoed); else None."""
    try:
        src = read_text(path, "manifest", MAX_MANIFEST_BYTES)
    except PlanError:
        return None
    return src if manifest_like(src.text) else None


def _entry_keys(file: str | Path, k: int, runs: int, plan: object = None, strategy: object = None) -> str:
    """The keys of a manifest entry that name the k-th of a file's `runs`, with its `plan` and `strategy` where the
    entry needs them: `plan = "p.moe"  file = "runs.jsonl"  run = 2`."""
    keys = [] if plan is None else [f"plan = {json.dumps(str(plan))}"]
    keys += [f"file = {json.dumps(str(file))}"] + ([f"run = {k}"] if runs > 1 else [])
    return "  ".join(keys + ([] if strategy is None else [f"strategy = {json.dumps(str(strategy))}"]))


def _measurement(file: str | Path, run: MeasuredRun) -> tuple[str, int]:
    """What tells one measurement from another: its file, links and `./` resolved, and where the run starts in it
    (a run is listed twice when both are the same)."""
    try:
        resolved = os.path.realpath(file)
    except (OSError, ValueError):
        resolved = os.path.abspath(file)
    return resolved, run.start


def _bad(src: SourceFile, at: int, message: str, hint: str = _FORM) -> PlanError:
    return PlanError([run_refusal(message, src.span(at, at), hint)])


def _strings(src: SourceFile, at: int, v: object, whose: str) -> list[str]:
    """A `set` (of the entry `whose` names, `run entry 2:`, else the top level's), a list of strings; else E110 —
    a string alone (`set = "workload.rate=4 requests/s"`) hinted in brackets."""
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        said = "is a string, not a list" if isinstance(v, str) else 'is not a list of "FIELD=VALUE" strings'
        hint = ('write it in brackets, a list of "FIELD=VALUE" strings: `set = ["workload.rate=4 requests/s"]`'
                if isinstance(v, str) else _FORM)
        raise _bad(src, at, f"{whose}`set` {said}", hint)
    return list(v)


def jobs_of_manifest(path: str | Path, allow_paths: Sequence[Path] = ()) -> list[Job]:
    """The jobs a manifest lists (runs and plans relative to the manifest's directory, and inside it or a
    directory of `allow_paths`: a manifest from elsewhere never makes dagc read, nor echo, a file beyond them).

    Raises:
        PlanError: every problem of the manifest at once where they are independent: each entry's (an unknown key,
            a path outside the directory, its plan's or its `set` values' diagnostics, a run listed twice) and each
            run's disagreement with its plan (`dagc.calibrate.match`); an entry with a problem is not read further.
    """
    src = read_text(path, "manifest", MAX_MANIFEST_BYTES)
    text = src.text
    as_json = text.lstrip().startswith("{")
    try:
        found = json.loads(text) if as_json else _json_list(text) or tomllib.loads(text)
    except (ValueError, RecursionError) as exc:   # in dagc's words, not Python's
        said = ("it nests too deeply" if isinstance(exc, RecursionError) else f"a number is longer than "
                f"{sys.get_int_max_str_digits():,} digits" if "integer string" in str(exc) else quote(str(exc), 120))
        why = f"the manifest is not valid TOML or JSON: {said}"
        # JSON values one a line are a run file (SGLang's bench_serving writes them), given with `--plan`; a `.moe`
        # file is the plan, given with `--plan` too (`dagc calibrate PLAN`, as `dagc check PLAN` is written)
        if Path(path).suffix == ".moe":
            raise _bad(src, 0, "a plan (a `.moe` file) is given where the runs or a manifest are",
                       _PLAN_GIVEN) from None
        raise _bad(src, _error_at(text, exc), why, _RUN_FILE if as_json else _FORM) from None
    entries = found.get("run") if isinstance(found, dict) else None
    if not isinstance(found, dict) or not isinstance(entries, list) or not entries \
            or not all(isinstance(e, dict) for e in entries):
        raise no_entries(src, found) or _bad(src, 0, "the manifest has no `[[run]]` entries", f"{_RUN_FILE}; {_FORM}")
    doc: dict[str, object] = found
    if len(entries) > MAX_MANIFEST_RUNS:
        raise _bad(src, 0, f"the manifest lists more than {MAX_MANIFEST_RUNS:,} runs")
    if top := _unknown_keys(src, doc, _TOP_KEYS, 0, "the manifest has"):     # every entry's defaults: said alone
        raise PlanError(top)
    reading = _Reading(src, doc, Path(path), tuple(allow_paths))
    jobs: list[Job] = []
    for k, e in enumerate(entries, 1):
        try:
            jobs += reading.entry(k, e)
        except PlanError as exc:
            reading.errors += [d for d in exc.diagnostics if d not in reading.errors]
    if reading.errors:
        raise PlanError(reading.errors)
    return jobs


def _json_list(text: str) -> list[Any] | None:
    """A JSON array (a manifest of the wrong shape, said as one without entries), else None: TOML's `[[run]]`."""
    if not text.lstrip().startswith("["):
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, list) else None


@dataclass
class _Reading:
    """A manifest being read: what its entries share (their plans, the runs already listed) and every problem found."""

    src: SourceFile
    doc: dict[str, object]
    path: Path
    allow_paths: tuple[Path, ...]
    plans: dict[tuple[str, tuple[str, ...], str | None], Plan | PlanError] = field(default_factory=dict)
    seen: dict[tuple[str, int], int] = field(default_factory=dict)
    errors: list[Diagnostic] = field(default_factory=list)

    def bare(self, plan: str, strategy: str | None) -> set[tuple[str, str]]:
        """The (code, message) of each diagnostic of `plan` read without any `set` value: what is the plan's own,
        not an entry's `set` values' (`in_manifest`)."""
        try:
            plan_for(self.path.parent / plan, (), strategy, self.allow_paths)
        except PlanError as exc:
            return {(d.code, d.message) for d in exc.diagnostics}
        return set()

    def entry(self, k: int, e: dict[str, object]) -> list[Job]:
        """The jobs of the k-th entry, each run checked against its plan. Raises PlanError: the entry's problems."""
        src, doc, at = self.src, self.doc, _entry_at(self.src.text, k)
        if unknown := _unknown_keys(src, e, _ENTRY_KEYS, at, f"run entry {k}:"):
            raise PlanError(unknown)
        base = self.path.absolute().parent
        which = e.get("run")
        file, plan, strategy = _check_entry(src, at, k, e.get("file"), e.get("plan", doc.get("plan")),
                                            e.get("strategy", doc.get("strategy")), (base, *self.allow_paths))
        own = _strings(src, _key_at(src.text, at, "set"), e.get("set"), f"run entry {k}: ")
        overrides = _strings(src, _key_at(src.text, 0, "set", entry=False), doc.get("set"), "the manifest's ") + own
        key = (plan, tuple(overrides), strategy)
        if key not in self.plans:
            try:
                self.plans[key] = plan_for(self.path.parent / plan, overrides, strategy, self.allow_paths)
            except PlanError as exc:
                self.plans[key] = PlanError(in_manifest(exc.diagnostics, src, at, k, overrides, strategy,
                                                        self.bare(plan, strategy) if overrides else None))
        found = self.plans[key]
        if isinstance(found, PlanError):
            raise found
        runs = read_runs(self.path.parent / file)      # named as the manifest is: relative when it is
        if which is not None:
            if isinstance(which, bool) or not isinstance(which, int):
                raise _bad(src, _key_at(src.text, at, "run"), f"run entry {k}: `run` is not a whole number",
                           f"`run = N`, N from 1 to {len(runs)}: the runs of {code(file)}, counted from 1"
                           if len(runs) > 1 else f"{code(file)} holds one run: leave `run` out")
            if not 1 <= which <= len(runs):
                raise _bad(src, _key_at(src.text, at, "run"),
                           f"run entry {k}: `run` is not a run of {code(file)} (it holds {len(runs)})")
            runs = [runs[which - 1]]
        for r in runs:
            first = self.seen.setdefault(_measurement(base / file, r), k)
            if first != k:
                raise _bad(src, _key_at(src.text, at, "file"), f"run entry {k}: run {quote(r.id)} is entry {first}'s "
                           "too (the same file and run): a run counted twice would fit terms on one measurement as "
                           "if on several", "list each run once")
        jobs = [Job(r, found, _shown(plan, overrides, strategy)) for r in runs]
        why = "the entry's `set` is every run's of its file, and they are of several traffics:"
        shared = which is None and several_traffics(runs)
        entries = [_entry_keys(file, i, len(runs), e.get("plan"), e.get("strategy")) for i in range(1, len(runs) + 1)]
        if wrong := [d for j, keys in zip(jobs, entries, strict=True) for d in disagreements(
                j.run, j.plan, j.plan_shown, Shared(why, keys, tuple(own)) if shared else None)]:
            raise PlanError(wrong)
        return jobs


_TOP_KEYS = ("plan", "set", "strategy", "run")
_ENTRY_KEYS = ("file", "plan", "set", "strategy", "run")


def _unknown_keys(src: SourceFile, table: Mapping[str, object], known: tuple[str, ...], at: int,
                  whose: str) -> list[Diagnostic]:
    """E110 for each key of `table` (the manifest's top level, or a run entry starting at `at`) that the manifest
    does not read: a misspelt `stratgy` would otherwise be dropped unsaid."""
    out: list[Diagnostic] = []
    for key in table:
        if key not in known:
            # the key as a key (`runs =`, `"runs":`), not the same letters in a value before it (`"sglang_runs.jsonl"`)
            m = re.compile(rf'(?<![\w"-])"?({re.escape(str(key))})"?\s*[=:]').search(src.text, at)
            found = m.start(1) if m is not None else src.text.find(str(key), at)
            out += _bad(src, found if found >= 0 else at, f"{whose} no key {code(str(key))} "
                        f"({did_you_mean(str(key), known)})").diagnostics
    return out


def _error_at(text: str, exc: BaseException) -> int:
    """Where a TOML or JSON parser says the manifest goes wrong (JSON's offset; TOML's "line L, column C"), else 0."""
    if isinstance(exc, json.JSONDecodeError):
        return min(exc.pos, len(text))
    m = re.search(r"line (\d+), column (\d+)", str(exc))
    if m is None:
        return 0
    lines = text.split("\n")
    line, col = int(m[1]), int(m[2])
    if not 1 <= line <= len(lines):
        return 0
    return sum(len(x) + 1 for x in lines[:line - 1]) + min(max(col - 1, 0), len(lines[line - 1]))


def _path(src: SourceFile, at: int, k: int, name: str, v: object) -> str:
    """An entry's `file` or `plan` (`name`), a path; E110 when it is missing or not one, of every entry when it is the
    top level's default (`plan = 5`: until 2026-12-03 said of entry 1 alone)."""
    if not isinstance(v, str) or not v:
        loc, eg = _key_at(src.text, at, name), "plan.moe" if name == "plan" else "run.json"
        who = f"run entry {k}" if v is None or loc >= src.text.find("[[run]]") else "every run entry"
        raise _bad(src, loc, f"{who}: `{name}` is missing or not a path", f'`{name} = "{eg}"`, from the manifest')
    return v


def _check_entry(src: SourceFile, at: int, k: int, file: object, plan: object, strategy: object,
                 roots: Sequence[Path]) -> tuple[str, str, str | None]:
    """An entry's run file, plan and strategy, as read; E110 for an entry without its paths, with a strategy that is
    no text, or naming a file outside `roots` or none at all — each at its key's value in the manifest (the entry's
    own, else the top level's default)."""
    file, plan = _path(src, at, k, "file", file), _path(src, at, k, "plan", plan)
    if strategy is not None and not isinstance(strategy, str):
        raise _bad(src, _key_at(src.text, at, "strategy"), f"run entry {k}: `strategy` is not a strategy expression")
    for name, v in (("plan", plan), ("file", file)):
        loc = _key_at(src.text, at, name)     # the top level's default: said once for every entry (`every run entry`)
        said = f"{f'run entry {k}' if loc >= src.text.find('[[run]]') else 'every run entry'}: `{name}` names"
        if not inside(roots[0] / v, roots) and written_inside(roots[0] / v, roots):
            raise _bad(src, loc, f"{said} {code(v)}, which leads outside the manifest's directory through a symbolic "
                       "link", LINK_HINT)
        if not inside(roots[0] / v, roots):
            raise _bad(src, loc, f"{said} a file outside the manifest's directory, {code(v)}",
                       outside_hint(roots[0], v))
        if not os.path.lexists(roots[0] / v):
            raise _bad(src, loc, f"{said} a file that does not exist, {code(v)}", missing_hint(roots[0], v))
        if not os.path.isfile(roots[0] / v):        # a directory, a device, a FIFO: said here, at the entry
            raise _bad(src, loc, f"{said} no regular file, {code(v)}",
                       f"give the path of a {'plan' if name == 'plan' else 'run file'}")
    return file, plan, strategy


def _key_at(text: str, at: int, key: str, entry: bool = True) -> int:
    """Where the value of `key` is written in the run entry starting at `at` (TOML `key = …`, JSON `"key": …`), else
    (or, not `entry`, only) the top level's — an entry's default —, else `at`."""
    pattern = re.compile(rf'(?<![\w"-])"?{re.escape(key)}"?\s*[=:]\s*')
    end = text.find("[[run]]", at + 1)
    first = text.find("[[run]]")
    spans = ((at, end if end >= 0 else len(text)),) if entry else ()
    for lo, hi in (*spans, (0, first if first >= 0 else 0)):
        m = pattern.search(text, lo, hi)
        if m is not None:
            return m.end()
    return at


def _entry_at(text: str, k: int) -> int:
    """Where the k-th run entry starts (its `[[run]]` header, or its `{` in JSON), else 0."""
    at = -1
    for _ in range(k):
        nxt = text.find("[[run]]", at + 1)
        at = nxt if nxt >= 0 else text.find('"file"', at + 1)
        if at < 0:
            return 0
    return at
