"""What `dagc explain` and `dagc presets` print, read from the package's data files so that those
commands load no compiler module.

Input: dagc/data/explain.md (each rule's documentation under a `## CODE` heading, in the order of
the rule registry `dagc.rules`) and dagc/data/presets.json (the rows of `dagc.cli.print_presets.preset_rows`
and the fields of `preset_fields`). Output: `explain_texts()`, the documentation by code, `preset_tables()`,
the rows of the model, GPU and kernel-profile tables, and `preset_fields()`, every preset's fields.
Both files are generated: tests/test_startup.py compares them with their sources, and
`pytest tests/test_startup.py --update-golden` rewrites them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..jsontypes import JSONObject

__all__ = ["EXPLAIN_FILE", "MAX_DATA_BYTES", "PRESETS_FILE", "Rows", "explain_texts", "known_codes_text",
           "preset_fields", "preset_tables"]

DATA = Path(__file__).resolve().parent.parent / "data"
EXPLAIN_FILE = DATA / "explain.md"
PRESETS_FILE = DATA / "presets.json"
MAX_DATA_BYTES = 1 << 20        # the files are ~30 KB and ~20 KB: a larger one is not the package's own

# Each rule's section: a blank line, its heading, a blank line, then its documentation as printed.
HEADING = re.compile(r"\n\n## ([A-Z][0-9]{3})\n\n")

Rows = tuple[tuple[str, ...], ...]


def _read(path: Path) -> str:
    """The text of one of the package's data files, read up to MAX_DATA_BYTES."""
    with open(path, "rb") as f:
        data = f.read(MAX_DATA_BYTES + 1)
    if len(data) > MAX_DATA_BYTES:
        raise ValueError(f"{path} is larger than {MAX_DATA_BYTES:,} bytes")
    return data.decode("utf-8")


def explain_texts() -> dict[str, str]:
    """Each rule's documentation (what `dagc explain CODE` prints) by code, in the registry's order."""
    text = _read(EXPLAIN_FILE)
    # the file: a preamble, then per rule "\n\n## CODE\n\n" and its text, then a final newline
    parts = HEADING.split(text.removesuffix("\n"))[1:]
    return dict(zip(parts[::2], parts[1::2], strict=True))


def preset_tables() -> tuple[Rows, Rows, Rows]:
    """The rows of `dagc presets`' tables: models, GPUs and kernel profiles."""
    tables = json.loads(_read(PRESETS_FILE))

    def rows(key: str) -> Rows:
        return tuple(tuple(row) for row in tables[key])
    return rows("models"), rows("gpus"), rows("profiles")


def preset_fields() -> JSONObject:
    """Every preset's fields: what `dagc presets --format json` prints (`dagc.cli.print_presets.preset_fields`)."""
    fields: JSONObject = json.loads(_read(PRESETS_FILE))["fields"]
    return fields


def known_codes_text(written: str, codes: list[str]) -> str:
    """What `dagc explain` says after an unknown code: the code written with a space or a dash (`E 202`), the code
    its digits name (`301` is `E301`), the codes a prefix starts (`E7`: E701 …), the nearest code (`near_codes`:
    `W5O4` is `W504`, `E0202` is `E202`), else every code.

    Example:
        >>> codes = ["E301", "E701", "E702", "W301"]
        >>> known_codes_text("301", codes), known_codes_text("e7", codes), known_codes_text("X", codes)
        ('did you mean `E301` or `W301`?', 'the codes starting `E7`: E701, E702', 'known codes: E301, E701, E702, W301')
        >>> known_codes_text("E 701", codes)
        'did you mean `E701`? A code is one word, its letter and three digits: `dagc explain E701`'
        >>> known_codes_text("E7O1", codes), known_codes_text("E0301", codes), known_codes_text("E3011", codes)
        ('did you mean `E701`?', 'did you mean `E301`?', 'did you mean `E301`?')
    """
    w = re.sub(r"[^A-Z0-9]", "", written.upper())
    if w in codes:           # `E 202`, `E-202`: until 2026-11-30 told every code
        return f"did you mean `{w}`? A code is one word, its letter and three digits: `dagc explain {w}`"
    if w.isdigit() and (named := [c for c in codes if c[1:] == w.zfill(3)]):
        return f"did you mean {' or '.join(f'`{c}`' for c in named)}?"
    if 0 < len(w) < 4 and (starting := [c for c in codes if c.startswith(w)]):
        return f"the codes starting `{w}`: {', '.join(starting)}"
    if near := near_codes(w, codes):
        return f"did you mean {' or '.join(f'`{c}`' for c in near)}?"
    return f"known codes: {', '.join(codes)}"


_DIGIT_SLIPS = str.maketrans("OILS", "0115")       # letters typed for the digits they look like


def near_codes(written: str, codes: list[str]) -> list[str]:
    """The codes `written` (upper case, letters and digits) is a slip of: its digits with a letter that looks like
    one (`W5O4`) or a leading zero (`E0202`) read as the code they spell; else the codes one letter or digit away
    (one changed, added or left out: `W5044`, `W54`); none past three. Until 2026-12-01 `dagc explain W5O4` listed
    every code.

    Example:
        >>> near_codes("W5O4", ["W504", "W505"]), near_codes("E0202", ["E202"]), near_codes("W509", ["W504", "W505"])
        (['W504'], ['E202'], ['W504', 'W505'])
    """
    digits = written[1:].translate(_DIGIT_SLIPS)
    if digits.isdigit() and (spelt := f"{written[:1]}{int(digits):03d}") in codes:
        return [spelt]
    near = [c for c in codes if _one_apart(written, c)]
    return near if len(near) <= 3 else []


def _one_apart(a: str, b: str) -> bool:
    """Whether `a` becomes `b` by one character changed, added or left out."""
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    return len(long) - len(short) == 1 and any(long[:i] + long[i + 1:] == short for i in range(len(long)))
