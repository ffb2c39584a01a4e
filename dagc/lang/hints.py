"""Hints that keep the user's meaning: what a unit dagc does not read means, a count written with a multiplier
(`2k`), an axis's word; the GPU preset a name stands for is `dagc.lang.gpu_hints`' (`gpu_hint`, kept here too).

Input: the word the user wrote (and the field it was written for). Output: a hint's text. A hint names a value only
when it means what the user wrote — the same GPU (family, form and memory), the same unit — and says the factor aloud
when the written unit differs by one (`Gb/s` are bits, an eighth of `GB/s`); otherwise it lists what dagc reads.
Never a value that is merely near.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ..plan.strategy import Axis, AxisNode
from ..source import Span
from ..units import UNITS, Dimension, format_figure, format_in_unit, format_si, tokens_unit_spelt
from .fields import nearest
from .gpu_hints import GpuName, gpu_hint
from .unit_words import price_reading, rate_reading

__all__ = ["NOT_A_NUMBER", "SPLIT_HINT", "STAGE_HINT", "GpuName", "axis_word_hint", "count_multiplier_hint",
           "efficiency_above_one",
           "fraction_between", "gpu_hint", "not_a_number", "repeated_axis_hint", "stage_domains_hint", "unit_hint"]

# `nan`, `inf`, `infinity`, in any case, either sign: words a number parser reads, which are no figure
NOT_A_NUMBER = re.compile(r"[+-]?(?:nan|inf(?:inity)?)(?![A-Za-z0-9_])", re.IGNORECASE)


def not_a_number(word: str, example: str) -> tuple[str, str] | None:
    """The message and hint for `word` written as a value when it is `nan` or `inf` (`NOT_A_NUMBER`): not a number,
    whatever its unit; `example` is the field written right (`` `rate = 12 requests/s` ``). None for another word.

    Example:
        >>> not_a_number("NaN", "`rate = 12 requests/s`")
        ('`NaN` is not a number', 'dagc reads finite numbers only: write one, e.g. `rate = 12 requests/s`')
    """
    if NOT_A_NUMBER.fullmatch(word) is None:
        return None
    return f"`{word}` is not a number", f"dagc reads finite numbers only: write one, e.g. {example}"


def fraction_between(number: str) -> tuple[int, int] | None:
    """The whole numbers either side of `number` (a number token as written, `_` allowed) when it is no whole
    number as written, exactly (a float reads `8.0000000000000000000000000001` as 8); None when it is one.

    Example:
        >>> fraction_between("8.0000000000000000000000000001"), fraction_between("80e-1"), fraction_between("8.5")
        ((8, 9), None, (8, 9))
    """
    exact = Decimal(number.replace("_", ""))
    return None if exact == exact.to_integral_value() else (math.floor(exact), math.ceil(exact))


# What a plan's counts count: written after a count, such a word can go without changing it.
_COUNTED = ("tokens", "requests", "sequences", "gpus", "layers", "experts", "heads", "steps", "microbatches")

# Multipliers a count may be written with, and what each is read as by one reader or another.
_MULTIPLIERS = {"k": (1_000, 1_024), "K": (1_000, 1_024), "M": (1_000_000, 2**20), "m": (1_000_000, 2**20),
                "G": (10**9, 2**30), "B": (10**9, None), "b": (10**9, None)}


def count_multiplier_hint(written: str, suffix: str, lhs: str) -> str | None:
    """The hint for a count written with a multiplier (`prompt = 2k`), which dagc does not read:
    whether `k` is 1,000 or 1,024 is the writer's, so the hint names both numbers; or as a product (`gpus = 2x8`,
    nodes × GPUs a node: the product, and for GPUs `gpus_per_node`).

    Example:
        >>> count_multiplier_hint("2", "k", "prompt =")
        '`2k` is not read as a number: write `prompt = 2000` (or `prompt = 2048` for 2 × 1,024)'
        >>> count_multiplier_hint("2", "x8", "gpus =")
        "`2x8` is not read as a number: write `gpus = 16` (2 × 8), the GPUs in all; `gpus_per_node = 8` says a node's"
        >>> count_multiplier_hint("9" * 400, "k", "microbatches") is None     # until 2026-11-30 an OverflowError
        True
    """
    if (times := re.fullmatch(r"[xX](\d{1,6})", suffix)) and re.fullmatch(r"\d{1,6}", written) and int(written):
        # (`0x40` is no product: until 2026-12-03 hinted `batch = 0` (0 × 40), itself E104)
        total = int(written) * int(times[1])
        node = f", the GPUs in all; `gpus_per_node = {times[1]}` says a node's" if "gpus" in lhs else ""
        return f"`{written}{suffix}` is not read as a number: write `{lhs} {total}` ({written} × {times[1]}){node}"
    if suffix not in _MULTIPLIERS:
        return None
    number = float(written.replace("_", ""))
    if not number <= 1e30:              # dagc reads numbers up to 1e30: no product to write (it overflowed to inf)
        return None
    decimal, binary = _MULTIPLIERS[suffix]
    first = f"`{written}{suffix}` is not read as a number: write `{lhs} {_plain_number(number * decimal)}`"
    if binary is None or number * binary != int(number * binary):
        return first
    return f"{first} (or `{lhs} {_plain_number(number * binary)}` for {written} × {binary:,})"


def axis_word_hint(name: str, span: Span, axes: list[str]) -> str | None:
    """The hint for an unknown axis word that is a degree written wrongly: glued to its axis
    (`tp8`), or a multiplier glued to the degree before it (`tp 2k`, read as `tp 2` and an axis
    `k`). None for any other word."""
    if (joined := re.fullmatch(r"([a-z]+)(\d+)", name, re.IGNORECASE)) and joined.group(1).lower() in axes:
        return f"write `{joined.group(1).lower()} {joined.group(2)}`: an axis and its degree are two words"
    before = re.search(r"([a-z]+)[ \t]+(\d[\d_]*(?:\.\d+)?)$", _tail(span.source.text, span.start))
    return count_multiplier_hint(before.group(2), name, before.group(1)) if before else None


def _tail(text: str, end: int) -> str:
    """The end of `text[:end]` that can hold `axis_word_hint`'s `word number` before an axis: a number, blanks and
    lowercase letters back from `end` (after a line break there). The search reads those few characters, not the
    whole plan before every axis (until 2026-11-30 time N² for N unknown axes: five minutes for 10,000)."""
    j = end - 1 if end and text[end - 1] == "\n" else end
    while j and (text[j - 1].isdigit() or text[j - 1] in "_."):
        j -= 1
    while j and text[j - 1] in " \t":
        j -= 1
    while j and "a" <= text[j - 1] <= "z":
        j -= 1
    return text[j:end]


SPLIT_HINT = "write each stage's whole number of layers on `pp`: `pp 4 [5, 4, 4, 3] < … >`"   # E204 on `[…]`


# the two-word forms a plan writes, which `gpu_preset "x"` joins with `_` (until 2026-12-03 told "remove it")
_TWO_WORDS = {"gpu_preset": "gpu preset", "model_preset": "model preset", "model_from": "model from",
              "requests_from": "requests from", "routing_from": "routing from", "kernels_from": "kernels from",
              "calibration_from": "calibration from"}


def joined_keyword_hint(word: str, after: str) -> str | None:
    """E001's hint for a two-word form written as one (`gpu_preset "h100-sxm"`), with the string after it; None for
    any other word.

    Example:
        >>> joined_keyword_hint("gpu_preset", ' "h100-sxm" }')
        'write `gpu preset "h100-sxm"`: two words'
    """
    said = _TWO_WORDS.get(word.lower())
    if said is None:
        return None
    value = re.match(r'\s*("[^"\n]{0,80}")', after)
    quoted = value.group(1) if value else '"…"'
    return f"write `{said} {quoted}`: two words"


def repeated_axis_hint(name: str) -> str:
    """E204's hint for an axis written twice in a scope: once, with its whole degree, or a scope around it.

    Example:
        >>> repeated_axis_hint("ep")[:73]
        'write `ep` once in a scope, with its whole degree (`ep 2 ep 4` is `ep 8`)'
    """
    if name == "sp":                  # a flag on tp: no degree to add up (until 2026-12-03 hinted `sp 2 sp 4`, E204)
        return "write `sp` once: it is a flag on tp and takes no degree (`tp 4 sp ; ep 8`)"
    return (f"write `{name}` once in a scope, with its whole degree (`{name} 2 {name} 4` is `{name} 8`); replicas or "
            f"stages of it are a scope: `dp 2 < {name} 4 >`, `pp 2 < {name} 4 >`")


def _plain_number(x: float) -> str:
    """A number as a plan writes it: no thousands commas."""
    return f"{int(x)}" if x == int(x) else format_figure(x).replace(",", "")


@dataclass(frozen=True)
class _Reading:
    """What a unit dagc does not read means: in words, its dimension, its SI factor."""

    words: str
    dimension: Dimension
    factor: float
    bits: bool = False
    per_gpu: bool = False


_PREFIXES = {"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15}
_PREFIX_WORDS = {"k": "kilo", "m": "mega", "g": "giga", "t": "tera", "p": "peta"}
_DATA = re.compile(r"^(?P<p>[kmgtp](?P<i>i)?)?(?P<b>b|bits?|bytes?)(?P<r>/s|ps|/sec|/second)?$", re.I)
_TIME_WORDS = {**dict.fromkeys(("sec", "secs", "second", "seconds"), ("seconds", 1.0)),
               **dict.fromkeys(("msec", "msecs", "millisecond", "milliseconds"), ("milliseconds", 1e-3)),
               **dict.fromkeys(("µs", "μs", "usec", "usecs", "microsecond", "microseconds"), ("microseconds", 1e-6)),
               **dict.fromkeys(("nsec", "nsecs", "nanosecond", "nanoseconds"), ("nanoseconds", 1e-9)),
               **dict.fromkeys(("min", "mins", "minute", "minutes"), ("minutes", 60.0)),
               **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), ("hours", 3600.0))}

_SAID = dict.fromkeys(("percent", "pct"), ("per cent", Dimension.RATIO, 0.01))      # units said in words
# units written as words (`tokens/s/gpu`, `requests/s`): a slip of one letter there (`tokens/s/gpus`) is the
# unit of the same dimension and scale, never a neighbour of another scale (`tokens/ms/gpu`)
_WORDED = [name for name, u in UNITS.items()
           if u.name == name and u.dimension in (Dimension.THROUGHPUT, Dimension.RATE)]


def _data_readings(text: str) -> list[_Reading]:
    """Bytes or bits, with an SI or binary prefix, per second or not: `Gb/s`, `GBps`, `gb`, `MiB/s`."""
    m = _DATA.match(text)
    if m is None:
        return []
    prefix, base, rate = m.group("p") or "", m.group("b"), m.group("r")
    scale = (2.0 ** (10 * (1 + "kmgtp".index(prefix[0].lower()))) if m.group("i") else
             _PREFIXES[prefix[0].lower()] if prefix else 1.0)
    dim = Dimension.BANDWIDTH if rate else Dimension.SIZE
    name = (_PREFIX_WORDS[prefix[0].lower()].replace("o", "i", 1)[:2] + "bi" if m.group("i") else
            _PREFIX_WORDS[prefix[0].lower()]) if prefix else ""
    per = " per second" if rate else ""
    byte = _Reading(f"{name}bytes{per}", dim, scale)
    bit = _Reading(f"{name}bits{per}", dim, scale / 8, bits=True)
    if base.lower().startswith("byte") or base == "B":
        return [byte]
    if base.lower().startswith("bit") or (prefix and (prefix[0].isupper() and prefix[0] != "K" or m.group("i"))):
        return [bit]                  # `Gb`, `Mbps`, `Gib`: bits as networking writes them
    return [byte, bit]                # `gb`, `kb`, `b`: the writer's case says neither


def _readings(text: str) -> list[_Reading]:
    """What `text`, a unit dagc does not read, may mean (several when its case leaves it open)."""
    lowered = text.lower()
    if lowered in _TIME_WORDS:
        words, factor = _TIME_WORDS[lowered]
        return [_Reading(words, Dimension.TIME, factor)]
    if (said := _SAID.get(lowered) or price_reading(lowered) or rate_reading(lowered)) is not None:
        return [_Reading(*said)]
    if m := re.fullmatch(r"([gtp])(?:flops|flop/s|flop)", lowered):
        return [_Reading(f"{_PREFIX_WORDS[m.group(1)]}FLOP per second", Dimension.COMPUTE, _PREFIXES[m.group(1)])]
    tokens = tokens_unit_spelt(lowered)
    if tokens in UNITS and UNITS[tokens].dimension is Dimension.THROUGHPUT:
        unit = UNITS[tokens]
        return [_Reading(unit.name, unit.dimension, unit.factor, per_gpu=unit.per_gpu)]
    data = _data_readings(text)
    if data:
        return data
    if (slip := nearest(tokens, _WORDED)) is not None:
        unit = UNITS[slip]
        return [_Reading(unit.name, unit.dimension, unit.factor, per_gpu=unit.per_gpu)]
    same = [u for name, u in UNITS.items() if name.lower() == lowered]
    return [_Reading(same[0].name, same[0].dimension, same[0].factor)] if len(same) == 1 else []


def _shown(value_si: float, dim: Dimension, per_gpu: bool) -> str:
    """`value_si` in the largest decimal unit of `dim` it is at least one of, as a plan writes it (of two names of
    one unit the shorter, `$/h`)."""
    names = sorted((u for u in UNITS.values() if u.dimension is dim and "i" not in u.name.replace("/gpu", "")
                    and u.per_gpu is per_gpu), key=lambda u: -len(u.name))
    units = sorted({u.factor: u for u in names}.values(), key=lambda u: u.factor)
    unit = next((u for u in reversed(units) if abs(value_si) >= u.factor), units[0])
    return format_in_unit(value_si, unit).replace(",", "")


def unit_hint(written: str, unit_text: str, dim: Dimension, short: str, lhs: str) -> str:
    """The hint for a unit dagc does not read, written after the number `written` for the field
    `short` (`lhs` is `short` and its operator): the unit of the same meaning, or the number in a
    unit dagc reads with the factor said aloud, or the units the field takes.

    Example:
        >>> unit_hint("400", "Gb/s", Dimension.BANDWIDTH, "inter_node", "inter_node =")
        '`Gb/s` is gigabits per second, 8 bits a byte: 400 Gb/s = 50 GB/s; write `inter_node = 50 GB/s`'
        >>> unit_hint("2", "sec", Dimension.TIME, "ttft", "ttft <=")
        'did you mean `s`? (`sec` is seconds: `ttft <= 2 s`)'
        >>> unit_hint("2", "nodes", Dimension.COUNT, "gpus", "gpus =")
        '`gpus` counts GPUs, not nodes: 2 nodes of 8 GPUs are `gpus = 16  gpus_per_node = 8` (8 a node is the default)'
    """
    if dim is Dimension.COUNT:       # a count's noun dropped keeps its meaning: `prompt = 2048 tokens`
        if short == "gpus" and unit_text.lower() in ("node", "nodes") and re.fullmatch(r"\d{1,6}", written):
            return (f"`gpus` counts GPUs, not nodes: {written} nodes of 8 GPUs are `gpus = {int(written) * 8}  "
                    f"gpus_per_node = 8` (8 a node is the default)")     # until 2026-12-02 "`2nodes` is not one"
        if nearest(unit_text, _COUNTED) is not None:
            return f"`{short}` takes {dim.value}: `{lhs} {written}`"
        counted = count_multiplier_hint(written, unit_text, lhs)
        return counted or f"`{short}` takes {dim.value}, without a unit: `{written}{unit_text}` is not one"
    number = float(written.replace("_", ""))
    readings = _readings(unit_text)
    if len(readings) > 1:           # the case leaves it open: each reading, with its number
        each = [f"{r.words}{', 8 bits a byte' if r.bits else ''} (`{lhs} {_shown(number * r.factor, dim, False)}`)"
                for r in readings if r.dimension is dim]
        return f"`{unit_text}` could be " + " or ".join(each)
    if readings:
        return _said(readings[0], number, written, unit_text, dim, short, lhs)
    if dim is Dimension.PRICE and "node" in unit_text.lower():     # until 2026-11-30 the node's rent, kept per GPU
        return (f"`{short}` is one GPU's rent per hour, a node's divided by its GPUs: {written} {unit_text} for a "
                f"node of 8 GPUs is `{lhs} {_shown(number / 8, dim, False)}`")
    takes = sorted(dict.fromkeys(u.name for u in UNITS.values() if u.dimension is dim and not u.per_gpu),
                   key=lambda n: UNITS[n].factor)
    # the example keeps the number written, in the unit most like the one written (`tokens/hr/gpu` keeps
    # its `/gpu`): the unit is what is asked for, not another figure
    unit = _likest(unit_text, dim)
    return f"`{short}` takes {dim.value} in " + ", ".join(f"`{n}`" for n in takes) + f", e.g. `{lhs} {written} {unit}`"


def _likest(unit_text: str, dim: Dimension) -> str:
    """The unit of `dim` dagc reads that is most like `unit_text`, per GPU when it says `gpu`."""
    per_gpu = "gpu" in unit_text.lower()
    names = [n for n, u in UNITS.items() if u.name == n and u.dimension is dim and u.per_gpu is per_gpu]
    close = difflib.get_close_matches(unit_text.lower(), [n.lower() for n in names], n=1, cutoff=0.5)
    return next((n for n in names if close and n.lower() == close[0]), dim.example.partition(" ")[2])


def _said(r: _Reading, number: float, written: str, unit_text: str, dim: Dimension, short: str, lhs: str) -> str:
    if r.dimension is not dim:
        return (f"`{unit_text}` is {r.words}, {r.dimension.value}; `{short}` takes {dim.value}, "
                f"e.g. `{lhs} {dim.example}`")
    per_gpu = r.per_gpu or (unit_text.lower().endswith("/gpu") and dim is Dimension.THROUGHPUT)
    same = [u.name for u in UNITS.values() if u.dimension is dim and u.factor == r.factor and u.per_gpu is per_gpu]
    if same and not r.bits:
        return f"did you mean `{same[0]}`? (`{unit_text}` is {r.words}: `{lhs} {written} {same[0]}`)"
    shown = _shown(number * r.factor, dim, per_gpu)
    factor = ", 8 bits a byte" if r.bits else ""
    return f"`{unit_text}` is {r.words}{factor}: {written} {unit_text} = {shown}; write `{lhs} {shown}`"


STAGE_HINT = "write `tp 2 cp 2 ; ep 8 etp 2`"


def stage_domains_hint(domains: Iterable[Iterable[AxisNode]]) -> str:
    """The E201 hint for a stage of more than its two domains: the attention axes written, then the expert
    ones, each axis once (its first degree), as `tp 8 ; ep 8`; the generic example when an axis is not an
    in-stage one with a whole degree.

    Example:
        >>> from dagc.lang.load import parse_strategy
        >>> stage_domains_hint(parse_strategy("tp 8 ; ep 8 ; ep 2").scope)
        'write `tp 8 ; ep 8`'
        >>> stage_domains_hint(parse_strategy("tp 2 ; cp 2 ; ep 4").scope)
        'write `tp 2 cp 2 ; ep 4`'
    """
    kept: dict[str, AxisNode] = {}
    for a in (a for domain in domains for a in domain):
        axis = next((x for x in Axis if x.value == a.name), None)
        degree = a.degree
        if axis is None or not (axis.is_attention or axis.is_expert) or a.body is not None or degree is None \
                or not (1 <= degree <= 2**20) or degree != int(degree):
            return STAGE_HINT
        kept.setdefault(a.name, a)
    attention = " ".join(f"{a.name} {a.degree:g}" for a in kept.values() if Axis(a.name).is_attention)
    expert = " ".join(f"{a.name} {a.degree:g}" for a in kept.values() if Axis(a.name).is_expert)
    written = " ; ".join(d for d in (attention, expert) if d)
    return f"write `{written}`" if written else STAGE_HINT


# A collective's latency (`latency { intra  inter }`): microseconds, where `intra = 10` was told `10 ms` or `10 s`
_MICROSECONDS = {"intra": "10 us", "inter": "20 us"}


def unitless_hint(num: float, text: str, dim: Dimension, short: str, lhs: str) -> str:
    """E102's hint for a quantity written without its unit (`text`, read as `num`): the number kept, in the unit a
    field of that dimension is written in — a time as seconds below 1 (`0.06` is 60 ms), else as ms or s, the user's
    to say; a collective's latency in us (until 2026-11-30 `intra = 10` was told `10 ms` or `10 s`).

    Example:
        >>> unitless_hint(10, "10", Dimension.TIME, "intra", "intra =")
        "write it with a unit: `intra = 10 us` (a collective's latency, 10 us by default)"
        >>> unitless_hint(2, "2", Dimension.TIME, "ttft", "ttft <=")
        'write it with a unit: `ttft <= 2 ms`, or `ttft <= 2 s`'
    """
    if num < 0:                                              # not E104
        return f"write a positive quantity with its unit, e.g. `{lhs} {dim.example}`"
    if dim is not Dimension.TIME:                            # the user's number in the dimension's unit
        return f"write it with a unit, e.g. `{lhs} {text} {dim.example.split(' ', 1)[1]}`"
    if short in _MICROSECONDS:
        return f"write it with a unit: `{lhs} {text} us` (a collective's latency, {_MICROSECONDS[short]} by default)"
    seconds = f"`{lhs} {text} s`" + (f" ({format_si(num, dim)})" if 0 < num < 1 else "")
    return f"write it with a unit: {seconds}" if num < 1 else f"write it with a unit: `{lhs} {text} ms`, or {seconds}"


_EFFICIENCIES = ("compute", "hbm", "network")       # `cluster { efficiency { … } }`'s fields, shares at most 1


def efficiency_above_one(short: str, lhs: str, x: float) -> str | None:
    """E104's hint for an efficiency written above 1 and below 10 (`compute = 1.5`): a speed-up over what was
    measured, which dagc does not price — an efficiency is a share of the measured speed (of the GPU's peak without a
    kernel profile), at most 1. Until 2026-11-30 it was told "did you mean `compute = 1.5 %`?", an efficiency no GPU
    runs at. None for another field or value (`compute = 60` is still told `60 %`).

    Example:
        >>> efficiency_above_one("compute", "compute =", 1.5)[:79]
        'an efficiency is a share of the measured speed, at most 1: `compute = 1.5` is 1'
        >>> efficiency_above_one("compute", "compute =", 60) is None, efficiency_above_one("memory", "memory <=", 1.5)
        (True, None)
    """
    if short not in _EFFICIENCIES or not 1 < x < 10:
        return None
    of = ("the links' bandwidth", "faster than the links") if short == "network" else \
        ("the measured speed", "faster than the kernels measured (or the GPU's peak)")
    return (f"an efficiency is a share of {of[0]}, at most 1: `{lhs} {x:g}` is {x:g}× that speed, {of[1]}, which "
            f"dagc does not price — write `{lhs} 1` for {of[0]} itself, or a share below it, e.g. `{lhs} 0.9` (90 %)")
