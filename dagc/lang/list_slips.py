"""Syntax errors around lists of values and unnamed blocks, in words (`dagc.lang.syntax_errors`).

Input: the plan's `SourceFile` and where the parser stopped (a position, the text there). Output: one E001
`Diagnostic` whose hint writes the line as dagc reads it, or None for an error of another kind.

A fleet sweeps a field's values written as a list in brackets (`gpus = [8, 16, ..., 64]`, docs/fleet.md). The
slips a user makes there — values without commas (`[1 2 4]`), a range written as other languages write it
(`[1..4]`, `[1-4]`), a list without brackets (`gpus = 1, 2, 4`) or one left open — got the generic hints of a
field ("remove it: a field is `name = value`", "fields are written `name = value`"), which send the user the
wrong way; a list where a single value stands (`cluster { gpus = [8, 16] }`) is a sweep, which a fleet writes.
A `model { … }` or `gpu { … }` block without a name or a preset is said as the statement it would be.
"""

from __future__ import annotations

import re

from ..diagnostics import Diagnostic, Severity
from ..plan.presets import GPU_PRESETS
from ..source import SourceFile
from ..units import lookup

__all__ = ["list_slip", "unnamed_block_hint"]

# A field whose `[` is still open where the parser stopped: its name and the list's text so far
_OPEN_LIST = re.compile(r"(?<![\w.-])(?P<name>[A-Za-z_]\w*)[ \t]*=[ \t]*\[(?P<items>[^\]\[{}=#]*)\Z")
# A field's one value right before a `,` or a `[`, on its line
_FIELD_BEFORE = re.compile(r"(?<![\w.-])(?P<name>[A-Za-z_]\w*)[ \t]*=[ \t]*(?P<value>[^\s,\[\]{}=#\"]*)[ \t]*\Z")
# What follows a separator between two fields (`gpus = 8,  gpu preset …`, `batch = 64; prompt = …`): the next field, a
# block's `gpu`, the block's end
_NEXT_FIELD = re.compile(r'\s*(?:[A-Za-z_][\w-]*\s*(?:=|\{|from\b|preset\b|")|\})')
_SEPARATED = re.compile(r"\d{1,3}(?:,\d{3})+(?![\d,])")      # `1,000`: a number as dagc prints it, said elsewhere
_VALUES = re.compile(r"[^\s,\[\]{}()#]+(?:[ \t]*,[ \t]*[^\s,\[\]{}()#]+)*")      # `1, 2, 4`: values and commas
# The hint for several values where one stands, by the block: a fleet lists them in brackets; a cluster's are a
# fleet's sweep; a workload's, runs of their own or a fleet's traffic mixes
_ONE_VALUE = {
    "fleet": "a fleet sweeps a list in brackets: `{name} = [{values}]`",
    "cluster": "a field takes one value; to compare several, sweep them in a fleet: `fleet {{ {name} = [{values}] }}` "
               "(docs/fleet.md)",
    "workload": "a field takes one value: `{name} = {first}`; to compare several, run each (`--set workload.{name}=…`) "
                "or make them a fleet's traffic mixes (`mix \"NAME\" {{ {name} = … }}`, docs/fleet.md)",
    "mix": "a field takes one value: `{name} = {first}`; another value is another mix "
           "(`mix \"NAME\" {{ {name} = … }}`)",
}
_RANGE = "a run of whole numbers is written with commas around `...`, the first two values giving the step"


def list_slip(src: SourceFile, at: int, block: str | None) -> Diagnostic | None:
    """E001 at `at` (where the parser stopped) when it stands in a list left open or after a field's value
    followed by `,` or `[`; `block` is the keyword of the block open there (`fleet`, `cluster`, …).

    Example:
        >>> from dagc.source import SourceFile
        >>> d = list_slip(SourceFile("p.moe", "fleet {\\n  gpus = [1 2 4]\\n}"), 20, "fleet")
        >>> d.message, d.hint
        ('unexpected `2` in the list of `gpus`', 'separate the values with `,`: `gpus = [1, 2, 4]`')
    """
    text = src.text
    found = re.match(r"\.\.\.|[\[(]|[^\s,\]\[(]+|\S", text[at:])
    shown = found.group() if found is not None else ""
    opened = _OPEN_LIST.search(text, 0, at)
    if opened is not None:
        name, items = opened["name"], opened["items"]
        line_end = text.find("\n", at)
        rest = text[at:line_end if line_end >= 0 else len(text)].split("#", 1)[0]
        close = rest.find("]")
        values = re.findall(r"\.\.\.|[^\s,;]+", items + (rest[:close] if close >= 0 else ""))
        if shown.startswith(("..", "-", ".")) or items.rstrip().endswith(".") or shown == "...":
            hint = f"{_RANGE}: `{name} = [8, 16, ..., 64]`"
        elif shown in ("", "}") or re.match(r"[A-Za-z_]\w*[ \t]*=", text[at:]):    # the block or next field
            hint = f"close the list with `]` on its line: `{name} = [{', '.join(values) or '…'}]`"
        else:
            hint = f"separate the values with `,`: `{name} = [{', '.join(v.rstrip('.') for v in values)}]`"
        return Diagnostic("E001", Severity.ERROR, f"unexpected `{shown or 'end of the file'}` in the list of `{name}`",
                          src.span(at, at + max(1, len(shown))), hint)
    if text[at:at + 1] in (",", ";") and block is not None and _NEXT_FIELD.match(text, at + 1):     # `gpus = 8, gpu`
        return Diagnostic("E001", Severity.ERROR, f"unexpected `{text[at]}` after a field", src.span(at, at + 1),
                          f"fields are apart by spaces or new lines, not `{text[at]}`: remove it")
    before = _FIELD_BEFORE.search(text, text.rfind("\n", 0, at) + 1, at)
    if before is not None and shown == "," and \
            (decimal := _decimal_comma(text, before.start("value"), before["name"])) is not None:
        return Diagnostic("E001", Severity.ERROR, f"unexpected `,` after `{before['name']} =`", src.span(at, at + 1),
                          f"a decimal is written with a point: `{before['name']} = {decimal}`")
    if before is None or shown not in (",", "[", "(") or block not in _ONE_VALUE or \
            _SEPARATED.match(text, before.start("value")):
        return None
    name, line_end = before["name"], text.find("\n", at)
    listed = _VALUES.match(text[before.start("value"):line_end if line_end >= 0 else len(text)].lstrip("[( \t"))
    said = ", ".join(re.split(r"[ \t]*,[ \t]*", listed.group())) if listed is not None else "…"
    hint = _ONE_VALUE[block].format(name=name, values=said, first=said.split(",")[0])
    return Diagnostic("E001", Severity.ERROR, f"unexpected `{shown}` after `{name} =`", src.span(at, at + 1), hint)


def _decimal_comma(text: str, start: int, name: str) -> str | None:
    """`2.49 $/h` for `2,49 $/h` at `start`: a number written with a decimal comma, as much of Europe writes it —
    digits, a comma, digits and a unit (or a price, which has none of whole numbers) — which read as two values and
    got a fleet's sweep, `fleet { price = [2, 49] }`, a field no fleet sweeps. None for anything else (`8,16`), and for
    a comma before three digits, which dagc reads as a thousands separator (`rate = 1,000 requests/s`: its own hint).

    Example:
        >>> _decimal_comma("price = 2,49 $/h }", 8, "price"), _decimal_comma("gpus = 8,16  gpu …", 7, "gpus")
        ('2.49 $/h', None)
        >>> _decimal_comma("rate = 2,5 requests/s", 7, "rate"), _decimal_comma("price = 2,49 }", 8, "price")
        ('2.5 requests/s', '2.49')
        >>> _decimal_comma("rate = 1,000 requests/s", 7, "rate") is None
        True
    """
    m = re.match(r"(\d+),(\d+)(?![\d,.])(?:[ \t]*(?P<unit>[^\s\d,\[\](){}#=][^\s,\[\](){}#=]*))?", text[start:])
    unit = m["unit"] if m is not None and m["unit"] and (lookup(m["unit"]) or re.search(r"[/$]", m["unit"])) else None
    if m is None or (unit is None and name != "price"):         # `gpus = 8,16  gpu …`: a list, `gpu` the next field
        return None
    if len(m[2]) == 3 and len(m[1]) <= 3:                        # `1,000`: thousands, as `_separated_number` reads it
        return None
    return f"{m[1]}.{m[2]}" + (f" {unit}" if unit else "")


def unnamed_block_hint(text: str, at: int, block: str | None = None) -> str | None:
    """The hint for a `{` or `=` right after `model`, `gpu` or `mix` (`model { layers = … }`, `gpu = "h100-sxm"`),
    or a GPU preset's name written out without `preset` (`gpu "h100-sxm"`): the statement names a preset, a file,
    or the model, GPU or mix it writes out; in a fleet, a GPU written out (`gpu "mine" { … }`), which it sweeps as
    the cluster's own. `block` is the block open at `at` (a fleet names GPU types). None for
    any other token.

    Example:
        >>> unnamed_block_hint('cluster { gpu "h200" }', 21)
        'did you mean `gpu preset "h200"`? `gpu "NAME" { … }` is a GPU written out, with its figures'
    """
    preset = re.search(r'\bgpu[ \t]+"([^"\n]*)"\s*\Z', text[:at])
    if preset is not None and preset.group(1) in GPU_PRESETS and text[at:at + 1] != "{":
        return (f'did you mean `gpu preset "{preset.group(1)}"`? `gpu "NAME" {{ … }}` is a GPU written out, with its '
                "figures")
    if block == "fleet" and text[at:at + 1] == '"' and re.search(r"\bgpu\s*\Z", text[:at]):    # `gpu "mine" { … }`
        return ('a fleet\'s GPU types are presets, `gpu preset "h100-sxm" { price = 2.49 $/h }`; to compare a GPU '
                "written out, write it in the plan's `cluster` with its `price` and leave the fleet's GPU types out: "
                "the fleet sweeps the cluster's own GPU (docs/fleet.md)")
    word = re.search(r"\b(model|gpu|mix)\s*\Z", text[:at])
    if word is None or text[at:at + 1] not in ("{", "="):
        return None
    if word.group(1) == "model":
        return ('a model is `model preset "qwen3-30b-a3b"`, `model from "config.json"`, or one written out with its '
                'name: `model "my-moe" { layers = … }`')
    if word.group(1) == "mix":
        return 'a traffic mix is named: `mix "chat" { weight = 0.8 }`'
    if block == "fleet":
        return 'a fleet names each GPU type with its price, one a line: `gpu preset "h100-sxm" { price = 2.49 $/h }`'
    return 'a GPU is `gpu preset "h100-sxm"`, or one written out with its name: `gpu "my-gpu" { memory = … }`'
