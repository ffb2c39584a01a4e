"""`dagc explain` takes the code as a diagnostic prints it, copied whole — `error[E202]:`, `warning[W520]`, a trailing
space — as it takes `E202` or `e202`; a longer code (`E2020`) stays unknown, a usage error."""

from __future__ import annotations

import pytest

from dagc.cli import main as cli
from dagc.cli.builtin_text import explain_texts


@pytest.mark.parametrize("written, code", [("error[E202]:", "E202"), ("warning[W520]", "W520"), ("E202 ", "E202"),
                                           ("[n605]", "N605")])
def test_a_code_copied_from_a_diagnostic_is_explained(capsys, written, code):
    assert cli.main(["explain", written]) == 0
    assert capsys.readouterr().out == explain_texts()[code] + "\n"


@pytest.mark.parametrize("written", ["E2020", "XE202", "error"])
def test_what_holds_no_whole_code_is_unknown(capsys, written):
    assert cli.main(["explain", written]) == cli.EXIT_USAGE
    assert capsys.readouterr().err.startswith(f"error: unknown code `{written}`")
