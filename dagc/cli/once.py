"""An option that takes one value and is refused when given twice: `--strategy A --strategy B` would check B
alone, silently, where a user comparing two strategies meant both.

Input: the parsed option's values. Output: the value, or argparse's usage error (exit 2) naming both.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["Once"]


# what to do instead of a second value, by option (`--vary batch --vary speculative` searched the last alone, unsaid,
# until 2026-12-03)
INSTEAD = {"--strategy": "strategies to compare are `strategy` lines of a plan",
           "--vary": "the search varies one of them at a time: run it once with each"}


class Once(argparse.Action):
    """Store the option's one value; a second is a usage error that says what to do instead."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[object] | None, option_string: str | None = None) -> None:
        before = getattr(namespace, self.dest, None)
        if before is not None:
            instead = INSTEAD.get(self.option_strings[-1], "give it once")
            parser.error(f"argument {option_string}: given twice (`{before}`, then `{values}`): it takes one, and "
                         f"the second would replace the first unsaid ({instead})")
        setattr(namespace, self.dest, values)
