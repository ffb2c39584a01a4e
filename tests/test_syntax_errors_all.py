"""A plan's syntax errors reported together (dagc.lang.parse: the parse started again at each next statement)."""

from __future__ import annotations

import pytest

import dagc.lang.parse as parsing
from dagc.diagnostics import PlanError
from dagc.lang.load import parse_strategy
from dagc.lang.parse import MAX_SYNTAX_ERRORS, parse
from dagc.source import SourceFile
from conftest import run_dagc

THREE = '''model preset "mixtral-8x7b"
cluster {
  gpus = = 8
  gpu preset "h100-sxm"
}
workload {
  batch = 16  prompt = 1000  generate = 200
require { ttft <= 2 s }
strategy tp 4 )
strategy ep = tp 2 ; ep 4
'''


def _errors(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(PlanError) as e:
        parse(SourceFile("p.moe", text))
    return [(d.span.line, d.span.column, d.code) for d in e.value.diagnostics]


def test_every_statement_the_parser_cannot_read_is_reported_in_order():
    # line 3: a doubled `=`; line 8: `require` read inside the unclosed `workload {` of line 6; line 9: a stray `)`
    assert _errors(THREE) == [(3, 10, "E001"), (8, 16, "E001"), (9, 15, "E001")]


def test_a_later_error_is_hinted_from_its_own_statements():
    with pytest.raises(PlanError) as e:
        parse(SourceFile("p.moe", THREE))
    first, second, third = e.value.diagnostics
    assert "line 6 is not closed" in (second.hint or "")       # the `workload {` left open, not line 2's `cluster {`
    assert "not closed" not in (first.hint or "") and "not closed" not in (third.hint or "")
    assert third.message.startswith("unexpected character `)`")


def test_an_unclosed_block_is_one_diagnostic():
    # `strategy` read as a field of the open cluster: the error is inside that statement, no later one starts again
    errs = _errors('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm"\nstrategy tp 2\n')
    assert errs == [(3, 10, "E001")]
    assert _errors('model preset "mixtral-8x7b"\ncluster { gpus = 8\n') == [(2, 18, "E001")]


def test_an_error_on_the_first_statement_is_not_reported_twice():
    errs = _errors('modle preset "mixtral-8x7b"\ncluster { gpus = 8 }\nstrategy tp 2 )\n')
    assert errs == [(1, 1, "E001"), (3, 15, "E001")]


def test_at_most_max_syntax_errors():
    text = 'model preset "mixtral-8x7b"\n' + "strategy tp 2 )\n" * (MAX_SYNTAX_ERRORS + 5)
    errs = _errors(text)
    assert len(errs) == MAX_SYNTAX_ERRORS
    assert [line for line, _, _ in errs] == list(range(2, 2 + MAX_SYNTAX_ERRORS))


def test_the_text_parsed_again_is_bounded(monkeypatch):
    text = 'model preset "mixtral-8x7b"\n' + "strategy tp 2 )\n" * 6
    monkeypatch.setattr(parsing, "_RECOVERY_CHARS", 3 * len("strategy tp 2 )\n"))
    # after the first error (line 2) the rest is 5 lines: more than the budget, so nothing is parsed again
    assert len(_errors(text)) == 1
    monkeypatch.setattr(parsing, "_RECOVERY_CHARS", 5 * len("strategy tp 2 )\n") + 4 * len("strategy tp 2 )\n"))
    assert len(_errors(text)) == 3      # 5 lines, then 4: the third would need 3 more


def test_a_strategy_given_alone_keeps_its_one_error():
    with pytest.raises(PlanError) as e:
        parse_strategy("tp 2 ) ; ep 4 )")
    assert len(e.value.diagnostics) == 1


def test_the_command_line_counts_every_error(tmp_path):
    (tmp_path / "p.moe").write_text(THREE)
    out = run_dagc("check", "p.moe", cwd=tmp_path)
    assert out.returncode == 4
    assert out.stderr.count("error[E001]") == 3
    assert "p.moe: 3 errors; nothing was checked" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
