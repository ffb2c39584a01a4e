"""Names from a plan made inert in Markdown: what a model, GPU, file or plan is called reaches
report.md (and through markdown-it, report.html) as text, never as a link, an image, emphasis,
raw HTML, a table cell border or a new line that starts a heading.

Input: any text. Output: Markdown source that renders as exactly that text (control characters
and line breaks shown as U+FFFD, as in the terminal, `dagc.diagnostics.printable`).
"""

from __future__ import annotations

import re

from ..diagnostics import printable

__all__ = ["md_text", "md_prose", "md_code", "md_fence", "md_table", "VERDICT_WORDS"]

VERDICT_WORDS = {True: "**yes**", False: "**no**", None: "not judged"}     # a verdict's answer in a page

# Without `[`, `]` and `<` no link, image or autolink can start, `:` escaped stops GitHub's
# bare-URL autolinks and `$` its math (`$…$`, `$$…$$`); `(`, `)`, `!` and `#` (never at a line's start here) then
# stay as they are.
_PUNCT = re.compile(r"([\\`*_\[\]<>|~&:$])")
_TICKS = re.compile(r"`+")
_PROSE_PUNCT = re.compile(r"([\\`*_\[\]<>|~&$])")    # `$` too: two in a sentence pair as math (fleet.md's
# "cheaper to rent than the best ($4.98/h) … ($2.49/h)" until 2026-12-03)
# a code span as CommonMark pairs them: a run of backticks, closed by the next run of the same length
_SPAN = re.compile(r"(?<!`)((`+)(?!`).*?(?<!`)\2(?!`))")


def md_text(text: str) -> str:
    r"""`text` as Markdown text: one line, every character that could start markup mid-line escaped
    with a backslash (CommonMark lets any ASCII punctuation be).

    Example:
        >>> print(md_text("![x](https://e.example) *b*\n# h"))
        !\[x\](https\://e.example) \*b\*�# h
    """
    return _PUNCT.sub(r"\\\1", printable(str(text)))


def md_prose(text: str, colons: bool = False) -> str:
    """dagc's own sentence (a diagnostic's message or hint) that quotes input in code spans: its
    spans kept (of one backtick, or a longer fence around input holding backticks, `dagc.diagnostics.code`),
    everything around them escaped as `md_text` does (a colon kept: the
    sentences use them; `colons`: escaped too, for a sentence naming outside its spans what a plan may name,
    as a band's note names the GPU), so quoted input cannot end its span and start a link.

    Example:
        >>> print(md_prose("model `tiny` has no checkpoint: see [x](http://e) `a"))
        model `tiny` has no checkpoint: see \\[x\\](http://e) \\`a
        >>> print(md_prose("model ``a`<b>`c`` has none, `d` <e>"))
        model ``a`<b>`c`` has none, `d` \\<e\\>
        >>> print(md_prose("calibration `c.json` has 3 runs: gpu=http://e", colons=True))
        calibration `c.json` has 3 runs\\: gpu=http\\://e
    """
    parts, punct = _SPAN.split(printable(str(text))), _PUNCT if colons else _PROSE_PUNCT   # text, span, its fence, …
    return "".join(punct.sub(r"\\\1", p) if i % 3 == 0 else p for i, p in enumerate(parts) if i % 3 != 2)


def md_code(text: str, in_table: bool = False) -> str:
    """`text` as one code span: one line, fenced by more backticks than it holds in a row, padded
    when it starts or ends with one; in a table a `|` is escaped (GFM splits cells first).

    Example:
        >>> md_code("tp 2"), md_code("a`b"), md_code("x|y", in_table=True)
        ('`tp 2`', '``a`b``', '`x\\\\|y`')
    """
    text = printable(str(text))
    if in_table:
        text = text.replace("|", "\\|")
    fence = "`" * (max((len(m) for m in _TICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_fence(text: str, info: str = "") -> list[str]:
    """`text` as a fenced code block (its lines): the fence longer than any run of backticks
    in it, so no line of `text` can close it.

    Example:
        >>> md_fence("a\\n```\\nb")
        ['````', 'a', '```', 'b', '````']
    """
    fence = "`" * max(3, max((len(m) for m in _TICKS.findall(text)), default=0) + 1)
    return [fence + info, *text.splitlines(), fence]


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table's lines (and a blank one after it), of cells already made inert."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + [""]
