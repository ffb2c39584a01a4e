"""The options the docs name for `dagc search` are options `dagc search --help` shows. Until 2026-11-30
docs/search.md, docs/limits.md and docs/outputs.md named `--budget S` for `dagc search`, a hidden alias: a user who
read `dagc search --help` for it found only `--search-budget`."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from dagc.cli.parser import build_parser

DOCS = Path(__file__).resolve().parent.parent / "docs"
_OPTION = re.compile(r"`(--[a-z][a-z-]*)")


def _shown_options(command: str) -> set[str]:
    """The long options `dagc COMMAND --help` shows (a hidden alias is not shown)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {s for a in sub.choices[command]._actions if a.help != argparse.SUPPRESS
            for s in a.option_strings if s.startswith("--")}


def _named(text: str) -> set[str]:
    return set(_OPTION.findall(text))


def test_every_option_search_md_names_is_shown_by_search_check_or_compile() -> None:
    """docs/search.md speaks of `dagc search`, `check` and `compile` (and of bench scripts, on lines saying so)."""
    shown = _shown_options("search") | _shown_options("check") | _shown_options("compile")
    lines = [ln for ln in (DOCS / "search.md").read_text().splitlines() if "bench" not in ln]
    assert _named("\n".join(lines)) - shown == set()


@pytest.mark.parametrize("page, where", [
    ("limits.md", r"^\| search time in `dagc search` .*$"),
    ("outputs.md", r"^\| `stopped` .*$"),
    ("search.md", r"`--[a-z-]+ S`\s+\(check, compile, search\)"),
])
def test_the_time_limit_the_docs_name_for_search_is_searchs_shown_option(page: str, where: str) -> None:
    found = re.findall(where, (DOCS / page).read_text(), re.M)
    assert found
    for text in found:
        assert _named(text) and _named(text) <= _shown_options("search"), text
    assert "`--budget" not in (DOCS / page).read_text()
