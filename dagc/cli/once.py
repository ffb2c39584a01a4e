"""An option that takes one value and is refused when given twice: `--strategy A --strategy B` would check B
alone, silently, where a user comparing two strategies meant both.

Input: the parsed option's values. Output: the value, or argparse's usage error (exit 2) naming both.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["Once"]


class Once(argparse.Action):
    """Store the option's one value; a second is a usage error that says what to do instead."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[object] | None, option_string: str | None = None) -> None:
        before = getattr(namespace, self.dest, None)
        if before is not None:
            parser.error(f"argument {option_string}: given twice (`{before}`, then `{values}`): it takes one, and "
                         "the second would replace the first unsaid (strategies to compare are `strategy` lines of "
                         "a plan)")
        setattr(namespace, self.dest, values)
