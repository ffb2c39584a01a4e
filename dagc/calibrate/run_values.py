"""What a run file's value is when it is no number (`dagc.calibrate.run_fields`): its JSON kind, never its text.

Input: a JSON value a number was read from. Output: the words of E110 at it. A figure written in quotes
(`"p99_ttft_ms": "650.0"`, as a hand-edited or re-serialised file has it) was told it "is not a positive number
from 1e-06 up to 1e+12" — which 650 is —, so a user looked for a wrong figure, not for the quotes.
"""

from __future__ import annotations

__all__ = ["refused_rate", "refused_value"]

_KINDS = ((str, "a string"), (bool, "true or false"), (list, "a list"), (dict, "an object"))


def refused_value(v: object, number_words: str) -> str:
    """E110's words for `v`, refused where `number_words` (`whole number`, `number from … up to …`) is read.

    Example:
        >>> refused_value("650.0", "number from 1e-06 up to 1e+12")
        'is a string, not a number: the tools write their figures as JSON numbers, without quotes'
        >>> refused_value(-5, "whole number")
        'is not a positive whole number'
    """
    kind = next((name for t, name in _KINDS if isinstance(v, t)), None)
    if kind is not None:
        return f"is {kind}, not a number: the tools write their figures as JSON numbers, without quotes"
    return f"is not a positive {number_words}"


def refused_rate(v: object) -> str:
    """E110's words for a `request_rate` that is neither a positive number nor `"inf"` (all requests at once).

    Example:
        >>> refused_rate("20")
        'is a string other than "inf": a rate is a JSON number, without quotes ("inf", all at once, alone is quoted)'
        >>> refused_rate(-1)
        'is not a rate in requests/s (a positive number, or "inf")'
    """
    if isinstance(v, str):
        return ('is a string other than "inf": a rate is a JSON number, without quotes ("inf", all at once, alone is '
                'quoted)')
    return 'is not a rate in requests/s (a positive number, or "inf")'
