"""Measured runs as the benchmark tools write them: vLLM, SGLang, AIPerf / genai-perf (docs/calibrate.md).

Input: a run file's path. Output: `MeasuredRun`s — each run's traffic (requests, rate or clients, mean prompt and
output lengths) and what it measured, keyed as dagc's figures are (`ttft_ms`, `tpot_ms_median`, `e2e_ms_p99`,
`output_tokens_per_s`, … in ms and per second), each with the file's field it came from — or a `PlanError` of
E110 located in the run file (line and column of the field, never its content).

- `vllm bench serve --save-result` (vllm/benchmarks/serve.py): one JSON object (several, one a line, with
  `--append-result`): `mean_ttft_ms`, `median_ttft_ms`, `p99_ttft_ms` and the same of `tpot`, `itl`, `e2el`;
  `request_rate` (a number or "inf"), `max_concurrency`, `num_prompts`, `completed`, `total_input_tokens`,
  `total_output_tokens`, `request_throughput`, `output_throughput`, `total_token_throughput`; with
  `--save-detailed` the per-request `input_lens`, `output_lens`, `ttfts` (s) and `itls` (s).
- SGLang `python -m sglang.bench_serving --output-file` (python/sglang/bench_serving.py): JSON lines, one object
  per run, the same names but `mean_e2e_latency_ms` (…), `request_rate` (Infinity for all at once), no
  `num_prompts` (the runs' `completed`), `total_throughput`; `--output-details` adds the per-request arrays.
- AIPerf `profile_export_aiperf.json` and genai-perf `profile_export_genai_perf.json`: one object of metrics,
  each `{"unit": …, "avg": …, "p50": …, "p99": …}`: `time_to_first_token`, `inter_token_latency` (per request
  (latency − TTFT) / (output − 1): TPOT), `request_latency`, `input_sequence_length`, `output_sequence_length`,
  `request_throughput`, `output_token_throughput`, `request_count`; the traffic in `input_config`
  (`loadgen.concurrency`, `loadgen.request_rate`, `loadgen.request_count`; genai-perf: at its top; AIPerf 0.13: its
  profiling phase of `phases`, `dagc.calibrate.aiperf_phases`).
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..diagnostics import PlanError
from ..lang.near_file import near_path
from ..source import SourceFile, Unreadable, normalise_newlines, read_regular
from .measured import MAX_RUN_BYTES, MAX_RUNS_PER_FILE, RUN_HINT, MeasuredRun, run_error
from .other_files import CSV, CSV_HINT, csv_like
from .run_fields import run_of
from .run_names import named

__all__ = ["MANIFEST_HINT", "manifest_like", "read_runs", "read_text"]

# a run's summary is a few kB; what makes one large is every request's text, which dagc does not read (until
# 2026-11-30 "is this the right file?")
BIG_RUN_HINT = ("is this the right file? A benchmark's summary is a few kB: a vLLM result saved with `--save-detailed` "
                "(SGLang's `--output-details`) also holds every request's generated text — benchmark again without it, "
                "dagc reads the summary")


def read_text(path: str | os.PathLike[str], what: str = "run file", limit: int | None = None) -> SourceFile:
    """The text of a run file (or of `what`, a manifest): a regular file (refused before it is opened for reading,
    opened without blocking), at most `limit` bytes (`MAX_RUN_BYTES`) of which at most one more is read, UTF-8;
    never echoed. Raises PlanError (E110 at the file)."""
    limit = MAX_RUN_BYTES if limit is None else limit
    name = os.fsdecode(path)
    where = SourceFile(name, "", echo=False)
    try:
        data = read_regular(path, limit + 1)
    except Unreadable as exc:
        if exc.missing:
            raise run_error(where, 0, f"the {what} does not exist", near_path(name) or "check the path") from None
        if exc.kind == "a directory" and what == "run file":     # until 2026-11-30 "not a regular file" alone
            raise run_error(where, 0, "the run file is a directory, not a regular file", "give the run files in it, "
                            f"each a benchmark's result (`{name.rstrip('/')}/*.json`), or a manifest that lists them "
                            'with their traffic (docs/calibrate.md, "The manifest")') from None
        if exc.kind == "a directory":        # a manifest's place (until 2026-12-03 "give the path of the manifest")
            raise run_error(where, 0, f"the {what} is a directory, not a regular file", "give the manifest in it (a "
                            "TOML file listing each run with its plan), or the run files in it with the plan they ran: "
                            f"`dagc calibrate {name.rstrip('/')}/*.json --plan PLAN`") from None
        if exc.kind is not None:
            raise run_error(where, 0, f"the {what} is not a regular file", f"give the path of the {what}") from None
        raise run_error(where, 0, f"the {what} cannot be read: {exc.reason}") from None
    if len(data) > limit:
        raise run_error(where, 0, f"the {what} is larger than {limit:,} bytes, the limit for a {what}",
                        BIG_RUN_HINT if what == "run file" else "is this the right file?")
    try:
        return SourceFile(name, data.decode("utf-8-sig"), echo=False)
    except UnicodeDecodeError as exc:
        prefix = normalise_newlines(data[: exc.start].decode("utf-8-sig", errors="replace"))
        src = SourceFile(name, data.decode("utf-8-sig", errors="replace"), echo=False)
        raise run_error(src, len(prefix), f"the {what} is not valid UTF-8 text", "save it as UTF-8") from None


class _Twice(Exception):     # noqa: N818 — not a ValueError: a JSON decoder's own errors are those
    """A key written twice in one object: which of two values is the run's cannot be told."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Twice
    return out


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_constant, object_pairs_hook=_pairs)


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]]')


def _second_key(text: str, start: int) -> int:
    """Where the first key written twice in one object is written the second time, from `start` (else `start`)."""
    stack: list[set[str] | None] = []
    for m in _TOKEN.finditer(text, start):
        tok = m.group()
        if tok in "{[":
            stack.append(set() if tok == "{" else None)
        elif tok in "}]":
            if stack:
                stack.pop()
        elif stack and stack[-1] is not None and text[m.end():m.end() + 64].lstrip().startswith(":"):
            try:
                key = json.loads(tok)
            except ValueError:          # past where the decoder stopped: not the run's
                return start
            if key in stack[-1]:
                return m.start()
            stack[-1].add(key)
    return start


def _twice(src: SourceFile, at: int) -> PlanError:
    return run_error(src, _second_key(src.text, at), "this key is written twice in its object: which value is the "
                     "run's cannot be told", "write each field once")


def _objects(src: SourceFile) -> Iterator[tuple[int, int, Any]]:
    """(start, end, object) of each run: the whole text as one JSON value, else one JSON value per non-blank line."""
    text = src.text
    if not text.strip():        # until 2026-11-30 `not valid JSON (truncated?)`, the words of a file cut short
        raise run_error(src, 0, "the run file is empty", EMPTY_HINT)
    try:
        yield 0, len(text), _loads(text)
        return
    except _Twice:
        raise _twice(src, 0) from None
    except RecursionError:
        raise run_error(src, 0, "the run file nests deeper than any tool writes") from None
    except ValueError as whole:
        _lines_or_refused(src, whole)
    at, count = 0, 0
    for line in text.split("\n"):
        if line.strip():
            count += 1
            if count > MAX_RUNS_PER_FILE:
                raise run_error(src, at, f"the run file has more than {MAX_RUNS_PER_FILE:,} runs")
            try:
                yield at, at + len(line), _loads(line)
            except _Twice:
                raise _twice(src, at) from None
            except RecursionError:
                raise run_error(src, at, "a line nests deeper than any tool writes") from None
            except ValueError as exc:
                last = count > 1 and not text[at + len(line):].strip()      # the runs before it whole
                raise _too_long(src, exc, at) or run_error(src, at + _offset(exc), "this line is not valid JSON "
                                                           "(truncated?)", CUT_HINT if last else RUN_HINT) from None
        at += len(line) + 1


def _lines_or_refused(src: SourceFile, whole: ValueError) -> None:
    """Whether a text that is not one JSON value may be JSON lines; else E110 at where it goes wrong: a number
    too long to read, or one JSON value, broken."""
    if (long := _too_long(src, whole, 0)) is not None:
        raise long
    if isinstance(whole, json.JSONDecodeError) and whole.msg == "Extra data" and not _first_line_parses(src.text):
        # one whole JSON value and another after it, not JSON lines: two files joined (until 2026-12-03 "this line
        # is not valid JSON (truncated?)" at the first line's `{`, which nothing had cut short)
        raise run_error(src, _offset(whole), "the run file holds more than one JSON value: another begins here, after "
                        "a whole one (two run files joined?)", "give each run a file of its own, or write them one a "
                        "line (JSON lines, as SGLang's bench_serving does)")
    if not isinstance(whole, json.JSONDecodeError) or whole.msg != "Extra data":
        if not _first_line_parses(src.text):
            if csv_like(src.text):
                raise run_error(src, 0, CSV, CSV_HINT)
            raise run_error(src, _offset(whole), "the run file is not valid JSON (truncated?)",
                            MANIFEST_HINT if manifest_like(src.text) else
                            WHOLE_CUT_HINT if _cut_short(src.text, whole) else RUN_HINT)


def _cut_short(text: str, exc: ValueError) -> bool:
    """Whether the JSON of `text` stops where the text does (the decoder wanted more: a value, a delimiter, a string's
    closing quote, a literal's rest), as a file cut short does — not where it goes wrong before its end.

    Example:
        >>> import json
        >>> def cut(t):
        ...     try:
        ...         json.loads(t)
        ...     except ValueError as exc:
        ...         return _cut_short(t, exc)
        >>> cut('{"a": 1, "b"'), cut('{"a": "xy'), cut('{"a": tr\\n'), cut('{"a": 1 "b": 2}'), cut('{"a": x}')
        (True, True, True, False, False)
    """
    if not isinstance(exc, json.JSONDecodeError):
        return False
    rest = text[exc.pos:].strip()
    if exc.msg.startswith("Unterminated string"):
        return '"' not in text[exc.pos + 1:]
    return not rest or (exc.msg == "Expecting value" and any(
        w.startswith(rest) for w in ("true", "false", "null", "NaN", "Infinity", "-Infinity")))


# a run file with nothing in it: no result was written
EMPTY_HINT = ("a benchmark writes its result when its run ends (vLLM's `--save-result`, SGLang's `--output-file`, "
              "AIPerf's export): one stopped before then leaves none — run it again")

# one JSON value that stops where the file does (`_cut_short`): a result cut while written, or copied in part (until
# 2026-11-30 the hint of the formats dagc reads, which said nothing of what to do)
WHOLE_CUT_HINT = ("the file ends before its JSON does: a benchmark stopped while writing its result, or a copy cut "
                  "short, leaves it so — copy the file again whole, or run the benchmark again")

# the last line of JSON lines broken: a run the tool stopped while appending (SGLang's `--output-file`)
CUT_HINT = ("the file's last run is cut short (did the benchmark stop while appending it?): delete that line, and "
            "the runs before it are read")

# a manifest given where a run file is (`dagc calibrate runs.toml --plan PLAN`)
MANIFEST_HINT = "this is a manifest (`[[run]]` tables): give it without `--plan`, `dagc calibrate MANIFEST -o FILE`"


def manifest_like(text: str) -> bool:
    """Whether `text` is TOML with `[[run]]` tables, as a manifest is (docs/calibrate.md)."""
    try:
        return isinstance(tomllib.loads(text).get("run"), list)
    except (ValueError, RecursionError):
        return False


def _too_long(src: SourceFile, exc: ValueError, start: int) -> PlanError | None:
    """E110 at a whole number longer than Python converts (`sys.get_int_max_str_digits`, 4,300 digits), the valid
    JSON the decoder refuses with a ValueError of its own; None for another error."""
    limit = sys.get_int_max_str_digits()
    if isinstance(exc, json.JSONDecodeError) or not limit or "integer string conversion" not in str(exc):
        return None
    found = re.compile(rf"\d{{{limit + 1},}}").search(src.text, start)
    return run_error(src, found.start() if found else start, f"this number is longer than {limit:,} digits, more "
                     "than dagc reads: no tool writes one", "is this the right file?")


def _first_line_parses(text: str) -> bool:
    line = next((x for x in text.split("\n") if x.strip()), "")
    try:
        _loads(line)
    except (ValueError, RecursionError):
        return False
    except _Twice:
        return True
    return True


def _offset(exc: ValueError) -> int:
    return exc.pos if isinstance(exc, json.JSONDecodeError) else 0


def _constant(name: str) -> float:
    return {"Infinity": math.inf, "-Infinity": -math.inf}.get(name, math.nan)


def read_runs(path: str | os.PathLike[str], shown: str | None = None) -> list[MeasuredRun]:
    """Every run of a run file, its tool told by its fields.

    Raises:
        PlanError: E110 located in the file: unreadable, over `MAX_RUN_BYTES`, not UTF-8 JSON, or a run
            without a field dagc needs or with a value out of range (the field named, its value never shown).
    """
    name = shown or os.fsdecode(path)
    src = read_text(path)
    found = list(_objects(src))
    if not found:
        raise run_error(src, 0, "the run file is empty", EMPTY_HINT)
    base = Path(name).name
    return [run_of(src, at, end, named(src, at, end, obj), base if len(found) == 1 else f"{base}#{k}", name)
            for k, (at, end, obj) in enumerate(found, 1)]
