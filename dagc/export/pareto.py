"""pareto.svg: decode throughput per GPU against TPOT for every legal candidate of a search.

Input: a `SearchResult` (and the plan's own strategies, to mark them). Output: SVG text, a
scatter plot with the Pareto front (more decode tokens/s per GPU, less TPOT, among the candidates
that meet the requirements) drawn and labelled.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypedDict
from xml.sax.saxutils import escape as xml_escape

from ..diagnostics import printable
from ..units import Dimension, format_figure, format_si
from ..verdict.ledger import CONFIDENCE, Errors, ledger, regime_of
from .axes import ticks
from .placement_style import text_width, wrap
from .what_if import titled

if TYPE_CHECKING:
    from ..plan.plan import Plan
    from ..plan.workload import Requirement
    from ..search.result import Candidate, SearchResult
    from ..verdict.check import StrategyResult

__all__ = ["PARETO_SIGNATURE", "own_points", "pareto_errors", "pareto_svg", "plan_mark", "plan_pareto_svg"]


Scale = Callable[[float], float]                 # a figure → its coordinate on the picture
_Point = tuple[float, float, "Candidate"]        # TPOT (ms), decode tokens/s per GPU, the candidate


class OwnPoints(TypedDict):
    """`pareto_svg`'s `own` and `unplotted`, of the plan's own strategies (`own_points`)."""

    own: list[tuple[str, float, float, bool]]
    unplotted: tuple[str, ...]


def escape(text: str) -> str:
    """Text for the SVG: control characters (not allowed in XML) shown as U+FFFD, then XML-escaped."""
    return xml_escape(printable(text))


# In every pareto.svg: `dagc search --svg FILE` replaces an existing FILE only when it holds this.
PARETO_SIGNATURE = "<!-- dagc search: Pareto front -->"

W, H, L, R, T, B = 900, 590, 80, 30, 82, 60
MAX_POINTS = 5000
LEGEND_MAX = 20          # front points named under the plot (`dagc search --format json` lists every one)
LEGEND_LINE = 14         # its line height
_NUMBER_PLACES = ((5, -5, "start"), (5, 12, "start"), (-6, 3, "end"))    # a front point's number: (dx, dy, anchor)
_EDGE = 4               # the least room between a label and the picture's edge
_HALO = ' stroke="white" stroke-width="3" paint-order="stroke"'        # labels stay legible over the points


def pareto_svg(found: SearchResult, title: str, own: list[tuple[str, float, float, bool]] | None = None,
               requirements: tuple[Requirement, ...] = (), unplotted: tuple[str, ...] = (),
               errors: tuple[Errors, Errors] | None = None) -> str:
    """`own`: (label, tpot_s, decode tokens/s per GPU, whether it is correct) of the plan's strategies,
    drawn in blue (hollow, and said, for one with errors: its figures are as if it could run);
    `unplotted`: the labels of the plan's strategies with no figures at all (errors too deep to
    schedule them), which the heading names as not drawn;
    `requirements`: the plan's `Requirement`s — TPOT and per-GPU decode throughput bounds are drawn
    as dashed lines. The front drawn is the search's own (`found.pareto`, what its table and
    `dagc search --format json` list): its points numbered by TPOT, and named in that order under the plot, with
    their GPUs and (`batch = max`) batch, so that no label hides another.
    `errors`: the ledger's errors of TPOT and of throughput in the plan's regime (`dagc.verdict.ledger`):
    each front point gets whiskers over the band where its measured TPOT and decode tokens/s per GPU lie
    at the ledger's confidence, so that two points whose whiskers overlap read as indistinguishable."""
    pts = [(c.metrics.tpot_s * 1e3, c.metrics.decode_tokens_per_s_per_gpu, c) for c in found.ranked[:MAX_POINTS]]
    front = sorted(((c.metrics.tpot_s * 1e3, c.metrics.decode_tokens_per_s_per_gpu, c) for c in found.pareto),
                   key=lambda p: (p[0], -p[1]))
    named = front[:LEGEND_MAX]
    own = [(label, t * 1e3, v, ok) for label, t, v, ok in (own or [])]
    bars = [(errors[0].band(x), errors[1].band(y)) for x, y, _ in front] if errors is not None else []
    xs = [p[0] for p in pts + front] + [o[1] for o in own] + [b[0][1] for b in bars] or [1.0]
    ys = [p[1] for p in pts + front] + [o[2] for o in own] + [b[1][1] for b in bars] or [1.0]
    x0, x1 = 0.0, max(xs) * 1.05
    y0, y1 = 0.0, max(ys) * 1.08
    legend = len(named) + (len(front) > len(named)) + 1 if front else 0
    height = H + LEGEND_LINE * legend

    def sx(x: float) -> float:
        return L + (x - x0) / (x1 - x0 or 1) * (W - L - R)

    def sy(y: float) -> float:
        return H - B - (y - y0) / (y1 - y0 or 1) * (H - T - B)

    at_max = any(c.batch is not None for _, _, c in pts + front)
    head, shift = _header(title, [
        f'{found.counts_text()} (objective {found.objective})'
        f'{"; each at the largest batch it serves (batch = max)" if at_max else ""}.',
        f"Each legal one is a dot: dark grey meets every requirement, light grey misses one"
        f"{_unjudged(pts + front)}{_diamonds(pts + front)}; "
        f"blue squares: the plan's strategies (hollow: with errors){_unplotted(unplotted)}; "
        f"dashed: {_dashed(requirements)}.",
        "Red: the Pareto front of those that meet them (more decode tokens/s per GPU, less TPOT; TTFT enters "
        "through the requirements), numbered as named below.", *_whiskers_caption(errors, front)])
    height += shift
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" '
           f'font-family="Helvetica, DejaVu Sans, sans-serif">', PARETO_SIGNATURE,
           f'<rect width="{W}" height="{height}" fill="white"/>', *head,
           f'<g transform="translate(0 {shift})">']     # the plot, below however many lines the heading took
    out += _axes((x0, x1), (y0, y1), sx, sy)
    for x, y, c in pts:
        out.append(_point("candidate", c, sx(x), sy(y), 2.5, _colour(c), ""))
    out += _whiskers(front, bars, sx, sy)
    out += _front_marks(front, sx, sy)
    out += _requirement_lines(requirements, sx, sy, (x0, x1), (y0, y1))
    out += _own_marks(own, sx, sy)
    out += _front_numbers(named, sx, sy)          # last: nothing drawn over them
    out += _legend(front, named)
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _axes(xr: tuple[float, float], yr: tuple[float, float], sx: Scale, sy: Scale) -> list[str]:
    """The grid, tick labels, axes and axis titles of the plot over `xr` (TPOT, ms) and `yr` (decode
    tokens/s per GPU), placed by `sx` and `sy`."""
    out: list[str] = []
    for t in ticks(*xr):
        out.append(f'<line x1="{sx(t):.1f}" y1="{T}" x2="{sx(t):.1f}" y2="{H - B}" stroke="#eeeeee"/>')
        out.append(f'<text x="{sx(t):.1f}" y="{H - B + 16}" font-size="10" text-anchor="middle">{t:g}</text>')
    for t in ticks(*yr):
        out.append(f'<line x1="{L}" y1="{sy(t):.1f}" x2="{W - R}" y2="{sy(t):.1f}" stroke="#eeeeee"/>')
        out.append(f'<text x="{L - 6}" y="{sy(t) + 3:.1f}" font-size="10" text-anchor="end">{t:g}</text>')
    out.append(f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="#333"/>')
    out.append(f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="#333"/>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 18}" font-size="12" text-anchor="middle">TPOT (ms)</text>')
    out.append(f'<text x="18" y="{(T + H - B) / 2}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 18 {(T + H - B) / 2})">decode tokens/s per GPU</text>')
    return out


def _clauses(text: str, size: int, width: float) -> list[str]:
    """`text` in lines no wider than `width` (estimated, as placement.svg's text), broken between its
    clauses (after `; `) where it can, so that a clause reads whole; a clause too long alone is
    broken between words.

    Example:
        >>> _clauses("a b; tp 2 ; ep 2 c; d", 10, 130)
        ['a b; tp 2 ; ep 2 c;', 'd']
    """
    lines: list[str] = []
    for clause in (c + ";" for c in re.split(r"(?<! ); ", text)):      # not inside a strategy's ` ; `
        if lines and text_width(f"{lines[-1]} {clause}", size) <= width:
            lines[-1] = f"{lines[-1]} {clause}"
        else:
            lines += wrap(clause, size, width)
    lines[-1] = lines[-1][:-1]
    return lines


def _header(title: str, captions: list[str]) -> tuple[list[str], int]:
    """The title (bold, 15) and the caption lines (10), wrapped to the picture's width so that none is
    cut at its edge; and how far below the one-line-each heading the plot must move to make room."""
    width = W - L - 10
    out, y = [], 24
    for k, line in enumerate(wrap(title, 15, width, bold=True)):
        y += 18 if k else 0
        out.append(f'<text x="{L}" y="{y}" font-size="15" font-weight="bold">{escape(line)}</text>')
    y += 3
    for line in (part for caption in captions for part in _clauses(caption, 10, width)):
        y += 13
        out.append(f'<text x="{L}" y="{y}" font-size="10">{escape(line)}</text>')
    return out, y - 66


def _colour(c: Candidate) -> str:
    """A candidate's dot: dark grey meeting every requirement, mid grey meeting the steady-state ones but not
    simulated under the plan's traffic (`Candidate.judged`: its load's percentiles not known), light grey missing
    one."""
    if not c.meets_requirements:
        return "#d9d9d9"
    return "#969696" if c.judged == "all" else "#c6c6c6"


def _unjudged(points: list[_Point]) -> str:
    """The heading's words for candidates meeting the steady-state requirements whose load was not simulated
    ('' when none is drawn)."""
    if not any(c.meets_requirements and c.judged != "all" for _, _, c in points):
        return ""
    return (", mid grey meets the steady-state requirements but was not simulated under the traffic "
            "(its percentiles not judged)")


def _dashed(requirements: tuple[Requirement, ...]) -> str:
    """The heading's words for the dashed lines: the steady state's requirements; a load percentile's is judged
    on simulated runs, whose percentiles these axes (the steady state's) do not show."""
    if any(r.on_load for r in requirements):
        return "the steady-state requirements (a load percentile, judged on simulated runs, has no line here)"
    return "requirements"


def _diamonds(points: list[_Point]) -> str:
    """The heading's words for disaggregated candidates' marks ('' when none is drawn)."""
    return "; diamonds: disaggregated (prefill and decode pools)" if any(c.strategy.disaggregated
                                                                         for _, _, c in points) else ""


def _unplotted(labels: tuple[str, ...]) -> str:
    """The heading's words for the plan's strategies that have no point ('' when every one has)."""
    if not labels:
        return ""
    return f" — not drawn, too broken to have figures: {', '.join(labels)}"


def _front_marks(front: list[_Point], sx: Scale, sy: Scale) -> list[str]:
    """The front's line and points."""
    out = []
    if len(front) > 1:
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y, _ in front)
        out.append(f'<polyline points="{path}" fill="none" stroke="#cb181d" stroke-width="1.5"/>')
    for k, (x, y, c) in enumerate(front, 1):
        ttft = format_si(c.metrics.ttft_s, Dimension.TIME)
        title = f"<title>{k}. {escape(_name(c))} · TTFT {ttft}</title>"
        out.append(_point("pareto", c, sx(x), sy(y), 4, "#cb181d", title))
    return out


def pareto_errors(plan: Plan) -> tuple[Errors, Errors]:
    """The ledger's errors of TPOT and throughput in the plan's regime: `pareto_svg`'s whiskers."""
    book, regime = ledger(), regime_of(plan)
    return book.errors(regime, "tpot"), book.errors(regime, "throughput")


def _whiskers_caption(errors: tuple[Errors, Errors] | None, front: list[_Point]) -> list[str]:
    """The heading's sentence for the front's whiskers (none without errors or a front)."""
    if errors is None or not front:
        return []
    pct = f"{CONFIDENCE * 100:.0f} %"
    regimes = errors[0].regime if errors[0].regime == errors[1].regime else f"{errors[0].regime}; {errors[1].regime}"
    return [f"Whiskers: where each front point's measured TPOT and decode tokens/s per GPU lie at {pct}, from dagc's "
            f"errors on published runs it was not tuned on (regime {regimes}); points whose whiskers overlap are "
            "indistinguishable within dagc's error."]


def _whiskers(front: list[_Point], bars: list[tuple[tuple[float, float], tuple[float, float]]], sx: Scale,
              sy: Scale) -> list[str]:
    """Each front point's error band: a horizontal whisker over its TPOT band, a vertical one over its
    throughput band, with end caps."""
    out = []
    for (x, y, _), ((xl, xh), (yl, yh)) in zip(front, bars, strict=False):     # no bars without errors
        cx, cy = sx(x), sy(y)
        out.append(f'<g class="whiskers" stroke="#cb181d" stroke-opacity="0.45" stroke-width="1">'
                   f'<line x1="{sx(xl):.1f}" y1="{cy:.1f}" x2="{sx(xh):.1f}" y2="{cy:.1f}"/>'
                   f'<line x1="{cx:.1f}" y1="{sy(yl):.1f}" x2="{cx:.1f}" y2="{sy(yh):.1f}"/>'
                   f'<line x1="{sx(xl):.1f}" y1="{cy - 3:.1f}" x2="{sx(xl):.1f}" y2="{cy + 3:.1f}"/>'
                   f'<line x1="{sx(xh):.1f}" y1="{cy - 3:.1f}" x2="{sx(xh):.1f}" y2="{cy + 3:.1f}"/>'
                   f'<line x1="{cx - 3:.1f}" y1="{sy(yl):.1f}" x2="{cx + 3:.1f}" y2="{sy(yl):.1f}"/>'
                   f'<line x1="{cx - 3:.1f}" y1="{sy(yh):.1f}" x2="{cx + 3:.1f}" y2="{sy(yh):.1f}"/></g>')
    return out


def _point(cls: str, c: Candidate, x: float, y: float, r: float, fill: str, inner: str) -> str:
    """One candidate's mark: a dot, or for a disaggregated strategy (prefill and decode pools) a diamond
    of the same size, class `disaggregated` besides `cls`."""
    if not c.strategy.disaggregated:
        return f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="{r:g}" fill="{fill}">{inner}</circle>'
    d = r * 1.3
    return (f'<polygon class="{cls} disaggregated" points="{x:.1f},{y - d:.1f} {x + d:.1f},{y:.1f} {x:.1f},{y + d:.1f} '
            f'{x - d:.1f},{y:.1f}" fill="{fill}">{inner}</polygon>')


def _front_numbers(named: list[_Point], sx: Scale, sy: Scale) -> list[str]:
    """The numbers of the `named` front points, three places around a point in turn, so that close
    points keep their numbers apart."""
    out = []
    for k, (x, y, _) in enumerate(named, 1):
        dx, dy, anchor = _NUMBER_PLACES[(k - 1) % len(_NUMBER_PLACES)]
        out.append(f'<text class="pareto-number" x="{sx(x) + dx:.1f}" y="{sy(y) + dy:.1f}" font-size="9" '
                   f'fill="#cb181d" text-anchor="{anchor}"{_HALO}>{k}</text>')
    return out


def _own_marks(own: list[tuple[str, float, float, bool]], sx: Scale, sy: Scale) -> list[str]:
    """The plan's strategies: blue squares (hollow for one with errors, whose label says so), labelled
    on the side with room for the label, above the point near the axis; the squares drawn after every
    label, so that no label's halo hides another's square."""
    labels, squares = [], []
    for label, x, y, ok in own:
        fill = 'fill="#2171b5"' if ok else 'fill="white" stroke="#2171b5" stroke-width="1.5"'
        squares.append(f'<rect class="own" x="{sx(x) - 4:.1f}" y="{sy(y) - 4:.1f}" width="8" height="8" {fill}/>')
        right = sx(x) > (L + W - R) / 2
        anchor = ' text-anchor="end"' if right else ""
        lines = wrap(label if ok else f"{label} (has errors)", 10, W - 2 * _EDGE)
        below = sy(y) + 12
        ty = below if below < H - B - 4 else sy(y) - 8 - 12 * (len(lines) - 1)
        wide = max(text_width(line, 10) for line in lines)        # moved in from the edge it would run past
        tx = max(sx(x) - 7, _EDGE + wide) if right else min(sx(x) + 7, W - _EDGE - wide)
        text = escape(lines[0]) if len(lines) == 1 else "".join(
            f'<tspan x="{tx:.1f}" dy="{12 if k else 0}">{escape(line)}</tspan>' for k, line in enumerate(lines))
        labels.append(f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="10" fill="#2171b5"{anchor}{_HALO}>{text}</text>')
    return labels + squares


def _legend(front: list[_Point], named: list[_Point]) -> list[str]:
    """Under the plot: the `named` front points by number, and how many more there are."""
    if not front:
        return []
    y = H + 4
    out = [f'<text x="{L}" y="{y}" font-size="10" font-weight="bold" fill="#cb181d">The Pareto front, by TPOT '
           f'(strategy text as --strategy takes it):</text>']
    for k, (tpot, tokens, c) in enumerate(named, 1):
        y += LEGEND_LINE
        out.append(f'<text class="pareto-name" x="{L}" y="{y}" font-size="10">{k}. {escape(_name(c))} · TPOT '
                   f'{format_si(tpot / 1e3, Dimension.TIME)} · {format_figure(tokens)} decode tokens/s per GPU</text>')
    if len(front) > len(named):
        y += LEGEND_LINE
        out.append(f'<text x="{L}" y="{y}" font-size="10">… and {len(front) - len(named)} more (dagc search '
                   f'--format json lists every point).</text>')
    return out


def _name(c: Candidate) -> str:
    """A front point as the plot names it: its pasteable text, its GPUs and (`batch = max`) its batch."""
    batch = ("" if c.batch is None else f" · batch {c.batch:,}") + (
        "" if c.speculative_tokens is None else f" · {c.speculative_tokens} drafted")
    return f"{c.text} · {c.gpus:,} GPU{'' if c.gpus == 1 else 's'}{batch}"


def _requirement_lines(requirements: tuple[Requirement, ...], sx: Scale, sy: Scale, xr: tuple[float, float],
                       yr: tuple[float, float]) -> list[str]:
    """Dashed lines for the bounds the axes show: TPOT (ms) and decode tokens/s per GPU."""
    out = []
    for r in requirements:
        kind = getattr(r.kind, "value", "")
        if r.on_load:                   # a percentile of simulated runs (`tpot_p90`): not the steady TPOT's axis
            continue
        if kind == "tpot" and xr[0] <= r.target * 1e3 <= xr[1]:
            x = sx(r.target * 1e3)
            out.append(f'<line class="requirement" x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{H - B}" '
                       f'stroke="#2171b5" stroke-dasharray="6 4"/>')
            right = x > (L + W - R) / 2             # the label on the side with room for it
            anchor = ' text-anchor="end"' if right else ""
            out.append(f'<text x="{x - 4 if right else x + 4:.1f}" y="{T + 12}" font-size="10" fill="#2171b5"'
                       f'{anchor}>{escape(r.text)}</text>')
        elif kind == "decode_throughput" and r.per_gpu and yr[0] <= r.target <= yr[1]:
            y = sy(r.target)
            out.append(f'<line class="requirement" x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" '
                       f'stroke="#2171b5" stroke-dasharray="6 4"/>')
            out.append(f'<text x="{W - R - 4}" y="{y - 4:.1f}" font-size="10" fill="#2171b5" text-anchor="end">'
                       f'{escape(r.text)}</text>')
        elif kind == "tpot" or (kind == "decode_throughput" and r.per_gpu):
            out.append(_off_axis(r, kind, xr if kind == "tpot" else yr))
    return out


def _off_axis(r: Requirement, kind: str, span: tuple[float, float]) -> str:
    """A requirement whose bound lies off its axis, said in words at the plot's top right, whether every point meets it
    or none (until 2026-12-03 left out unsaid beside the caption's "dashed: requirements")."""
    target = r.target * 1e3 if kind == "tpot" else r.target
    every = (target > span[1]) == (kind == "tpot")          # a TPOT bound past the axis, a throughput floor below it
    side = ("right of" if target > span[1] else "left of") if kind == "tpot" else \
        ("above" if target > span[1] else "below")
    y = T + 12 if kind == "tpot" else T + 26
    return (f'<text class="requirement" x="{W - R - 4}" y="{y}" font-size="10" fill="#2171b5" text-anchor="end">'
            f'{escape(r.text)}: {side} the axis ({"every point meets it" if every else "no point meets it"})</text>')


def own_points(results: Sequence[StrategyResult]) -> OwnPoints:
    """The plan's own strategies on the Pareto plot (`pareto_svg`'s `own`: name, TPOT, decode tokens/s
    per GPU, correct) and those it cannot draw, with no figures (`unplotted`)."""
    return {"own": [(r.decl.name or r.decl.text, r.metrics.tpot_s, r.metrics.decode_tokens_per_s_per_gpu,
                     r.verdict.correct is not False) for r in results if r.metrics],
            "unplotted": tuple(r.decl.name or r.decl.text for r in results if not r.metrics)}


def plan_pareto_svg(plan: Plan, found: SearchResult, results: Sequence[StrategyResult]) -> str:
    """pareto.svg of a plan's search with its own strategies (`results`) marked: compile's and the search's. A plan
    read with `--set` says so in the title, as report.md does (until 2026-11-30 a what-if's plot, written where the
    plan's own goes, `out/<plan>/pareto.svg`, looked the same as the plan's). Its third line names the plan as
    `plan_mark` does, by which a compile carries a search's plot of the same plan only (`output_dir.carry_over`)."""
    svg = pareto_svg(found, f"{titled(plan)}: decode throughput per GPU vs TPOT", requirements=plan.requirements,
                     errors=pareto_errors(plan), **own_points(results))
    root, rest = svg.split("\n", 1)
    signature, rest = rest.split("\n", 1)
    return "\n".join((root, signature, plan_mark(plan), rest))


def plan_mark(plan: Plan) -> str:
    """A comment naming the plan a plot is of: a digest of its text as read, its `--set`s and its searched workload
    (`--vary batch` searches another), the same for the same plan, another for any change to it."""
    text = next(iter(plan.spans.values())).source.text if plan.spans else plan.name
    seen = "\0".join((text, *plan.overrides, repr(plan.workload.batch_max), repr(plan.workload.batch)))
    return f"<!-- dagc plan {hashlib.sha256(seen.encode()).hexdigest()[:16]} -->"
