"""What the README and the docs say about dagc's commands agrees with what the commands do: no default plan
the CLI does not have, an excerpt introduced by the command that printed it, the install command a user
really runs, the scopes the language really opens, the whole suite's cost said where its command is."""

from __future__ import annotations

import re

from dagc.lang.flatten import flatten
from dagc.lang.load import parse_strategy
from conftest import ROOT

README = ROOT / "README.md"


def test_the_readme_names_no_default_example():
    """`dagc compile` without a plan is a usage error (exit 2): there is no default example (until
    2026-11-30 the README called examples/mixtral-8x7b-1node.moe "the default example")."""
    text = " ".join(README.read_text().split())
    assert "default example" not in text
    assert ("`dagc compile examples/mixtral-8x7b-1node.moe` (the example the first command below runs)"
            in text)


def test_each_excerpt_is_introduced_by_the_command_that_printed_it():
    """The README's "What a check prints (`dagc check …`, excerpt)" above `dagc check`'s lines (until 2026-11-30
    "What a compile shows" above them): the word of the heading is the command it quotes."""
    text = README.read_text()
    headings = re.findall(r"^What an? (\w+) (?:shows|prints) \(`dagc (\w+) ", text, re.M)
    assert headings == [("check", "check")]


def test_the_security_page_installs_dagc_as_the_readme_does():
    """docs/security.md names the install a user really runs, the README's `pip install -e .` from the checkout
    (until 2026-11-30 `pip install dagc`, a package dagc does not publish)."""
    readme = " ".join(README.read_text().split())
    security = " ".join((ROOT / "docs" / "security.md").read_text().split())
    installs = re.findall(r"`([^`]*pip install[^`]*)`", security)
    assert installs == [".venv/bin/python -m pip install -e ."]
    assert f"{installs[0]} && .venv/bin/dagc check examples/mixtral-8x7b-1node.moe" in readme
    assert "pip install dagc" not in security


def test_the_whole_suites_command_says_how_long_it_takes():
    """Above the README's whole-suite command, its wall on two idle cores in minutes, as docs/tests.md last measured
    it (2026-11-29: 816 s, about 14 minutes; 2026-12-01: 523 s, about 9), and the link there (until 2026-11-30
    nothing said it takes long)."""
    section = README.read_text().partition("\n## Two commands\n")[2]
    lead = " ".join(section.partition("run the whole test suite")[2].partition("```sh")[0].split())
    walls = re.findall(r"\| whole suite(?: and quick subset)?, [\d-]+, on idle cores .*?whole: [\d,.]+ \([\d,]+ "
                       r"tests; wall (\d+) s", (ROOT / "docs" / "tests.md").read_text())
    assert walls, "docs/tests.md's run of the whole suite on idle cores"
    assert lead.startswith(f", which takes many minutes (about {round(int(walls[-1]) / 60)} on two idle cores, "), lead
    assert "[docs/tests.md](docs/tests.md)" in lead


def test_the_language_names_every_keyword_that_opens_a_scope():
    """docs/language.md's "Only … open `< … >`" names every axis dagc lets open a scope — `dp`, `pp` and the pools
    `prefill` and `decode` — and no in-stage axis, which is E201 there (until 2026-11-30 "Only `dp` and `pp`")."""
    text = " ".join((ROOT / "docs" / "language.md").read_text().split())
    (sentence,) = re.findall(r"Only (`[^.]*?) open `< … >`", text)
    named = re.findall(r"`(\w+)`", sentence)
    assert named == ["dp", "pp", "prefill", "decode"]
    for written in ("dp 2 < tp 4 >", "pp 2 < tp 4 >", "prefill 1 < tp 4 > decode 1 < tp 4 ; ep 4 >"):
        strategy, diagnostics = flatten(parse_strategy(written))
        assert strategy is not None and diagnostics == [], written
    for axis in ("tp 2", "cp 2", "sp", "ep 2", "etp 2"):
        strategy, diagnostics = flatten(parse_strategy(f"{axis} < tp 2 >"))
        assert strategy is None and [d.code for d in diagnostics] == ["E201"], axis
