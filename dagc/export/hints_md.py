"""The diagnostics' hints as report.md's summary repeats them under "What to change": each said once, with the
code and the places it is about, so a reader knows which requirement or line a hint answers, and each an item
of its own (`hints_list_md`): a hint has its own `;`s, so hints joined by `; ` ran into one another; and where one
diagnostic stands, as the summary names it (`said_at`).

Input: diagnostics. Output: Markdown text, the hints' own words made inert as every diagnostic's are
(`dagc.export.md_escape.md_prose`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

from ..diagnostics import Diagnostic
from ..source import Span
from .md_escape import md_code, md_prose

__all__ = ["hints_list_md", "hints_md", "said_at"]


def said_at(span: Span) -> str:
    """Where a diagnostic stands, as the summary says it: `line 14` of the plan; the option, `` `--strategy` ``, for
    a strategy given on the command line (its line 1 is no line of the plan); the file's name for another file
    (a `model from` config.json). Until 2026-11-30 every span was "line N", so a W510 of `--strategy` read
    "(line 1)", the plan's first line, a comment."""
    path = span.source.path
    if path.startswith("--"):                                  # `--strategy`, `--set`: text of the command line
        return md_code(path)
    if not span.source.echo:                                   # a file that is not the plan
        return f"{md_code(PurePath(path).name)} line {span.line}"
    return f"line {span.line}"


def hints_md(diagnostics: Sequence[Diagnostic], most: int) -> list[str]:
    """The first `most` distinct hints, each with its codes and the lines of the diagnostics that give it: `relax the
    requirement (N604, lines 13 and 15)`; a hint two codes give, once with both: `use tp 2 or tp 4 (E302 and E305,
    line 5)`, or each code with its own lines when they differ (`(E302, line 5; E305, line 7)`). Until 2026-11-30 a
    hint read with its code alone — two W506 hints beginning "no strategy on these GPUs can meet it either" each
    after a "(N604)" that closed the hint before, and no line to tell which requirement "it" was — and a hint two
    codes gave was two items of the same words."""
    places: dict[str, dict[str, list[str]]] = {}
    for d in diagnostics:
        if d.hint:
            at = places.setdefault(d.hint, {}).setdefault(d.code, [])
            if d.span is not None and (where := said_at(d.span)) not in at:
                at.append(where)
    out = []
    for hint, codes in list(places.items())[:most]:
        wheres = {tuple(at) for at in codes.values()}
        if len(wheres) == 1:          # every code at the same places: the codes, then the places once
            said = [_codes_text(list(codes)) + _places_text(next(iter(codes.values())))]
        else:
            said = [code + _places_text(at) for code, at in codes.items()]
        out.append(f"{md_prose(hint)} ({'; '.join(said)})")
    return out


def _codes_text(codes: list[str]) -> str:
    """`E302`, `E302 and E305`, `E302, E305 and W501`."""
    return codes[0] if len(codes) == 1 else f"{', '.join(codes[:-1])} and {codes[-1]}"


def _places_text(at: list[str]) -> str:
    """The places of a code's diagnostics after it: `, lines 4 and 7`, `` , `--strategy` ``; empty for none."""
    lines = [w.removeprefix("line ") for w in at if w.startswith("line ")]
    said = ([] if not lines else [f"line {lines[0]}"] if len(lines) == 1 else
            [f"lines {', '.join(lines[:-1])} and {lines[-1]}"])
    said += [w for w in at if not w.startswith("line ")]
    return "".join(", " + w for w in said)


def hints_list_md(diagnostics: Sequence[Diagnostic], most: int) -> list[str]:
    """`hints_md`'s hints as the items of a list nested in a summary's item, one a line: until 2026-11-30 they were
    joined by `; ` into one sentence, where "… (N604); no strategy on these GPUs can meet it either: … 427 ms (N604);
    relax the requirement or change the cluster (W506, line 4); …" hid where one hint ended and the next began."""
    return [f"  - {hint}" for hint in hints_md(diagnostics, most)]
