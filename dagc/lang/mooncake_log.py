"""The Mooncake trace read in chunks of lines (`dagc.lang.request_log`).

Input: the log's lines (kvcache-ai/Mooncake, FAST25-release/traces: one JSON object a line,
`{"timestamp": ms after the first, "input_length": …, "output_length": …, "hash_ids": [...]}`).
Output: a `RequestLog`, or a `LogError` at the first line at fault, never quoting it.

Lines are read CHUNK_LINES at a time, so that what a line costs beyond its text lives for one chunk only.
A chunk whose every line is four plain fields in one order — Mooncake's or any other a tool left them in,
with or without a space after `:` and `,` (`json.dumps`, `jq -c`) — is read by one regular expression and
numpy, without a Python object per hash id; any other chunk is read as JSON, line by line where it must find
the line at fault.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import warnings
from typing import TYPE_CHECKING, cast

import numpy as np
import numpy.typing as npt

from ..plan.workload import RequestLog
from .log_fields import (
    BLOCK_TOKENS,
    EMPTY_LINE_HINT,
    MAX_LOG_SPAN_S,
    MAX_LOG_TOKENS,
    MOONCAKE_HINT,
    MOONCAKE_KEYS,
    BlockHashes,
    LogError,
    arrivals,
    in_range,
    make_log,
)

if TYPE_CHECKING:
    from ..jsontypes import JSON, JSONObject

__all__ = ["CHUNK_LINES", "mooncake_log"]

CHUNK_LINES = 1 << 16                # lines read at once: their per-line objects are all that is not the text
_NUM = r"(?:0|[1-9][0-9]*)"
_FIELD = {"timestamp": rf'"timestamp": ?({_NUM}(?:\.[0-9]+)?)', "input_length": rf'"input_length": ?({_NUM})',
          "output_length": rf'"output_length": ?({_NUM})', "hash_ids": r'"hash_ids": ?\[([0-9, ]*)\]'}


@functools.cache
def _plain_re(order: tuple[str, ...]) -> re.Pattern[str]:
    """A line of the four fields in `order`, plain numbers, with or without a space after `:` and `,`."""
    return re.compile(r"^\{" + ", ?".join(_FIELD[k] for k in order) + r"\}$", re.MULTILINE)


# a log of one's own service names its fields its own way: said which holds what (until 2026-11-30 only their names)
_OWN_FIELDS = ('a Mooncake log\'s fields are "timestamp" (milliseconds; epoch milliseconds will do), "input_length" '
               '(the prompt\'s tokens), "output_length" (the output\'s tokens) and, optionally, "hash_ids": to replay '
               'your own log, rename its fields to these and drop the others (docs/language.md, "Request logs")')

_Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def mooncake_log(lines: list[str], name: str) -> RequestLog:
    """The log of `lines` (the file's), named `name`.

    Raises:
        LogError: the first problem, at its line.

    Example:
        >>> log = mooncake_log(['{"hash_ids": [0, 1], "timestamp": 0, "output_length": 9, "input_length": 600}',
        ...                     '{"timestamp":500,"input_length":100,"output_length":3,"hash_ids":[0]}'], "t.jsonl")
        >>> log.arrival.tolist(), log.prompt.tolist(), log.hash_offsets.tolist()
        ([0.0, 0.5], [600, 100], [0, 2, 3])
    """
    if not lines:
        raise LogError(None, "the log is empty", f"a {MOONCAKE_HINT}")
    parts = [_chunk(lines[i:i + CHUNK_LINES], i + 1) for i in range(0, len(lines), CHUNK_LINES)]
    stamps, prompt, output, hash_ids, counts = (np.concatenate([p[k] for p in parts]) for k in range(5))
    del parts
    prompt = in_range(prompt, "`input_length`", 1)
    output = in_range(output, "`output_length`", 1)
    arrival = arrivals(_seconds(stamps), "`timestamp`", 1)
    over = np.flatnonzero(counts > -(-prompt // BLOCK_TOKENS))
    if over.size:
        raise LogError(int(over[0]) + 1, "`hash_ids` has more ids than the prompt has 512-token blocks",
                       "one hash id per 512-token block of `input_length` (the last block may be partial)")
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return make_log(name, "mooncake", arrival, prompt, output, 1, BlockHashes(hash_ids.astype(np.int64), offsets))


def _seconds(stamps: np.ndarray) -> np.ndarray:
    """Each time in seconds after the first request's, numpy's warnings kept out of the user's output (until 2026-12-03
    `RuntimeWarning: invalid value encountered in subtract` and the source line beside an E108): a time that is no
    number stays none (`arrivals` says so at its line); two finite times whose difference overflows lie further
    apart than any log's span, and are said so, not "not a finite number"."""
    with np.errstate(over="ignore", invalid="ignore"):
        seconds = (stamps - stamps[0]) / 1e3
    apart = np.isfinite(stamps) & np.isfinite(stamps[0]) & ~np.isfinite(seconds)
    out: np.ndarray = np.where(apart, np.sign(seconds) * 2 * MAX_LOG_SPAN_S, seconds)
    return out


def _chunk(lines: list[str], first: int) -> _Columns:
    """(timestamps, prompts, outputs, flat hash ids, ids per line) of `lines`, the first at line `first`."""
    plain = _plain(lines)
    if plain is not None:
        return plain
    records = _json_lines(lines, first)
    for i, r in enumerate(records):
        if not r.keys() <= set(MOONCAKE_KEYS):     # the field is not named: the file may not be a log at all
            raise LogError(i + first, "a field is no field of a Mooncake log", _OWN_FIELDS)
    stamps = _floats(cast("list[float]", _column(records, "timestamp", (int, float), first)))
    prompt, output = _int_column(records, "input_length", first), _int_column(records, "output_length", first)
    hash_ids, counts = _hash_ids(records, first)
    return stamps, prompt, output, hash_ids, counts


def _plain(lines: list[str]) -> _Columns | None:
    """The columns when every line is four plain fields in the first line's order (as Mooncake writes them, or
    as a tool that reordered them did), else None."""
    at = {k: lines[0].find(f'"{k}"') for k in MOONCAKE_KEYS}
    if min(at.values()) < 0:
        return None
    order = tuple(sorted(MOONCAKE_KEYS, key=at.__getitem__))
    found = _plain_re(order).findall("\n".join(lines))
    if len(found) != len(lines):
        return None
    columns = dict(zip(order, zip(*found, strict=True), strict=True))
    del found
    ids_texts = columns["hash_ids"]
    n = len(ids_texts)
    commas = np.fromiter(map(str.count, ids_texts, itertools.repeat(",", n)), dtype=np.int64, count=n)
    counts = commas + (np.fromiter(map(len, ids_texts), dtype=np.int64, count=n) > 0)
    joined = ",".join(filter(None, ids_texts))
    if joined.count(" ") != joined.count(", "):      # "1 2" in a list: numpy would read one id, JSON none
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)     # older numpy stops at what is no number: counted
        try:
            ids = np.fromstring(joined, dtype=np.int64, sep=",") if joined else np.zeros(0, dtype=np.int64)
        except ValueError:                                      # newer numpy refuses it: read as JSON
            return None
    # numpy reads "1, 2" as "1,2": a count short of the commas' is something else; a saturated id, too large
    if len(ids) != counts.sum() or (ids.size and ids.max() == np.iinfo(np.int64).max):
        return None
    try:
        return (np.array(list(map(float, columns["timestamp"]))),
                np.array(list(map(int, columns["input_length"])), dtype=np.int64),
                np.array(list(map(int, columns["output_length"])), dtype=np.int64), ids, counts)
    except (OverflowError, ValueError):        # a number too long for int(): said at its line, read as JSON
        return None


class _Twice(ValueError):
    """An object that writes a key twice (`_once`)."""


def _once(pairs: list[tuple[str, JSON]]) -> JSONObject:
    """A JSON object of `pairs`, refused when one key is written twice: which value is the request's cannot be told
    (`json.loads` keeps the last; `dagc calibrate` refuses the same in a run file)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Twice
    return out


def _json_lines(lines: list[str], first: int) -> list[JSONObject]:
    """Each line's JSON object: all at once (one `json.loads`), else line by line to find the one at fault."""
    try:
        records: list[JSONObject] = json.loads("[" + ",".join(lines) + "]", object_pairs_hook=_once)
        if len(records) == len(lines) and all(type(r) is dict for r in records):
            return records
    except (ValueError, RecursionError):
        pass
    if first == 1 and lines[0].lstrip().startswith("["):    # `json.dump(list)`: until 2026-11-30 "not one JSON object"
        raise LogError(1, "is a JSON array: a Mooncake log is JSON lines, one object a line",
                       "write each request on a line of its own, e.g. `jq -c '.[]' log.json > log.jsonl`")
    for i, line in enumerate(lines):
        if not line.strip():
            raise LogError(i + first, "is empty", EMPTY_LINE_HINT)
        said = "is not one JSON object"
        try:
            record = json.loads(line, object_pairs_hook=_once)
        except _Twice:
            raise LogError(i + first, "writes a field twice: which value is the request's cannot be told",
                           "write each field once") from None
        except (ValueError, RecursionError):
            raise LogError(i + first, said, f"a {MOONCAKE_HINT}") from None
        if type(record) is not dict:
            raise LogError(i + first, said, f"a {MOONCAKE_HINT}")
    raise LogError(None, "the log is not JSON lines", f"a {MOONCAKE_HINT}")   # pragma: no cover - a line above fails


def _column(records: list[JSONObject], key: str, types: tuple[type, ...], first: int) -> list[JSON]:
    """Each line's `key`, of one of `types` (else LogError)."""
    values = [r.get(key) for r in records]
    for i, v in enumerate(values):
        if type(v) not in types:
            whole = float not in types          # a token count: `915.5` and `915.0` are numbers, not whole ones
            said = f"has no `{key}`" if key not in records[i] else \
                f"`{key}` is not {'a whole number' if whole else 'a number'}"
            raise LogError(i + first, said, ("token counts are whole numbers from 1, without a decimal point or "
                                             "quotes; a " if whole and key in records[i] else "a ") + MOONCAKE_HINT)
    return values


def _floats(values: list[float]) -> npt.NDArray[np.float64]:
    try:
        return np.array(values, dtype=np.float64)
    except OverflowError:                       # an int beyond a float: infinitely late (`arrivals` says so)
        return np.array([v if type(v) is float or abs(v) < 2**1000 else np.inf for v in values], dtype=np.float64)


def _int_column(records: list[JSONObject], key: str, first: int) -> npt.NDArray[np.int64]:
    values = cast("list[int]", _column(records, key, (int,), first))
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        return np.array([max(-1, min(v, MAX_LOG_TOKENS + 1)) for v in values], dtype=np.int64)


def _hash_ids(records: list[JSONObject], first: int) -> tuple[np.ndarray, np.ndarray]:
    """Each line's hash ids, checked one by one: (flat ids, counts per line)."""
    written = [r.get("hash_ids", []) for r in records]
    for i, ids in enumerate(written):
        if type(ids) is not list:
            raise LogError(i + first, "`hash_ids` is not a list", 'write "hash_ids": [0, 1, 2], one id per 512-token '
                           "block")
    ids_lists = cast("list[list[JSON]]", written)
    counts = np.fromiter(map(len, ids_lists), dtype=np.int64, count=len(ids_lists))
    flat = list(itertools.chain.from_iterable(ids_lists))
    if not all(type(x) is int and 0 <= x < 2**63 for x in flat):
        j = next(j for j, x in enumerate(flat) if not (type(x) is int and 0 <= x < 2**63))
        offsets = np.cumsum(counts)
        raise LogError(int(np.searchsorted(offsets, j, side="right")) + first, "`hash_ids` holds something not a "
                       "whole number from 0", "hash ids are whole numbers from 0, one per 512-token block of the "
                       "prompt")
    return (np.array(flat, dtype=np.int64) if flat else np.zeros(0, dtype=np.int64)), counts
