"""Request logs replayed as traffic: `workload { requests from "trace.csv" }` (docs/language.md, "Request logs").

Input: the `requests from` entry of a workload, the plan's import roots and how many requests the plan takes
(`requests = N`, or None for all). Output: a frozen `RequestLog` — per request, in arrival order, its arrival
(seconds after the first), prompt and output tokens, and for a Mooncake log its prompt's block hash ids — or
E108 diagnostics located at the entry in the plan, naming the log's line.

Two formats, told apart by the file's extension (`.csv`; `.jsonl`, `.json`) or else its first character:
- the Azure LLM inference trace (Azure/AzurePublicDataset, the 2023 and 2024 releases): a CSV with the header
  `TIMESTAMP,ContextTokens,GeneratedTokens`; TIMESTAMP like `2023-11-16 18:17:03.9799600` (2023) or
  `2024-05-10 00:00:00.009930+00:00` (2024, with its UTC offset);
- the Mooncake trace (kvcache-ai/Mooncake, FAST25-release/traces): JSON lines
  `{"timestamp": ms after the first, "input_length": …, "output_length": …, "hash_ids": [...]}`, one hash id
  per 512-token block of the prompt, requests sharing leading ids sharing that prefix.

The file is read as an imported config is — a regular file only, never a device or FIFO, opened without
blocking — but up to `MAX_LOG_BYTES` and `MAX_LOG_REQUESTS`; with `requests = N` only its first N requests
are read (so the first lines of a larger log can be replayed). A line that does not read is an error at that
line, never skipped or guessed; lines must be in arrival order (a log out of order is refused, not sorted:
dagc replays the log as written). Messages name the file, line numbers and column names, never the content:
a file that is no log (a `.env`, a key) named there, perhaps with `--allow-path /`, must not be echoed.
Lines are counted on the bytes before any per-line object exists, so a log of more lines than MAX_LOG_REQUESTS
is refused in a second and within the bytes read; reading is vectorised (numpy, regular expressions) and
chunked (`dagc.lang.mooncake_log`): a million lines in seconds (bench/bench_request_log.py), the caps' worst
cases within seconds and a small multiple of the bytes (bench/bench_request_log_caps.py).
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterator
from pathlib import Path

from ..diagnostics import code
from ..plan.workload import RequestLog
from ..source import Unreadable, read_regular
from .azure_log import azure_log
from .blocks import BAD, Bad, Collector, Item
from .log_fields import (
    AZURE_COLUMNS,
    AZURE_HINT,
    BLOCK_TOKENS,
    MAX_LOG_SPAN_S,
    MAX_LOG_TOKENS,
    MOONCAKE_HINT,
    MOONCAKE_KEYS,
    LogError,
)
from .model import ImportRoots
from .mooncake_log import mooncake_log
from .near_file import in_directory, near_file

MOONCAKE_SUFFIXES = (".jsonl", ".json")           # Mooncake's JSON lines
LOG_SUFFIXES = (".csv", *MOONCAKE_SUFFIXES)       # a request log's extensions: Azure's CSV, and Mooncake's

__all__ = ["AZURE_COLUMNS", "BLOCK_TOKENS", "MAX_LOG_BYTES", "MAX_LOG_REQUESTS", "MAX_LOG_SPAN_S", "MAX_LOG_TOKENS",
           "MOONCAKE_KEYS", "REQUEST_LOG_CODE", "LogError", "parse_request_log", "read_request_log"]

REQUEST_LOG_CODE = "E108"
MAX_LOG_BYTES = 256 * 1024 * 1024    # bytes read from a request log (docs/limits.md)
MAX_LOG_REQUESTS = 2_000_000         # requests read from a request log (docs/limits.md)
_BOM = b"\xef\xbb\xbf"
_COUNT_CHUNK = 1 << 24               # bytes of newlines counted at once when finding the N-th line's end
_FIRST_CHAR = re.compile(rb"[^ \t\n\r\f\v]")


def read_request_log(out: Collector, roots: ImportRoots, item: Item, limit: int | None) -> RequestLog | Bad:
    """The log the entry `item` (`requests from "…"`) names, its first `limit` requests (None: all), or BAD
    with the reasons in `out` (E108 at the file name in the plan; E002 for a path outside the plan's roots)."""
    assert item.label_span is not None, "a `from` entry has its path"
    at = out.spans["workload.requests.file"] = item.label_span
    if not item.label.strip():        # resolved, "" is the plan's own directory: until 2026-11-30 "a directory"
        return out.error(REQUEST_LOG_CODE, '`requests from ""` names no file', at,
                         'write the log\'s path, relative to the plan: `requests from "requests.csv"`')
    path = roots.resolve(out, item.label, at, "the request log")
    if path is None:
        return BAD
    # the path as the plan writes it (until 2026-11-30 the resolved file's name: `requests from ""` was "request log
    # `bad`: the path is a directory", the name of the plan's own directory)
    shown = code(item.label)
    try:
        return parse_request_log(_read_bounded(path, item.label, limit), path.name, limit)
    except LogError as exc:
        where = f" line {exc.line:,}" if exc.line is not None else ""
        return out.error(REQUEST_LOG_CODE, f"request log {shown}{where}: {exc.message}", at, exc.hint)
    except MemoryError:        # within the caps a log fits in a few times its bytes; a machine with less says so
        return out.error(REQUEST_LOG_CODE, f"request log {shown}: it does not fit in this machine's "
                         "memory", at, "write `requests = N` to replay its first N requests, or cut the log")


def _read_bounded(path: Path, written: str, limit: int | None = None) -> bytes:
    """At most MAX_LOG_BYTES + 1 bytes of a regular file (parse.read_source's care, a larger bound), and with `limit`
    (`requests = N`) no more than its first N requests' lines and the header's (until 2026-12-03 the file was read
    to the bound whatever N: 468 MB of memory for the first 100 requests of a 200 MB log); `written` is its path as
    the plan writes it. A file whose size is past the bound, without `limit`, is refused unread."""
    try:
        if limit is None and path.is_file() and path.stat().st_size > MAX_LOG_BYTES:
            raise _too_large(None)
        return read_regular(path, MAX_LOG_BYTES + 1, None if limit is None else limit + 1)
    except Unreadable as exc:
        if exc.missing:
            # a slip of a file's name beside it: that name (`near_file`; until 2026-12-01 "check the path" alone)
            hint = near_file(path, written, "requests from") or "check the path (relative to the plan)"
            if written.startswith("~"):      # a shell's home, which a plan's path is not
                hint = "dagc does not expand `~` as a shell does: write the path relative to the plan, or absolute " \
                       "(a file outside the plan's directory is read with `--allow-path DIR`)"
            raise LogError(None, "the file does not exist", hint) from None
        if exc.kind == "a directory":      # until 2026-12-03 "dagc reads regular files only", not what to name
            raise LogError(None, "the path is a directory, not a request log",
                           in_directory(path, written, "requests from", LOG_SUFFIXES, "request logs")) from None
        if exc.kind is not None:
            raise LogError(None, f"the path is {exc.kind}, not a request log",
                           "dagc reads regular files only") from None
        raise LogError(None, f"the file cannot be read: {exc.reason}", "check the path and its permissions") from None


def _too_large(limit: int | None) -> LogError:
    """A log past `MAX_LOG_BYTES` (`limit`: `requests = N`, whose N lines run past it)."""
    # with `requests = N` written, its N lines run past the cap: saying "write `requests = N`" would send the user
    # round in a circle (a file of few, very long lines is likely no log at all)
    hint = "write `requests = N` to replay the first N requests, or cut the log (`head -n`)" if limit is None \
        else (f"`requests = {limit:,}` reads the lines of the log's first {limit:,} requests, and they run past "
              "that: a request is one short line; check that the file is a request log, or replay fewer requests")
    return LogError(None, f"the file is larger than {MAX_LOG_BYTES:,} bytes, the most dagc reads of a request log"
                    + ("" if limit is None else f", before its first {limit:,} requests end"), hint)


def parse_request_log(data: bytes, name: str, limit: int | None = None) -> RequestLog:
    """The request log in `data` (a file's bytes, `name` telling its format by extension), its first `limit`
    requests (None: all).

    Raises:
        LogError: the first problem, with the log's line where there is one.

    Example:
        >>> log = parse_request_log(b'{"timestamp": 0, "input_length": 600, "output_length": 9, "hash_ids": [0, 1]}\\n'
        ...                         b'{"timestamp": 500, "input_length": 100, "output_length": 3, "hash_ids": [0]}\\n',
        ...                         "trace.jsonl")
        >>> log.format, log.arrival.tolist(), log.prompt.tolist(), log.hash_offsets.tolist()
        ('mooncake', [0.0, 0.5], [600, 100], [0, 2, 3])
    """
    start = len(_BOM) if data.startswith(_BOM) else 0
    mooncake = _is_mooncake(name, data, start)
    header = 0 if mooncake else 1
    # Counted on the bytes: no line becomes an object before the log is known to be within the caps
    end = len(data) if limit is None else _end_of_lines(data, start, min(limit, MAX_LOG_REQUESTS + 1) + header)
    if end > MAX_LOG_BYTES:          # with `requests = N`, the first N lines of a larger log may lie within it
        raise _too_large(limit)
    lines = data.count(b"\n", start, end) + (end > start and data[end - 1:end] != b"\n")
    if lines - header > MAX_LOG_REQUESTS:
        raise LogError(None, f"the log has more than {MAX_LOG_REQUESTS:,} requests, the most dagc replays",
                       "write `requests = N` to replay its first N")
    if (nul := data.find(b"\x00", start, end)) >= 0:        # at its line (until 2026-12-03 at none, in a large log)
        raise LogError(data.count(b"\n", start, nul) + 1, "a NUL byte: the file is binary, not a request log",
                       f"a request log is an {AZURE_HINT}, or a {MOONCAKE_HINT}")
    try:
        text = str(memoryview(data)[start:end], "utf-8")
    except UnicodeDecodeError as exc:
        raise LogError(data.count(b"\n", start, start + exc.start) + 1, "not UTF-8 text", "save the log as UTF-8") \
            from None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    with _collector_paused():
        parts = text.split("\n")
        del text
        if parts and parts[-1] == "":
            parts.pop()
        return mooncake_log(parts, name) if mooncake else azure_log(parts, name)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cycle collector off while a log's millions of small objects are made: none forms a cycle, and
    collecting them as they come took half of reading a large log."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _is_mooncake(name: str, data: bytes, start: int) -> bool:
    suffix = Path(name).suffix.lower()
    if suffix in MOONCAKE_SUFFIXES:
        return True
    first = _FIRST_CHAR.search(data, start, start + 4096)
    return suffix != ".csv" and first is not None and first.group() == b"{"


def _end_of_lines(data: bytes, start: int, lines: int) -> int:
    """Where the `lines`-th line after `start` ends (past its newline), or the end of `data`: newlines counted
    a chunk at a time, never a list of them."""
    at, left = start, lines
    while at < len(data):
        n = data.count(b"\n", at, at + _COUNT_CHUNK)
        if n < left:
            at, left = at + _COUNT_CHUNK, left - n
            continue
        for _ in range(left):
            at = data.index(b"\n", at) + 1
        return at
    return len(data)
