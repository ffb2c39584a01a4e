"""`dagc launch --engine` and `-o`: the engines it writes commands for, the directory it writes into, and what each
option says of a value it does not take.

Input: the option's text. Output: the text, for argparse's `choices` to judge (which names the nearest engine,
`dagc.cli.parser`), or an error saying what `--engine` takes where a value is close to one it does; for `-o`, the
directory as the paths it prints name it (no trailing `/`), or an error for an empty one.
"""

from __future__ import annotations

import argparse

__all__ = ["ENGINE_KEYS", "engine_key", "output_dir", "output_dir_or_default"]

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


def output_dir(text: str) -> str:
    """`-o DIR`'s value as the printed paths join it, `DIR/<file>`: without a trailing `/`, so that `-o out/` prints
    `out/vllm-ep-1-node0.sh`, not `out//vllm-ep-1-node0.sh` (until 2026-11-30). An empty DIR names no directory: it
    is refused, where it read as no `-o` at all and the launch wrote nothing, silently (until 2026-11-30).

    >>> output_dir("out/"), output_dir("out"), output_dir("/")
    ('out', 'out', '/')
    """
    if not text:
        raise argparse.ArgumentTypeError("an empty DIR names no directory: give the directory to write into "
                                         "(`-o .` for this one), or leave -o out to have the files printed")
    return text.rstrip("/") or "/"


def output_dir_or_default(text: str) -> str:
    """`-o DIR` of `dagc compile`, `search` and `fleet`, whose default is out/<plan>: an empty DIR is refused, where it
    read as no `-o` and the files went to out/<plan>, silently (until 2026-11-30).

    >>> output_dir_or_default("reports")
    'reports'
    """
    if not text:
        raise argparse.ArgumentTypeError("an empty DIR names no directory: give the directory to write into "
                                         "(`-o .` for this one), or leave -o out for the default, out/<plan>")
    return text
