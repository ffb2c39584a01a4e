"""Arrival rates and prices written in units dagc does not read, read: an arrival rate per another time than the
second or in a benchmark's words (`1200 rpm`, `20 req/min`, `5 qps`); a price per another time than the hour (`2000
$/month`, `60 $/day`), in a currency's sign or code (`2.5 €/h`, `2.5 EUR/h`, `2.49 USD/hr`), per GPU said aloud
(`2.49 $/gpu/h`, `2.49 $/GPU-hour`). dagc reads a price as one GPU's rent per hour, `$/h` or `$/hour`, its `$` the
user's currency (dagc.units: the price is one number, never converted between currencies).

Input: the unit as written (lowered or not). Output: what it is in words, its dimension and the factor that takes it
to dagc's unit (`requests/s`, `$/h`), or None when it is not one of these. A month is 730 hours and a year 8,760
(365 days), as cloud price lists count them.
"""

from __future__ import annotations

import math
import re

from ..units import Dimension

__all__ = ["price_reading", "rate_option_hint", "rate_reading", "requests_per_second"]

_REQUESTS = re.compile(r"(?:req|reqs|request|requests|queries|query|q)(?P<per>/s|/sec|/second|/min|/minute|/h|/hour"
                       r"|/hr|/d|/day)|[rq]p(?P<per2>[smhd])")
_PER: dict[str | None, tuple[str, float]] = {**dict.fromkeys(("/s", "/sec", "/second", "s"), ("per second", 1.0)),
        **dict.fromkeys(("/min", "/minute", "m"), ("per minute", 1 / 60)), **dict.fromkeys(("/d", "/day", "d"),
        ("per day", 1 / 86400)), **dict.fromkeys(("/h", "/hr", "/hour", "h"), ("per hour", 1 / 3600))}   # `rpm`, `rpd`

_CURRENCIES = {"$": "dollars", "usd": "dollars", "us$": "dollars", "€": "euros", "eur": "euros", "£": "pounds",
               "gbp": "pounds", "¥": "yen", "jpy": "yen", "cny": "yuan", "rmb": "yuan",
               **dict.fromkeys(("cents", "cent", "¢"), "cents")}     # a hundredth of the currency's unit
_TIMES = {**dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), ("per hour", 1.0)),
          **dict.fromkeys(("min", "mins", "minute"), ("per minute", 60.0)),
          **dict.fromkeys(("s", "sec", "second"), ("per second", 3600.0)),
          **dict.fromkeys(("d", "day"), ("per day", 1 / 24)),
          **dict.fromkeys(("mo", "mon", "month"), ("per month (730 hours)", 1 / 730)),
          **dict.fromkeys(("y", "yr", "year"), ("per year (8,760 hours)", 1 / 8760))}
_PRICE = re.compile(r"(?P<cur>us\$|\$|usd|€|eur|£|gbp|¥|jpy|cny|rmb|cents|cent|¢)[ \t]*(?:/[ \t]*gpus?)?[ \t]*"
                    r"(?:/|\bper\b)[ \t]*(?:gpu[-_ ]?)?(?P<per>[a-z]+)(?:[ \t]*/[ \t]*gpus?)?")


def price_reading(unit_text: str) -> tuple[str, Dimension, float] | None:
    """`unit_text` as a price: its words, its dimension and its factor to dagc's `$/h` (one GPU-hour in the user's
    currency).

    Example:
        >>> price_reading("$/month")[::2]
        ('dollars per month (730 hours)', 0.0013698630136986301)
        >>> price_reading("EUR/h")[::2], price_reading("$/GPU-hour")[::2], price_reading("tokens/s")
        (('euros per hour — dagc writes any currency `$`', 1.0), ('dollars per hour', 1.0), None)
        >>> price_reading("cents/h")[::2]
        ('cents per hour', 0.01)
    """
    m = _PRICE.fullmatch(unit_text.strip().lower())
    if m is None or m["per"] not in _TIMES:
        return None
    money = _CURRENCIES[m["cur"]]
    per, factor = _TIMES[m["per"]]
    if money == "cents":        # until 2026-11-30 `249 cents/h` was hinted `price = 249 $/h`, 100 times the rent
        return f"cents {per}", Dimension.PRICE, factor / 100
    if money == "dollars":
        return f"dollars {per}", Dimension.PRICE, factor
    return f"{money} {per} — dagc writes any currency `$`", Dimension.PRICE, factor


def rate_reading(unit_text: str) -> tuple[str, Dimension, float] | None:
    """`unit_text` as an arrival rate (`req/s`, `rps`, `qps`, `requests/min`): its words, its dimension and its factor
    to requests/s.

    Example:
        >>> rate_reading("rpm")[::2], rate_reading("$/h")
        (('requests per minute', 0.016666666666666666), None)
    """
    m = _REQUESTS.fullmatch(unit_text.strip().lower())
    if m is None:
        return None
    words, factor = _PER[m.group("per") or m.group("per2")]
    return f"requests {words}", Dimension.RATE, factor


def requests_per_second(unit_text: str) -> float | None:
    """The factor to requests/s of an arrival rate's spelling dagc does not read (`req/s`, `rps`, `qps`,
    `requests/min`); None for any other text.

    Example:
        >>> requests_per_second("req/s"), requests_per_second("RPS"), requests_per_second("req/min") * 60
        (1.0, 1.0, 1.0)
    """
    rate = rate_reading(unit_text)
    return None if rate is None else rate[2]


def rate_option_hint(text: str) -> str:
    """What `--rate TEXT` that is not a number of requests/s says: in another spelling of a rate (`10 req/s`,
    `600 req/min`), the same rate as dagc writes it; else what it takes.

    Example:
        >>> rate_option_hint("600 req/min")
        '`600 req/min`: dagc reads a rate in requests/s: write `--rate 10`'
    """
    m = re.fullmatch(r"\s*([0-9][0-9_.eE+-]*)\s*([A-Za-z/]+)\s*", text[:80])
    factor = requests_per_second(("req" if m[2][0] == "/" else "") + m[2]) if m else None      # `1200/min` too
    if m is not None and factor is not None:
        try:
            rate = float(m[1]) * factor
        except ValueError:
            rate = math.nan
        if math.isfinite(rate):
            return f"`{text[:40]}`: dagc reads a rate in requests/s: write `--rate {rate:.4g}`"
    return f"`{text[:40]}` is not an arrival rate in requests/s (e.g. `--rate 10`)"
