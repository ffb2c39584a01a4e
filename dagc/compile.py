"""`compile`: check every strategy and write its outputs (SPEC 8).

Input: a `Plan`, its `StrategyResult`s and an output directory. Output: for each strategy
`report.json`, `report.md` and (when the DAG was built) `dag.json`, written atomically,
under `<out>/` for a single unnamed strategy and `<out>/<strategy name>/` otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .check import StrategyResult
from .export.dag_json import dag_json
from .export.markdown import report_md
from .export.report import report_json
from .export.write import write_json_atomic, write_text_atomic
from .plan import Plan

__all__ = ["Written", "compile_results", "strategy_dir_name"]


@dataclass(frozen=True)
class Written:
    result: StrategyResult
    directory: Path
    files: tuple[Path, ...]


def strategy_dir_name(result: StrategyResult, index: int) -> str:
    """A directory name for a strategy: its name, else `strategy-N`."""
    if result.decl.name:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", result.decl.name)
    return f"strategy-{index + 1}"


def compile_results(plan: Plan, results: list[StrategyResult], out: Path) -> list[Written]:
    """Write each result's files; returns what was written, in strategy order."""
    several = len(results) > 1 or any(r.decl.name for r in results)
    written = []
    for i, r in enumerate(results):
        d = out / strategy_dir_name(r, i) if several else out
        files = [write_json_atomic(d / "report.json", report_json(r)), write_text_atomic(d / "report.md", report_md(r))]
        if r.dag is not None:
            files.append(write_json_atomic(d / "dag.json", dag_json(r.dag), indent=None))
        written.append(Written(r, d, tuple(files)))
    return written
