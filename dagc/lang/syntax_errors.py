"""Syntax errors in words: a Lark parse error → one located E001 diagnostic.

Input: the plan's `SourceFile` and Lark's `UnexpectedInput`. Output: a `Diagnostic` whose message names the culprit
and what was expected, in words, and whose hint says what most likely went wrong: a misspelt keyword, an unquoted
name, an unclosed block, a word after a field's value, a dotted percentile (`ttft.p99`). `dagc.lang.parse.parse` calls
it when a plan fails to parse; its nesting limit counts the brackets that `scope_marks` finds.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..diagnostics import Diagnostic, Severity
from ..source import SourceFile
from ..units import lookup
from .digits import digits_hint
from .engine import engine_line_hint, with_engine_hint
from .fields import STRATEGY_OPTIONS, degree_after, elsewhere, nearest
from .hints import NOT_A_NUMBER, count_multiplier_hint, not_a_number
from .keyword_slips import misspelt_keyword, require_char_hint, requirement_field_hint, short as _short
from .list_slips import list_slip, unnamed_block_hint
from .per_unit import per_words_hint, unit_in_pieces
from .statement_slips import STATEMENT_ALIASES, statement_slip
from .strategy_slips import strategy_hint as _strategy_hint
from .typography import escaped_quote_hint, typography_hint
from .value_slips import second_value_hint

__all__ = ["scope_marks", "syntax_diagnostic"]

# What a terminal means, in words, for "expected …" messages (a keyword's word is itself: `model`).
_TERMINAL_WORDS = {
    "NAME": "a name", "QUANTITY": "a number", "NUMBER": "a number", "STRING": 'a quoted string',
    "CMP": "a comparison (<=, >=)", "LBRACE": "`{`", "RBRACE": "`}`", "EQUAL": "`=`",
    "LESSTHAN": "`<`", "MORETHAN": "`>`", "SEMICOLON": "`;`", "LSQB": "`[`", "RSQB": "`]`",
    "COMMA": "`,`", "$END": "the end of the file", "MODEL": "`model`", "CLUSTER": "`cluster`",
    "WORKLOAD": "`workload`", "REQUIRE": "`require`", "STRATEGY": "`strategy`", "GPU": "`gpu`",
    "PRESET": "`preset`", "FROM": "`from`", "RELEASED": "an engine and its release (`vllm@0.33.0`)",
}


def _word(terminal: str) -> str:
    return _TERMINAL_WORDS.get(terminal, f"`{terminal.lower()}`")


def _keywords(expected: set[str]) -> list[str]:
    """The keywords among the `expected` terminals: those whose word is their own name."""
    return [t.lower() for t in expected if not t.startswith("__") and _word(t) == f"`{t.lower()}`"]


def _expected_words(expected: set[str] | frozenset[str]) -> str:
    words = sorted({_word(t) for t in expected if not t.startswith("__")})
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def syntax_diagnostic(src: SourceFile, exc: UnexpectedInput, what: str = "the plan") -> Diagnostic:
    """E001 for `exc`; `what` names the text (the plan, or a strategy given with --strategy)."""
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        exc = UnexpectedEOF(exc.expected)
    misplaced = statement_slip(src, exc, enclosing_block) or _list_slip(src, exc) or _not_a_number(src, exc) or \
        _glued_multiplier(src, exc) or _empty_value(src, exc) or _extra_word(src, exc)
    if misplaced is not None:           # a word after `engine = vllm` is likelier its release (`vllm v0.11.0`)
        return with_engine_hint(src.text, misplaced)
    if isinstance(exc, UnexpectedEOF):
        end = len(src.text.rstrip()) or 0
        expected = _expected_words(set(exc.expected))
        hint = "close every `{` with `}` and every `<` with `>`" if {"RBRACE", "MORETHAN"} & set(exc.expected) else None
        if hint is None and src.text.rstrip().endswith(";"):
            hint = "the domain after `;` needs its axes, e.g. `tp 4 ; ep 8`"
        if hint is None and src.text.rstrip().endswith("<"):
            hint = "`<` opens the scope of dp or pp: write what runs inside it and close it, e.g. `pp 4 < tp 2 >`"
        if hint is None:
            hint = f"{what} stops before it is complete; docs/language.md describes what comes here"
        return Diagnostic("E001", Severity.ERROR, f"{what} ends too early; expected {expected}",
                          src.span(max(0, end - 1), max(1, end)), hint)
    if isinstance(exc, UnexpectedCharacters):
        pos: int = exc.pos_in_stream  # type: ignore[assignment]  # None on lark's base class; the lexer sets it
        ch = src.text[pos] if pos < len(src.text) else "?"
        line_rest = src.text[pos + 1:].split("\n", 1)[0]
        if ch == '"' and '"' not in line_rest and "STRING" in (exc.allowed or set()):   # a string is one line
            rest = line_rest.strip()
            hint = f'close it on the same line: "{_short(rest)}"' if rest else 'a string is written "…" on one line'
            return Diagnostic("E001", Severity.ERROR, "unterminated string: the `\"` opened here is not closed on "
                              "its line", src.span(pos), hint)
        shown = ch if ch.isprintable() else f"U+{ord(ch):04X}"
        expected = _expected_words(exc.allowed or set())
        msg = f"unexpected character `{shown}`" + (f"; expected {expected}" if expected else "")
        hint = _hint_for_at(src.text, pos) if ch == "@" and _ENGINE_LINE.search(src.text, 0, pos) else \
            unit_in_pieces(src.text, pos) or per_words_hint(src.text, pos, block := enclosing_block(src.text, pos)) \
            or digits_hint(src.text[pos:]) or typography_hint(src.text, pos) or \
            require_char_hint(src.text, pos, block) or _hint_for_char(ch, exc.allowed or set())
        return Diagnostic("E001", Severity.ERROR, msg, src.span(pos), _strategy_hint(src, pos, hint))
    if isinstance(exc, UnexpectedToken):
        tok: Token = exc.token
        start = tok.start_pos if tok.start_pos is not None else 0
        end = tok.end_pos if tok.end_pos is not None else start + 1
        block = enclosing_block(src.text, start)
        if (slip := misspelt_keyword(src, tok, block)) is not None:
            return slip
        accepts = set(exc.accepts or exc.expected) - ({"GPU"} if block not in (None, "cluster") else set())
        expected = _expected_words(accepts)
        hint = _separated_number(src.text, start) or unnamed_block_hint(src.text, start, block) or \
            escaped_quote_hint(src.text, start) or engine_line_hint(src.text, start) or \
            per_words_hint(src.text, start, block) or requirement_field_hint(src.text, start, block) or \
            ("fields are written `name = value`" if block is not None and tok.type == "QUANTITY" else
             _hint_for_token(tok, accepts, src.text[:start].rstrip(" \t")[-1:], src.text[end:end + 40]))
        hint = _strategy_hint(src, start, hint)
        opened = _unclosed_block(src.text, end)
        if opened is not None:
            hint = (f"the `{{` on line {src.span(opened).line} is not closed: close its block with `}}` where it "
                    "ends (blocks do not nest, except a model's `moe` and `mla` and a cluster's `gpu`)")
        return Diagnostic("E001", Severity.ERROR, f"unexpected `{_short(str(tok))}`; expected {expected}",
                          src.span(start, end), hint)
    return Diagnostic("E001", Severity.ERROR, "syntax error", src.whole(),  # pragma: no cover
                      "docs/language.md describes the plan language")


def _list_slip(src: SourceFile, exc: UnexpectedInput) -> Diagnostic | None:
    """E001 at a list written otherwise, or several values where one stands (`dagc.lang.list_slips`)."""
    at = len(src.text) if isinstance(exc, UnexpectedEOF) else getattr(exc, "pos_in_stream", None)
    at = exc.token.start_pos if isinstance(exc, UnexpectedToken) and exc.token.start_pos is not None else at
    return list_slip(src, at, enclosing_block(src.text, at)) if at is not None else None


# a field's `nan`/`inf` (`rate = nan requests/s`, `ttft <= -inf s`), its unit after it, and where the error stands
_NAN_VALUE = re.compile(rf"(?<![\w.-])(?P<field>[A-Za-z_][A-Za-z0-9_.]*)[ \t]*(?P<op><=|>=|=|<|>)[ \t]*"
                        rf"(?P<word>{NOT_A_NUMBER.pattern})(?P<unit>[ \t]*(?:[A-Za-z%$][A-Za-z0-9%$]*(?:/[A-Za-z]+)*)?)"
                        rf"[ \t]*", re.IGNORECASE)


def _not_a_number(src: SourceFile, exc: UnexpectedInput) -> Diagnostic | None:
    """E001 at a `nan` or `inf` written as a field's value with its unit or sign (which the grammar reads as a
    name, then stops at the unit or the sign): it is not a number, and the hint writes one (`not_a_number`).
    The error must stand within the value or right after it on its line."""
    at = len(src.text) if isinstance(exc, UnexpectedEOF) else getattr(exc, "pos_in_stream", None)
    if isinstance(exc, UnexpectedToken) and exc.token.start_pos is not None:
        at = exc.token.start_pos
    if at is None:
        return None
    line_start = src.text.rfind("\n", 0, at) + 1
    for m in _NAN_VALUE.finditer(src.text, line_start, len(src.text)):
        if m.start("word") <= at <= m.end() and "\n" not in src.text[m.start():at]:
            unit = m["unit"].strip() if lookup(m["unit"].strip()) is not None else ""   # not the next field's name
            field = m["field"].rpartition(".")[2]
            said = not_a_number(m["word"], f"`{field} {m['op']} 12{' ' + unit if unit else ''}`")
            assert said is not None, "the pattern matched it"
            return Diagnostic("E001", Severity.ERROR, said[0], src.span(m.start("word"), m.end("word")), said[1])
        if m.start() > at:
            return None
    return None


_GLUED_COUNT = re.compile(r"(?<![\w.-])(?P<lhs>[A-Za-z_][A-Za-z0-9_]*)[ \t]+(?P<num>[0-9][0-9_]*)(?P<suf>[kKmMGBb])"
                          r"(?![A-Za-z0-9_])")


def _glued_multiplier(src: SourceFile, exc: UnexpectedInput) -> Diagnostic | None:
    """E001 at a multiplier glued to a count of a strategy (`with microbatches 2k`, which the lexer reads as
    `microbatches 2` and a word `k`), when the error comes right after it on its line: the hint says
    which number to write, as a field's `2k` gets (E101). The glued count is the last before the error
    on its line: the words after it were read as options (at the end of the plan, its last line's)."""
    at = len(src.text.rstrip()) if isinstance(exc, UnexpectedEOF) else getattr(exc, "pos_in_stream", None)
    if isinstance(exc, UnexpectedToken) and exc.token.start_pos is not None:
        at = exc.token.start_pos
    if at is None:
        return None
    line_start = src.text.rfind("\n", 0, at) + 1 if not isinstance(exc, UnexpectedEOF) else 0
    found = None
    for m in _GLUED_COUNT.finditer(src.text, line_start, at + 1):
        found = m
    if found is None or "\n" in src.text[found.end():at]:
        return None
    hint = count_multiplier_hint(found["num"], found["suf"], found["lhs"])
    if hint is None:
        return None
    return Diagnostic("E001", Severity.ERROR, f"`{found['num']}{found['suf']}` is not a number dagc reads",
                      src.span(found.start("suf"), found.end("suf")), hint)


def scope_marks(text: str) -> Iterator[tuple[int, str]]:
    """Each `<`, `{`, `>` and `}` that opens or closes a scope, with where it stands: not in a comment
    or a string, nor part of a comparison (`<=`, `>=`)."""
    in_comment = in_string = False
    for i, ch in enumerate(text):
        if in_comment:
            in_comment = ch != "\n"
        elif in_string:
            in_string = ch not in '"\n'
        elif ch == "#":
            in_comment = True
        elif ch == '"':
            in_string = True
        elif ch in "<{" and text[i + 1 : i + 2] != "=":
            yield i, ch
        elif ch in ">}" and text[i + 1 : i + 2] != "=" and text[i - 1 : i] not in ("<", ">", "="):
            yield i, ch


_BLOCK_HEAD = re.compile(r"(?<![\w.-])([A-Za-z_]+)(?:[ \t]+preset)?(?:[ \t]+\"[^\"\n]*\")?[ \t\r\n]*$")


def enclosing_block(text: str, pos: int) -> str | None:
    """The keyword of the `{ … }` block open at `pos` (`workload`, `cluster`, a model's `moe`, a cluster's `gpu`),
    None outside every block."""
    opened = open_braces(text, pos)
    if not opened:
        return None
    head = _BLOCK_HEAD.search(text, 0, opened[-1])
    return head.group(1) if head else None


def _extra_word(src: SourceFile, exc: UnexpectedInput) -> Diagnostic | None:
    """E001 at a word that follows a value it does not belong to — a field's (`batch = max max`) or an execution
    option's (`with overlap microbatch none`) — which the parser took for the next field's or option's name, stumbling
    only on what follows it (the next line, the end): None when the error is of another kind (a character refused)."""
    if not isinstance(exc, (UnexpectedEOF, UnexpectedToken)):
        return None
    at = len(src.text) if isinstance(exc, UnexpectedEOF) else (exc.token.start_pos or 0)
    stray = _stray_option_word(src, at)
    if stray is not None or not isinstance(exc, UnexpectedToken):
        return stray
    if "EQUAL" in (exc.accepts or exc.expected):        # a word after the value, read as the next field's name
        found = _TRAILING_WORD.search(src.text, 0, at)
        where = None if found is None else (found.start("extra"), found.end("extra"))
    elif exc.token.type in ("QUANTITY", "NUMBER", "STRING"):     # a second value itself: `batch = 32 32`
        found = _VALUE_BEFORE.search(src.text, 0, at)
        where = None if found is None else (at, exc.token.end_pos or at + 1)
    else:
        return None
    if found is None or where is None:
        return None
    extra, field = src.text[where[0]:where[1]], f"{found['name']} = {_short(found['value'])}"
    hint = second_value_hint(found["name"], found["value"], extra, src.text[where[1]:])
    return Diagnostic("E001", Severity.ERROR, f"unexpected `{_short(extra)}` after `{field}`; a field takes one value",
                      src.span(*where), hint)


def _stray_option_word(src: SourceFile, at: int) -> Diagnostic | None:
    """E001 for a word after an execution option's value (`with overlap microbatch none`), which the
    parser reads as the name of one more option and stumbles on what follows — the end, or the next
    line: the `with` clause on the line of `at` (where the parser stopped) or the line before it,
    whose words pair as known options and their values but for one last word."""
    text = src.text[:at]
    lines = text.split("\n")
    offsets = list(itertools.accumulate((len(line) + 1 for line in lines), initial=0))
    worded = [i for i, line in enumerate(lines) if line.split("#")[0].strip()]    # not blank, not only a comment
    start = offsets[worded[-2]] if len(worded) > 1 else 0           # the last two such lines
    clauses = list(re.finditer(r"^[^#\n]*?\bwith\b(?P<rest>[^\n#]*)", text[start:], re.MULTILINE))   # not in a comment
    if not clauses:
        return None
    clause = clauses[-1]
    words = list(re.finditer(r"\S+", clause["rest"]))
    names, last = [w.group() for w in words[0:-1:2]], words[-1] if words else None
    if last is None or len(words) < 3 or len(words) % 2 == 0 or any(n not in STRATEGY_OPTIONS for n in names) \
            or last.group() in STRATEGY_OPTIONS:
        return None
    where = start + clause.start("rest") + last.start()
    option = f"{words[-3].group()} {words[-2].group()}"
    return Diagnostic("E001", Severity.ERROR,
                      f"unexpected `{_short(last.group())}` after `{_short(option)}`; an option takes one value",
                      src.span(where, where + len(last.group())),
                      "remove it: options are written `with microbatches 2 overlap microbatch`, a name and one value "
                      "each")


# A field's value followed by one more word, up to the token the parser stumbled on (comments and
# blank lines between): the parser took the word for the name of the next field.
_FIELD_VALUE = (r'(?<![\w.-])(?P<name>[A-Za-z_][\w.-]*)[ \t]*=[ \t]*'
                r'(?P<value>"[^"\n]*"|[^\s{}=#"]+(?:[ \t]+[A-Za-z%][A-Za-z0-9%]*(?:/[A-Za-z]+)*)?)[ \t]+')
_TRAILING_WORD = re.compile(_FIELD_VALUE + r'(?P<extra>[A-Za-z_][\w.-]*)(?:\s|#[^\n]*)*\Z')
# … and a field's value right before the token the parser stumbled on, on its line.
_VALUE_BEFORE = re.compile(_FIELD_VALUE + r'\Z')


# A field's `=` with nothing after it on its line (a comment aside), right before the token the parser stumbled on.
_EMPTY_VALUE = re.compile(r"(?<![\w.-])(?P<name>[A-Za-z_][\w]*)[ \t]*(?P<eq>=)[ \t]*(?:#[^\n]*)?\n\s*\Z")
_EXAMPLES = {"engine": "vllm@0.33.0", "gpus": "8", "batch": "64", "prompt": "1024", "generate": "256",
             "rate": "10 requests/s", "kernels": '"h200"'}
_ENGINE_LINE = re.compile(r"(?:^|\n)[ \t]*(?:cluster\.)?engine[ \t]*=[^\n]*\Z")     # `engine = …` up to here
_RELEASE_AFTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+\-]*")


def _empty_value(src: SourceFile, exc: UnexpectedInput) -> Diagnostic | None:
    """E001 at the `=` of a field whose line ends without a value (`engine =`), which the parser finds only at
    the next line's field or the block's `}`; None for any other error."""
    if not isinstance(exc, UnexpectedToken) or exc.token.type not in ("RBRACE", "NAME"):
        return None
    empty = _EMPTY_VALUE.search(src.text, 0, exc.token.start_pos or 0)
    if empty is None:
        return None
    name = empty["name"]
    return Diagnostic("E001", Severity.ERROR, f"`{name} =` has no value", src.span(empty.start("eq"), empty.end("eq")),
                      f"write its value after `=`, e.g. `{name} = {_EXAMPLES.get(name, '…')}`"
                      + (" (a release after `@`; `vllm` alone is its newest)" if name == "engine" else ""))


def _hint_for_at(text: str, pos: int) -> str:
    """`@` where no engine and release are read: `vllm@` has no release after it, `@1` no engine before it."""
    before = re.search(r"[A-Za-z_][\w\-]*\Z", text[:pos])
    after = _RELEASE_AFTER.match(text, pos + 1)
    if before is not None and after is None:
        name = before.group()
        return f"a release follows `@`: `{name}@RELEASE` (e.g. `vllm@0.33.0`), or `{name}` alone for its newest release"
    release = after.group() if after is not None else "RELEASE"
    return (f"`@` joins an engine's name and its release: `engine = ENGINE@{release}`, ENGINE one of `vllm`, "
            "`sglang`, `trtllm`")


def _hint_for_char(ch: str, allowed: set[str]) -> str:
    if ch == "'":
        return 'strings use double quotes: "mixtral-8x7b"'
    if ch == ":":
        return "fields are written `name = value`"
    if "STRING" in allowed:
        return 'names of presets and files are quoted: preset "h100-sxm"'
    return "remove it; docs/language.md describes what may stand here"


_STATEMENTS = ("model", "cluster", "workload", "require", "strategy", "objective")   # what opens a plan's lines
_STATEMENT_LINE = re.compile(rf"^[ \t]*(?:{'|'.join(_STATEMENTS)})\b", re.MULTILINE)


def _unclosed_block(text: str, end: int) -> int | None:
    """Where the outermost `{` still open at `end` (`scope_marks`) stands when a line after it, up to
    `end`, opens a statement (`require {` read as a field of an unclosed `workload`): blocks hold no
    statements, so that `{` lacks its `}`. None otherwise."""
    return next((i for i in open_braces(text, end) if _STATEMENT_LINE.search(text, i + 1, end)), None)


def open_braces(text: str, end: int) -> list[int]:
    """Where each `{` still open at `end` stands, the outermost first (`scope_marks`)."""
    opened: list[int] = []
    for i, ch in scope_marks(text[:end]):
        if ch == "{":
            opened.append(i)
        elif ch == "}" and opened:
            opened.pop()
    return opened


_SEPARATED = re.compile(r"\d{1,3}(?:,\d{3})+(?![\d,])")


def _separated_number(text: str, at: int) -> str | None:
    """The hint for a number written with thousands separators, as dagc prints it (`requests = 1,000`: the
    parser stops at the `,` at `at`): its line with the number written plain; None for another `,`."""
    begin = at
    while begin > 0 and text[begin - 1].isdigit():
        begin -= 1
    m = _SEPARATED.match(text, begin)
    if begin == at or m is None:
        return None
    start, end = text.rfind("\n", 0, begin) + 1, text.find("\n", at)
    line = text[start:end if end >= 0 else len(text)].split("#", 1)[0].strip()
    return f"dagc reads a number without separators: `{line.replace(m.group(), m.group().replace(',', ''), 1)}`"


# Words a user writes for a keyword, from the way the SPEC and the reports speak (`requirements`, `strategies`):
# each read as the keyword it stands for when that keyword may stand there.
_KEYWORD_WORDS = {"requirements": "require", "requirement": "require", "requires": "require", "strategies": "strategy",
                  **STATEMENT_ALIASES}


def _hint_for_token(tok: Token, expected: set[str], before: str = "", after: str = "") -> str:
    """`before`: the character before the token, spaces aside; `after`: the text after it (`degree_after`)."""
    if str(tok) == "=" and before in ("<", ">"):          # `< =`: a comparison split by a space
        return f"did you mean `{before}=`? a comparison is written without a space"
    keywords = _keywords(expected)
    near = nearest(str(tok), keywords, _KEYWORD_WORDS) if tok.type == "NAME" and keywords else None
    if near is not None and near != str(tok).lower():
        return f"did you mean `{near}`?"                 # a misspelt keyword, e.g. `presset`, `workloda`
    if tok.type == "NAME" and "cluster" in keywords and (home := elsewhere(str(tok), "", degree_after(after))):
        return home                                     # a block's field at the top level, e.g. `engine = vllm`
    if "STRING" in expected and tok.type == "NAME":
        return f'quote it: "{tok}"'
    if "EQUAL" in expected and tok.type in ("QUANTITY", "NAME", "STRING"):
        return "fields are written `name = value`"
    if tok.type == "QUANTITY" and "NAME" in expected:
        return "a strategy axis is a name followed by its degree, e.g. `tp 4`"
    if "CMP" in expected:
        if tok.type == "NAME" and re.fullmatch(r"p\d+|\d+(?:p|th)|median|ttft|tpot|itl|e2e", str(tok), re.I):
            return ("a percentile is part of the requirement's name: `ttft_p99 <= 2 s`, `tpot_p90 <= 50 ms` (the "
                    "percentiles 50, 90, 95 and 99)")   # `ttft p99 <= 2 s`, `p99 ttft <= 2 s`
        return "requirements are written `ttft <= 10 s`"
    if tok.type in ("MORETHAN", "LESSTHAN"):
        return "`<` opens the scope of dp or pp and `>` closes it: `pp 4 < tp 2 >`"
    if tok.type == "SEMICOLON":
        return "a `;` has axes on both sides, the attention axes then the expert axes (`tp 4 ; ep 8`): remove this one"
    if tok.type == "LBRACE":
        return ("`{ … }` opens the blocks `model`, `cluster`, `workload` and `require`; a strategy is axes and "
                "degrees, scoped with `< >`: `pp 2 < tp 4 >`, pools as `prefill 2 < tp 2 > decode 3 < tp 2 >`")
    return "docs/language.md describes what may stand here"
