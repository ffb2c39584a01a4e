"""The one type of a value read from or written as JSON (or TOML, YAML): the boundary's type.

A JSON document is `None`, a bool, a number, a string, a list of JSON values or an object of them by
string keys. Code that reads such a document narrows what it reads (`isinstance`) before it uses it;
code that writes one builds `JSONObject`s. docs/architecture.md ("The JSON boundary") says which
functions read and write such text.
"""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["JSON", "JSONObject"]

JSON: TypeAlias = "None | bool | int | float | str | list[JSON] | dict[str, JSON]"
JSONObject: TypeAlias = "dict[str, JSON]"
