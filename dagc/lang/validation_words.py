"""A field's problem in a file dagc reads through a pydantic model (a calibration file), in dagc's words.

Input: one entry of `pydantic.ValidationError.errors()`. Output: what is wrong with the field, said after its name
(`terms.step_s is below 0: the least it may be`), where pydantic's own words would be its library's ("Input should be
greater than or equal to 0", said until 2026-12-03).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["problem"]

# pydantic's bound errors: the key of the bound in their context, and the words
_BOUNDS = {"greater_than_equal": ("ge", "is below {}: the least it may be"), "greater_than": ("gt", "must be above {}"),
           "less_than_equal": ("le", "is above {}: the most it may be"), "less_than": ("lt", "must be below {}")}
_WORDS = {"missing": "is missing", "extra_forbidden": "is no field of this file", "float_type": "is not a number",
          "float_parsing": "is not a number", "int_type": "is not a whole number",
          "int_parsing": "is not a whole number", "finite_number": "is not a finite number",
          "bool_type": "is not true or false", "string_type": "is not a string", "dict_type": "is not a JSON object",
          "list_type": "is not a list"}


def problem(e: Mapping[str, object]) -> str:
    """What is wrong with one field, in dagc's words where it has them, else pydantic's message.

    Example:
        >>> problem({"type": "greater_than_equal", "ctx": {"ge": 0}, "msg": "Input should be at least 0"})
        'is below 0: the least it may be'
        >>> problem({"type": "int_type", "msg": "Input should be a valid integer"})
        'is not a whole number'
    """
    kind, given = str(e.get("type", "")), e.get("ctx")
    ctx = given if isinstance(given, dict) else {}
    if kind in _BOUNDS and _BOUNDS[kind][0] in ctx:
        key, words = _BOUNDS[kind]
        bound = ctx[key]
        return words.format(f"{bound:g}" if isinstance(bound, (int, float)) else bound)
    said = str(e.get("msg", "")).removeprefix("Value error, ")     # a validator's own words
    return _WORDS.get(kind) or f"is not valid: {said}"
