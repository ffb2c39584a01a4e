"""A unit written as its denominator alone (`rate = 6/s`, `rate = 6 /sec`, `--set workload.rate=6/s`): the hint that
writes it whole, with what is counted before its `/` (`rate = 6 requests/s`).

Input: a field's name, the number written and what follows the number. Output: the hint, or None when the field
takes no unit with a `/` or what follows is no lone denominator. The parser stops at such a `/` (a unit is one word
that starts with a letter, `$` or `%`); without this hint it said "remove it", which leaves `6s`, a time.
"""

from __future__ import annotations

import re

from ..units import Dimension, format_figure
from .digits import digits_hint
from .engine import engine_written_otherwise
from .fields import CLUSTER_BLOCK_FIELDS, GPU_FIELDS, REQUIREMENT_DIMENSIONS, WORKLOAD_FIELDS, requirement_name
from .unit_slips import tokens_multiplier_hint
from .unit_words import price_reading

__all__ = ["per_unit_hint", "per_words_hint", "price_in_pieces", "set_value_hint", "unit_in_pieces"]

# the units dagc reads with a `/`, by dimension: what each counts before it, and its denominators
_PER: dict[Dimension, tuple[str, dict[str, str]]] = {
    Dimension.RATE: ("requests", {"s": "s", "sec": "s", "second": "s"}),
    Dimension.THROUGHPUT: ("tokens", {"s": "s", "sec": "s", "second": "s", "ms": "ms"}),
    Dimension.BANDWIDTH: ("GB", {"s": "s", "sec": "s", "second": "s"}),
    Dimension.PRICE: ("$", {"h": "h", "hr": "h", "hour": "hour"}),
}
_NUMBER = r"[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9]+)?"
# a number, then a denominator alone (`6/s`, `6 / sec`, `100/ms/gpu`), then the end of the value
_NUMBER_PER = re.compile(rf"(?P<num>{_NUMBER})[ \t]*/[ \t]*(?P<per>[A-Za-z]+)(?P<gpu>/gpu)?(?![\w/])",
                         re.IGNORECASE)
# a field's name and its `=` (or a requirement's comparison), at the end of the text before its number
_FIELD = re.compile(rf"(?<![\w.-])(?P<name>[A-Za-z_][\w]*)[ \t]*(?P<op><=|>=|==|=|<|>)[ \t]*(?={_NUMBER}[ \t]*\Z)")

# a field's number, a multiplier apart and `tokens`, up to the `/` the parser stopped at (`12.8 M tokens/s`)
_APART = re.compile(rf"(?<![\w.-])(?P<name>[A-Za-z_]\w*)[ \t]*(?P<op><=|>=|==|=|<|>)[ \t]*(?P<num>{_NUMBER})[ \t]*"
                    r"(?P<mult>[kKmMgG])[ \t]+(?P<tok>tok|token|tokens)[ \t]*\Z")
_UNIT_REST = re.compile(r"/[A-Za-z]+(?:/[A-Za-z]+)?")
# A `$` the lexer could not take as a price's unit (`2.49 $/GPU-hour`, `2.49 $ /h`), up to and including the character
# it stopped at: the unit is one word, `$/h` or `$/hour` (dagc.units), never what follows `$` removed.
_DOLLAR = re.compile(r"\d[ \t]*[$€£¥][ \t]*[^\s]?\Z")
# an arrival rate's denominators other than seconds, in seconds (`rate = 1200/min`)
_RATE_PER = {"min": 60.0, "minute": 60.0, "m": 60.0, "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "d": 86400.0,
             "day": 86400.0}
_RATE_WORD = {60.0: "minute", 3600.0: "hour", 86400.0: "day"}
_PRICE_HINT = "a price is one GPU's rent per hour, its unit written as one word: `price = 2.49 $/h` (or `$/hour`)"
# A price written as money is written, `$` before the number (`price = $2.49/h`, `price = $2.49 per hour`): the field
# and its `=` before the `$`, the number after it
_DOLLAR_FIRST_FIELD = re.compile(r"(?<![\w.-])(?P<name>[A-Za-z_]\w*)[ \t]*=[ \t]*\Z")
# a price's field, its number and its unit up to the end of the value (`price = 2.49 $/GPU-hour`)
_PRICE_IN_PIECES = re.compile(rf"(?<![\w.-])(?P<name>[A-Za-z_]\w*)[ \t]*=[ \t]*(?P<num>{_NUMBER})[ \t]*"
                              r"(?P<unit>[$€£¥][^\n#}]*)\Z")
_DOLLAR_FIRST = re.compile(rf"\$[ \t]*(?P<num>{_NUMBER})")


def _dimension(name: str) -> Dimension | None:
    """The dimension of a workload, cluster, GPU or requirement field by its name (None when it is none of them)."""
    for table in (WORKLOAD_FIELDS, CLUSTER_BLOCK_FIELDS, GPU_FIELDS):
        if name in table:
            return table[name].dimension
    kind = requirement_name(name)
    return REQUIREMENT_DIMENSIONS.get(kind[0]) if kind is not None else None


def per_unit_hint(name: str, value: str, form: str | None = None) -> str | None:
    """The hint for `name`'s value written as a number and a lone denominator (`6/s`): the unit whole. `form`
    writes the field with its value in place of `{}` (`rate = {}`, the default; `--set 'workload.rate={}'`).

    Example:
        >>> per_unit_hint("rate", "6/s")
        'a unit names what it counts before its `/`: write `rate = 6 requests/s`'
        >>> per_unit_hint("decode_throughput", "100 /ms/gpu", "decode_throughput >= {}")
        'a unit names what it counts before its `/`: write `decode_throughput >= 100 tokens/ms/gpu`'
        >>> per_unit_hint("price", "2.49/hr"), per_unit_hint("ttft", "2/s"), per_unit_hint("rate", "6/x")
        ('a unit names what it counts before its `/`: write `price = 2.49 $/h`', None, None)
    """
    dim = _dimension(name)
    m = _NUMBER_PER.match(value)
    if dim not in _PER or m is None:
        return None
    counted, denominators = _PER[dim]
    per = denominators.get(m["per"].lower())
    if per is None and dim is Dimension.RATE and (seconds := _RATE_PER.get(m["per"].lower())) is not None:
        # requests a minute or an hour (`rate = 1200/min`): converted, never the number kept beside `requests/s`
        number = format_figure(float(m["num"].replace("_", "")) / seconds)
        written = (form or name + " = {}").replace("{}", f"{number} requests/s")
        return f"{m['num']}/{m['per']} is requests per {_RATE_WORD[seconds]}, {number} requests/s: write `{written}`"
    if per is None:
        return None
    gpu = "/gpu" if m["gpu"] and dim is Dimension.THROUGHPUT else ""
    written = (form or name + " = {}").replace("{}", f"{m['num']} {counted}/{per}{gpu}")
    return f"a unit names what it counts before its `/`: write `{written}`"


def unit_in_pieces(text: str, pos: int) -> str | None:
    """The hint for a plan's text whose parser stopped at `pos` in a unit written in pieces: a `$` price's unit not
    one word (`2.49 $/GPU-hour`, `2.49 $ /h`), or a lone denominator right after a field's number (`rate = 6/s`:
    `per_unit_hint` of that field); None for anything else.

    Example:
        >>> unit_in_pieces("workload { rate = 6/s }", 19)
        'a unit names what it counts before its `/`: write `rate = 6 requests/s`'
        >>> unit_in_pieces("workload { rate = 6/x }", 19), unit_in_pieces("a / b", 2)
        (None, None)
    """
    if _DOLLAR.search(text, 0, pos + 1):
        return price_in_pieces(text, pos) or _PRICE_HINT
    if (first := _dollar_first(text, pos)) is not None:
        return first
    if text[pos:pos + 1] != "/":
        return None
    m = _FIELD.search(text, text.rfind("\n", 0, pos) + 1, pos)
    if m is None:
        return _multiplier_apart(text, pos)
    return per_unit_hint(m["name"], text[m.end():], f"{m['name']} {m['op']} {{}}")


def price_in_pieces(text: str, pos: int) -> str | None:
    """The hint for a price whose unit the parser stopped in (`price = 2.49 $/GPU-hour`, `price = 2000 $ / month`): the
    price in `$/h` (`dagc.lang.unit_words.price_reading`), when what follows the number to the end of the value is a
    price's unit. Also where the parser stopped at a word past the `$` (`price = 2.49 $ per hour`: at `hour`, `per`
    read as the next field's name), which until 2026-11-30 got "fields are written `name = value`".

    Example:
        >>> price_in_pieces("cluster { price = 2.49 $/GPU-hour }", 27)
        '`$/GPU-hour` is dollars per hour: write `price = 2.49 $/h`'
        >>> price_in_pieces("cluster { price = 2000 $ / month }", 24)
        '`$ / month` is dollars per month (730 hours): write `price = 2.74 $/h`'
        >>> price_in_pieces('gpu preset "h200" { price = 3.49 $ per hour }', 39)
        '`$ per hour` is dollars per hour: write `price = 3.49 $/h`'
    """
    line_end = min((i for i in (text.find(c, pos) for c in "\n}#") if i >= 0), default=len(text))
    m = _PRICE_IN_PIECES.search(text, text.rfind("\n", 0, pos) + 1, line_end)
    if m is None or _dimension(m["name"]) is not Dimension.PRICE:
        return None
    unit = m["unit"].strip()
    reading = price_reading(unit)
    if "node" in unit.lower():      # `$/node-hour`: one GPU's is the node's over its GPUs, not the node's (2026-11-30)
        return (f"a price is one GPU's rent per hour, a node's divided by its GPUs: {m['num']} {unit} for a node of "
                f"8 GPUs is `{m['name']} = {format_figure(float(m['num'].replace('_', '')) / 8).replace(',', '')} $/h`")
    if reading is None:             # `$ an hour`, `$ per GPU per hour`: the number, in the unit dagc reads
        return (f"a price is one GPU's rent per hour, its unit written as one word: `{m['name']} = "
                f"{m['num']} $/h` (or `$/hour`)")
    shown = format_figure(float(m["num"].replace("_", "")) * reading[2]).replace(",", "")
    return f"`{unit}` is {reading[0]}: write `{m['name']} = {shown} $/h`"


def _multiplier_apart(text: str, pos: int) -> str | None:
    """The hint for a throughput whose multiplier stands apart from its `tokens` (`12.8M tokens/s`, `12.8 M tokens/s`:
    the parser stopped at the `/`), as `12.8Mtokens/s` gets it: the number converted (until 2026-11-30 "remove it").

    Example:
        >>> _multiplier_apart("require { throughput >= 2 k tokens/s }", 34)
        'did you mean `tokens/ms`? (`ktokens/s` is thousands of tokens/s: `throughput >= 2 tokens/ms`)'
    """
    m = _APART.search(text, text.rfind("\n", 0, pos) + 1, pos)
    rest = _UNIT_REST.match(text, pos)
    dim = _dimension(m["name"]) if m is not None else None
    if m is None or rest is None or dim is None:
        return None
    return tokens_multiplier_hint(m["num"], f"{m['mult']}{m['tok']}{rest[0]}", dim, f"{m['name']} {m['op']}")


def _dollar_first(text: str, pos: int) -> str | None:
    """The hint for a price written with its `$` before the number (`price = $2.49/h`), the parser stopped at the `$`:
    the number, then the unit (until 2026-11-30 the hint said that names of presets are quoted).

    Example:
        >>> _dollar_first('gpu preset "h200" { price = $3.49/h }', 28)
        'the unit follows the number: write `price = 3.49 $/h` (a price per GPU-hour, `$/h` or `$/hour`)'
        >>> _dollar_first("cluster { gpus = $8 }", 17) is None
        True
    """
    field = _DOLLAR_FIRST_FIELD.search(text, text.rfind("\n", 0, pos) + 1, pos)
    number = _DOLLAR_FIRST.match(text, pos)
    if field is None or number is None or _dimension(field["name"]) is not Dimension.PRICE:
        return None
    return (f"the unit follows the number: write `{field['name']} = {number['num']} $/h` (a price per GPU-hour, `$/h` "
            "or `$/hour`)")


# a requirement's figure whose unit is written in pieces — going on in words, `per gpu`, `per second` (as dagc's own
# lines say "tokens/s per GPU"), its `/` spaced (`tokens / ms / gpu`): its name, comparison, number and the unit's
# words — `tokens`, then words of `_PER_WORD` apart by `/`, `per` or spaces —, which end where another word begins:
# in a block written on one line (`require { ttft <= 10 s decode_throughput >= 10 tokens/ms per GPU  memory <= 64 GB
# }`) the next requirement is no part of the unit
_PER_WORDS = re.compile(rf"(?<![\w.-])(?P<name>[A-Za-z_]\w*)[ \t]*(?P<op><=|>=|==|<|>)[ \t]*(?P<num>{_NUMBER})[ \t]*"
                        r"(?P<rest>tokens(?:(?:[ \t]*/[ \t]*|[ \t]+per(?:[ \t]+|[-_])|[ \t]+)"
                        r"(?:second|sec|s|millisecond|ms|gpu)(?!\w))*)", re.IGNORECASE)
_PER_WORD = {"second": "s", "sec": "s", "s": "s", "millisecond": "ms", "ms": "ms", "gpu": "gpu"}


def per_words_hint(text: str, at: int, block: str | None) -> str | None:
    """The hint for a throughput requirement whose unit is written in pieces (`decode_throughput >= 200 tokens/s per
    GPU`, `throughput >= 100 tokens per second per gpu`, `tokens / ms / gpu`), where the parser stops in it or right
    after it: the unit as one word, `tokens/s/gpu`; None for anything else. Until 2026-11-29 it was "requirements
    are written `ttft <= 10 s`"; until 2026-11-30 a requirement before it on the same line (`require { ttft <= 10 s
    decode_throughput >= … per GPU }`) was read as the one whose unit goes on, and the hint was that again, and a
    spaced `/` got "remove it".

    Example:
        >>> per_words_hint("require { throughput >= 100 tokens/ms per gpu }", 41, "require")
        'a unit is one word: write `throughput >= 100 tokens/ms/gpu`'
        >>> per_words_hint("require { throughput >= 5 tokens per second per GPU }", 36, "require")
        'a unit is one word: write `throughput >= 5 tokens/s/gpu`'
        >>> per_words_hint("require { ttft <= 2 s  throughput >= 5 tokens/s per gpu  gpus <= 8 }", 52, "require")
        'a unit is one word: write `throughput >= 5 tokens/s/gpu`'
        >>> per_words_hint("require { ttft <= 2 s per request }", 24, "require") is None
        True

    A price in words (`price = 2.49 $ per hour`, the parser stopped at `hour`) is `price_in_pieces`'s.
    """
    if (price := price_in_pieces(text, at)) is not None:
        return price
    start = text.rfind("\n", 0, at) + 1
    if not text[start:at].strip():                  # the first word of its line: the unit may end the line above
        start = text.rfind("\n", 0, max(start - 1, 0)) + 1
    end = text.find("\n", at)
    here = [m for m in _PER_WORDS.finditer(text, start, len(text) if end < 0 else end)
            if m.start("rest") <= at and not text[m.end("rest"):at].strip()]
    if block != "require" or not here or _dimension(here[-1]["name"]) is not Dimension.THROUGHPUT:
        return None
    m = here[-1]
    words = re.split(r"[ \t]*/[ \t]*|[ \t]+per(?:[ \t]+|[-_])|[ \t]+", m["rest"].strip().lower())
    unit = "/".join(["tokens", *(_PER_WORD[w] for w in words[1:])])
    if re.fullmatch(r"tokens/(s|ms)(/gpu)?", unit) is None or unit == m["rest"].lower():
        return None                                 # the unit as written reads: the parser stopped at something else
    return f"a unit is one word: write `{m['name']} {m['op']} {m['num']} {unit}`"


def set_value_hint(path: tuple[str, ...], value: str, end: int) -> str | None:
    """The hint for a `--set` value that is not one value, where the value read ends at `end`: the number meant by
    digits other than ASCII's (`digits_hint`), the unit whole of a lone denominator (`per_unit_hint`), or an engine's
    release written as other tools write it (`sglang 0.5.6`: `engine_written_otherwise`).

    Example:
        >>> set_value_hint(("workload", "rate"), "6/s", 0)
        "a unit names what it counts before its `/`: write `--set 'workload.rate=6 requests/s'`"
        >>> set_value_hint(("cluster", "engine"), "sglang 0.5.6", 10)
        "an engine's release follows `@`: --set cluster.engine=sglang@0.5.6"
    """
    meant = engine_written_otherwise(value) if path[-1] == "engine" else None
    if meant is not None:
        return f"an engine's release follows `@`: --set {'.'.join(path)}={meant}"
    if _dimension(path[-1]) is Dimension.PRICE and (number := _DOLLAR_FIRST.match(value.strip())) is not None:
        return f"the unit follows the number: write `--set '{'.'.join(path)}={number['num']} $/h'`"
    return digits_hint(value[end:]) or per_unit_hint(path[-1], value, f"--set '{'.'.join(path)}={{}}'")
