"""Reading one run object's figures (`dagc.calibrate.run_fields`): each a positive finite number of its kind, in the
bounds dagc reads (`MIN_FIGURE`, `MAX_FIGURE`); a field that is none is E110 at it (its value never shown), every
such field of the run said in one run."""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..diagnostics import PlanError, quote
from ..source import SourceFile
from .measured import RUN_HINT, locate, run_error
from .run_values import refused_value

__all__ = ["MAX_FIGURE", "MAX_SECONDS", "MIN_FIGURE", "TOO_LARGE_HINT", "RunReader", "too_large"]

MAX_FIGURE = 1e12           # ms or per second: past it, not a measurement
# ms or per second: below it (under a nanosecond, one token in 11.6 days) not a measurement either (a TPOT of 1e-300 ms
# would make dagc's error against it a figure of 300 digits)
MIN_FIGURE = 1e-6
_RANGE = f"from {MIN_FIGURE:.0e} up to {MAX_FIGURE:.0e}"
MAX_SECONDS = MAX_FIGURE / 1e3      # a per-request time in seconds (`ttfts`, `itls`): `MAX_FIGURE` ms once converted
# a value past `MAX_FIGURE`: said too large, with the bound (a count, a time or a rate alike: no tool measures one)
TOO_LARGE_HINT = "no benchmark run measures a figure that large: is this the run file (and the field) you meant?"


def too_large(unit: str = "", converted: bool = False) -> str:
    """The words of a value past `MAX_FIGURE` (in `unit`, once `converted` from the file's): too large, and the bound.

    Example:
        >>> too_large()
        "is too large: past 1e+12, the most dagc reads of a run's figure (docs/limits.md)"
        >>> too_large("ms", converted=True)
        "is too large: past 1e+12 ms once converted, the most dagc reads of a run's figure (docs/limits.md)"
    """
    at = f"{MAX_FIGURE:.0e}" + (f" {unit}" if unit else "") + (" once converted" if converted else "")
    return f"is too large: past {at}, the most dagc reads of a run's figure (docs/limits.md)"


class RunReader:
    """The object being read, with where it starts, and what was found so far: its figures, and the fields whose value
    is no figure of its kind (`bad`), each said in one run, in the file's order — until 2026-12-03 one a run, and a
    file with four quoted figures took four runs to clear. A problem that may follow from them is not said beside
    them (`fail`)."""

    def __init__(self, src: SourceFile, at: int, end: int, obj: Mapping[str, object]) -> None:
        self.src, self.at, self.end, self.obj = src, at, end, obj
        self.measured: dict[str, float] = {}
        self.fields: dict[str, str] = {}
        self.errors: list[PlanError] = []

    def fail(self, name: str, problem: str, hint: str | None = RUN_HINT) -> PlanError:
        """E110 at field `name`; the fields already found bad instead, when some are (this may follow from them)."""
        return self.collected() if self.errors else self._error(name, problem, hint)

    def bad(self, name: str, problem: str, hint: str | None = RUN_HINT) -> None:
        """E110 at field `name`, said with the others once the run is read: the field is read as absent."""
        self.errors.append(self._error(name, problem, hint))

    def collected(self) -> PlanError:
        return PlanError(sorted((d for e in self.errors for d in e.diagnostics),
                                key=lambda d: d.span.start if d.span is not None else 0))

    def _error(self, name: str, problem: str, hint: str | None) -> PlanError:
        span = locate(self.src, self.at, name, self.end)
        return run_error(self.src, span.start, f"field `{quote(name, 80)}` {problem}", hint)

    def refuse(self, found: tuple[str, str] | None) -> None:     # (field, words): E110 there
        if found is not None:
            raise self.fail(*found)

    def number(self, obj: Mapping[str, object], name: str, shown: str | None = None, *,
               whole: bool = False, figure: bool = False) -> float | None:
        """A positive finite number, None when absent or null (a null `figure` is refused: vLLM and SGLang write every
        figure they print as a number); one past `MAX_FIGURE` is said too large."""
        v = obj.get(name.split(".")[-1])
        if v is None and figure and name in obj:
            self.bad(shown or name, "is null: the tool writes this figure as a number")
            return None
        if v is None:
            return None
        if not isinstance(v, bool) and isinstance(v, int | float) and v > MAX_FIGURE and v != math.inf:
            self.bad(shown or name, too_large(), TOO_LARGE_HINT)
            return None
        if isinstance(v, bool) or not isinstance(v, int | float) or not (0 < v <= MAX_FIGURE) or \
                (whole and (not float(v).is_integer())) or (not whole and v < MIN_FIGURE):
            self.bad(shown or name, refused_value(v, "whole number" if whole else f"number {_RANGE}"))
            return None
        return float(v)

    def at_least(self, v: float | None, name: str, unit: str) -> float | None:
        """`v` (ms or per second, converted from the file's unit), refused below `MIN_FIGURE` and past `MAX_FIGURE`."""
        if v is not None and v < MIN_FIGURE:
            raise self.fail(name, f"is below {MIN_FIGURE:.0e} {unit} once converted: not a measurement")
        if v is not None and v > MAX_FIGURE:
            raise self.fail(name, too_large(unit, converted=True), TOO_LARGE_HINT)
        return v

    def figure(self, key: str, value: float | None, name: str) -> None:
        if value is not None:
            self.measured[key] = value
            self.fields[key] = name
