"""`dagc launch --engine`: the engines it writes commands for, and what the option says of a value it does not take.

Input: the option's text. Output: the text, for argparse's `choices` to judge (which names the nearest engine,
`dagc.cli.parser`), or an error saying what `--engine` takes where a value is close to one it does.
"""

from __future__ import annotations

import argparse

__all__ = ["ENGINE_KEYS", "engine_key"]

ENGINE_KEYS = ("vllm", "sglang", "trtllm")


def engine_key(text: str) -> str:
    """`--engine`'s value, as written: an engine with a release (`trtllm@1.2`) or dagc's plain reference (`pytorch`)
    is told what `--engine` takes, where argparse's "invalid choice" dropped the release or named no reason."""
    name, at, release = text.partition("@")
    if at and name.lower() in ENGINE_KEYS:
        raise argparse.ArgumentTypeError(
            f"`{text}`: --engine takes an engine's name ({', '.join(ENGINE_KEYS)}), its commands being those of the "
            f"release dagc checked them against; a plan names its release (`engine = {name.lower()}@{release}`, or "
            f"`--set cluster.engine={name.lower()}@{release}`), which prices it and gets a note when its flags differ")
    if text.lower() == "pytorch":
        raise argparse.ArgumentTypeError(f"`{text}` is dagc's plain reference, which no server runs: it has no "
                                         f"launcher (choose from {', '.join(ENGINE_KEYS)})")
    return text
