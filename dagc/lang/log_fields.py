"""The fields both request-log formats share, checked column-wise (`dagc.lang.request_log`).

Input: one column of a log — texts or numbers, one a request — and the log's line of its first value.
Output: numpy arrays in range, or a `LogError` naming the first line at fault and never what it holds
(a file that is not a log, a `.env` say, must not be echoed: docs/language.md, "Request logs").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

from ..plan.workload import RequestLog

__all__ = ["AZURE_COLUMNS", "AZURE_HINT", "BLOCK_TOKENS", "EMPTY_LINE_HINT", "MAX_LOG_SPAN_S", "MAX_LOG_TOKENS",
           "MOONCAKE_HINT", "MOONCAKE_KEYS", "BlockHashes", "LogError", "arrivals", "in_range", "make_log",
           "whole_numbers"]

MAX_LOG_TOKENS = 2**32               # a prompt or output length; more is not a length (as `prompt` in a plan)
MAX_LOG_SPAN_S = 1e9                 # seconds from a log's first request to its last (~31 years)
BLOCK_TOKENS = 512                   # tokens per Mooncake hash id
AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
MOONCAKE_KEYS = ("timestamp", "input_length", "output_length", "hash_ids")
AZURE_HINT = "Azure LLM inference trace CSV: the header `TIMESTAMP,ContextTokens,GeneratedTokens`, then one " \
             "request a line, e.g. `2023-11-16 18:17:03.9799600,4808,10`"
MOONCAKE_HINT = 'Mooncake trace: one JSON object a line, {"timestamp": ms, "input_length": N, "output_length": N, ' \
                '"hash_ids": [...]}'
# an empty line — often the last, from a tool that ends a file with a blank line —: until 2026-11-30 told the format
EMPTY_LINE_HINT = "delete the empty line: every line of a request log is a request, and dagc skips none"
_DIGITS = re.compile(r"[0-9]+")      # ASCII digits only: int() also takes "٣", "1_0", " 7" and "+7"
_COUNT_DIGITS = 12                   # more digits than this is past MAX_LOG_TOKENS whatever they say


class LogError(Exception):
    """Why a request log cannot be used: at `line` of the log (None: the whole file), with a hint."""

    def __init__(self, line: int | None, message: str, hint: str) -> None:
        super().__init__(message)
        self.line, self.message, self.hint = line, message, hint


# a negative count is no refused request's (an empty output is): the column is not what it is said to be (until
# 2026-12-03 its hint said to drop refused requests)
NEGATIVE_HINT = "a token count is a whole number from 1: check the column (a negative count is no request's)"


def whole_numbers(texts: list[str], column: str, first: int) -> np.ndarray:
    """Token counts from 1 to MAX_LOG_TOKENS written as plain ASCII digits; `first` is the line of texts[0].

    Example:
        >>> whole_numbers(["12", "0007"], "`ContextTokens`", 2).tolist()
        [12, 7]
    """
    joined = "".join(texts)         # ASCII and digits throughout, and no text empty: each is [0-9]+
    if not (joined.isascii() and joined.isdigit() and "" not in texts):
        i = next(i for i, t in enumerate(texts) if not _DIGITS.fullmatch(t))
        if re.fullmatch(r"-[0-9]+", texts[i]):     # `-5`: a count below 1, said as the Mooncake reader says it
            raise LogError(i + first, f"{column} is below 1: every request has a prompt and an output",
                           NEGATIVE_HINT)
        raise LogError(i + first, f"{column} is not a whole number", "token counts are whole numbers written "
                       "with the digits 0-9 only (tokens, from 1)")
    try:
        values = np.array(list(map(int, texts)), dtype=np.int64)
    except (OverflowError, ValueError):   # past int64, or too many digits for int(): too many tokens, at its line
        values = np.array([int(t) if len(t) <= _COUNT_DIGITS else MAX_LOG_TOKENS + 1 for t in texts], dtype=np.int64)
    return in_range(values, column, first)


def in_range(values: np.ndarray, column: str, first: int) -> np.ndarray:
    """`values` when each is 1 to MAX_LOG_TOKENS; `first` is the line of values[0]."""
    bad = np.flatnonzero((values < 1) | (values > MAX_LOG_TOKENS))
    if bad.size:
        i = int(bad[0])
        said = "is below 1: every request has a prompt and an output" if values[i] < 1 else \
            f"is more than {MAX_LOG_TOKENS:,} tokens"
        # a count past any context is a column of something else, not a failed request (until 2026-12-03 its hint
        # was the one of a count of 0)
        hint = NEGATIVE_HINT if values[i] < 0 else "drop requests that were refused or failed from the log" \
            if values[i] < 1 else "no model's context holds that many: is it the column of the token counts?"
        raise LogError(i + first, f"{column} {said}", hint)
    return values


def arrivals(seconds: np.ndarray, column: str, first: int) -> np.ndarray:
    """Seconds after the first request; refused at the first line whose time is no time within MAX_LOG_SPAN_S
    of the first's, or comes before the one above it. A line of `Infinity` is said at its own line, not at the
    next, which only looks earlier than it.

    Example:
        >>> arrivals(np.array([0.0, 0.5, 2.0]), "`timestamp`", 1).tolist()
        [0.0, 0.5, 2.0]
    """
    wild = np.flatnonzero(~np.isfinite(seconds) | (seconds > MAX_LOG_SPAN_S))
    back = np.flatnonzero(np.diff(seconds) < 0) + 1
    if wild.size and (not back.size or wild[0] <= back[0]):
        at = int(wild[0])
        if not np.isfinite(seconds[at]):    # NaN or Infinity: no time at all, the first request's too (its line said
            raise LogError(at + first, f"{column} is not a finite number",     # "not within 1e9 s of the first
                           "write each request's time as a number")             # request's" until 2026-12-03)
        # a Mooncake time in seconds reads 1,000× too late; an Azure date is a date (until 2026-11-30 its hint, too,
        # spoke of Mooncake's milliseconds)
        hint = "check the time unit (Mooncake timestamps are milliseconds)" if column == "`timestamp`" else \
            f"check its date: a log's requests lie within {MAX_LOG_SPAN_S:.0e} s (31 years) of its first"
        raise LogError(at + first, f"{column} is not a time within {MAX_LOG_SPAN_S:.0e} s of the first request's",
                       hint)
    if back.size:
        raise LogError(int(back[0]) + first, f"{column} is earlier than the line above's",
                       "a request log lists requests in arrival order: sort it by time (dagc does not reorder it)")
    return seconds.astype(np.float64)


@dataclass(frozen=True, slots=True)
class BlockHashes:
    """The hash ids of the prompts' blocks, all requests' in one array, and where each request's begin (one
    offset a request, and the end)."""

    ids: np.ndarray
    offsets: np.ndarray


def make_log(name: str, fmt: str, arrival: np.ndarray, prompt: np.ndarray, output: np.ndarray, first_line: int,
             hashes: BlockHashes | None = None) -> RequestLog:
    """The frozen `RequestLog` of checked columns, its digest naming its contents."""
    hash_ids, hash_offsets = (hashes.ids, hashes.offsets) if hashes is not None else (None, None)
    digest = hashlib.sha256(fmt.encode())
    for a in (arrival, prompt, output, hash_ids, hash_offsets):
        digest.update(b"|" if a is None else np.ascontiguousarray(a).tobytes())
    for a in (arrival, prompt, output, hash_ids, hash_offsets):
        if a is not None:
            a.setflags(write=False)       # the IR is immutable: a log's arrays too
    return RequestLog(file=name, format=fmt, arrival=arrival, prompt=prompt, output=output, block_tokens=BLOCK_TOKENS,
                      hash_ids=hash_ids, hash_offsets=hash_offsets, first_line=first_line,
                      digest=digest.hexdigest()[:16])
