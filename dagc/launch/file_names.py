"""The part of the name of every file `dagc launch -o DIR` writes that names its strategy (docs/launch.md).

Input: a strategy, or its label. Output: a plain file-name part, distinct for distinct labels however long.
"""

from __future__ import annotations

import hashlib
import re

from ..plan.strategy import Strategy

__all__ = ["STEM_HASH", "STEM_MAX", "strategy_file_stem"]

STEM_MAX, STEM_HASH = 60, 8    # a launch file's strategy part: at most 60 characters, a cut one ending with 8 of a hash


def strategy_file_stem(strategy: Strategy | str) -> str:
    """The part of a launch file's name that names its strategy: its name, else its text (its `label`; `tp 1 ; ep 8`
    → `tp-1-ep-8`), anything but letters, digits, `_` and `-` replaced by `-` — a plain name (no `/`, no leading
    `.`) — at most `STEM_MAX` characters: a longer one is cut and ends with `STEM_HASH` hex digits of the SHA-256 of
    the whole label, so that two long names alike in their first characters still name distinct files.

    Example:
        >>> strategy_file_stem("tp 1 ; ep 8")
        'tp-1-ep-8'
        >>> a, b = (strategy_file_stem("experts_spread_over_every_gpu_of_the_node_with_attention_split_" + x)
        ...         for x in "ab")
        >>> len(a), a[:51] == b[:51], a != b
        (60, True, True)
    """
    label = strategy if isinstance(strategy, str) else strategy.label
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", label).strip("-") or "strategy"
    if len(stem) <= STEM_MAX:
        return stem
    digest = hashlib.sha256(label.encode("utf-8", errors="surrogateescape")).hexdigest()[:STEM_HASH]
    return f"{stem[:STEM_MAX - STEM_HASH - 1].rstrip('-')}-{digest}"
