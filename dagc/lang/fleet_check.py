"""A plan's `fleet` statement as `dagc check`, `search` and `compile` read it: they judge the plan without it
(docs/fleet.md), but its input errors — a syntax slip inside it, an unknown field or GPU preset, a value out of
range, a second `fleet` — are errors of the file, said with the plan's (until 2026-12-03 they passed, exit 0, until
`dagc fleet` ran). What only `dagc fleet` needs (an arrival rate, something to compare: E103) is not asked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..diagnostics import Diagnostic, PlanError
from .fleet import read_fleet
from .parse import parse, read_source

__all__ = ["fleet_input_errors"]


def fleet_input_errors(path: str | Path, allow_paths: Sequence[Path] = ()) -> list[Diagnostic]:
    """The input errors of the `fleet` statement of the plan at `path` (none without one, or when the plan itself
    cannot be read or parsed: its own load says so)."""
    base_dir = Path(path).absolute().parent.resolve()
    try:
        src = read_source(path, roots=(base_dir, *allow_paths))
        tree = parse(src) if "fleet" in src.text else None
    except PlanError:
        return []
    if tree is None:
        return []
    try:
        read_fleet(tree, src, None)
    except PlanError as exc:
        return [d for d in exc.diagnostics if d.is_error and d.code != "E103"]
    return []
