"""A fleet's results file: each cluster's answer saved as it arrives, so that an interrupted sweep resumes.

Input: the file's path (`fleet-results.jsonl` in the output directory) and the sweep's signature — what the
answers depend on: the plan's text, the search's `top`, the content of every file the plan reads (`Plan.files`:
its calibration, request log, routing file, imported kernel profile, `model from` config — each a SHA-256 of its
bytes, `file_digests`), so a changed file is another sweep, and dagc's own code and data (`code_digest`: its
version stays the same between changes of its cost model), so another dagc is another sweep (`signature`).
Output: the answers the file holds for that signature (`read_results`), by point key, each of the shape dagc writes
(`dagc.fleet.stored.parse_answer`), with the keys of those that are not; `append_result` adds one, as JSON data
(`dagc.export.fleet_json.answer_json`). The file is JSON
lines: a header `{"dagc_fleet_results": 1, "signature": …}`, then `{"key": …, "answer": …}` a cluster. A
file of another signature (the plan was changed) is not read and is started again; a line cut short by an
interruption is skipped (its cluster runs again), and so is an answer that does not have the shape dagc writes
(a line edited by hand, or written by another version): its cluster is searched again, and the caller says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..lang.parse import MAX_PLAN_BYTES
from ..lang.request_log import MAX_LOG_BYTES
from ..source import Unreadable, read_regular

if TYPE_CHECKING:
    from ..jsontypes import JSON, JSONObject
from .stored import AnswerShapeError, StoredAnswer, parse_answer

__all__ = ["MAX_DIGEST_BYTES", "RESULTS_NAME", "Resumed", "append_result", "file_digests", "read_results", "signature",
           "start_results"]

RESULTS_NAME = "fleet-results.jsonl"
_FORMAT = 1
# the most of a file the plan reads that is hashed: the largest a plan reads (a request log), and one byte more — a
# file past it is refused by the plan's own reading before a sweep starts
MAX_DIGEST_BYTES = max(MAX_LOG_BYTES, MAX_PLAN_BYTES) + 1


def file_digests(paths: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """Each file's path and the SHA-256 of its bytes (at most `MAX_DIGEST_BYTES`, read as a plan reads a file:
    a regular file only, never blocking), each path once; `unreadable: …` for one that cannot be read now.

    Example:
        >>> file_digests(["/nonexistent/calibration.json"])
        (('/nonexistent/calibration.json', 'unreadable: missing'),)
    """
    out: dict[str, str] = {}
    for path in paths:
        if path in out:
            continue
        try:
            out[path] = hashlib.sha256(read_regular(path, MAX_DIGEST_BYTES)).hexdigest()
        except Unreadable as exc:
            out[path] = f"unreadable: {'missing' if exc.missing else exc.kind or exc.reason}"
    return tuple(out.items())


@cache
def code_digest() -> str:
    """The SHA-256 of dagc's installed package — every module and data file, by path and bytes — that computed a
    sweep's answers: an answer of another dagc (a change of its cost model, a release) is not resumed."""
    root = resources.files("dagc")
    h = hashlib.sha256()
    for path in sorted(Path(str(root)).rglob("*")):
        if path.is_file() and path.suffix != ".pyc" and "__pycache__" not in path.parts:
            h.update(path.relative_to(Path(str(root))).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def signature(plan_text: str, top: int, files: Sequence[tuple[str, str]] = ()) -> str:
    """What a sweep's answers depend on, as a SHA-256: the plan's text (its fleet and rates included), the
    search's `top`, the files the plan reads with their content's digests (`file_digests`) and dagc's own code
    (`code_digest`).

    Example:
        >>> signature("model preset \\"x\\"", 10) == signature("model preset \\"x\\"", 10)
        True
        >>> signature("p", 10, [("calx.json", "ab")]) == signature("p", 10, [("calx.json", "cd")])
        False
    """
    parts: JSON = [plan_text, top, [list(f) for f in files], code_digest()]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Resumed:
    """A results file's answers for one sweep, by point key (each read by `parse_answer`), and the points whose
    stored answer is not of the shape dagc writes, with why (`key`, `why`): those are searched again."""

    answers: dict[str, StoredAnswer] = field(default_factory=dict)
    rejected: tuple[tuple[str, str], ...] = ()
    stale: int = 0          # answers the file holds of another sweep (the plan, a file it reads or dagc changed)


def read_results(path: Path, sig: str) -> Resumed:
    """The answers in `path` for the sweep of signature `sig`, by point key; none when the file is missing,
    unreadable or of another sweep (then `Resumed.stale` counts the answers it holds). An answer that is not of
    the shape dagc writes is left out and named in `Resumed.rejected`; a later line of the same key stands for it."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return Resumed()
    if not lines:
        return Resumed()
    if _json(lines[0]).get("signature") != sig:       # counted, so that the command can say why nothing resumes
        return Resumed(stale=sum(isinstance(_json(line).get("key"), str) for line in lines[1:]))
    out: dict[str, StoredAnswer] = {}
    rejected: dict[str, str] = {}
    for line in lines[1:]:
        row = _json(line)
        key, answer = row.get("key"), row.get("answer")
        if not isinstance(key, str) or answer is None:     # a line cut short, or an answer never given
            continue
        try:
            out[key] = parse_answer(answer)
        except AnswerShapeError as exc:
            rejected[key] = str(exc)
            out.pop(key, None)
            continue
        rejected.pop(key, None)
    return Resumed(out, tuple(rejected.items()))


def start_results(path: Path, sig: str, known: dict[str, JSONObject]) -> None:
    """Write `path` anew: the header and the answers already `known` (those of this sweep), as JSON data."""
    lines = [json.dumps({"dagc_fleet_results": _FORMAT, "signature": sig})]
    lines += [json.dumps({"key": k, "answer": a}, allow_nan=False) for k, a in known.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def append_result(path: Path, key: str, answer: JSONObject) -> None:
    """Add one cluster's answer (JSON data), flushed: what an interruption after it keeps."""
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"key": key, "answer": answer}, allow_nan=False) + "\n")
        f.flush()


def _json(line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return row if isinstance(row, dict) else {}
