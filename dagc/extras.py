"""How to install one of dagc's optional extras (`ray` for `dagc fleet --ray`, `engines` for `dagc kernels import`)
into the environment that runs dagc: the extra's requirements as dagc's own metadata lists them (pyproject.toml's
`[project.optional-dependencies]`), installed by this interpreter's pip.

Never `pip install 'dagc[ray]'`: dagc is installed from its checkout, and the name `dagc` on PyPI is another
project's (Decision-Anchored Graph Compression, https://pypi.org/project/dagc/, 0.1.13 on 2026-11-30), which that
command would install over the checkout's dagc, without Ray (until 2026-11-30 `dagc fleet --ray` said so).

Input: the extra's name. Output: one shell command, each word quoted where the shell needs it.
"""

from __future__ import annotations

import re
import shlex
import sys
from importlib import metadata

__all__ = ["extra_install", "extra_requirements"]

_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def extra_requirements(extra: str) -> tuple[str, ...]:
    """The requirements of dagc's optional extra `extra` (`ray>=2.30`), from dagc's installed metadata; empty when
    dagc's metadata cannot be read or lists no such extra."""
    try:
        listed = metadata.requires("dagc") or []
    except metadata.PackageNotFoundError:
        return ()
    out = []
    for line in listed:
        requirement, _, marker = line.partition(";")
        if (m := _EXTRA.search(marker)) is not None and m.group(1) == extra:
            out.append(requirement.strip())
    return tuple(out)


def extra_install(extra: str) -> str:
    """The command that installs dagc's optional extra `extra` where dagc runs.

    Example:
        >>> extra_install("ray").endswith(" -m pip install 'ray>=2.30'")
        True
        >>> "dagc[" in extra_install("ray")
        False
    """
    requirements = extra_requirements(extra)
    if not requirements:       # dagc run from a checkout it was not installed from: the extra, from that checkout
        return f"pip install -e '.[{extra}]' in dagc's checkout"
    python = shlex.quote(sys.executable or "python3")
    return f"{python} -m pip install " + " ".join(shlex.quote(r) for r in requirements)
