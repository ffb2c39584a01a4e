"""The Azure LLM inference trace read column-wise (`dagc.lang.request_log`).

Input: the log's lines (a CSV with the header `TIMESTAMP,ContextTokens,GeneratedTokens`, Azure/AzurePublicDataset's
2023 and 2024 releases). Output: a `RequestLog`, or a `LogError` at the first line at fault, never quoting it.

A TIMESTAMP is a date and a time as the releases write them — `2023-11-16 18:17:03.9799600`, or with a UTC
offset `2024-05-10 00:00:00.009930+00:00` — in the years 1678 to 2261 (the span of nanosecond times): numpy
alone would also read `2023` (a year), `now` (the wall clock), or a year past 2262 (wrapped around), silently.
"""

from __future__ import annotations

import itertools
import re
import warnings

import numpy as np

from ..diagnostics import quote
from ..plan.workload import RequestLog
from .log_fields import AZURE_COLUMNS, AZURE_HINT, EMPTY_LINE_HINT, LogError, arrivals, make_log, whole_numbers

__all__ = ["STAMP_YEARS", "azure_log"]

STAMP_YEARS = (1678, 2261)           # the years a TIMESTAMP may name: numpy's nanosecond times, not wrapped
_OFFSET_RE = re.compile(r"[+-][0-9][0-9]:[0-9][0-9]\Z")
_STAMP_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?")
_HEADER = "the header is `TIMESTAMP,ContextTokens,GeneratedTokens`"
# A log of one's own service has its own column names and more columns: said what each of the three holds
_OWN_HEADER = ("an Azure LLM inference trace's header is exactly `TIMESTAMP,ContextTokens,GeneratedTokens`, in any "
               "order: to replay your own log, name its arrival time `TIMESTAMP`, its prompt's tokens `ContextTokens` "
               "and its output's tokens `GeneratedTokens`, and drop its other columns (docs/language.md, \"Request "
               "logs\")")
_BASIC_OFFSET_RE = re.compile(r"(?<=[0-9])([+-][0-9][0-9])([0-9][0-9])\Z")   # ISO 8601's basic `+hhmm`
_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]*)?")
_NOT_A_TIME = "`TIMESTAMP` is not a date and time (with a UTC offset if the first line's has one)"
_STAMP_HINT = (f"write it as `2023-11-16 18:17:03.9799600` or `2024-05-10 00:00:00.0099+00:00`, a year from "
               f"{STAMP_YEARS[0]} to {STAMP_YEARS[1]}")
# epoch seconds or milliseconds, as a service's own log often writes its times: until 2026-11-30 told only to write a
# date, as if the number had been mistyped
_EPOCH_HINT = (f"dagc reads no epoch seconds or milliseconds: write each as a date and time, `2023-11-16 "
               f"18:17:03.9799600` (a year from {STAMP_YEARS[0]} to {STAMP_YEARS[1]}; Python: "
               f"`datetime.fromtimestamp(seconds, timezone.utc).isoformat()`), or give the log as Mooncake JSON "
               f"lines, whose `timestamp` is in milliseconds (docs/language.md, \"Request logs\")")


def azure_log(lines: list[str], name: str) -> RequestLog:
    """The log of `lines` (the file's, header first), named `name`.

    Raises:
        LogError: the first problem, at its line.

    Example:
        >>> log = azure_log(["TIMESTAMP,ContextTokens,GeneratedTokens", "2023-11-16 18:17:03.5,4808,10",
        ...                  "2023-11-16 18:17:04.0,3180,8"], "trace.csv")
        >>> log.arrival.tolist(), log.prompt.tolist()
        ([0.0, 0.5], [4808, 3180])
    """
    if not lines:
        raise LogError(None, "the log is empty", f"an {AZURE_HINT}")
    if any('"' in line for line in lines):
        lines = _unquoted(lines)
    columns = [c.strip() for c in lines[0].split(",")]
    other = _other_separator(lines[0])
    if other is not None:               # until 2026-11-30 "column 1 is no column", and a hint to rename the columns
        raise LogError(1, f"the header's fields are separated by {other}, not commas",
                       "dagc reads a comma-separated CSV: save the log with commas between its fields (a spreadsheet's "
                       "\"CSV (comma delimited)\")")
    for k, c in enumerate(columns):
        if c not in AZURE_COLUMNS:      # said by its place, never quoted: the file may be a `.env`, not a log
            said = "is empty" if not c else "is no column of an Azure log"
            raise LogError(1, f"the header's column {k + 1} {said}", _OWN_HEADER)
        if columns.count(c) > 1:
            raise LogError(1, f"the header has the column `{quote(c)}` twice", _HEADER)
    missing = [c for c in AZURE_COLUMNS if c not in columns]
    if missing:
        raise LogError(1, f"the header has no column `{missing[0]}`", _OWN_HEADER)
    body, width = lines[1:], len(columns)
    if not body:
        raise LogError(None, "the log has a header but no request", "one request a line follows the header")
    wrong = np.flatnonzero(np.array(list(map(str.count, body, itertools.repeat(",", len(body))))) != width - 1)
    if wrong.size:
        i = int(wrong[0])
        if not body[i].strip():
            raise LogError(i + 2, "is empty", EMPTY_LINE_HINT)
        raise LogError(i + 2, f"has {body[i].count(',') + 1} fields, the header {width}",
                       f"each line is one request: {', '.join(AZURE_COLUMNS)}, as in the header")
    flat = ",".join(body).split(",")          # every line has `width` fields: column k is every width-th
    del body
    fields = {c: flat[k::width] for k, c in enumerate(columns)}
    del flat
    prompt = whole_numbers(fields["ContextTokens"], "`ContextTokens`", 2)
    output = whole_numbers(fields["GeneratedTokens"], "`GeneratedTokens`", 2)
    return make_log(name, "azure", _times(fields["TIMESTAMP"]), prompt, output, first_line=2)


def _other_separator(header: str) -> str | None:
    """`tabs` or `semicolons` when the header holds no comma but an Azure column between those (a TSV, or a CSV as
    a spreadsheet writes it where the decimal mark is a comma), else None."""
    if "," in header:
        return None
    for sep, said in (("\t", "tabs"), (";", "semicolons")):
        if sep in header and any(c.strip().strip('"') in AZURE_COLUMNS for c in header.split(sep)):
            return said
    return None


def _unquoted(lines: list[str]) -> list[str]:
    """`lines` with each field's enclosing double quotes taken off: RFC 4180's quoting, as spreadsheets and Python's
    `csv.QUOTE_ALL` write a CSV (`"2025-01-01 00:00:00.250","1000","200"`; until 2026-11-30 "not a date and time").
    A field with a quote anywhere else keeps it, and is refused where it is read."""
    return [",".join(f[1:-1] if len(f) >= 2 and f[0] == f[-1] == '"' else f for f in line.split(",")) for line in lines]


def _times(stamps: list[str]) -> np.ndarray:
    """Seconds after the first request, from TIMESTAMPs with or without a UTC offset (`+00:00`, `+0000` or `Z`: until
    2026-11-30 `2025-01-01T00:00:00.250Z`, a production log's ISO 8601 stamp, was "not a date and time", and so was
    `2025-01-01 00:00:00+0000` until later that day)."""
    if stamps[0].endswith("Z"):     # ISO 8601's UTC, as RFC 3339 logs and JavaScript's `toISOString` write it
        stamps = [s[:-1] + "+00:00" if s.endswith("Z") else s for s in stamps]
    if _BASIC_OFFSET_RE.search(stamps[0]):      # `+0000`, as strftime's `%z` writes it: read as `+00:00`
        stamps = [_BASIC_OFFSET_RE.sub(r"\1:\2", s) for s in stamps]
    offsets, written = np.zeros(len(stamps)), stamps
    if _OFFSET_RE.search(stamps[0]):
        tails = [s[-6:] for s in stamps]
        stamps = [s[:-6] for s in stamps]
        if len(set(tails)) > 1:            # a constant offset shifts nothing; others are each its own
            for i, t in enumerate(tails):
                if _OFFSET_RE.match(t):
                    continue
                # no date at all (`1715299201.5`, epoch seconds) is not a date short of its offset
                if not _STAMP_RE.fullmatch(written[i]):
                    raise _not_a_time(i, written[i])
                raise LogError(i + 2, "`TIMESTAMP` has no UTC offset, the first line's has one",
                               "write every TIMESTAMP alike, e.g. `2024-05-10 00:00:00.009930+00:00`")
            sign = np.array([1.0 if t[0] == "+" else -1.0 for t in tails])
            offsets = sign * np.array([int(t[1:3]) * 3600 + int(t[4:6]) * 60 for t in tails], dtype=float)
    stamp = _STAMP_RE.fullmatch
    if not all(map(stamp, stamps)):
        i = next(i for i, s in enumerate(stamps) if not stamp(s))
        raise _not_a_time(i, written[i])
    array = np.array(stamps)
    years = array.astype("U4").astype(np.int64)
    outside = np.flatnonzero((years < STAMP_YEARS[0]) | (years > STAMP_YEARS[1]))
    if outside.size:
        raise LogError(int(outside[0]) + 2, _NOT_A_TIME, _STAMP_HINT)
    times = _datetimes(array)
    if times is None:                          # a month 13 or a 30 February: said at its line
        raise LogError(next(i for i, s in enumerate(stamps) if _datetimes(np.array([s])) is None) + 2, _NOT_A_TIME,
                       _STAMP_HINT)
    ns = times.astype(np.int64)        # 2⁶³ ns is 292 years: whole seconds and their fractions apart, no wrap
    whole, part = np.divmod(ns, 1_000_000_000)
    seconds = (whole - whole[0]) + (part - part[0]) / 1e9 - (offsets - offsets[0])
    return arrivals(seconds, "`TIMESTAMP`", 2)


def _not_a_time(i: int, written: str) -> LogError:
    """The error of the TIMESTAMP `written` at the log's i-th request: a bare number (epoch seconds) said to be one."""
    if _NUMBER_RE.fullmatch(written):
        return LogError(i + 2, "`TIMESTAMP` is a bare number, not a date and time", _EPOCH_HINT)
    return LogError(i + 2, _NOT_A_TIME, _STAMP_HINT)


def _datetimes(stamps: np.ndarray) -> np.ndarray | None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # numpy parses a time zone with a warning: here, not a time
        try:
            times = stamps.astype("datetime64[ns]")
        except (ValueError, OverflowError, TypeError, UserWarning):
            return None
    return None if np.isnat(times).any() else times
