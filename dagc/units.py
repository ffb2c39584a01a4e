"""Units of the plan language (SPEC 3.6) and their dimensions.

Input: the unit word of a quantity. Output: its dimension and SI factor. Sizes in bytes
(KB = 1000 B, KiB = 1024 B), bandwidth in bytes/s, compute in FLOP/s, time in seconds,
ratios as fractions, throughput in tokens/s (a trailing `/gpu` marks a per-GPU figure), arrival rates in requests/s.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Dimension", "Unit", "UNITS", "lookup", "format_si", "format_bytes", "format_gpu_memory", "quantity_unit",
           "format_figure", "format_in_unit", "format_params", "format_percent", "share_text", "count_text",
           "said_list", "range_text", "bound_text", "exact_text", "tokens_unit_spelt"]


class Dimension(enum.Enum):
    COUNT = "a plain number"
    SIZE = "a size"
    BANDWIDTH = "a bandwidth"
    COMPUTE = "a compute rate"
    TIME = "a time"
    RATIO = "a ratio"
    THROUGHPUT = "a throughput"
    PRICE = "a price per GPU-hour"
    RATE = "an arrival rate"

    @property
    def example(self) -> str:
        return {
            "COUNT": "16", "SIZE": "80 GB", "BANDWIDTH": "450 GB/s", "COMPUTE": "989 TFLOPS",
            "TIME": "50 ms", "RATIO": "90 %", "THROUGHPUT": "100 tokens/ms/gpu", "PRICE": "2.5 $/h",
            "RATE": "12 requests/s",
        }[self.name]


@dataclass(frozen=True)
class Unit:
    name: str
    dimension: Dimension
    factor: float
    per_gpu: bool = False


def _units() -> dict[str, Unit]:
    table = [
        ("B", Dimension.SIZE, 1.0), ("KB", Dimension.SIZE, 1e3), ("MB", Dimension.SIZE, 1e6),
        ("GB", Dimension.SIZE, 1e9), ("TB", Dimension.SIZE, 1e12),
        ("KiB", Dimension.SIZE, 2.0**10), ("MiB", Dimension.SIZE, 2.0**20),
        ("GiB", Dimension.SIZE, 2.0**30), ("TiB", Dimension.SIZE, 2.0**40),
        ("MB/s", Dimension.BANDWIDTH, 1e6), ("GB/s", Dimension.BANDWIDTH, 1e9),
        ("TB/s", Dimension.BANDWIDTH, 1e12), ("GiB/s", Dimension.BANDWIDTH, 2.0**30),
        ("GFLOPS", Dimension.COMPUTE, 1e9), ("TFLOPS", Dimension.COMPUTE, 1e12),
        ("PFLOPS", Dimension.COMPUTE, 1e15),
        ("ns", Dimension.TIME, 1e-9), ("us", Dimension.TIME, 1e-6), ("ms", Dimension.TIME, 1e-3),
        ("s", Dimension.TIME, 1.0),
        ("%", Dimension.RATIO, 0.01),
        ("tokens/s", Dimension.THROUGHPUT, 1.0), ("tokens/ms", Dimension.THROUGHPUT, 1e3),
        # a GPU's rent per hour, in the user's currency (dagc writes it `$`): the price is one number
        ("$/h", Dimension.PRICE, 1.0), ("$/hour", Dimension.PRICE, 1.0),
        # requests arriving per second (`workload { rate = 12 requests/s }`)
        ("requests/s", Dimension.RATE, 1.0),
    ]
    units = {name: Unit(name, dim, factor) for name, dim, factor in table}
    for name, dim, factor in table:
        if dim is Dimension.THROUGHPUT:      # `/GPU` as dagc's own tables print it, too
            units[name + "/gpu"] = units[name + "/GPU"] = Unit(name + "/gpu", dim, factor, per_gpu=True)
    return units


UNITS: dict[str, Unit] = _units()


def lookup(name: str) -> Unit | None:
    """The unit called `name`, or None.

    Example:
        >>> lookup("GB/s").factor
        1000000000.0
        >>> lookup("tokens/ms/gpu").per_gpu
        True
    """
    return UNITS.get(name)


def bound_text(x: float, dim: Dimension, written: str = "") -> str:
    """A field's bound `x` (SI), as an error says it: in the unit the user `written` when the bound reads exactly
    in it as a figure from 1 to under 1,000,000 (`10,000 ms`; 0 in it too), else in the unit of its dimension a
    plan can write that makes it the least figure of at least 1 (the smallest unit, below them all): never raw
    bytes/s. A share in per cent, a count as a plain number.

    Example:
        >>> bound_text(1e3, Dimension.BANDWIDTH, "GB/s"), bound_text(1e18, Dimension.BANDWIDTH, "GB/s")
        ('0.001 MB/s', '1,000,000 TB/s')
        >>> bound_text(10.0, Dimension.TIME, "ms"), bound_text(1e9, Dimension.COMPUTE, "TFLOPS")
        ('10,000 ms', '1 GFLOPS')
        >>> bound_text(1e6, Dimension.SIZE, "GiB"), bound_text(1e18, Dimension.SIZE, "TB")
        ('1 MB', '1,000,000 TB')
        >>> bound_text(0.5, Dimension.TIME), bound_text(0.0, Dimension.TIME, "ms")
        ('500 ms', '0 ms')
    """
    if dim is Dimension.RATIO:
        return f"{x * 100:g} %"
    units = sorted((u for u in UNITS.values() if u.dimension is dim and not u.per_gpu), key=lambda u: u.factor)
    if not units:
        return f"{x:g}"
    def exact(u: Unit) -> bool:
        return math.isclose(float(format_figure(x / u.factor).replace(",", "")) * u.factor, x)

    mine = lookup(written)
    if mine is not None and mine.dimension is dim and not mine.per_gpu:
        if x == 0 or (1 <= x / mine.factor < 1e6 and exact(mine)):
            return format_in_unit(x, mine)
    fit = [u for u in units if u.factor <= abs(x) or u.factor == 1.0 and x == 0] or units[:1]
    unit = next((u for u in reversed(fit) if exact(u)), fit[-1])      # `1,000,000 TB`, not `909,495 TiB`
    return format_in_unit(x, next(u for u in units if u.factor == unit.factor))   # the first of a factor's names


def exact_text(value: float, dimension: Dimension) -> str:
    """A datasheet's figure as a plan writes it, when `bound_text` gives it exactly in one of the plan's units
    (`1.979 PFLOPS`, `3.35 TB/s`: `format_si`'s one decimal reads `2.0 PFLOPS` and `3.4 TB/s`, which copied into a
    plan are other GPUs); else `format_si`'s figure.

    Example:
        >>> exact_text(1.979e15, Dimension.COMPUTE), exact_text(3.35e12, Dimension.BANDWIDTH)
        ('1.979 PFLOPS', '3.35 TB/s')
        >>> exact_text(1e12 / 3, Dimension.BANDWIDTH)
        '333.3 GB/s'
    """
    text = bound_text(value, dimension)
    figure, _, name = text.partition(" ")
    unit = lookup(name)
    if unit is not None and math.isclose(float(figure.replace(",", "")) * unit.factor, value):
        return text
    return format_si(value, dimension)


def format_si(value: float | None, dimension: Dimension, decimals: int = 1) -> str:
    """A human figure for an SI value in the unit its size calls for: the one rounding rule of each
    quantity, in every output (text, markdown, HTML, SVG; JSON keeps full precision). Times have four
    significant digits (`312.2 ms`, `25.85 ms`, `3.635 s`: as many as a requirement is judged by);
    sizes are binary (`GiB`, as engines and `nvidia-smi` report memory); other quantities have
    `decimals` after the point.

    Example:
        >>> format_si(0.05, Dimension.TIME), format_si(1.92345, Dimension.TIME), format_si(0.025849, Dimension.TIME)
        ('50 ms', '1.923 s', '25.85 ms')
        >>> format_si(131072, Dimension.SIZE), format_si(80e9, Dimension.BANDWIDTH)
        ('128.0 KiB', '80.0 GB/s')
    """
    if value is None:
        return "—"
    match dimension:
        case Dimension.TIME:
            return _format_time(value)
        case Dimension.SIZE:
            steps = [(2.0**40, "TiB"), (2.0**30, "GiB"), (2.0**20, "MiB"), (2.0**10, "KiB"), (1, "B")]
        case Dimension.BANDWIDTH:
            steps = [(1e12, "TB/s"), (1e9, "GB/s"), (1e6, "MB/s"), (1, "B/s")]
        case Dimension.COMPUTE:
            steps = [(1e15, "PFLOPS"), (1e12, "TFLOPS"), (1e9, "GFLOPS"), (1, "FLOPS")]
        case Dimension.RATIO:
            return format_percent(value)
        case Dimension.THROUGHPUT:
            steps = [(1.0, "tokens/s")]
        case Dimension.PRICE:
            return f"{value:.2f} $/h"
        case Dimension.RATE:
            return f"{value:.{decimals}f} requests/s"
        case _:
            return f"{value:g}"
    for factor, name in steps:
        if abs(value) >= factor:
            return f"{value / factor:.{decimals}f} {name}"
    factor, name = steps[-1]
    return f"{value / factor:.3g} {name}"


def _format_time(seconds: float) -> str:
    """Four significant digits in s, ms, us or ns, whichever keeps the figure from 1 to 999.9."""
    for factor, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if abs(seconds) >= factor * 0.99995:          # 0.99996 s rounds to 1 s, not to 1,000 ms
            return f"{format_figure(seconds / factor)} {name}"
    return f"{format_figure(seconds / 1e-9)} ns"


def format_bytes(x: float | None) -> str:
    """Memory, in every output: GiB with two decimals from 0.1 GiB up (as engines and `nvidia-smi` count
    it), adaptive below.

    Example:
        >>> format_bytes(80 * 2**30), format_bytes(4.5 * 2**20)
        ('80.00 GiB', '4.5 MiB')
    """
    if x is None:
        return "—"
    return f"{x / 2**30:,.2f} GiB" if abs(x) >= 0.1 * 2**30 else format_si(x, Dimension.SIZE)


def format_gpu_memory(x: float) -> str:
    """A GPU's memory as the user compares it: in GiB, and in MiB as `nvidia-smi` and engine logs show it.

    Example:
        >>> format_gpu_memory(143_771 * 2**20)      # an H200
        '140.40 GiB (143,771 MiB)'
    """
    return f"{format_bytes(x)} ({x / 2**20:,.0f} MiB)"


def quantity_unit(text: str) -> Unit | None:
    """The unit a written quantity ends with ('100 tokens/ms/gpu' → tokens/ms/gpu), or None.

    Example:
        >>> quantity_unit("decode_throughput >= 100 tokens/ms/gpu").name, quantity_unit("gpus <= 8")
        ('tokens/ms/gpu', None)
    """
    words = text.split()
    if not words:
        return None
    unit = lookup(words[-1])
    if unit is None:    # a number and its unit written together: `10ms`
        unit = lookup(words[-1].lstrip("+-0123456789._eE"))
    return unit


def format_figure(x: float) -> str:
    """A plain number with four significant digits, thousands grouped from 1,000 up.

    Example:
        >>> format_figure(0.096699), format_figure(490.59), format_figure(24755.2), format_figure(0.0)
        ('0.0967', '490.6', '24,755', '0')
    """
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    decimals = min(9, max(0, 3 - math.floor(math.log10(abs(x)))))
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_in_unit(value: float, unit: Unit) -> str:
    """An SI value (seconds, bytes, tokens/s, a fraction) shown in `unit`.

    Example:
        >>> format_in_unit(96.7, lookup("tokens/ms/gpu")), format_in_unit(0.4906, lookup("s"))
        ('0.0967 tokens/ms/gpu', '0.4906 s')
        >>> format_in_unit(0.1038, lookup("%"))
        '10.38 %'
    """
    return f"{format_figure(value / unit.factor)} {unit.name}"


_PARAM_UNITS = ((1e9, "B"), (1e6, "M"), (1e3, "K"))


def format_params(n: float) -> str:
    """A parameter count to one decimal, in the largest unit (B, M, K) of which it is at least 1.0 once rounded:
    the one rule of the terminal's header, `dagc presets` and report.md, so that a small model's count keeps its
    figures (43.2 M, not 0.0 B).

    Example:
        >>> format_params(671.03e9), format_params(43.2e6), format_params(0.12e9), format_params(960e6)
        ('671.0 B', '43.2 M', '120.0 M', '960.0 M')
        >>> format_params(999.96e6), format_params(950.0), format_params(1_026e9)
        ('1.0 B', '950', '1026.0 B')
    """
    for factor, unit in _PARAM_UNITS:
        if n >= factor * 0.99995:          # 999.96 M is 1.0 B, not 1000.0 M
            return f"{n / factor:.1f} {unit}"
    return f"{n:.0f}"


def format_percent(fraction: float) -> str:
    """A fraction as a percentage to one decimal, thousands grouped (a memory use can be thousands of per cent).

    Example:
        >>> format_percent(0.9215), format_percent(19.345), format_percent(341251.472)
        ('92.2 %', '1,934.5 %', '34,125,147.2 %')
    """
    return f"{fraction * 100:,.1f} %"


def share_text(fraction: float) -> str:
    """A part's share of a whole in whole per cent; "< 1 %" for a part that is there but rounds to none (a critical
    path's 1.511 ms of 437.8 ms), as `dagc check` and report.md both write it.

    Example:
        >>> share_text(0.0), share_text(0.0035), share_text(0.42)
        ('0 %', '< 1 %', '42 %')
    """
    return "< 1 %" if fraction > 0 and round(fraction * 100) == 0 else f"{fraction * 100:.0f} %"


def count_text(n: int, word: str, many: str | None = None) -> str:
    """A count and its noun, singular for one: `1 micro-batch`, `2 micro-batches`.

    Example:
        >>> count_text(1, "micro-batch", "micro-batches"), count_text(3, "replica"), count_text(1_000, "error")
        ('1 micro-batch', '3 replicas', '1,000 errors')
    """
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def range_text(start: int, stop: int, empty: str = "none") -> str:
    """The whole numbers from `start` to `stop` (excluded) as a table writes them: `0–7`, one alone as itself (`3`; a
    stage of one layer on one GPU read `0–0` until 2026-12-02), `empty` for none.

    Example:
        >>> range_text(0, 8), range_text(3, 4), range_text(5, 5)
        ('0–7', '3', 'none')
    """
    return empty if stop <= start else str(start) if stop - start == 1 else f"{start}–{stop - 1}"


def said_list(items: Sequence[str], last: str = "and") -> str:
    """Items as a sentence lists them: `a`, `a and b`, `a, b and c` (`last` the word before the last one).

    Example:
        >>> said_list(["`a`"]), said_list(["`a`", "`b`"]), said_list(["`a`", "`b`", "`c`"], "or")
        ('`a`', '`a` and `b`', '`a`, `b` or `c`')
    """
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}" if items else ""


def tokens_unit_spelt(lowered: str) -> str:
    """A throughput's unit, lower-cased, in dagc's words: `tok/` and `token/` are `tokens/`, `tps` `tokens/s`, `/sec`
    and `/second` `/s`, `/msec` and `/millisecond` `/ms`, and a GPU called a device, card or accelerator `/gpu` (until
    2026-11-30 `tokens/ms/device` was told `tokens/ms`, the deployment's whole throughput in place of each GPU's).

    Example:
        >>> tokens_unit_spelt("tokens/ms/device"), tokens_unit_spelt("tok/second/gpu"), tokens_unit_spelt("tokens/msec")
        ('tokens/ms/gpu', 'tokens/s/gpu', 'tokens/ms')
    """
    tokens = re.sub(r"^(?:tok|token|tokens)/", "tokens/", lowered).replace("tps", "tokens/s")
    tokens = re.sub(r"/(?:second|sec)(?=/|$)", "/s", tokens)
    tokens = re.sub(r"/(?:millisecond|msec)(?=/|$)", "/ms", tokens)
    return re.sub(r"/(?:device|card|accelerator)s?$", "/gpu", tokens)
