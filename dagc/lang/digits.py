"""Digits that are not ASCII (`８`, `١٢٨`): the hint that says the number meant, for a plan's text and a `--set`.

Input: text that starts with a character Unicode calls numeric. Output: the hint, with the run of decimal digits
read as the number it writes (`١٢٨` is 128).
"""

from __future__ import annotations

import unicodedata

__all__ = ["digits_hint"]


def digits_hint(text: str) -> str | None:
    """`numbers are written with the ASCII digits 0–9 (`١٢٨` is 128: write `128`)` for text that starts with a
    digit other than ASCII's; None for any other text.

    Example:
        >>> digits_hint("١٢٨ requests")
        'numbers are written with the ASCII digits 0–9 (`١٢٨` is 128: write `128`)'
        >>> digits_hint("８"), digits_hint("8"), digits_hint("x")
        ('numbers are written with the ASCII digits 0–9 (`８` is 8: write `8`)', None, None)
    """
    if not text or not text[0].isnumeric() or text[0].isascii():
        return None
    run = ""
    for ch in text[:40]:                       # a number's digits, as many as a value holds
        if unicodedata.decimal(ch, None) is None:
            break
        run += ch
    if not run:                                # numeric, but no decimal digit (`½`, `Ⅻ`)
        return "numbers are written with the ASCII digits 0–9"
    value = "".join(str(unicodedata.decimal(ch)) for ch in run)
    return f"numbers are written with the ASCII digits 0–9 (`{run}` is {int(value)}: write `{int(value)}`)"
