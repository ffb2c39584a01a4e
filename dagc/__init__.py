"""dagc — a compiler for parallel deployment strategies of Mixture-of-Experts models.

Public API (no logic here):

    load_plan(path) -> Plan                  read, parse and lower a .moe file
    load_plan_text(text) -> Plan
    check(plan, strategy=None) -> [StrategyResult]
    report_json(result) -> dict              the report.json object (SPEC 8)
    explain(code) -> str | None              a rule's documentation

Errors cross the API as `PlanError`, which carries located `Diagnostic`s.
"""

from importlib.metadata import PackageNotFoundError, version as _version

from .check import StrategyResult, check, load_plan, load_plan_text, parse_strategy
from .diagnostics import Diagnostic, PlanError, Severity, render
from .export.report import report_json
from .rules import RULES, explain

try:
    __version__ = _version("dagc")
except PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0.1.0"

__all__ = ["load_plan", "load_plan_text", "check", "parse_strategy", "StrategyResult", "report_json",
           "explain", "RULES", "Diagnostic", "PlanError", "Severity", "render", "__version__"]
