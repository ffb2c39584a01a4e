"""Characters that look like the plain ones a plan is written in, and are others: a Cyrillic `р` in `tр 8`, a `≤` for
`<=`, the fullwidth `；` and `％` of an East Asian keyboard, a minus sign `−`, angle brackets `〈 〉` for `< >`. Each
stops the lexer where it stands, or makes a name no name dagc knows; E001's hint writes the plain character (where it
said "remove it"), and a name's "did you mean" reads through them (`"mixtral-8х7b"` with a Cyrillic `х` is
`mixtral-8x7b`) and says which character it was, since the two names look the same on the screen."""

from __future__ import annotations

import unicodedata

__all__ = ["fold", "lookalike_hint", "lookalike_note"]

# Letters of other scripts drawn as Latin ones (Unicode's confusables, the ones a font draws alike)
_LETTERS = dict(zip(
    "аеорсухѕіјһԁԛԝАВЕКМНОРСТХЅІЈУ" "οναρκιΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxsijhdqwABEKMHOPCTXSIJY" "ovapkiABEZHIKMNOPTYX", strict=True))
# Signs written for the ASCII ones: comparisons, angle brackets, minus and dashes
_DASHES = "‐‑‒–—"
_SIGNS = {"≤": "<=", "≥": ">=", "⩽": "<=", "⩾": ">=", "‹": "<", "›": ">", "〈": "<", "〉": ">", "⟨": "<", "⟩": ">",
          "−": "-", **dict.fromkeys(_DASHES, "-")}


def ascii_of(ch: str) -> str | None:
    """The plain ASCII `ch` is drawn as and read for, None when it is ASCII or looks like none.

    Example:
        >>> ascii_of("р"), ascii_of("≤"), ascii_of("；"), ascii_of("p"), ascii_of("é")
        ('p', '<=', ';', None, None)
    """
    if ch.isascii():
        return None
    said = _LETTERS.get(ch) or _SIGNS.get(ch)
    if said is not None:
        return said
    wide = unicodedata.normalize("NFKC", ch)          # fullwidth forms: `；`, `％`, `＜`, `Ａ`
    return wide if wide != ch and wide.isascii() and wide.isprintable() and wide.strip() else None


def fold(text: str) -> str:
    """`text` with each look-alike written as the ASCII it looks like.

    Example:
        >>> fold("mixtral-8х7b"), fold("h100–sxm")
        ('mixtral-8x7b', 'h100-sxm')
    """
    return "".join(ascii_of(ch) or ch for ch in text) if not text.isascii() else text


def _named(ch: str) -> str:
    return f"`{ch}` (U+{ord(ch):04X} {unicodedata.name(ch, 'a character')})"


def lookalike_note(word: str) -> str | None:
    """Which character of `word` looks like another one, for a "did you mean" whose name looks the same as `word`;
    None when `word` has no look-alike.

    Example:
        >>> lookalike_note("mixtral-8х7b")
        'its `х` (U+0445 CYRILLIC SMALL LETTER HA) looks like `x` but is another character'
    """
    ch = next((c for c in word if ascii_of(c) is not None), None)
    return None if ch is None else f"its {_named(ch)} looks like `{ascii_of(ch)}` but is another character"


def lookalike_hint(text: str, pos: int) -> str | None:
    """The hint for the character at `pos` of `text` when it looks like an ASCII one: the word it stands in written
    plain (`tр` → `tp`), or the sign itself (`≤` → `<=`); None for any other character.

    Example:
        >>> lookalike_hint("strategy tр 8", 10)
        'write `tp`: its `р` (U+0440 CYRILLIC SMALL LETTER ER) looks like `p` but is another character'
        >>> lookalike_hint("require { ttft ≤ 2 s }", 15)
        'write `<=`: `≤` (U+2264 LESS-THAN OR EQUAL TO) looks like it, but dagc reads the ASCII `<=` only'
    """
    ch = text[pos] if pos < len(text) else ""
    plain = ascii_of(ch) if ch else None
    if plain is None or ch in _DASHES:      # a dash between degrees (`TP2–EP4`) is the strategy hints' to rewrite
        return None
    if not (plain.isalnum() or plain == "_"):
        return f"write `{plain}`: {_named(ch)} looks like it, but dagc reads the ASCII `{plain}` only"
    start = end = pos
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_-"):
        start -= 1
    while end < len(text) and (text[end].isalnum() or text[end] in "_-"):
        end += 1
    return f"write `{fold(text[start:end])}`: {lookalike_note(text[start:end])}"
