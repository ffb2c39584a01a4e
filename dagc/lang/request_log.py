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
dagc replays the log as written). Messages name the file, line numbers and column names, never the content.
Reading is vectorised (numpy, regular expressions): a million lines in seconds (bench/bench_request_log.py).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np

from ..diagnostics import quote
from ..plan.workload import RequestLog
from .blocks import BAD, Bad, Collector, Item
from .model import ImportRoots
from .parse import _O_CLOEXEC, _O_NOCTTY, _O_NONBLOCK, _kind, _read_capped

__all__ = ["AZURE_COLUMNS", "BLOCK_TOKENS", "MAX_LOG_BYTES", "MAX_LOG_REQUESTS", "MAX_LOG_SPAN_S", "MAX_LOG_TOKENS",
           "MOONCAKE_KEYS", "REQUEST_LOG_CODE", "LogError", "parse_request_log", "read_request_log"]

REQUEST_LOG_CODE = "E108"
MAX_LOG_BYTES = 256 * 1024 * 1024    # bytes read from a request log (docs/limits.md)
MAX_LOG_REQUESTS = 2_000_000         # requests read from a request log (docs/limits.md)
MAX_LOG_TOKENS = 2**32               # a prompt or output length; more is not a length (as `prompt` in a plan)
MAX_LOG_SPAN_S = 1e9                 # seconds from a log's first request to its last (~31 years)
BLOCK_TOKENS = 512                   # tokens per Mooncake hash id
AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
MOONCAKE_KEYS = ("timestamp", "input_length", "output_length", "hash_ids")
_AZURE = "Azure LLM inference trace CSV: the header `TIMESTAMP,ContextTokens,GeneratedTokens`, then one request " \
         "a line, e.g. `2023-11-16 18:17:03.9799600,4808,10`"
_MOONCAKE = 'Mooncake trace: one JSON object a line, {"timestamp": ms, "input_length": N, "output_length": N, ' \
            '"hash_ids": [...]}'
_OFFSET_RE = re.compile(r"[+-]\d\d:\d\d\Z")
_NUMBER = r"(?:0|[1-9][0-9]*)"
_AS_WRITTEN_RE = re.compile(rf'^\{{"timestamp": ({_NUMBER}(?:\.[0-9]+)?), "input_length": ({_NUMBER}), '
                            rf'"output_length": ({_NUMBER}), "hash_ids": \[([0-9, ]*)\]\}}$',
                            re.MULTILINE)


class LogError(Exception):
    """Why a request log cannot be used: at `line` of the log (None: the whole file), with a hint."""

    def __init__(self, line: int | None, message: str, hint: str) -> None:
        super().__init__(message)
        self.line, self.message, self.hint = line, message, hint


def read_request_log(out: Collector, roots: ImportRoots, item: Item, limit: int | None) -> RequestLog | Bad:
    """The log the entry `item` (`requests from "…"`) names, its first `limit` requests (None: all), or BAD
    with the reasons in `out` (E108 at the file name in the plan; E002 for a path outside the plan's roots)."""
    assert item.label_span is not None, "a `from` entry has its path"
    at = out.spans["workload.requests.file"] = item.label_span
    path = roots.resolve(out, item.label, at)
    if path is None:
        return BAD
    try:
        return parse_request_log(_read_bounded(path), path.name, limit)
    except LogError as exc:
        where = f" line {exc.line:,}" if exc.line is not None else ""
        return out.error(REQUEST_LOG_CODE, f"request log `{quote(path.name)}`{where}: {exc.message}", at, exc.hint)


def _read_bounded(path: Path) -> bytes:
    """At most MAX_LOG_BYTES + 1 bytes of a regular file (parse.read_source's care, a larger bound)."""
    try:
        kind = _kind(os.stat(path).st_mode)
        if kind is not None:
            raise LogError(None, f"the path is {kind}, not a request log", "dagc reads regular files only")
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_NOCTTY | _O_CLOEXEC)
        try:
            kind = _kind(os.fstat(fd).st_mode)
            if kind is not None:
                raise LogError(None, f"the path is {kind}, not a request log", "dagc reads regular files only")
            return _read_capped(fd, MAX_LOG_BYTES + 1)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise LogError(None, "the file does not exist", "check the path (relative to the plan)") from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "invalid path"
        raise LogError(None, f"the file cannot be read: {reason}", "check the path and its permissions") from None


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
    cut = len(data) > MAX_LOG_BYTES
    if cut:        # with `requests = N` the first N may lie within the bound: keep the whole lines read
        data = data[:data.rfind(b"\n", 0, MAX_LOG_BYTES) + 1]
        if limit is None:
            raise _too_large()
    if b"\x00" in data:
        raise LogError(None, "the file is binary, not a request log", f"a request log is an {_AZURE}, or a {_MOONCAKE}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LogError(data[:exc.start].count(b"\n") + 1, "not UTF-8 text", "save the log as UTF-8") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    mooncake = _is_mooncake(name, text)
    lines = _lines(text, None if limit is None else min(limit, MAX_LOG_REQUESTS + 1) + (0 if mooncake else 1))
    log = _mooncake(lines, name) if mooncake else _azure(lines, name)
    if log.requests > MAX_LOG_REQUESTS:
        raise LogError(None, f"the log has more than {MAX_LOG_REQUESTS:,} requests, the most dagc replays",
                       "write `requests = N` to replay its first N")
    if cut and log.requests < (limit or 0):
        raise _too_large()
    return log


def _too_large() -> LogError:
    return LogError(None, f"the file is larger than {MAX_LOG_BYTES:,} bytes, the most dagc reads of a request log",
                    "write `requests = N` to replay the first N requests, or cut the log (`head -n`)")


def _is_mooncake(name: str, text: str) -> bool:
    suffix = Path(name).suffix.lower()
    return suffix in (".jsonl", ".json") or (suffix != ".csv" and text.lstrip()[:1] == "{")


def _lines(text: str, keep: int | None) -> list[str]:
    """The first `keep` lines of `text` (None: all), without the newline that ends the last."""
    parts = text.split("\n", -1 if keep is None else keep)
    if keep is not None and len(parts) > keep:
        return parts[:keep]
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def _log(name: str, fmt: str, arrival: np.ndarray, prompt: np.ndarray, output: np.ndarray, first_line: int,
         hash_ids: np.ndarray | None = None, hash_offsets: np.ndarray | None = None) -> RequestLog:
    digest = hashlib.sha256(fmt.encode())
    for a in (arrival, prompt, output, hash_ids, hash_offsets):
        digest.update(b"|" if a is None else np.ascontiguousarray(a).tobytes())
    for a in (arrival, prompt, output, hash_ids, hash_offsets):
        if a is not None:
            a.setflags(write=False)       # the IR is immutable: a log's arrays too
    return RequestLog(file=name, format=fmt, arrival=arrival, prompt=prompt, output=output, block_tokens=BLOCK_TOKENS,
                      hash_ids=hash_ids, hash_offsets=hash_offsets, first_line=first_line,
                      digest=digest.hexdigest()[:16])


# ---------------------------------------------------------------- Azure LLM inference trace (CSV)

def _azure(lines: list[str], name: str) -> RequestLog:
    if not lines:
        raise LogError(None, "the log is empty", f"an {_AZURE}")
    columns = [c.strip() for c in lines[0].split(",")]
    for c in columns:
        if c not in AZURE_COLUMNS:
            shown = f"`{quote(c, 40)}`" if c else "an empty name"
            raise LogError(1, f"the header has a column of {shown}, which is no column of an Azure log",
                           "the header is `TIMESTAMP,ContextTokens,GeneratedTokens`")
        if columns.count(c) > 1:
            raise LogError(1, f"the header has the column `{c}` twice", "the header is "
                           "`TIMESTAMP,ContextTokens,GeneratedTokens`")
    missing = [c for c in AZURE_COLUMNS if c not in columns]
    if missing:
        raise LogError(1, f"the header has no column `{missing[0]}`", "the header is "
                       "`TIMESTAMP,ContextTokens,GeneratedTokens`")
    body, width = lines[1:], len(columns)
    if not body:
        raise LogError(None, "the log has a header but no request", "one request a line follows the header")
    wrong = np.flatnonzero(np.array([line.count(",") for line in body]) != width - 1)
    if wrong.size:
        i = int(wrong[0])
        said = "is empty" if not body[i] else f"has {body[i].count(',') + 1} fields, the header {width}"
        raise LogError(i + 2, said, f"each line is one request: {', '.join(AZURE_COLUMNS)}, as in the header")
    flat = ",".join(body).split(",")          # every line has `width` fields: column k is every width-th
    fields = {c: flat[k::width] for k, c in enumerate(columns)}
    prompt = _counts(fields["ContextTokens"], "`ContextTokens`", 2)
    output = _counts(fields["GeneratedTokens"], "`GeneratedTokens`", 2)
    return _log(name, "azure", _azure_times(fields["TIMESTAMP"]), prompt, output, first_line=2)


def _counts(texts: list[str], column: str, first: int) -> np.ndarray:
    """Whole token counts from 1 to MAX_LOG_TOKENS; `first` is the line of texts[0]."""
    try:
        values = np.array(list(map(int, texts)), dtype=np.int64)
    except (ValueError, OverflowError, TypeError):
        for i, t in enumerate(texts):
            try:
                int(t)
            except (ValueError, TypeError):
                raise LogError(i + first, f"{column} is not a whole number", "token counts are whole numbers "
                               "(tokens, from 1)") from None
        values = np.array([max(-1, min(int(t), MAX_LOG_TOKENS + 1)) for t in texts], dtype=np.int64)
    return _in_range(values, column, first)


def _in_range(values: np.ndarray, column: str, first: int) -> np.ndarray:
    bad = np.flatnonzero((values < 1) | (values > MAX_LOG_TOKENS))
    if bad.size:
        i = int(bad[0])
        said = "is below 1: every request has a prompt and an output" if values[i] < 1 else \
            f"is more than {MAX_LOG_TOKENS:,} tokens"
        raise LogError(i + first, f"{column} {said}", "drop requests that were refused or failed from the log")
    return values


def _azure_times(stamps: list[str]) -> np.ndarray:
    """Seconds after the first request, from TIMESTAMPs with or without a UTC offset (`+00:00`)."""
    offsets = np.zeros(len(stamps))
    if _OFFSET_RE.search(stamps[0]):
        tails = [s[-6:] for s in stamps]
        stamps = [s[:-6] for s in stamps]
        if len(set(tails)) > 1:            # a constant offset shifts nothing; others are each its own
            for i, t in enumerate(tails):
                if not _OFFSET_RE.match(t):
                    raise LogError(i + 2, "`TIMESTAMP` has no UTC offset, the first line's has one",
                                   "write every TIMESTAMP alike, e.g. `2024-05-10 00:00:00.009930+00:00`")
            sign = np.array([1.0 if t[0] == "+" else -1.0 for t in tails])
            offsets = sign * np.array([int(t[1:3]) * 3600 + int(t[4:6]) * 60 for t in tails], dtype=float)
    times = _datetimes(stamps)
    if times is None or np.isnat(times).any():
        for i, s in enumerate(stamps):
            one = _datetimes([s])
            if one is None or np.isnat(one[0]):
                raise LogError(i + 2, "`TIMESTAMP` is not a date and time (with a UTC offset if the first line's has "
                               "one)", "write it as `2023-11-16 18:17:03.9799600` or `2024-05-10 00:00:00.0099+00:00`")
        raise LogError(None, "`TIMESTAMP` is not a date and time", "write it as `2023-11-16 18:17:03.9799600`")
    ns = times.astype(np.int64)
    seconds = (ns - ns[0]) / 1e9 - (offsets - offsets[0])
    return _arrivals(seconds, "`TIMESTAMP`", 2)


def _datetimes(stamps: list[str]) -> np.ndarray | None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # numpy parses a time zone with a warning: here, not a time
        try:
            return np.array(stamps).astype("datetime64[ns]")
        except (ValueError, OverflowError, TypeError, UserWarning):
            return None


def _arrivals(seconds: np.ndarray, column: str, first: int) -> np.ndarray:
    """Seconds after the first request; refused when a request comes before the one above it."""
    back = np.flatnonzero(np.diff(seconds) < 0)
    if back.size:
        raise LogError(int(back[0]) + 1 + first, f"{column} is earlier than the line above's",
                       "a request log lists requests in arrival order: sort it by time (dagc does not reorder it)")
    if not np.isfinite(seconds).all() or seconds[-1] > MAX_LOG_SPAN_S:
        i = int(np.flatnonzero(~np.isfinite(seconds) | (seconds > MAX_LOG_SPAN_S))[0])
        raise LogError(i + first, f"{column} is not a time within {MAX_LOG_SPAN_S:.0e} s of the first request's",
                       "check the time unit (Mooncake timestamps are milliseconds)")
    return seconds.astype(np.float64)


# ---------------------------------------------------------------- Mooncake trace (JSON lines)

def _mooncake(lines: list[str], name: str) -> RequestLog:
    if not lines:
        raise LogError(None, "the log is empty", f"a {_MOONCAKE}")
    fast = _as_written(lines)
    if fast is not None:
        stamps, prompt, output, hash_ids, counts = fast
        offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    else:
        records = _json_lines(lines)
        keys: set[str] = set()
        for r in records:
            keys.update(r)
        unknown = keys.difference(MOONCAKE_KEYS)
        if unknown:
            key = min(unknown)
            line = next(i for i, r in enumerate(records) if key in r) + 1
            raise LogError(line, f"the field `{quote(key, 40)}` is no field of a Mooncake log",
                           "a Mooncake log's fields are " + ", ".join(f'"{k}"' for k in MOONCAKE_KEYS))
        stamps = _floats(_column(records, "timestamp", (int, float)))
        prompt, output = _int_column(records, "input_length"), _int_column(records, "output_length")
        hash_ids, counts, offsets = _hash_ids(records)
    prompt = _in_range(prompt, "`input_length`", 1)
    output = _in_range(output, "`output_length`", 1)
    arrival = _arrivals((stamps - stamps[0]) / 1e3, "`timestamp`", 1)
    over = np.flatnonzero(counts > -(-prompt // BLOCK_TOKENS))
    if over.size:
        raise LogError(int(over[0]) + 1, "`hash_ids` has more ids than the prompt has 512-token blocks",
                       "one hash id per 512-token block of `input_length` (the last block may be partial)")
    return _log(name, "mooncake", arrival, prompt, output, 1, hash_ids, offsets)


def _as_written(lines: list[str]) -> tuple[np.ndarray, ...] | None:
    """(timestamps, prompts, outputs, flat hash ids, ids per line) when every line is as Mooncake writes it —
    its four fields in order, `json.dumps` spacing, plain numbers: read by one regular expression and numpy,
    without a Python object per id — else None (then every line is read as JSON)."""
    text = "\n".join(lines)
    found = _AS_WRITTEN_RE.findall(text)
    if len(found) != len(lines):
        return None
    stamps, prompts, outputs, ids_texts = zip(*found, strict=True)
    counts = np.fromiter((s.count(",") + 1 if s else 0 for s in ids_texts), dtype=np.int64, count=len(found))
    joined = ",".join(s for s in ids_texts if s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)     # numpy stops at what is no number: counted below
        ids = np.fromstring(joined, dtype=np.int64, sep=",") if joined else np.zeros(0, dtype=np.int64)
    # numpy reads "1, 2" as "1,2": a count short of the commas' is something else; a saturated id, too large
    if len(ids) != counts.sum() or (ids.size and ids.max() == np.iinfo(np.int64).max):
        return None
    try:
        return (np.array(list(map(float, stamps))), np.array(list(map(int, prompts)), dtype=np.int64),
                np.array(list(map(int, outputs)), dtype=np.int64), ids, counts)
    except (OverflowError, ValueError):        # a number too long for int(): said at its line, read as JSON
        return None


def _hash_ids(records: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each line's hash ids, checked one by one: (flat ids, counts per line, offsets)."""
    ids_lists = [r.get("hash_ids", []) for r in records]
    for i, ids in enumerate(ids_lists):
        if type(ids) is not list:
            raise LogError(i + 1, "`hash_ids` is not a list", 'write "hash_ids": [0, 1, 2], one id per 512-token block')
    counts = np.fromiter(map(len, ids_lists), dtype=np.int64, count=len(ids_lists))
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    flat = list(itertools.chain.from_iterable(ids_lists))
    if not all(type(x) is int and 0 <= x < 2**63 for x in flat):
        j = next(j for j, x in enumerate(flat) if not (type(x) is int and 0 <= x < 2**63))
        raise LogError(int(np.searchsorted(offsets, j, side="right")), "`hash_ids` holds something not a whole number "
                       "from 0", "hash ids are whole numbers from 0, one per 512-token block of the prompt")
    return (np.array(flat, dtype=np.int64) if flat else np.zeros(0, dtype=np.int64)), counts, offsets


def _json_lines(lines: list[str]) -> list[dict]:
    """Each line's JSON object: all at once (one `json.loads`), else line by line to find the one at fault."""
    try:
        records = json.loads("[" + ",".join(lines) + "]")
        if len(records) == len(lines) and all(type(r) is dict for r in records):
            return records
    except (ValueError, RecursionError):
        pass
    for i, line in enumerate(lines):
        said = "is empty" if not line.strip() else "is not one JSON object"
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            raise LogError(i + 1, said, f"a {_MOONCAKE}") from None
        if type(record) is not dict:
            raise LogError(i + 1, said, f"a {_MOONCAKE}")
    raise LogError(None, "the log is not JSON lines", f"a {_MOONCAKE}")   # pragma: no cover - a line above fails


def _column(records: list[dict], key: str, types: tuple[type, ...]) -> list:
    values = [r.get(key) for r in records]
    for i, v in enumerate(values):
        if type(v) not in types:
            said = f"has no `{key}`" if key not in records[i] else f"`{key}` is not a number"
            raise LogError(i + 1, said, f"a {_MOONCAKE}")
    return values


def _floats(values: list) -> np.ndarray:
    try:
        return np.array(values, dtype=np.float64)
    except OverflowError:                       # an int beyond a float: infinitely late (_arrivals says so)
        return np.array([v if type(v) is float or abs(v) < 2**1000 else np.inf for v in values], dtype=np.float64)


def _int_column(records: list[dict], key: str) -> np.ndarray:
    values = _column(records, key, (int,))
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        return np.array([max(-1, min(v, MAX_LOG_TOKENS + 1)) for v in values], dtype=np.int64)
