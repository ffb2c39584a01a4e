"""`--requests-out FILE`: every simulated request as one JSON line, written in the output directory.

Input: a file name, and per strategy its label and simulated `Load`. Output: the file — one line per
request of each simulated strategy, in the plan's order of strategies and each strategy's request ids —
or an `OutputError` naming why the name is refused.

A line: `strategy` (as report.json's `strategy`), `id` (the request, 0 up in arrival order), `arrival_s`,
`prompt_tokens`, `output_tokens`, `first_token_s`, `finish_s`, `ttft_s`, `tpot_s`, `e2e_s` (seconds from
the run's start; the last three as report.json's `load` percentiles are computed from) and, where the
simulation counts them, `preemptions`. FILE is one file name, never a path: it is written inside the
output directory (`dagc compile`'s, or `out/<plan>` for `dagc check`), so that a name from a command line
cannot make dagc write elsewhere; the file is written as every file is (`dagc.export.write`: a link, FIFO,
device or directory there is refused, never replaced).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import numpy as np

from ..serve.load import Load
from .output_dir import OUTPUT_FILES, safe_dir_name
from .write import OutputError, atomic_output

__all__ = ["REQUEST_KEYS", "check_requests_name", "over_budget", "request_lines", "requests_bytes_at_least",
           "write_requests"]

REQUEST_KEYS = ("strategy", "id", "arrival_s", "prompt_tokens", "output_tokens", "first_token_s", "finish_s",
                "ttft_s", "tpot_s", "e2e_s")


def check_requests_name(name: str | None, taken: Iterable[str] = ()) -> None:
    """Raise `OutputError` unless `name` is None (no file asked for) or one plain file name dagc may write
    in its output directory: letters, digits, `_`, `-` and inner dots (no directory, not hidden, at most 64
    characters), not a file dagc writes there itself, nor one of `taken` (its strategies' directories).

    Example:
        >>> check_requests_name("requests.jsonl")
        >>> check_requests_name("../x.jsonl")
        Traceback (most recent call last):
        ...
        dagc.export.write.OutputError: cannot write ../x.jsonl: --requests-out takes a file name (letters, \
digits, `_`, `-`, inner dots; not starting with `-`), which dagc writes in its output directory; not a path
    """
    if name is None:
        return
    if not name or safe_dir_name(name, "") != name:
        raise OutputError(name, "--requests-out takes a file name (letters, digits, `_`, `-`, inner dots; not "
                                "starting with `-`), which dagc writes in its output directory; not a path")
    clash = {n.casefold() for n in (*OUTPUT_FILES, *taken)}
    if name.casefold() in clash:
        raise OutputError(name, "dagc writes a file or directory of that name in its output directory; choose "
                                "another name for --requests-out")


BLOCK = 65536          # lines formatted and written at once


def _ints(load: Load, name: str, default: int) -> list[str]:
    """A per-request count of the load (`prompt`, `output`, `preemptions`) as JSON texts, `default` for
    every request where the simulation does not keep it."""
    values = getattr(load, name, None)
    if values is None:
        return [str(default)] * len(load.arrival)
    return list(map(str, np.asarray(values, dtype=np.int64).tolist()))


def _floats(x: np.ndarray) -> list[str]:
    """Seconds as JSON texts: a float's repr reads back to the same double; not finite (never expected)
    is null."""
    texts = list(map(repr, np.asarray(x, dtype=float).tolist()))
    if not np.isfinite(x).all():
        texts = [t if math.isfinite(float(t)) else "null" for t in texts]
    return texts


def request_lines(strategy: str, load: Load, prompt_tokens: int) -> Iterator[str]:
    """The lines of one strategy's requests (module docstring), each ending with a newline;
    `prompt_tokens`: every request's prompt where the run does not keep each one's (the workload's)."""
    head = '{"strategy":' + json.dumps(strategy, ensure_ascii=False) + ',"id":'
    prompt, output = _ints(load, "prompt", prompt_tokens), _ints(load, "output", load.generate)
    pre = _ints(load, "preemptions", 0) if getattr(load, "preemptions", None) is not None else None
    a, f, e, ttft, tpot, e2e = (_floats(x) for x in (load.arrival, load.first_token, load.finish, load.ttft,
                                                     load.tpot, load.e2e))
    for i in range(len(a)):
        tail = f',"preemptions":{pre[i]}' if pre is not None else ""
        yield (f'{head}{i},"arrival_s":{a[i]},"prompt_tokens":{prompt[i]},"output_tokens":{output[i]},'
               f'"first_token_s":{f[i]},"finish_s":{e[i]},"ttft_s":{ttft[i]},"tpot_s":{tpot[i]},'
               f'"e2e_s":{e2e[i]}{tail}}}\n')


def requests_bytes_at_least(runs: list[tuple[str, Load, int]]) -> int:
    """The bytes `write_requests` writes at least: each run's lines with every figure one character long
    (the keys, the strategy), so that a file past an output budget is refused before any is written."""
    total = 0
    for strategy, load, _ in runs:
        line = f'{{"strategy":{json.dumps(strategy, ensure_ascii=False)},"id":0' + "".join(
            f',"{k}":0' for k in REQUEST_KEYS[2:]) + "}\n"
        total += len(line.encode("utf-8")) * len(load.arrival)
    return total


def over_budget(path: Path | str, budget_bytes: int) -> OutputError:
    """The error of a requests file past the output budget: nothing of it is written."""
    return OutputError(path, f"--requests-out: the simulated requests pass the output budget ({budget_bytes:,} "
                             "bytes) and none was written; simulate fewer requests, or give a larger --output-budget")


def write_requests(path: Path, runs: list[tuple[str, Load, int]], max_bytes: int | None = None,
                   shown: Path | None = None) -> int:
    """Write every run's requests to `path` (atomically, streamed): (strategy, its run, the workload's
    prompt tokens) each; returns the lines written. Past `max_bytes` (None: no bound) it stops and
    writes nothing (`over_budget`, naming `shown` or `path`), before any line when their least size
    already passes it.

    Raises:
        OutputError: `path` is a link, device, FIFO, socket or directory, cannot be written, or the lines
            pass `max_bytes`.
    """
    shown = Path(path) if shown is None else shown
    if max_bytes is not None and requests_bytes_at_least(runs) > max_bytes:
        raise over_budget(shown, max_bytes)
    lines = size = 0
    with atomic_output(Path(path)) as f:
        for strategy, load, prompt_tokens in runs:
            block: list[str] = []
            for line in request_lines(strategy, load, prompt_tokens):
                block.append(line)
                if len(block) == BLOCK:
                    size += _write(f, block, size, max_bytes, shown)
                    lines, block = lines + len(block), []
            size += _write(f, block, size, max_bytes, shown)
            lines += len(block)
    return lines


def _write(f: IO[str], block: list[str], size: int, max_bytes: int | None, path: Path) -> int:
    """Write a block of lines unless it takes the file past `max_bytes` (raises `over_budget`, and
    `atomic_output` then leaves nothing); its bytes."""
    text = "".join(block)
    n = len(text.encode("utf-8"))
    if max_bytes is not None and size + n > max_bytes:
        raise over_budget(path, max_bytes)
    f.write(text)
    return n
