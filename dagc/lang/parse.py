"""Reading and parsing plan files.

Input: a path or a text. Output: a `SourceFile` and a Lark syntax tree with positions.
Every failure — unreadable file, binary data, a syntax error — becomes a `PlanError`
carrying located diagnostics (E001 syntax, E002 input); nothing else escapes. What a syntax
error says, in words, is `dagc.lang.syntax_errors`'s.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import lark
from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..diagnostics import Diagnostic, PlanError, Severity, printable
from ..source import SourceFile, Unreadable, file_kind, normalise_newlines, read_regular
from .near_file import files_in, named, near_path
from .not_a_plan import not_a_plan
from .syntax_errors import scope_marks, syntax_diagnostic

__all__ = ["GRAMMAR_PATH", "MAX_NESTING", "MAX_PLAN_BYTES", "MAX_PLAN_TOKENS", "MAX_SYNTAX_ERRORS", "PARSER_PATH",
           "build_parser", "parse", "parser_header", "read_source"]

# dagc/lang/plan.lark is a link to grammar/plan.lark in a checkout and a copy in an installed wheel.
GRAMMAR_PATH = Path(__file__).parent / "plan.lark"
MAX_PLAN_BYTES = 1024 * 1024       # bytes read from a plan or an imported config; more is E002
MAX_PLAN_TOKENS = 100_000          # tokens in a plan (comments aside); more is E002 before parsing (~3 s)
MAX_NESTING = 64
_TOKEN_RE = re.compile(r"#[^\n]*|\"[^\"\n]*\"|[A-Za-z0-9_.%/+\-]+|\S")


# The LALR tables take Lark ~0.1 s to build from the grammar, a tenth of a `dagc check`: they ship
# built (bench/make_parser.py writes them), headed by what they were built from — the grammar's
# SHA-256 and Lark's version, one line each — and are used only when both are this process's.
PARSER_PATH = Path(__file__).parent.parent / "data" / "plan_parser.pickle"
_PARSER_OPTIONS: dict[str, object] = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True,
                         "maybe_placeholders": False, "start": ["start", "scope", "named_scope"]}


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = GRAMMAR_PATH.read_text()
    return _shipped_parser(grammar) or build_parser(grammar)


def build_parser(grammar: str) -> Lark:
    """The plan parser, built from the grammar's text."""
    return Lark(grammar, **_PARSER_OPTIONS)


def parser_header(grammar: str) -> bytes:
    """What the shipped parser must have been built from: the grammar's SHA-256 and Lark's version."""
    return f"{hashlib.sha256(grammar.encode()).hexdigest()}\nlark {lark.__version__}\n".encode()


def _shipped_parser(grammar: str) -> Lark | None:
    """The parser of `PARSER_PATH` (dagc's own package data, never a user's file) when it was built from
    `grammar` with this Lark; None otherwise, or when it cannot be read — then it is built."""
    header = parser_header(grammar)
    try:
        with PARSER_PATH.open("rb") as f:
            if f.read(len(header)) != header:
                return None
            return Lark.load(f)
    except Exception:          # a damaged or foreign file: built from the grammar instead, as without one
        return None


def _unreadable(name: str, message: str, hint: str | None = None) -> PlanError:
    """E002 located at `name:1:1`; the file's content, if any, is never shown."""
    where = SourceFile(name, "", echo=False).span(0, 0)
    return PlanError([Diagnostic("E002", Severity.ERROR, message, where, hint)])


def _refuse_link_outside(name: str, path: Path, roots: Sequence[Path]) -> None:
    """E002 for a symbolic link to a regular file outside `roots`. A link to what is no regular file is left to
    `read_regular`, which refuses it before a byte is read and says what it is: `dagc launch /dev/stdin` from a pipe
    read "a symbolic link to a file outside its directory" until 2026-12-02, now "a pipe (FIFO)"."""
    try:
        if not path.is_symlink() or file_kind(path.stat().st_mode) is not None:
            return
        target = path.resolve()
        inside = any(target.is_relative_to(root.resolve()) for root in roots)
    except (OSError, RuntimeError, ValueError):  # a loop, a NUL byte: read_source says what is wrong
        return
    if not inside:
        raise _unreadable(name, "the plan is a symbolic link to a file outside its directory",
                          "give the file itself, or allow its directory with `--allow-path DIR`")


def read_source(path: str | os.PathLike[str], *, echo: bool = True, roots: Sequence[Path] | None = None,
                what: str = "a plan", hint: str = "give the path of a .moe file") -> SourceFile:
    """Read a plan (or any text input) as UTF-8, refusing what is not a regular text file.

    Only regular files are read: a device, FIFO, socket or directory is refused before it
    is opened for reading, the file is opened with O_NONBLOCK (a FIFO swapped in cannot
    block) and checked again on the open descriptor, and at most `MAX_PLAN_BYTES` + 1 bytes
    are ever read, whatever `st_size` says. Line endings are normalised. `echo=False` marks
    a file whose content diagnostics must never print (an imported config). With `roots`, a
    path that is a symbolic link must lead inside one of them: a plan committed as a link
    to `/etc/shadow` is refused before a byte of it is read (and so never echoed). `what` is the file the path should
    be, with its article (`a calibration`), and `hint` how to give one, for a directory (until 2026-11-30 a directory
    named as a calibration, config or expert loads read `not a plan file`, hinted `give the path of a .moe file`).

    Raises:
        PlanError: E002 at `path:1:1` when the path is missing, not a regular file, too
            large, binary or not UTF-8.
    """
    name = os.fsdecode(path)
    if roots is not None:
        _refuse_link_outside(name, Path(name), roots)
    try:
        data = read_regular(path, MAX_PLAN_BYTES + 1)
    except Unreadable as exc:
        if exc.missing:
            near = near_path(name) if what == "a plan" else None      # a plan's own imports say theirs as written
            raise _unreadable(name, "the file does not exist", near or "check the path") from None
        if exc.kind is not None:
            told = _plans_in(name, hint) if exc.kind == "a directory" and what == "a plan" else \
                hint if exc.kind == "a directory" else "dagc reads regular files only" + (
                ": save it to a file and give that file's path" if exc.kind == file_kind(stat.S_IFIFO) else "")
            raise _unreadable(name, f"the path is {exc.kind}, not {what} file", told) from None
        raise _unreadable(name, f"the file cannot be read: {exc.reason}") from None
    if len(data) > MAX_PLAN_BYTES:
        raise _unreadable(name, f"the file is larger than {MAX_PLAN_BYTES:,} bytes, the limit for {what}",
                          "is this the right file?")
    if b"\x00" in data:
        raise _unreadable(name, f"the file is binary, not {what}",
                          "plans are UTF-8 text" if what == "a plan" else f"{what} is UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Locate the first bad byte in the text as it will be shown (decoded, newlines normalised).
        prefix = normalise_newlines(data[: exc.start].decode("utf-8-sig", errors="replace"))
        src = SourceFile(name, data.decode("utf-8-sig", errors="replace"), echo=echo)
        raise PlanError([Diagnostic("E002", Severity.ERROR, "the file is not valid UTF-8 text",
                                    src.span(len(prefix)), "save the file as UTF-8")]) from None
    if what == "a plan" and (other := not_a_plan(name, text)) is not None:     # a config, a run, a log: not echoed
        raise _unreadable(name, f"the file is {other[0]}, not a plan", other[1])
    return SourceFile(name, text, echo=echo)


def _plans_in(directory: str, hint: str) -> str:
    """E002's hint for a directory given as the plan: the `.moe` files in it (`dagc.lang.near_file.files_in`: their
    names, never their content), the first `MAX_NAMED` named, each a path to give — `dagc check examples` told only
    "give the path of a .moe file" until 2026-12-02 —; `hint` when it holds none or cannot be read.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for n in ("b.moe", "a.moe", "notes.txt"): _ = (d / n).write_text("")
        >>> _plans_in(str(d), "give the path of a .moe file").replace(str(d), "D")
        'give the path of a .moe file: D holds a.moe and b.moe (`D/a.moe`)'
    """
    names = files_in(Path(directory), (".moe",))
    if names is None:
        return hint
    if not names:
        return f"{hint}: {printable(directory)} holds none"
    return f"{hint}: {printable(directory)} holds {named(names)} (`{printable(os.path.join(directory, names[0]))}`)"


def _check_tokens(src: SourceFile) -> None:
    # Parsing time and the tree's memory grow with the tokens; refuse a token flood before Lark sees it.
    count = 0
    for m in _TOKEN_RE.finditer(src.text):
        if m.group().startswith("#"):
            continue
        count += 1
        if count > MAX_PLAN_TOKENS:
            raise PlanError([Diagnostic("E002", Severity.ERROR,
                                        f"the plan has more than {MAX_PLAN_TOKENS:,} words and symbols; "
                                        "dagc reads plans up to that size", src.span(m.start(), m.end()),
                                        "a plan needs a few hundred; is this the right file?")])


def _check_nesting(src: SourceFile) -> None:
    # Lark's tree and our lowering recurse; refuse absurd nesting before they do.
    depth = 0
    for i, ch in scope_marks(src.text):
        if ch in "<{":
            depth += 1
            if depth > MAX_NESTING:
                hint = "a strategy needs at most `dp N < pp N < … > >`" if ch == "<" else \
                    "blocks nest at most two deep: `model … { moe { … } }`, `cluster { gpu \"…\" { … } }`"
                raise PlanError([Diagnostic("E001", Severity.ERROR, f"nesting deeper than {MAX_NESTING} levels",
                                            src.span(i), hint)])
        else:
            depth = max(0, depth - 1)


def parse(src: SourceFile, start: str = "start") -> Tree[Token]:
    """Parse a plan's text into a Lark tree.

    Raises:
        PlanError: E001 with the culprit token located and the expected tokens in words.

    Example:
        >>> tree = parse(SourceFile("p.moe", "strategy tp 2"))
        >>> tree.children[0].data == "strategy"
        True
    """
    _check_tokens(src)
    _check_nesting(src)
    try:
        return _parser().parse(src.text, start=start)
    except UnexpectedInput as exc:
        if start != "start":
            raise PlanError([syntax_diagnostic(src, exc, "the strategy")]) from None
        raise PlanError([syntax_diagnostic(src, exc), *_later_syntax_errors(src, _offset(src, exc))]) from None
    except (LarkError, RecursionError) as exc:  # pragma: no cover - defensive
        raise PlanError([Diagnostic("E001", Severity.ERROR, f"cannot parse the plan: {exc}", src.whole(),
                                    "docs/language.md describes the plan language")]) from None


MAX_SYNTAX_ERRORS = 10              # E001s of one plan reported together; the rest follow once these are fixed
_RECOVERY_CHARS = 256 * 1024        # characters parsed again, in all, to find the syntax errors after the first
_STATEMENT_START = re.compile(r"^[ \t]*(?:model|cluster|workload|require|strategy|objective|fleet|calibration)\b",
                              re.MULTILINE)


def _offset(src: SourceFile, exc: UnexpectedInput) -> int:
    """Where in the text the parser stopped at `exc` (the end of the text for an early end)."""
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END" and exc.token.start_pos is not None:
        return int(exc.token.start_pos)
    if isinstance(exc, UnexpectedCharacters) and exc.pos_in_stream is not None:
        return int(exc.pos_in_stream)
    return len(src.text)


def _later_syntax_errors(src: SourceFile, at: int) -> list[Diagnostic]:
    """The syntax errors after the first, at `at`: the parse started again at each next line that opens a statement
    (`model`, `cluster`, … at a line's start, past the error), the text before it blanked but for its newlines — so
    that lines and columns stay the file's and each error is read, and hinted, as the statements from there on alone
    give it —, `MAX_SYNTAX_ERRORS` in all, within `_RECOVERY_CHARS` parsed again. A user fixing a plan sees every
    statement the parser cannot read, not one per run (until 2026-12-02 the first alone, "1 error; nothing was
    checked", then the next after the fix).

    Example:
        >>> text = 'model preset "mixtral-8x7b"\\ncluster { gpus = = 8 }\\nstrategy tp 2 )\\n'
        >>> [(d.span.line, d.span.column) for d in _later_syntax_errors(SourceFile("p.moe", text), 45)]
        [(3, 15)]
    """
    out: list[Diagnostic] = []
    begun, budget = 0, _RECOVERY_CHARS
    while len(out) < MAX_SYNTAX_ERRORS - 1:
        nxt = next((m.start() for m in _STATEMENT_START.finditer(src.text, at) if m.start() > begun), None)
        if nxt is None or budget < len(src.text) - nxt:
            break
        budget -= len(src.text) - nxt
        rest = replace(src, text=re.sub(r"[^\n]", " ", src.text[:nxt]) + src.text[nxt:])
        try:
            _parser().parse(rest.text, start="start")
            break
        except UnexpectedInput as exc:
            out.append(syntax_diagnostic(rest, exc))
            begun, at = nxt, max(nxt, _offset(rest, exc))
        except (LarkError, RecursionError):  # pragma: no cover - defensive: the first error stands alone
            break
    return out
