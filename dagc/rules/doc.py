"""docs/rules.md, rendered from the rule registry so that the page cannot drift from the code.

Input: `RULES` (every diagnostic code, its severity, title and documentation). Output: the
Markdown text of docs/rules.md (`rules_markdown`), and the parts of one rule's documentation
(`rule_sections`: the prose, then its `Bad:`, `Fixed:` and `Example:` blocks). Pure: no printing,
no files; tests/test_docs.py compares the page with it (`pytest --update-golden` rewrites it).
"""

from __future__ import annotations

import inspect
import re

from ..diagnostics import Severity
from . import RULES
from .base import Rule

__all__ = ["rules_markdown", "rule_sections", "SECTION_TITLES"]

SECTION_TITLES = ("Bad", "Fixed", "Example")
_HEADING = re.compile(r"^(Bad|Fixed|Example):\s*$")
_FAMILIES = (
    ("E0", "Input"), ("E1", "The plan as written"), ("E2", "The strategy's hierarchy"),
    ("E3", "The strategy against the model"), ("E4", "Resources"),
    ("E7", "What a serving engine cannot express (`dagc launch`)"), ("W", "Warnings"), ("N", "Notes"),
)


def rule_sections(rule: Rule) -> list[tuple[str, str]]:
    """A rule's documentation as (title, text) parts, in order: ("", prose), then one part per
    `Bad:`, `Fixed:` or `Example:` block (its indented lines, dedented).

    Example:
        >>> from dagc.rules import rule
        >>> [title for title, _ in rule_sections(rule("E202"))]
        ['', 'Bad', 'Fixed']
    """
    parts: list[tuple[str, list[str]]] = [("", [])]
    for line in inspect.cleandoc(rule.doc).splitlines():
        m = _HEADING.match(line)
        if m:
            parts.append((m.group(1), []))
        elif parts[-1][0] and line.strip() and not line.startswith((" ", "\t")):
            parts.append(("", [line]))       # prose after a block: back to text
        else:
            parts[-1][1].append(line)
    out = []
    for title, lines in parts:
        text = inspect.cleandoc("\n".join(lines)) if title else "\n".join(lines).strip()
        if text:
            out.append((title, text))
    return out


def _emitted_by(rule: Rule) -> str:
    if rule.passes:
        names = ", ".join(f"`{p.__module__}.{p.__qualname__}`" for p in rule.passes)
        return f"emitted by {names}"
    where = "once per plan (the same for every strategy)" if rule.plan_level else "on each strategy"
    return f"checked {where} by `{rule.check.__module__}.{rule.check.__qualname__}`" if rule.check else where


def _rule_markdown(rule: Rule) -> list[str]:
    lines = [f"### {rule.code} — {rule.title}", "",
             f"**{rule.severity.value}** · {_emitted_by(rule)} · `dagc explain {rule.code}`", ""]
    for title, text in rule_sections(rule):
        if not title:
            lines += [text, ""]
            continue
        lines += [f"{title}:", "", "```", text, "```", ""]
    return lines


def _family_index(code: str) -> int:
    """The position of a code's family in `_FAMILIES`; a code of no listed family goes last."""
    return next((i for i, (prefix, _) in enumerate(_FAMILIES) if code.startswith(prefix)), len(_FAMILIES))


def _family(code: str) -> str:
    i = _family_index(code)
    return _FAMILIES[i][1] if i < len(_FAMILIES) else f"{code[:2]}xx"


def rules_markdown(rules: tuple[Rule, ...] | None = None) -> str:
    """The text of docs/rules.md: a table of every code, then each rule's documentation with its
    bad and fixed example, grouped by family (E0 input … N notes), in code order.

    Example:
        >>> text = rules_markdown()
        >>> text.startswith("# Diagnostics"), "### E202 — " in text
        (True, True)
    """
    if rules is None:
        rules = RULES
    ordered = sorted(rules, key=lambda r: (_family_index(r.code), r.code))
    errors = sum(r.severity is Severity.ERROR for r in ordered)
    lines = [
        "# Diagnostics",
        "",
        "<!-- Generated from the rule registry (`dagc.rules.RULES`) by `dagc.rules.doc.rules_markdown`;",
        "     do not edit: tests/test_docs.py compares it, `pytest --update-golden` rewrites it. -->",
        "",
        f"Every problem dagc reports has a code; this page lists all {len(ordered)} of them "
        f"({errors} errors, the others warnings and notes). Errors make the plan or the strategy "
        "invalid; warnings and notes do not. A diagnostic is printed like",
        "",
        "```",
        "plan.moe:13:10: error[E202]: `tp 4` and `ep 16` are written in one domain, …",
        "```",
        "",
        "with the source line, a caret under the span and a `help:` line, and appears in report.json's "
        "`diagnostics` ([outputs.md](outputs.md)). `dagc explain CODE` prints the same documentation "
        "as below. Exit codes by family are in [cli.md](cli.md).",
        "",
        "| code | severity | rule |",
        "|---|---|---|",
    ]
    lines += [f"| [{r.code}](#{_anchor(r)}) | {r.severity.value} | {_cell(r.title)} |" for r in ordered]
    lines.append("")
    family = None
    for r in ordered:
        if _family(r.code) != family:
            family = _family(r.code)
            lines += [f"## {family}", ""]
        lines += _rule_markdown(r)
    return "\n".join(lines).rstrip("\n") + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _anchor(rule: Rule) -> str:
    """GitHub's anchor of the rule's heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = f"{rule.code} — {rule.title}".lower()
    kept = "".join(ch for ch in heading if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")
