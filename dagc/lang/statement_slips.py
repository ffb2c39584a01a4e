"""Statements and fields written where the parser reads them as something else, for E001's message and hint:
a comparison in a block that takes fields (`workload { ttft <= 2 s }`: a requirement, or `batch <= 64`: a field), and a
statement's keyword misspelt after a strategy (`strategy tp 8` then `objectiv = cost`), which the parser reads as
one more axis of that strategy and stops only at the `=`, the `from` or the string after it."""

from __future__ import annotations

import re
from collections.abc import Callable

from lark import Token
from lark.exceptions import UnexpectedInput, UnexpectedToken

from ..diagnostics import Diagnostic, Severity
from ..source import SourceFile
from ..units import lookup
from .fields import (
    CLUSTER_BLOCK_FIELDS,
    EFFICIENCY_FIELDS,
    GPU_FIELDS,
    LATENCY_FIELDS,
    MLA_FIELDS,
    MODEL_FIELDS,
    MOE_FIELDS,
    SPECULATIVE_FIELDS,
    SUBBLOCKS,
    WINDOW_FIELDS,
    WORKLOAD_FIELDS,
    elsewhere,
    nearest,
    requirement_name,
)
from .keyword_slips import top_word_hint

__all__ = ["STATEMENT_ALIASES", "comparison_in_block", "misspelt_statement", "quoted_word", "statement_slip",
           "strategy_name_slip"]

STATEMENT_WORDS = ("model", "cluster", "workload", "require", "objective", "calibration", "fleet", "strategy")
# the command's name written for the statement that reads its file (`calibrate from "cal.json"`, after `dagc calibrate`:
# until 2026-12-01 "docs/language.md describes what may stand here", at the string when after a strategy)
STATEMENT_ALIASES = {"calibrate": "calibration"}
# The fields of each block that takes fields, by the keyword that opens it.
_OWN = {"model": MODEL_FIELDS, "cluster": CLUSTER_BLOCK_FIELDS, "workload": WORKLOAD_FIELDS, "moe": MOE_FIELDS,
        "mla": MLA_FIELDS, "window": WINDOW_FIELDS, "speculative": SPECULATIVE_FIELDS, "gpu": GPU_FIELDS,
        "efficiency": EFFICIENCY_FIELDS, "latency": LATENCY_FIELDS}
_NAME_BEFORE = re.compile(r"(?<![\w-])([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\Z")
_LINE_WORD = re.compile(r"[ \t]*([A-Za-z_][A-Za-z0-9_-]*)")
_VALUE_AFTER = re.compile(r"[ \t]*(?P<value>[^\s{}#]+)(?:[ \t]+(?P<unit>[A-Za-z%$][A-Za-z0-9%$]*(?:/[A-Za-z]+)*))?")


def statement_slip(src: SourceFile, exc: UnexpectedInput,
                   enclosing: Callable[[str, int], str | None]) -> Diagnostic | None:
    """E001 for a statement's keyword misspelt after a strategy (`objectiv = cost`), or a comparison in a block of
    fields (`workload { ttft <= 2 s }`); else None. `enclosing(text, pos)` is the keyword of the block open at `pos`
    (`dagc.lang.syntax_errors.enclosing_block`)."""
    if not isinstance(exc, UnexpectedToken) or exc.token.type == "$END":
        return None
    block = enclosing(src.text, exc.token.start_pos or 0)
    return misspelt_statement(src, exc.token, block) or comparison_in_block(src, exc.token, block) or \
        quoted_word(src, exc.token, block) or strategy_name_slip(src, exc.token, block)


_STRATEGY_NAMED = re.compile(r"(?<![\w-])strategy[ \t]+(?P<name>[^=<>;\n\[\]]*?)[ \t]*\Z")


def strategy_name_slip(src: SourceFile, tok: Token, block: str | None) -> Diagnostic | None:
    """E001 at a strategy's name that is no name: quoted (`strategy "fast" = tp 8`) or of several words (`strategy
    option 1 = pp 4 < ep 16 >`, read as axes until the `=`), its hint the name as one word (until 2026-12-01 "docs/
    language.md describes what may stand here"). None for any other token.

    Example:
        >>> from dagc.source import SourceFile
        >>> strategy_name_slip(SourceFile("p.moe", 'strategy "fast" = tp 8'), Token("STRING", '"fast"', 9), None).hint
        "a strategy's name is one word, unquoted: `strategy fast = tp 8`"
        >>> text = "strategy option 1 = pp 4 < ep 16 >"
        >>> strategy_name_slip(SourceFile("p.moe", text), Token("EQUAL", "=", 18), None).hint
        "a strategy's name is one word, unquoted: `strategy option_1 = pp 4 < ep 16 >`"
    """
    if block is not None or tok.start_pos is None or tok.type not in ("STRING", "EQUAL"):
        return None
    line_end = src.text.find("\n", tok.start_pos)
    if tok.type == "STRING":
        start, written = tok.start_pos, str(tok)[1:-1]
        end = tok.end_pos if tok.end_pos is not None else start + len(tok)
        if _STRATEGY_NAMED.search(src.text, 0, start) is None or not re.match(r"[ \t]*=", src.text[end:]):
            return None
        said = f"unexpected `{tok}`: a strategy's name is not quoted"
    else:
        found = _STRATEGY_NAMED.search(src.text, 0, tok.start_pos)
        if found is None or len(found["name"].split()) < 2:
            return None
        start, end, written = found.start("name"), found.end("name"), found["name"]
        said = f"`{written}` is several words: a strategy's name is one"
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", written.strip()).strip("_") or "s1"
    name = name if re.match(r"[A-Za-z_]", name) else f"s{name}"
    rest = src.text[end:len(src.text) if line_end < 0 else line_end].strip()
    return Diagnostic("E001", Severity.ERROR, said, src.span(start, end),
                      f"a strategy's name is one word, unquoted: `strategy {name} {rest}`")


_PRESET_BEFORE = re.compile(r"(?<![\w-])(?P<gpu>gpu[ \t]+)?preset[ \t]*\Z")
_OBJECTIVE_BEFORE = re.compile(r"(?<![\w-])objective[ \t]*=[ \t]*\Z")


def quoted_word(src: SourceFile, tok: Token, block: str | None) -> Diagnostic | None:
    """E001 at a string where a word or a keyword is missing before it: a GPU preset without `gpu` (`cluster { preset
    "h100-sxm" }`, told until 2026-11-30 to remove the name, "a field takes one value"), or an objective quoted
    (`objective = "cost"`, told "docs/language.md describes what may stand here"). None for any other token.

    Example:
        >>> from dagc.source import SourceFile
        >>> quoted_word(SourceFile("p.moe", 'objective = "cost"'), Token("STRING", '"cost"', 12), None).hint
        'an objective is a word, unquoted: `objective = cost`'
    """
    if tok.type != "STRING" or tok.start_pos is None:
        return None
    end = tok.end_pos if tok.end_pos is not None else tok.start_pos + len(tok)
    if block is None and _OBJECTIVE_BEFORE.search(src.text, 0, tok.start_pos):
        return Diagnostic("E001", Severity.ERROR, f"unexpected `{tok}`: an objective is not quoted",
                          src.span(tok.start_pos, end), f"an objective is a word, unquoted: `objective = {tok[1:-1]}`")
    preset = _PRESET_BEFORE.search(src.text, 0, tok.start_pos) if block in ("cluster", "fleet") else None
    if preset is None or preset["gpu"]:
        return None
    return Diagnostic("E001", Severity.ERROR, "unexpected `preset` without `gpu` before it",
                      src.span(preset.start(), preset.start() + len("preset")), f"write `gpu preset {tok}`")


def comparison_in_block(src: SourceFile, tok: Token, block: str | None) -> Diagnostic | None:
    """E001 at a name compared (`<=`, `>=`, …) in a block of fields, where only `require { … }` compares: a
    requirement is moved to `require`, a field of the block is written with `=`, a field of another block is told
    its block. None for any other token, or a comparison in `require` or outside every block.

    Example:
        >>> from dagc.source import SourceFile
        >>> text = "workload { batch = 64  ttft <= 2 s }"
        >>> print(comparison_in_block(SourceFile("p.moe", text), Token("CMP", "<=", 28), "workload").hint)
        `ttft` is a requirement, not a field of the workload: write it in the `require` block, `require { ttft <= 2 s }`
        >>> text = "cluster { gpus <= 8 }"
        >>> comparison_in_block(SourceFile("p.moe", text), Token("CMP", "<=", 15), "cluster").hint
        'a field is written `name = value`: `gpus = 8` (a bound on it, `gpus <= 8`, is a requirement: `require { … }`)'
        >>> text = "moe { experts > 4 }"
        >>> comparison_in_block(SourceFile("p.moe", text), Token("MORETHAN", ">", 14), "moe").hint
        'a field is written `name = value`: `experts = 4`'
    """
    if tok.type not in ("CMP", "LESSTHAN", "MORETHAN") or block in (None, "require") or tok.start_pos is None:
        return None
    name = _NAME_BEFORE.search(src.text, 0, tok.start_pos)
    if name is None:
        return None
    word, end = name.group(1), tok.end_pos if tok.end_pos is not None else tok.start_pos + len(tok)
    value = _VALUE_AFTER.match(src.text, end)
    unit = value["unit"] if value is not None and value["unit"] and lookup(value["unit"]) is not None else None
    written = "…" if value is None else value["value"] + (f" {unit}" if unit else "")     # not the next field's name
    also = elsewhere(word, block)                   # `gpus`, `memory`: a requirement and a field of another block
    own = set(_OWN.get(block, ())) | set(SUBBLOCKS.get(block, ()))
    if word not in own and requirement_name(word) is not None:
        hint = (f"`{word}` is a requirement, not a field of the {block}: write it in the `require` block, "
                f"`require {{ {word} {tok} {written} }}`" + (f" (or, as a field: {also})" if also else ""))
    elif word in own:
        hint = f"a field is written `name = value`: `{word} = {written}`" + (
            f" (a bound on it, `{word} {tok} {written}`, is a requirement: `require {{ … }}`)"
            if requirement_name(word) is not None else "")
    else:
        hint = also or "a field is written `name = value`; only `require { … }` compares"
    return Diagnostic("E001", Severity.ERROR, f"unexpected `{tok}` after `{word}`: the {block} block takes fields, "
                      "`name = value`", src.span(tok.start_pos, end), hint)


def misspelt_statement(src: SourceFile, tok: Token, block: str | None) -> Diagnostic | None:
    """E001 at a statement's keyword misspelt on a line after a strategy (`objectiv = cost`, `calibraton from
    "cal.json"`): the parser reads the word as one more axis of the strategy above and stops at the `=`, `from` or
    string after it. None when the line's first word is no slip of a statement's keyword, or the token stands on the
    line of the `strategy` keyword itself or inside a block.

    Example:
        >>> from dagc.source import SourceFile
        >>> text = "strategy tp 8\\nobjectiv = cost"
        >>> d = misspelt_statement(SourceFile("p.moe", text), Token("EQUAL", "=", 23), None)
        >>> d.message, d.hint, (d.span.line, d.span.column)
        ('unexpected `objectiv`', 'did you mean `objective`?', (2, 1))
        >>> text = 'strategy tp 8\\nmodel2 preset "x"'
        >>> misspelt_statement(SourceFile("p.moe", text), Token("STRING", '"x"', 28), None).hint[:50]
        'did you mean `model`? A plan has one `model`: anot'
    """
    if block is not None or tok.start_pos is None or tok.type not in ("EQUAL", "STRING", "FROM", "NAME", "QUANTITY"):
        return None
    line_start = src.text.rfind("\n", 0, tok.start_pos) + 1
    first = _LINE_WORD.match(src.text, line_start)
    if first is None or first.start(1) >= tok.start_pos:
        return None
    word = first.group(1)
    near = nearest(word, STATEMENT_WORDS, STATEMENT_ALIASES)
    numbered = top_word_hint(word) if near is None else None        # `model2 preset "x"`, as at the top
    near = numbered.split("`")[1] if numbered is not None and numbered.startswith("did you mean `") else near
    if near is None or near == word or near == "strategy":
        return None
    return Diagnostic("E001", Severity.ERROR, f"unexpected `{word}`", src.span(first.start(1), first.end(1)),
                      numbered or f"did you mean `{near}`?")
