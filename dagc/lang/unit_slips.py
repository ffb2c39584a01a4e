"""A quantity written in the unit of its neighbouring dimension, a size as a bandwidth or back (`reserve = 4 GB/s`,
`inter_node = 50 GB`): the hint that keeps the number and puts the unit right, `reserve = 4 GB`. A throughput with a
multiplier before `tokens` (`12.8Mtokens/s`, as a report's "12.8M tokens/s" reads): the number converted, the factor
said (until 2026-11-30 `Mtokens/s` was read as a slip of `tokens/s`, its hint a requirement a million times lower).
One request's own rate of tokens where a TPOT goes (`tpot >= 30 tokens/s`, an engine's "tokens/s per user") or as a
throughput per user (`decode_throughput >= 30 tokens/s/user`): its inverse, the TPOT, `tpot <= 33.33 ms` (until
2026-12-02 "for example `tpot >= 50 ms`", the operator kept, a requirement W522 then calls backwards, and for
`tokens/s/user` the deployment's throughput units, a figure hundreds of times too low).

Input: the value as written, its unit, the field's dimension and its `name =`. Output: the hint, or None when taking
`/s` off the unit, or putting it on, makes no unit of the field's dimension.
"""

from __future__ import annotations

import re

from ..units import UNITS, Dimension, format_in_unit, lookup

__all__ = ["per_second_slip_hint", "slip_hint", "token_rate_hint", "tokens_multiplier_hint"]

_MANY = {"k": ("thousands", 1e3), "m": ("millions", 1e6), "g": ("billions", 1e9)}
_MULTIPLIED = re.compile(r"([kmg])[ \t]*(?:tok|token|tokens)(/.+)")       # `Mtokens/s`, `k tok/ms/gpu`, lowered
# one request's tokens a second (`tokens/s/user`, `tok/s/request`): the inverse of its TPOT
_PER_USER = re.compile(r"(?:tok|toks|token|tokens)/(s|sec|ms)/(?:user|request|req|stream|seq|sequence)s?", re.I)
_ONE_REQUEST = re.compile(r"(tpot|itl)(_p\d+)?\b")        # the latencies whose inverse is a request's token rate


def per_second_slip_hint(text: str, unit_text: str, dim: Dimension, lhs: str) -> str | None:
    """The hint for a unit one `/s` away from the field's dimension, its number kept.

    Example:
        >>> from dagc.units import Dimension
        >>> per_second_slip_hint("4 GB/s", "GB/s", Dimension.SIZE, "reserve =")
        'write `reserve = 4 GB`: a size, without `/s`'
        >>> per_second_slip_hint("50GB", "GB", Dimension.BANDWIDTH, "inter_node =")
        'write `inter_node = 50 GB/s`: a bandwidth, per second'
        >>> per_second_slip_hint("3 ms", "ms", Dimension.SIZE, "memory <=") is None
        True
    """
    number = text[:len(text) - len(unit_text)].strip()
    for other, why in ((unit_text.removesuffix("/s"), "without `/s`"), (unit_text + "/s", "per second")):
        unit = lookup(other) if other != unit_text else None
        if unit is not None and unit.dimension is dim:
            return f"write `{lhs} {number} {other}`: {dim.value}, {why}"
    return None


def tokens_multiplier_hint(written: str, unit_text: str, dim: Dimension, lhs: str) -> str | None:
    """The hint for a throughput whose unit starts with a multiplier of its tokens (`k`, `M`, `G`): the unit of the same
    scale, or the number converted to the largest unit it is at least one of; None for any other unit.

    Example:
        >>> from dagc.units import Dimension
        >>> tokens_multiplier_hint("12.8", "Mtokens/s", Dimension.THROUGHPUT, "throughput >=")
        '`Mtokens/s` is millions of tokens/s: 12.8 Mtokens/s = 12800 tokens/ms; write `throughput >= 12800 tokens/ms`'
        >>> tokens_multiplier_hint("2", "ktok/s", Dimension.THROUGHPUT, "throughput >=")
        'did you mean `tokens/ms`? (`ktok/s` is thousands of tokens/s: `throughput >= 2 tokens/ms`)'
    """
    m = _MULTIPLIED.fullmatch(unit_text.lower())
    base = lookup("tokens" + m[2].replace("/sec", "/s")) if m is not None and dim is Dimension.THROUGHPUT else None
    if m is None or base is None or base.dimension is not Dimension.THROUGHPUT:
        return None
    words, factor = _MANY[m[1]]
    units = sorted((u for n, u in UNITS.items() if u.name == n and u.dimension is dim and u.per_gpu is base.per_gpu),
                   key=lambda u: u.factor)
    scale = base.factor * factor
    if (same := next((u for u in units if u.factor == scale), None)) is not None:
        return f"did you mean `{same.name}`? (`{unit_text}` is {words} of {base.name}: `{lhs} {written} {same.name}`)"
    value = float(written.replace("_", "")) * scale
    shown = format_in_unit(value, next((u for u in reversed(units) if value >= u.factor), units[0])).replace(",", "")
    return f"`{unit_text}` is {words} of {base.name}: {written} {unit_text} = {shown}; write `{lhs} {shown}`"


def slip_hint(text: str, unit_text: str, dim: Dimension, lhs: str) -> str | None:
    """The hint for a value in another dimension than its field's (E102): `per_second_slip_hint`, else
    `token_rate_hint`; None when neither reads it."""
    return per_second_slip_hint(text, unit_text, dim, lhs) or token_rate_hint(text, unit_text, dim, lhs)


def token_rate_hint(text: str, unit_text: str, dim: Dimension, lhs: str) -> str | None:
    """The hint for one request's rate of tokens written where its TPOT (or ITL) goes, or as a throughput per user:
    the TPOT it is, one token every 1 / rate, as an upper bound; a latency written as a throughput another way is
    given its example with `<=`, the bound a latency takes. None for any other unit or field.

    Example:
        >>> from dagc.units import Dimension
        >>> token_rate_hint("30 tokens/s", "tokens/s", Dimension.TIME, "tpot >=")[-73:]
        'a token every 33.33 ms: the inverse of its TPOT; write `tpot <= 33.33 ms`'
        >>> token_rate_hint("0.05 tokens/ms/user", "tokens/ms/user", Dimension.THROUGHPUT, "decode_throughput >=")[-42:]
        'inverse of its TPOT; write `tpot <= 20 ms`'
        >>> tokens = "30 tokens/s", "tokens/s"
        >>> token_rate_hint(*tokens, Dimension.TIME, "ttft >="), token_rate_hint("3GB", "GB", Dimension.TIME, "x =")
        ('for example `ttft <= 50 ms`: a latency is bounded from above', None)
    """
    per_user, unit = _PER_USER.fullmatch(unit_text), lookup(unit_text)
    name, _, op = lhs.partition(" ")
    written = text[:len(text) - len(unit_text)].strip()
    if per_user is not None:
        rate = float(written.replace("_", "")) * (1e3 if per_user[1] == "ms" else 1.0)
    elif dim is Dimension.TIME and unit is not None and unit.dimension is Dimension.THROUGHPUT and op in ("<=", ">="):
        if not _ONE_REQUEST.fullmatch(name) or unit.per_gpu:
            return f"for example `{name} <= {dim.example}`: a latency is bounded from above"
        rate = float(written.replace("_", "")) * unit.factor
    else:
        return None
    if not 0 < rate < float("inf"):      # no token at all: no TPOT to write
        return f"for example `{name} <= {dim.example}`: a latency is bounded from above" if per_user is None else None
    seconds = 1.0 / rate
    shown = format_in_unit(seconds, UNITS["s" if seconds >= 1 else "ms" if seconds >= 1e-3 else "us"]).replace(",", "")
    kind = name if _ONE_REQUEST.fullmatch(name) else "tpot"
    return (f"`{written} {unit_text}` is one request's rate of tokens, a token every {shown}: the inverse of its "
            f"{kind.partition('_')[0].upper()}; write `{kind} <= {shown}`")
