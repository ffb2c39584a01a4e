"""load_cdf.svg and load_timeline.svg: a simulated load drawn.

Input: a `Load` (`dagc.serve.load`), a title and the traffic in words. Output: SVG text, drawn by dagc
itself as pareto.svg is: `load_cdf_svg` — the cumulative distribution of every request's TTFT, TPOT and
end-to-end latency on one chart, time on a log scale, with p50, p90 and p99 marked; `load_timeline_svg`
— requests running and waiting over the run (a disaggregated run's waiting split into its two queues:
for a prefill, and for a decode slot), and the KV cache in use (None when the run kept no timeline).
Every text is escaped; figures follow dagc's rounding (`dagc.units.format_si`). A run of any length
draws a bounded number of points (`dagc.export.load_series`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import numpy.typing as npt

from ..diagnostics import printable
from ..serve.load import Load, sample_percentiles
from ..units import Dimension, format_figure, format_si
from .axes import ticks
from .load_series import CDF_POINTS, SERIES_INTERVALS, cdf_points, envelope
from .placement_style import text_width, wrap

__all__ = ["cdf_grid", "load_cdf_svg", "load_timeline_svg", "LOAD_CDF_SIGNATURE", "LOAD_TIMELINE_SIGNATURE",
           "LATENCIES", "svg_escape", "svg_open", "time_text", "title_lines"]

LOAD_CDF_SIGNATURE = "<!-- dagc: latency CDF of a simulated load -->"
LOAD_TIMELINE_SIGNATURE = "<!-- dagc: a simulated load over time -->"
W, L, R = 900, 80, 30
FONT = "Helvetica, DejaVu Sans, sans-serif"
# (Load property, name, colour): the latencies of load_cdf.svg
LATENCIES = (("ttft", "TTFT", "#2171b5"), ("tpot", "TPOT", "#238b45"), ("e2e", "end to end", "#cb181d"))
MARKED = (50, 90, 99)          # percentiles drawn as dashed lines across the CDF
RUNNING, WAITING, KV = "#2171b5", "#e6862e", "#6a51a3"
WAITING_DECODE = "#c51b7d"
# (data-series, Timeline field, colour, legend): the request series of a run, and of a disaggregated one
REQUESTS = (("running", "running", RUNNING, "requests running"),
            ("waiting", "waiting", WAITING, "requests waiting"))
POOLED_REQUESTS = (("running", "running", RUNNING, "requests running"),
                   ("waiting_prefill", "waiting_prefill", WAITING, "waiting for a prefill"),
                   ("waiting_decode", "waiting_decode", WAITING_DECODE, "prefilled, waiting for a decode slot"))


def svg_escape(text: str) -> str:
    return xml_escape(printable(text))


def time_text(seconds: float) -> str:
    return "0 s" if seconds == 0 else format_si(seconds, Dimension.TIME)


def title_lines(title: str, captions: list[str]) -> tuple[list[str], float]:
    """The title (bold, 15) and caption lines (10) wrapped to the picture's width; and the y below them."""
    out, y = [], 24.0
    for k, line in enumerate(wrap(title, 15, W - L - 10, bold=True)):
        y += 18 if k else 0
        out.append(f'<text x="{L}" y="{y:.0f}" font-size="15" font-weight="bold">{svg_escape(line)}</text>')
    y += 3
    for line in (part for caption in captions for part in wrap(caption, 10, W - L - 10)):
        y += 13
        out.append(f'<text x="{L}" y="{y:.0f}" font-size="10">{svg_escape(line)}</text>')
    return out, y + 16


def svg_open(width: int, height: float, signature: str, cls: str) -> list[str]:
    h = math.ceil(height)
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" width="{width}" height="{h}" '
            f'viewBox="0 0 {width} {h}" font-family="{FONT}">', signature,
            f'<rect width="{width}" height="{h}" fill="white"/>']


def _decades(values: list[np.ndarray]) -> tuple[int, int]:
    """The powers of ten around every positive value (a latency of 0 sits at the left edge)."""
    pos = np.concatenate([v[v > 0] for v in values]) if values else np.zeros(0)
    if pos.size == 0:
        return -3, 0
    lo, hi = math.floor(math.log10(float(pos.min()))), math.ceil(math.log10(float(pos.max())))
    return lo, max(hi, lo + 1)


def cdf_grid(values: list[np.ndarray], top: float, bottom: float
             ) -> tuple[Callable[[float], float], Callable[[float], float], list[str]]:
    """The scales of a latency CDF drawn between `top` and `bottom` — x a time on a log scale over the decades
    `values` span, y a share of requests — and its grid: a line and a label per decade, the shares' labels."""
    lo, hi = _decades(values)

    def sx(v: float) -> float:
        return L + (math.log10(max(v, 10.0 ** lo)) - lo) / (hi - lo) * (W - L - R)

    def sy(share: float) -> float:
        return bottom - share * (bottom - top)

    out = []
    for k in range(lo, hi + 1):
        x = sx(10.0 ** k)
        out.append(f'<line x1="{x:.2f}" y1="{top:.0f}" x2="{x:.2f}" y2="{bottom:.0f}" stroke="#eeeeee"/>')
        out.append(f'<text x="{x:.2f}" y="{bottom + 16:.0f}" font-size="10" text-anchor="middle">'
                   f'{svg_escape(time_text(10.0 ** k))}</text>')
    for share in (0, 0.25, 0.5, 0.75, 1):
        out.append(f'<text x="{L - 6}" y="{sy(share) + 3:.1f}" font-size="10" text-anchor="end">'
                   f'{share * 100:.0f} %</text>')
    return sx, sy, out


def load_cdf_svg(load: Load, title: str, traffic: str) -> str:
    """The CDF of each request's TTFT, TPOT and end-to-end latency (module docstring): one polyline per
    latency (`class="cdf"`, `data-latency` its name), through its values sorted — every request up to
    `CDF_POINTS`, else that many evenly spaced in rank — against the share of requests at most each."""
    n = len(load.arrival)
    series = [(key, name, colour, np.asarray(getattr(load, key), dtype=float)) for key, name, colour in LATENCIES]
    cut = (f" Each curve draws {CDF_POINTS:,} of the {n:,} requests, evenly spaced in rank." if n > CDF_POINTS else "")
    head, top = title_lines(title, [f"{traffic}: the share of requests whose latency is at most each time (time on a "
                                f"log scale); dashed: p{', p'.join(map(str, MARKED))}.{cut}"])
    bottom = top + 300
    height = bottom + 44 + 14 * len(series) + 10
    sx, sy, grid = cdf_grid([x for *_, x in series], top, bottom)
    out = svg_open(W, height, LOAD_CDF_SIGNATURE, "load-cdf") + head + grid
    for p in MARKED:
        out.append(f'<line class="percentile" x1="{L}" y1="{sy(p / 100):.2f}" x2="{W - R}" y2="{sy(p / 100):.2f}" '
                   f'stroke="#bbbbbb" stroke-dasharray="4 4"/>')
        out.append(f'<text x="{W - R - 4}" y="{sy(p / 100) - 3:.1f}" font-size="9" fill="#777777" '
                   f'text-anchor="end">p{p}</text>')
    out += _axes(top, bottom)
    out.append(f'<text x="{(L + W - R) / 2}" y="{bottom + 34:.0f}" font-size="12" text-anchor="middle">'
               'latency (log scale)</text>')
    out.append(f'<text x="18" y="{(top + bottom) / 2:.0f}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 18 {(top + bottom) / 2:.0f})">requests at most that long</text>')
    y = bottom + 44
    for key, name, colour, values in series:
        xs, ys = cdf_points(values)
        points = " ".join(f"{sx(a):.2f},{sy(b):.2f}" for a, b in zip(xs.tolist(), ys.tolist(), strict=True))
        out.append(f'<polyline class="cdf" data-latency="{key}" points="{points}" fill="none" stroke="{colour}" '
                   f'stroke-width="1.5"/>')
        q = sample_percentiles(values) if values.size else None
        figures = " · ".join(f"p{p} {time_text(q[f'p{p}'])}" for p in (50, 90, 99)) if q else "no requests"
        y += 14
        out.append(f'<line x1="{L}" y1="{y - 4}" x2="{L + 24}" y2="{y - 4}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{L + 30}" y="{y:.0f}" font-size="10">{svg_escape(name)}: {svg_escape(figures)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _axes(top: float, bottom: float) -> list[str]:
    return [f'<line x1="{L}" y1="{bottom:.0f}" x2="{W - R}" y2="{bottom:.0f}" stroke="#333"/>',
            f'<line x1="{L}" y1="{top:.0f}" x2="{L}" y2="{bottom:.0f}" stroke="#333"/>']


def _steps(t: np.ndarray, v: np.ndarray, sx: Callable[[float], float], sy: Callable[[float], float],
           end: float) -> str:
    """A step line's points: each value held from its time to the next, the last to `end`."""
    pts: list[str] = []
    ts, vs = t.tolist(), v.tolist()
    for k, (a, b) in enumerate(zip(ts, vs, strict=True)):
        nxt = ts[k + 1] if k + 1 < len(ts) else end
        pts.append(f"{sx(a):.2f},{sy(b):.2f} {sx(nxt):.2f},{sy(b):.2f}")
    return " ".join(pts)


def _timeline_caption(traffic: str, pooled: bool, samples: int) -> str:
    """What the timeline shows, under its title: the series of a run (`pooled`: a disaggregated one's) and how
    they are cut past `SERIES_INTERVALS` samples."""
    cut = (f" Past {SERIES_INTERVALS:,} samples, each of {SERIES_INTERVALS:,} equal stretches of the run shows its "
           "largest value, then its last." if samples > SERIES_INTERVALS else "")
    waiting = ("waiting for a prefill instance (arrived, not yet prefilling) and, prefilled, for a slot on a decode "
               "replica (its KV transfer starts once it has one)" if pooled else "waiting (arrived, not admitted)")
    kv_words = ("the decode pool's slots in use (each holds a request's KV cache) as a share of all its slots"
                if pooled else "the KV cache in use as a share of what the fullest GPU holds")
    return f"{traffic}: requests running (admitted, not finished) and {waiting}, and {kv_words}.{cut}"


def _timeline_legend(kinds: Sequence[tuple[str, str, str, str]], raw: dict[str, npt.NDArray[np.float64]],
                     legend_y: float) -> list[str]:
    """The legend of the request series, in a row at `legend_y`: each one's line, name and most."""
    out, x = [], L + 10.0
    for key, _, colour, name in kinds:
        label = f"{name} (most {format_figure(float(np.max(raw[key])))})"
        out.append(f'<line class="legend" data-series="{key}" x1="{x:.0f}" y1="{legend_y - 4:.0f}" x2="{x + 20:.0f}" '
                   f'y2="{legend_y - 4:.0f}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{x + 26:.0f}" y="{legend_y:.0f}" font-size="10">{svg_escape(label)}</text>')
        x += 26 + text_width(label, 10) + 24
    return out


def _timeline_titles(top: float, mid: float, kv_top: float, kv_bottom: float, kv_most: float) -> list[str]:
    """The titles of the two charts (requests from `top` to `mid`, the KV cache from `kv_top` to `kv_bottom`,
    `kv_most` its largest share) and of their time axis."""
    return [f'<text x="{L}" y="{kv_top - 8:.0f}" font-size="10" fill="{KV}">KV cache in use (most '
            f'{format_si(kv_most, Dimension.RATIO)})</text>',
            f'<text x="18" y="{(top + mid) / 2:.0f}" font-size="12" text-anchor="middle" '
            f'transform="rotate(-90 18 {(top + mid) / 2:.0f})">requests</text>',
            f'<text x="{(L + W - R) / 2}" y="{kv_bottom + 34:.0f}" font-size="12" text-anchor="middle">'
            'time since the run began</text>']


def load_timeline_svg(load: Load, title: str, traffic: str) -> str | None:
    """Requests running and waiting (top) and the KV cache in use on the fullest rank (bottom) over the
    run, as step lines (`class="series"`, `data-series` running, waiting or kv; a disaggregated run's
    waiting as its two queues, `waiting_prefill` and `waiting_decode`); None without a timeline. Past
    `SERIES_INTERVALS` samples each series is cut as `envelope` says."""
    tl = load.timeline
    if tl is None or len(tl.t) == 0:
        return None
    t = np.asarray(tl.t, dtype=float)
    pooled = tl.waiting_prefill is not None and tl.waiting_decode is not None
    kinds = POOLED_REQUESTS if pooled else REQUESTS
    raw = {key: np.asarray(getattr(tl, field), dtype=float) for key, field, _, _ in kinds}
    reqs = {key: envelope(t, v) for key, v in raw.items()}
    kv = envelope(t, np.asarray(tl.kv_share, dtype=float))
    head, top = title_lines(title, [_timeline_caption(traffic, pooled, len(t))])
    legend_y, top = top, top + 16          # the legend above the chart: no line runs through it
    mid = top + 220
    kv_top, kv_bottom = mid + 30, mid + 150
    height = kv_bottom + 46
    end = max(float(t[-1]), float(load.finish.max()) if len(load.finish) else 0.0)
    t0 = min(0.0, float(t[0]))
    span = (end - t0) or 1.0
    peak = max(1.0, *(float(v.max(initial=0)) for _, v in reqs.values()))
    y_ticks = [v for v in ticks(0, peak) if v == int(v)] or [0.0]
    y_hi = max(peak * 1.05, y_ticks[-1])

    def sx(v: float) -> float:
        return L + (v - t0) / span * (W - L - R)

    def sy_req(v: float) -> float:
        return mid - v / y_hi * (mid - top)

    kv_hi = 1.0 if float(kv[1].max(initial=0)) > 0.5 else max(0.1, math.ceil(float(kv[1].max(initial=0)) * 10) / 10)

    def sy_kv(v: float) -> float:          # 0 to 100 %, or to the next tenth above the most used
        return kv_bottom - min(max(v, 0.0), kv_hi) / kv_hi * (kv_bottom - kv_top)

    out = svg_open(W, height, LOAD_TIMELINE_SIGNATURE, "load-timeline") + head
    for x in ticks(t0, end):
        for a, b in ((top, mid), (kv_top, kv_bottom)):
            out.append(f'<line x1="{sx(x):.2f}" y1="{a:.0f}" x2="{sx(x):.2f}" y2="{b:.0f}" stroke="#eeeeee"/>')
        out.append(f'<text x="{sx(x):.2f}" y="{kv_bottom + 16:.0f}" font-size="10" text-anchor="middle">'
                   f'{svg_escape(time_text(x))}</text>')
    for v in y_ticks:
        out.append(f'<text x="{L - 6}" y="{sy_req(v) + 3:.1f}" font-size="10" text-anchor="end">'
                   f'{svg_escape(format_figure(v))}</text>')
    for share in (0, kv_hi / 2, kv_hi):
        out.append(f'<text x="{L - 6}" y="{sy_kv(share) + 3:.1f}" font-size="10" text-anchor="end">'
                   f'{share * 100:g} %</text>')
    out += _axes(top, mid) + _axes(kv_top, kv_bottom)
    lines = [(key, reqs[key], colour, sy_req) for key, _, colour, _ in kinds] + [("kv", kv, KV, sy_kv)]
    for key, (ts, vs), colour, sy in lines:
        out.append(f'<polyline class="series" data-series="{key}" points="{_steps(ts, vs, sx, sy, end)}" '
                   f'fill="none" stroke="{colour}" stroke-width="1.2"/>')
    out += _timeline_legend(kinds, raw, legend_y)
    out += _timeline_titles(top, mid, kv_top, kv_bottom, float(np.max(tl.kv_share)))
    out.append("</svg>")
    return "\n".join(out) + "\n"
