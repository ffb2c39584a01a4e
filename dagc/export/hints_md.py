"""The diagnostics' hints as report.md's summary repeats them under "What to change": each said once, with the
code and the plan's lines it is about, so a reader knows which requirement or line a hint answers, and each an item
of its own (`hints_list_md`): a hint has its own `;`s, so hints joined by `; ` ran into one another.

Input: diagnostics. Output: Markdown text, the hints' own words made inert as every diagnostic's are
(`dagc.export.md_escape.md_prose`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..diagnostics import Diagnostic
from .md_escape import md_prose

__all__ = ["hints_list_md", "hints_md"]


def hints_md(diagnostics: Sequence[Diagnostic], most: int) -> list[str]:
    """The first `most` distinct hints, each with its code and the lines of the diagnostics that give it: `relax the
    requirement (N604, lines 13 and 15)`. Until 2026-11-30 a hint read with its code alone — two W506 hints
    beginning "no strategy on these GPUs can meet it either" each after a "(N604)" that closed the hint before, and
    no line to tell which requirement "it" was."""
    lines: dict[tuple[str, str], list[int]] = {}
    for d in diagnostics:
        if d.hint:
            at = lines.setdefault((d.hint, d.code), [])
            if d.span is not None and d.span.line not in at:
                at.append(d.span.line)
    out = []
    for (hint, code), at in list(lines.items())[:most]:
        where = ("" if not at else f", line {at[0]}" if len(at) == 1 else
                 f", lines {', '.join(map(str, at[:-1]))} and {at[-1]}")
        out.append(f"{md_prose(hint)} ({code}{where})")
    return out


def hints_list_md(diagnostics: Sequence[Diagnostic], most: int) -> list[str]:
    """`hints_md`'s hints as the items of a list nested in a summary's item, one a line: until 2026-11-30 they were
    joined by `; ` into one sentence, where "… (N604); no strategy on these GPUs can meet it either: … 427 ms (N604);
    relax the requirement or change the cluster (W506, line 4); …" hid where one hint ended and the next began."""
    return [f"  - {hint}" for hint in hints_md(diagnostics, most)]
