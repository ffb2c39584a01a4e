"""Keywords misspelt where the parser reads them as something else, for E001's "did you mean": a keyword the lexer
matched as the prefix of a longer word (`presett`), and a block's keyword after a strategy, which the parser takes
into the strategy's expression up to its `{` (`strategy tp 8` then `requre { … }`)."""

from __future__ import annotations

import re

from lark import Token

from ..diagnostics import Diagnostic, Severity
from ..plan.workload import PERCENTILE_KINDS
from ..source import SourceFile
from ..units import Dimension
from .fields import REQUIREMENT_DIMENSIONS, SUBBLOCKS, elsewhere, nearest, requirement_name
from .requirements import percentile_hint

__all__ = ["BLOCK_WORDS", "dotted_percentile_hint", "glued_keyword", "misspelt_block", "misspelt_keyword",
           "percentile_slip_hint", "require_char_hint", "top_word_hint",
           "requirement_field_hint", "short"]


BLOCK_WORDS = ("model", "cluster", "workload", "require", "fleet")      # the statements that open `{ … }`
_WORD_BEFORE = re.compile(r"(?<![\w-])([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\Z")
_LATENCY_BEFORE = re.compile(rf"\b({'|'.join(PERCENTILE_KINDS)})_p([0-9]+)\Z")


def misspelt_block(text: str, brace: int) -> tuple[int, str] | None:
    """(where it starts, the keyword) of a misspelt block keyword right before the `{` at `brace` — a word the parser
    took into the statement above it (`strategy tp 8` then `requre { … }`); None when the word is no such slip.

    Example:
        >>> misspelt_block("strategy tp 8\\nrequre { ttft <= 2 s }", 21), misspelt_block("strategy tp 8 {", 14)
        ((14, 'require'), None)
    """
    m = _WORD_BEFORE.search(text, 0, brace)
    near = (nearest(m.group(1), BLOCK_WORDS) or _numbered(m.group(1)) or _inner(m.group(1))[0]) if m else None
    return None if m is None or near is None or near == m.group(1) else (m.start(1), near)


def glued_keyword(text: str, start: int) -> int | None:
    """Where the word that a token at `start` continues begins, when the token is glued to the word
    before it (a keyword the lexer matched as a prefix of a longer, misspelt word); else None."""
    begin = start
    while begin > 0 and (text[begin - 1].isalnum() or text[begin - 1] in "_-"):
        begin -= 1
    return begin if begin < start and text[begin].isalpha() else None


def short(text: str) -> str:
    """`text` on one line, cut to 40 characters."""
    text = text.replace("\n", " ")
    return text if len(text) <= 40 else text[:37] + "..."


def misspelt_keyword(src: SourceFile, tok: Token, block: str | None) -> Diagnostic | None:
    """E001 at a misspelt keyword the parser read as something else: `presett` (the lexer read `preset`, then
    `t`), or a block's keyword after a strategy, read into its expression up to its `{` (`requre {`); a statement's
    keyword numbered (`workload2 {`) or an inner block's name at the top (`spec {`, `speculative {`)."""
    start = tok.start_pos if tok.start_pos is not None else 0
    if tok.type == "NAME" and block is None and (hint := top_word_hint(str(tok))) is not None:
        return Diagnostic("E001", Severity.ERROR, f"unexpected `{short(str(tok))}`", src.span(start, start + len(tok)),
                          hint)
    glued = glued_keyword(src.text, start)
    if glued is not None and tok.type == "NAME":
        end = tok.end_pos if tok.end_pos is not None else start + 1
        return Diagnostic("E001", Severity.ERROR, f"unexpected `{short(src.text[glued:end])}`", src.span(glued, end),
                          f"did you mean `{src.text[glued:start]}`?")
    slip = misspelt_block(src.text, start) if tok.type == "LBRACE" and block is None else None
    if slip is None:
        return None
    word = src.text[slip[0]:start].rstrip()
    return Diagnostic("E001", Severity.ERROR, f"unexpected `{word}`", src.span(slip[0], slip[0] + len(word)),
                      top_word_hint(word) or f"did you mean `{slip[1]}`?")


def requirement_field_hint(text: str, at: int, block: str | None) -> str | None:
    """The hint for a `=` in `require { … }` after a field of another block (`require { weights = fp8 }`): where that
    field goes (`dagc.lang.fields.elsewhere`); for a tail percentile, `ttft_p99.9` (`percentile_slip_hint`); None for
    any other token, or a requirement written with `=` (`ttft = 1 s`, whose hint is the comparison).

    Example:
        >>> requirement_field_hint("require { weights = fp8 }", 18, "require")
        '`weights` is a field of `model { … }`: move the line there'
        >>> requirement_field_hint("require { ttft = 1 s }", 15, "require") is None
        True
    """
    word = _WORD_BEFORE.search(text[:at]) if block == "require" and text[at:at + 1] == "=" else None
    if word is not None:
        return elsewhere(word.group(1), "require")
    return percentile_slip_hint(text, at, block) or dotted_percentile_hint(text, at, block)


def percentile_slip_hint(text: str, at: int, block: str | None) -> str | None:
    """The hint for a tail percentile in `require { … }` (`ttft_p99.9`, an SLO many services write), which dagc does
    not report: the lexer reads `.9` as a number after the name. None for anything else. Until 2026-11-30 it was told
    "fields are written `name = value`".

    Example:
        >>> percentile_slip_hint("require { ttft_p99.9 <= 2 s }", 18, "require")[:52]
        'dagc reports the percentiles 50, 90, 95 and 99 of a '
    """
    m = _LATENCY_BEFORE.search(text, 0, at) if block == "require" and text[at:at + 1] == "." else None
    decimals = re.match(r"\.[0-9]+", text[at:at + 12])
    if m is None or decimals is None:
        return None
    return (f"dagc reports the percentiles 50, 90, 95 and 99 of a load: `{m.group(1)}_p99` is its highest (a "
            f"p{m.group(2)}{decimals.group()} would rest on the slowest few of a run's requests)")


def dotted_percentile_hint(text: str, at: int, block: str | None) -> str | None:
    """The hint for a percentile written with a `.` in `require { … }` (`ttft.p99`, as a metrics path or report.json's
    `load.ttft_s.p99` reads it; `p99.ttft`), at the `.` at `at`: the name dagc spells it with (`ttft_p99`). None for
    anything else. Until 2026-11-30 it was told "remove it; docs/language.md describes what may stand here".

    Example:
        >>> dotted_percentile_hint("require { ttft.p99 <= 2 s }", 14, "require")
        "a requirement's name is one word: did you mean `ttft_p99`? (the percentiles are `ttft_p50` … `ttft_p99`)"
        >>> dotted_percentile_hint("require { ttft.p42 <= 2 s }", 14, "require")[:47]
        'dagc reports the percentiles 50, 90, 95 and 99:'
    """
    before = _WORD_BEFORE.search(text, 0, at) if block == "require" and text[at:at + 1] == "." else None
    after = re.match(r"\.([A-Za-z0-9]+)", text[at:at + 20])
    hint = percentile_hint(f"{before.group(1)}_{after.group(1)}") if before is not None and after is not None else None
    if hint is None or not hint.startswith("did you mean"):
        return hint
    kind = hint.split("`")[1].rpartition("_p")[0]
    return f"a requirement's name is one word: {hint} (the percentiles are `{kind}_p50` … `{kind}_p99`)"



def _numbered(word: str) -> str | None:
    """The statement's keyword `word` numbers (`workload2`, `model_2`), else None."""
    stem = re.sub(r"[-_]?[0-9]+$", "", word).lower()
    return stem if stem != word.lower() and stem in (*BLOCK_WORDS, "strategy") else None


def _inner(word: str) -> tuple[str | None, str]:
    """(the inner block `word` names or begins — `spec` is `speculative` —, the block it is inside), else (None, "")."""
    for parent, inner in SUBBLOCKS.items():
        for name in inner:
            if word.lower() == name or (len(word) >= 3 and name.startswith(word.lower())) or nearest(word, (name,)):
                return name, parent
    return None, ""


def top_word_hint(word: str) -> str | None:
    """The hint for `word` at the top of the plan, where a statement starts: a numbered statement keyword
    (`workload2 { … }`: a plan has one workload) or an inner block's name (`spec { … }`: the workload's
    `speculative`); None for any other. Until 2026-11-30 both were told "docs/language.md describes what may stand
    here".

    Example:
        >>> top_word_hint("workload2")[:60]
        'did you mean `workload`? A plan has one `workload`: another '
        >>> top_word_hint("spec")
        'did you mean `speculative`? It is a block inside `workload { … }`: write `workload { … speculative { … } }`'
        >>> top_word_hint("gpu") is None, top_word_hint("tp") is None, top_word_hint("moe")[:37]
        (True, True, '`moe` is a block inside `model { … }`')
    """
    if (keyword := _numbered(word)) == "strategy":
        return "did you mean `strategy`? A strategy's name follows the keyword: `strategy second = tp 8`"
    if keyword is not None:
        return (f"did you mean `{keyword}`? A plan has one `{keyword}`: another is a plan of its own, or a what-if "
                f"of this one with `--set {keyword}.FIELD=VALUE` (docs/cli.md)")
    name, parent = _inner(word)
    if name is None or parent == "gpu":
        return None
    said = f"`{name}`" if name == word.lower() else f"did you mean `{name}`? It"
    return f"{said} is a block inside `{parent} {{ … }}`: write `{parent} {{ … {name} {{ … }} }}`"


_COMPARED = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?:<=|>=|<|>|=)[ \t]*(?:[0-9][0-9._eE+-]*[ \t]*)?\Z")
_VALUE_OF = {Dimension.TIME: "a time, `2 s` or `50 ms`", Dimension.RATIO: "a share, `90 %`",
             Dimension.THROUGHPUT: "tokens per second, `1000 tokens/s` (`tokens/s/gpu` per GPU)",
             Dimension.COUNT: "a whole number, `64`", Dimension.RATE: "requests per second, `4 requests/s`"}


def require_char_hint(text: str, at: int, block: str | None) -> str | None:
    """The hint for a character the lexer refuses in `require { … }`: a dotted percentile (`dotted_percentile_hint`),
    or one where the value goes (`x <= @`, `ttft <= 2 @`): what a requirement's value is, a number and its unit, for
    the requirement named when it is one (until 2026-11-30 "names of presets and files are quoted", which no
    requirement's value is). None for anything else.

    Example:
        >>> require_char_hint("require { ttft <= @ }", 18, "require")
        "a requirement's value is a number and its unit: for `ttft`, a time, `2 s` or `50 ms`"
        >>> require_char_hint("require { x <= @ }", 15, "require")[:80]
        "a requirement's value is a number and its unit, as in `ttft <= 2 s`, `memory <= "
    """
    if (dotted := dotted_percentile_hint(text, at, block)) is not None or block != "require":
        return dotted
    m = _COMPARED.search(text, 0, at)
    if m is None:
        return None
    named = requirement_name(m.group(1).lower())
    if named is not None:
        kind = named[0]
        memory = " or a size, `70 GB`" if kind.value == "memory" else ""
        return (f"a requirement's value is a number and its unit: for `{m.group(1)}`, "
                f"{_VALUE_OF[REQUIREMENT_DIMENSIONS[kind]]}{memory}")
    return ("a requirement's value is a number and its unit, as in `ttft <= 2 s`, `memory <= 90 %`, "
            "`throughput >= 1000 tokens/s`, `goodput >= 4 requests/s`")
