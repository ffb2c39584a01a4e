"""Characters an editor or a web page puts where a plan has plain ones: typographic quotes (`“mixtral-8x7b”`, which
a word processor or a chat window makes of `"`), and spaces that are no plain space (a no-break space pasted from a
page). Each stops the lexer; E001's hint says which plain character to write, where "remove it" or "names are
quoted" (said to a name that is quoted, typographically) would not mend it. And a `\"` inside a string, as JSON
or C escape a quote: dagc's strings have no escapes, so that quote ends the string."""

from __future__ import annotations

import re
import unicodedata

from .hints import count_multiplier_hint
from .lookalikes import lookalike_hint

__all__ = ["escaped_quote_hint", "typography_hint"]

_DOUBLE = "“”„‟«»〝〞＂"
_SINGLE = "‘’‚‛"


def typography_hint(text: str, pos: int) -> str | None:
    """The hint for the character at `pos` of `text` when it is a typographic quote or a space other than ASCII's,
    or stands right after a `\\"` (`escaped_quote_hint`), or looks like an ASCII one (`lookalike_hint`); None for any
    other character.

    Example:
        >>> typography_hint('model preset “mixtral-8x7b”', 13)[:61]
        'write straight double quotes, `"mixtral-8x7b"`: a typographic'
        >>> typography_hint("strategy tp\\u00a08", 11)
        'U+00A0 (NO-BREAK SPACE) is no plain space: write a space (U+0020) or a tab'
        >>> typography_hint("tp 8", 2) is None
        True
    """
    ch = text[pos] if pos < len(text) else ""
    if (escaped := escaped_quote_hint(text, pos)) is not None:      # any character right after a `\"`
        return escaped
    if ch in "×*" and (product := _product_hint(text, pos)) is not None:     # `gpus = 2 × 8`, `2*8`
        return product
    if ch and ch in _DOUBLE + _SINGLE:
        line = text[pos + 1:].split("\n", 1)[0]
        closing = next((i for i, c in enumerate(line) if c in _DOUBLE + _SINGLE + '"'), None)
        written = f'`"{line[:closing]}"`' if closing is not None and 0 < closing <= 80 else 'a `"` on each side'
        return (f"write straight double quotes, {written}: a typographic quote (`{ch}`), as an editor or a web page "
                "writes it, is no quote to dagc")
    if ch and ch != " " and (unicodedata.category(ch) == "Zs" or ch in "\u200b\u2060\ufeff"):
        return (f"U+{ord(ch):04X} ({unicodedata.name(ch, 'a space')}) is no plain space: write a space (U+0020) or "
                "a tab")
    return lookalike_hint(text, pos)                # `tр 8` with a Cyrillic `р`, `≤`, a fullwidth `；`


def escaped_quote_hint(text: str, pos: int) -> str | None:
    r"""The hint for what stands at `pos` of `text` right after a `\"`, which ends the string it was meant to
    escape a quote in: the name as it could be written, its inner `\"` as `'`; None elsewhere.

    Example:
        >>> escaped_quote_hint('model "a \\"b\\" c" {', 11)
        'a string has no escapes: the `\\"` before `b` ends it; write quotes inside a name as `\'`: `"a \'b\' c"`'
        >>> escaped_quote_hint('model "a" {', 10) is None
        True
    """
    if pos < 2 or not text.startswith('\\"', pos - 2):
        return None
    start = text.rfind("\n", 0, pos) + 1
    end = len(text) if (end := text.find("\n", pos)) < 0 else end
    line, at = text[start:end], pos - start
    first, last = line.find('"'), line.rfind('"')
    word = line[at:].split(None, 1)[0] if line[at:].strip() else ""
    word = word[:1] if word[:1] in "<>{}[]();=" else word.split('\\"')[0]
    fixed = line[first + 1:last].replace('\\"', "'") if first < at - 1 <= last else ""
    said = f": `\"{fixed}\"`" if fixed and len(fixed) <= 80 else ""
    return f"a string has no escapes: the `\\\"` before `{word}` ends it; write quotes inside a name as `'`{said}"


def _product_hint(text: str, pos: int) -> str | None:
    """The hint for a product written with `×` or `*` after a field's number (`gpus = 2 × 8`, `2*8`), as
    `dagc.lang.hints.count_multiplier_hint` gives `2x8`'s: until 2026-12-03 "remove it", which left `gpus = 2 8`.

    Example:
        >>> _product_hint("cluster { gpus = 2 × 8 }", 19)
        "`2 × 8` is not read as a number: write `gpus = 16` (2 × 8), the GPUs in all; `gpus_per_node = 8` says a node's"
    """
    before = re.search(r"(?<![\w.-])([A-Za-z_][\w.-]*)[ \t]*=[ \t]*(\d{1,6})[ \t]*\Z", text[:pos])
    after = re.match(r"[ \t]*(\d{1,6})(?!\w)", text[pos + 1:])
    if before is None or after is None:
        return None
    hint = count_multiplier_hint(before[2], f"x{after[1]}", f"{before[1]} =")
    written = text[before.start(2):pos + 1 + after.end(1)]
    return None if hint is None else hint.replace(f"`{before[2]}x{after[1]}`", f"`{written}`", 1)
