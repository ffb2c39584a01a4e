"""Every command's `--help` and docs/cli.md name each option and give an example: the CLI's names are a contract
users' scripts depend on, and the README sends them to docs/cli.md for "every command and option, with examples".

Until 2026-11-30 `dagc schema --help` and `dagc kernels list --help` showed no example (docs/cli.md said each
command's help had one), `dagc search --format`, `dagc fleet --format` and `dagc kernels import --engine` had no
words in `--help` nor in docs/cli.md's tables, and docs/cli.md listed none of `dagc kernels import`'s options
(`--system`, `--engine`, `--release`, `-o`, `--force`): its generator did not look into `dagc kernels`' own commands.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from dagc.cli.parser import build_parser

ROOT = Path(__file__).resolve().parent.parent
CLI_PAGE = ROOT / "docs" / "cli.md"


def _commands(parser: argparse.ArgumentParser, name: str = "dagc") -> list[tuple[str, argparse.ArgumentParser]]:
    """Every command of the parser, its own commands' commands too (`dagc kernels import`), by its full name."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                found.append((f"{name} {sub_name}", sub))
                found += _commands(sub, f"{name} {sub_name}")
    return found


COMMANDS = _commands(build_parser())


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The options a user sees: not --help, not a command group, not an older spelling kept unlisted."""
    return [a for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS
            and not isinstance(a, argparse._HelpAction)]


def test_the_commands_include_the_nested_ones():
    names = dict(COMMANDS).keys()
    assert {"dagc check", "dagc schema", "dagc kernels", "dagc kernels import", "dagc kernels list"} <= names


@pytest.mark.parametrize("name,parser", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_help_shows_an_example(name, parser):
    text = parser.format_help()
    assert re.search(r"^examples?:", text, re.M), f"`{name} --help` shows no example"
    assert name in text.split("example", 1)[1], f"`{name} --help`'s example does not run `{name}`"


@pytest.mark.parametrize("name,parser", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_option_says_what_it_does(name, parser):
    silent = [a.option_strings[-1] for a in _options(parser) if not (a.help or "").strip()]
    assert not silent, f"`{name} --help` says nothing of {silent}"


@pytest.mark.parametrize("name,parser", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_cli_page_has_every_command_with_every_option(name, parser):
    page = CLI_PAGE.read_text()
    heading = f"### `{name}`\n"
    assert heading in page, f"docs/cli.md has no section `{name}`"
    section = page.split(heading, 1)[1].split("\n### ", 1)[0]
    for a in _options(parser):
        row = "| " + ", ".join(f"`{s}`" for s in a.option_strings) + " |"
        assert row in section, f"docs/cli.md's `{name}` lists no {a.option_strings}"
        cells = section.split(row, 1)[1].split("\n", 1)[0].split(" | ")
        assert cells[-1].strip(" |"), f"docs/cli.md's `{name}` says nothing of {a.option_strings}"


def test_readme_usage_block_names_every_command():
    """README's "Using it" block, the commands at a glance, names each of them (until 2026-11-30 it left out
    `dagc fleet` and `dagc kernels`)."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Using it", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.startswith("dagc ") and not line.startswith("dagc --")]
    used = {line.split()[1] for line in lines}
    top = {name.split()[1] for name, _ in COMMANDS if name.count(" ") == 1}
    assert used == top, (sorted(top - used), sorted(used - top))
