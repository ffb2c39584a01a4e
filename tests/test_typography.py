"""Characters an editor or a web page writes in place of plain ones — typographic quotes, a no-break space, a dash
between a strategy's axes — each get an E001 whose hint writes the plain one (dagc.lang.typography,
dagc.lang.strategy_slips), where the hint said "names of presets and files are quoted" to a quoted name, or
"remove it"."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64 }
strategy tp 8
"""


def _only(text: str):
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    (d,) = exc.value.diagnostics
    assert d.code == "E001"
    return d


@pytest.mark.parametrize("old, new, column, hint", [
    ('"mixtral-8x7b"', "“mixtral-8x7b”", 14,
     'write straight double quotes, `"mixtral-8x7b"`: a typographic quote (`“`)'),
    ('"h100-sxm"', "„h100-sxm“", 32, 'write straight double quotes, `"h100-sxm"`: a typographic quote (`„`)'),
    ('"h100-sxm"', "‘h100-sxm’", 32, 'write straight double quotes, `"h100-sxm"`: a typographic quote (`‘`)'),
    ("batch = 8", "batch\u00a0= 8", 17, "U+00A0 (NO-BREAK SPACE) is no plain space: write a space (U+0020) or a tab"),
    ("prompt = 512", "prompt =\u2009512", 31, "U+2009 (THIN SPACE) is no plain space"),
])
def test_a_typographic_character_is_told_its_plain_one(old, new, column, hint):
    d = _only(PLAN.replace(old, new, 1))
    assert d.span.column == column and d.hint is not None and d.hint.startswith(hint)
    load_plan_text(PLAN)


@pytest.mark.parametrize("dash", ["—", "–", "×", "/"])
def test_a_dash_between_a_strategys_axes_is_a_semicolon(dash):
    d = _only(PLAN.replace("strategy tp 8", f"strategy tp 8 {dash} ep 8"))
    assert d.hint is not None and d.hint.startswith("did you mean `tp 8 ; ep 8`?")


CUSTOM = """model "team" { layers = 2  hidden = 256  heads = 8  kv_heads = 2  head_dim = 32  vocab = 1000
  moe { experts = 4  top_k = 2  ffn = 512 } }
cluster { gpus = 2  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 128  generate = 8 }
strategy tp 2
"""


@pytest.mark.parametrize("name, token, fixed", [
    ('team <moe> & \\"friends\\" {x}', "friends", "team <moe> & 'friends' {x}"),    # a word after the \"
    ('say \\"<hi>\\"', "<", "say '<hi>'"),                                            # a token after it
    ('a \\"@b\\"', "@b", "a '@b'"),                                                     # a character the lexer refuses
])
def test_a_backslash_escaped_quote_in_a_name_is_told_strings_have_none(name, token, fixed):
    """A name written with `\\"` inside (as in JSON or C) ends at that quote, the language having no escapes: E001
    at what follows says so and writes the name with `'` — before, "unexpected `friends`" with "docs/language.md
    describes what may stand here", or "remove it", which told a first user nothing of the quote."""
    d = _only(CUSTOM.replace('"team"', f'"{name}"', 1))
    assert d.span.line == 1 and d.span.column == len('model "') + name.index('\\"') + 3
    assert d.hint == (f"a string has no escapes: the `\\\"` before `{token}` ends it; write quotes inside a name as "
                      f"`'`: `\"{fixed}\"`")
    load_plan_text(CUSTOM.replace('"team"', f'"{fixed}"', 1))
