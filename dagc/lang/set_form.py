"""A hint about a `--set` option, in the form the user writes it (`dagc.lang.overrides`): the plan's line `rate = 10
requests/s` is `--set 'workload.rate=10 requests/s'` on the command line, and a line of several fields of the option's
block, `gpus = 16  gpus_per_node = 8`, one option a field, `--set cluster.gpus=16 --set cluster.gpus_per_node=8`
(until 2026-12-02 the whole line was one option's value, `--set 'cluster.gpus=16  gpus_per_node = 8'`, which `--set`
refuses: "takes one value"). A line of another field alone (`gpus = 8` in a hint about `cluster.gpu`) stays the
plan's, which a hint may give beside its option. A hint about a requirement may name any requirement as an option
(`latency` is told `tpot`, `ttft`).

Input: the hint and the option's path. Output: the hint with each such line rewritten; the rest as it was.
"""

from __future__ import annotations

import re
import shlex

from .fields import REQUIREMENT_NAMES, set_path

__all__ = ["set_form"]

# the fields of the same block a hint about a field may name instead (`acceptance` 1.5 is an `accept_length`)
_SIBLINGS = {"acceptance": ("accept_length",)}
_LINE = re.compile(r"`([a-z][a-z0-9_]*\s*(?:<=|>=|=|<|>)[^`]+)`")     # a backticked line of `name op value`
_FIELD = re.compile(r"(?:^|\s{2,})([a-z][a-z0-9_]*)\s*(?:<=|>=|=|<|>)\s*")   # each field of it (two spaces apart)


def set_form(hint: str | None, path: tuple[str, ...]) -> str | None:
    """`hint` with each backticked line of fields the option could set written as `--set` options (module docstring;
    a requirement's operator is the `=` of --set).

    Example:
        >>> set_form("did you mean `requests/s`? (`req/s` is requests per second: `rate = 10 requests/s`)",
        ...          ("workload", "rate"))
        "did you mean `requests/s`? (`req/s` is requests per second: `--set 'workload.rate=10 requests/s'`)"
        >>> set_form("2 nodes of 8 GPUs are `gpus = 16  gpus_per_node = 8`", ("cluster", "gpus"))
        '2 nodes of 8 GPUs are `--set cluster.gpus=16 --set cluster.gpus_per_node=8`'
        >>> set_form("write `tp 2 ; ep 4` or `batch = 8`", ("cluster", "gpus"))      # no field of the cluster
        'write `tp 2 ; ep 4` or `batch = 8`'
    """
    if hint is None:
        return None
    block = ".".join(path[:-1])
    known = {path[-1], *_SIBLINGS.get(path[-1], ()), *(REQUIREMENT_NAMES if path[0] == "require" else ())}

    def settable(name: str, several: bool) -> bool:      # a field of the block, in a line of several fields
        return name in known or (several and bool(block) and set_path(name) == f"{block}.{name}")

    def options(m: re.Match[str]) -> str:
        line = m[1]
        starts = list(_FIELD.finditer(line))
        if not starts or starts[0].start() != 0 or not all(settable(f[1], len(starts) > 1) for f in starts):
            return m[0]
        ends = [f.start() for f in starts[1:]] + [len(line)]
        sets = [shlex.quote(".".join((*path[:-1], f[1])) + "=" + line[f.end():end].strip())
                for f, end in zip(starts, ends, strict=True)]
        return "`" + " ".join(f"--set {s}" for s in sets) + "`"

    return _LINE.sub(options, hint)
