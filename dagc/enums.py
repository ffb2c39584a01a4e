"""`FastEnum`: an `enum.Enum` hashed by identity.

`enum.Enum` hashes a member by its name in Python code on every dict or set look-up; the search and
the scheduler look up ops, phases and kinds by the hundred thousand. A member is its own only
equal (Enum compares by identity, and a member unpickles to itself), so its identity is as good a
hash, and C computes it. Nothing may read an order from hashes: a set of members was already
ordered by the process's string-hash seed.
"""

from __future__ import annotations

import enum

__all__ = ["FastEnum"]


class FastEnum(enum.Enum):
    """An `enum.Enum` whose members hash by identity."""

    __hash__ = object.__hash__
