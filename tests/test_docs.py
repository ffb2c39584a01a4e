"""The documentation in docs/ is the code's: generated pages match their generators, examples of the
plan language load, every field, constant and report key the code has is documented, and every
link points inside the repository.

Generated parts (docs/rules.md whole; the options of docs/cli.md and the constants of
docs/cost-model.md between `<!-- generated:NAME -->` markers) are compared byte for byte;
`pytest --update-golden` rewrites them — review the diff like code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from conftest import ROOT

DOCS = ROOT / "docs"


# ---------------------------------------------------------------- generated pages and sections


def _update(request) -> bool:
    return bool(request.config.getoption("--update-golden"))


def _check_page(request, path: Path, text: str) -> None:
    if _update(request):
        path.write_text(text)
    assert path.exists(), f"no {path.name}; run pytest --update-golden once and review it"
    assert path.read_text() == text, f"{path.relative_to(ROOT)} differs from its generator; " \
        "run `pytest tests/test_docs.py --update-golden` and review the diff"


def _markers(name: str) -> tuple[str, str]:
    return (f"<!-- generated:{name} (tests/test_docs.py; `pytest --update-golden` rewrites it) -->",
            f"<!-- end generated:{name} -->")


def _check_section(request, path: Path, name: str, body: str) -> None:
    """The part of `path` between the markers of section `name` is `body`."""
    begin, end = _markers(name)
    text = path.read_text()
    assert begin in text and end in text, f"{path.name} has no generated section {name}"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    expected = f"{head}{begin}\n{body}{end}{tail}"
    if _update(request):
        path.write_text(expected)
        text = expected
    assert text == expected, f"the section {name} of {path.relative_to(ROOT)} differs from the code; " \
        "run `pytest tests/test_docs.py --update-golden` and review the diff"


def test_rules_page_is_generated_from_the_registry(request):
    from dagc.rules.doc import rules_markdown
    _check_page(request, DOCS / "rules.md", rules_markdown())


def test_rules_page_has_every_code_and_its_examples():
    from dagc.rules import RULES
    from dagc.rules.doc import rule_sections
    text = (DOCS / "rules.md").read_text()
    for r in RULES:
        assert f"### {r.code} — " in text, r.code
        for title, block in rule_sections(r):
            assert block in text, (r.code, title)


# ---------------------------------------------------------------- docs/cli.md: the options from build_parser


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _argument(a: argparse.Action) -> str:
    if a.nargs == 0:
        return ""
    if a.choices is not None:
        return "|".join(str(c) for c in a.choices)
    return a.metavar or a.dest.upper()


def _default(a: argparse.Action) -> str:
    if a.nargs == 0 or a.default in (None, argparse.SUPPRESS, [], False):
        return ""
    return f"`{a.default:g}`" if isinstance(a.default, float) else f"`{a.default}`"


def _usage(name: str, p: argparse.ArgumentParser) -> str:
    words = [f"dagc {name}"]
    for a in p._actions:
        if isinstance(a, argparse._HelpAction):
            continue
        if not a.option_strings:
            words.append(a.metavar or a.dest.upper())
            continue
        arg = _argument(a)
        words.append(f"[{a.option_strings[-1]}{' ' + arg if arg else ''}]")
    return " ".join(words)


def _options_table(p: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | value | default | meaning |", "|---|---|---|---|"]
    for a in p._actions:
        if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        names = ", ".join(f"`{s}`" for s in a.option_strings) or f"`{a.metavar or a.dest.upper()}`"
        arg = _cell(_argument(a)) if a.option_strings else ""
        rows.append(f"| {names} | {f'`{arg}`' if arg else ''} | {_default(a)} | {_cell(a.help or '')} |")
    return rows


def cli_options_markdown() -> str:
    """Every command of `dagc.cli.build_parser()` with its usage and a table of its arguments."""
    from dagc.cli import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help or "" for c in sub._choices_actions}
    lines = ["### `dagc` (no command)", "", "```", "dagc [--version] [--help] COMMAND …", "```", ""]
    lines += _options_table(parser) + [""]
    for name, p in sub.choices.items():
        lines += [f"### `dagc {name}`", "", _cell(helps.get(name, "")).replace("\\|", "|") + ".", "",
                  "```", _usage(name, p), "```", ""]
        lines += _options_table(p) + ["| `-h`, `--help` |  |  | this command's help, with an example |", ""]
        if p.epilog:
            lines += ["```", p.epilog.strip(), "```", ""]
    return "\n".join(lines)


def test_cli_page_lists_every_command_and_option(request):
    _check_section(request, DOCS / "cli.md", "options", cli_options_markdown())
