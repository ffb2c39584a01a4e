"""E001's hint for a second value after a field's (`batch = 32 32`, `gpus = 2 x 8`), for `dagc.lang.syntax_errors`."""

from __future__ import annotations

import re

from .hints import count_multiplier_hint, joined_keyword_hint

__all__ = ["second_value_hint"]


def second_value_hint(name: str, value: str, extra: str, after: str) -> str:
    """E001's hint for a word or number `extra` after a field's `value`: a two-word form written as one
    (`joined_keyword_hint`), a product written with spaces (`gpus = 2 x 8`: `2 x` read as a number and a unit, `8`
    as a second value, hinted as `2x8` is, `count_multiplier_hint`), else to remove it.

    Example:
        >>> second_value_hint("gpus", "2 x", "8", "")
        "`2 x 8` is not read as a number: write `gpus = 16` (2 × 8), the GPUs in all; `gpus_per_node = 8` says a node's"
        >>> second_value_hint("batch", "32", "32", "")[:9]
        'remove it'
    """
    joined = joined_keyword_hint(extra, after)
    if joined is not None:
        return joined
    written = re.fullmatch(r"(\d{1,6})[ \t]+[xX]", value)
    product = count_multiplier_hint(written[1], f"x{extra}", f"{name} =") if written and extra.isdigit() else None
    if written is None or product is None:
        return "remove it: a field is `name = value`, and the next field starts with its own name"
    return product.replace(f"`{written[1]}x{extra}`", f"`{written[1]} x {extra}`", 1)
