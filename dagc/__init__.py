"""dagc — a compiler for parallel deployment strategies of Mixture-of-Experts models.

Public API (no logic here):

    load_plan(path, overrides=()) -> Plan    read, parse and lower a .moe file, with `--set` what-ifs
                                             (`overrides=["workload.batch=256"]`; `needs_strategy=False`: one
    load_plan_text(text) -> Plan             without a strategy line too, for `check(plan, strategy=...)`)
    check(plan, strategy=None, options=None, *, search=True, jobs=1, budget_s=None) -> [StrategyResult]
                                             what `dagc check` answers: the search run and each verdict
                                             judged optimal against it, the E7xx of the plan's chosen
                                             engine, the next steps; `search=False` as `--no-search`
    compile(plan, out, strategy=None, options=None, *, search=True, jobs=1, budget_s=None) -> [Written]
                                             what `dagc compile` writes into `out` (its search, each
                                             objective's pick and pareto.svg included)
    report_json(result) -> dict              the report.json object (docs/outputs.md)
    explain(code) -> str | None              a rule's documentation

Both run `dagc.drive.drive.drive`, the driver of the commands themselves: the same plan gives the same
verdicts, optimal evidence and next steps from Python as from the command. Before, they ran no search
(the optimal verdict was not judged) and gave no next steps; `search=False` is that check, with its next
steps. `check`'s options are a `dagc.drive.drive.CheckOptions`, built once, or its fields as keywords
(`search=`, `jobs=`, `budget_s=` and the former `optimality=`, `picks=`, `progress=`): with a search's
result passed as `optimality`, none is run. `compile` takes `search=`, `jobs=`, `budget_s=` and `progress=` (a
stage's, `DriveKeywords`), and raises `OutputError` where it cannot write. `load_plan(path, overrides=[...])` is
`--set`: each `FIELD=VALUE` applied to the plan's text and checked as the plan's own.

Errors cross the API as `PlanError`, which carries located `Diagnostic`s.

The names are loaded on first use (PEP 562), so `import dagc` — and the `dagc` command's
start, where Ctrl-C must already be handled — does not load the compiler.
"""

from __future__ import annotations

import importlib

# Not `typing.TYPE_CHECKING`: importing typing here would widen the window in which a Ctrl-C at
# start-up, before `dagc.__main__`'s guard, ends in a traceback. Type checkers read it the same.
TYPE_CHECKING = False

_LAZY = {
    "load_plan": "lang.load", "load_plan_text": "lang.load", "parse_strategy": "lang.load",
    "check": "drive.drive", "StrategyResult": "verdict.check", "compile": "export.compile",
    "report_json": "export.report", "explain": "rules", "RULES": "rules",
    "Diagnostic": "diagnostics", "PlanError": "diagnostics", "Severity": "diagnostics", "render": "diagnostics",
    "OutputError": "export.write",
}

__all__ = ["RULES", "Diagnostic", "OutputError", "PlanError", "Severity", "StrategyResult", "__version__", "check",
           "compile",
           "explain", "load_plan", "load_plan_text", "parse_strategy", "render", "report_json"]

if TYPE_CHECKING:
    __version__: str
    from .diagnostics import Diagnostic, PlanError, Severity, render
    from .drive.drive import check
    from .export.compile import compile
    from .export.report import report_json
    from .export.write import OutputError
    from .lang.load import load_plan, load_plan_text, parse_strategy
    from .rules import RULES, explain
    from .verdict.check import StrategyResult


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("dagc")
    except PackageNotFoundError:  # running from a checkout without installing
        return "0.1.0"


def __getattr__(name: str) -> object:
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dagc' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
