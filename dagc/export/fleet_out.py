"""`dagc fleet`'s pages: fleet.md (the ranking in words and a table) and fleet.svg (cost per million tokens
against TPOT at the tables' percentile, a colour a GPU type).

Input: report.json's `fleet` (`dagc.export.fleet_json.fleet_json`) — the pages read the figures it holds,
they compute none. Output: the markdown and the SVG text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..fleet.profiles import borrowed_note, engines_note
from ..lang.fields import requirement_name
from ..plan.workload import Requirement
from ..search.at_rate import SHOWN_DEFAULT
from ..units import Dimension, count_text, format_figure, format_si
from ..verdict.verdict import requirement_value_text
from .axes import ticks
from .bands_words import binding_caveat_json, met_caveat_json
from .binding_text import front_end_text
from .fleet_words import (
    CLOSE_WORDS,
    SAME_PICK_WORDS,
    TOKENS_COUNTED,
    basis_words,
    capacity_words,
    close_text,
    cluster_text,
    cost_figure,
    held_by_batch,
    idle_instances,
    missed_text,
    picks_text,
    rate_text,
    rented_figure,
    rented_text,
    replicas_words,
    search_command,
    strategy_cell,
)
from .md_escape import md_code, md_prose, md_text
from .pareto import escape

__all__ = ["FLEET_SIGNATURE", "binds_text", "fleet_md", "fleet_svg", "load_headers", "pick_load_cells", "pick_odds",
           "shown_percentiles"]

FLEET_SIGNATURE = "<!-- dagc fleet: cost per million tokens vs TPOT -->"
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
W, H, L, R, T, B = 720, 460, 70, 170, 70, 50      # T: the title and up to three lines of legend above the plot


def _cost(row: dict[str, Any], by: str) -> float | None:
    """The cost per million tokens on the GPUs the pick uses."""
    return row.get("per_million_tokens" if by == "money" else "gpu_hours_per_million_tokens")


def _rented(row: dict[str, Any], by: str) -> float | None:
    """The cost per million tokens with every GPU the cluster rents charged: what the fleet ranks by."""
    return rented_figure(row, "per_million_tokens" if by == "money" else "gpu_hours_per_million_tokens")


def _whose(best: dict[str, Any]) -> str:
    """`The same pick: ` — with mixes, `Mix "chat"'s pick: `, the heaviest mix's, which its `dagc search` gives (until
    2026-11-30 "The same pick" beside a best whose other mix picked another strategy, as the terminal says it)."""
    mixes = best.get("mixes") or ()
    if not mixes:
        return "The same pick: "
    return f'Mix "{md_text(max(mixes, key=lambda m: m["weight"])["mix"])}"\'s pick: '


def _cost_text(value: float | None, by: str) -> str:
    """A cost as fleet.md writes it: `\\$0.3014`, its `$` escaped as every `$` of the page is (`md_text`: two would
    pair as GitHub's math; until 2026-12-01 the figures dagc wrote itself were bare beside the escaped ones of its
    sentences, `$1.081 … \\$0.5404`)."""
    return md_text(cost_figure(value, by))


def _rent_words(row: dict[str, Any]) -> str:
    """`, $8.4/h`: what the cluster rents for an hour, as the terminal's line of the same pick on more GPUs says it
    (none without a price)."""
    return md_text(f", ${format_figure(rent)}/h") if (rent := row.get("rent_per_hour")) else ""


def _time(value: float | None) -> str:
    return "—" if value is None else format_si(value, Dimension.TIME)


def shown_percentiles(picks: Iterable[dict[str, Any] | None]) -> tuple[int, int]:
    """The TTFT and TPOT percentiles the fleet's tables show, as `dagc search --rate` shows them
    (`dagc.search.at_rate.shown_percentiles`): each the highest the picks' requirements bound (`ttft_p90 <= 1 s`:
    p90), else p99 TTFT and p90 TPOT."""
    named: dict[str, list[int]] = {"ttft": [], "tpot": []}
    for pick in picks:
        for q in (pick or {}).get("requirements") or ():
            kind = requirement_name(str(q.get("name")))
            if kind is not None and kind[1] is not None and kind[0].value in named:
                named[kind[0].value].append(kind[1])
    return max(named["ttft"], default=SHOWN_DEFAULT[0]), max(named["tpot"], default=SHOWN_DEFAULT[1])


def svg_tpot(doc: dict[str, Any]) -> int:
    """The TPOT percentile fleet.svg plots: the one the fleet's tables show (`shown_percentiles`; until 2026-11-30
    always p90, beside a table of the plan's p50)."""
    return shown_percentiles(r.get("pick") for r in (*doc["ranked"], *doc["not_meeting"]))[1]


def load_headers(shown: tuple[int, int]) -> tuple[str, str]:
    """The TTFT and TPOT columns' headers: `p90 TTFT`, `p90 TPOT`."""
    return f"p{shown[0]} TTFT", f"p{shown[1]} TPOT"


def pick_load_cells(pick: dict[str, Any], shown: tuple[int, int] = SHOWN_DEFAULT) -> tuple[str, str, str]:
    """A fleet row's pick's goodput (requests/s), TTFT and TPOT at the `shown` percentiles (`shown_percentiles`), as
    its tables show them, from the answer's JSON (`dagc.fleet.cluster`: answers cross processes and the results
    file as JSON)."""
    load = pick["load"]
    return (format_figure(load["goodput_requests_per_s"]), _time(load["ttft_s"][f"p{shown[0]}"]),
            _time(load["tpot_s"][f"p{shown[1]}"]))


def missed_with_figures(row: dict[str, Any]) -> str:
    """Why a cluster misses (`missed_text`) and the figures its pick misses with — with mixes, the pick of the first
    mix that misses, the one its `binding` names, not the heaviest mix's, and ` under mix "long"` to say whose — as the
    terminal and fleet.md both say it (`misses tpot_p90 <= 60 ms — its best, `tp 8` on 8 GPUs: p99 TTFT 1.2 s, p90
    TPOT 62.28 ms, goodput 9.8 requests/s`); a failure or a note alone."""
    why = missed_text(row)
    mix = next((m for m in row.get("mixes") or () if not m.get("meets_requirements")), None)
    pick, whose = (row.get("pick"), "") if mix is None else (mix.get("pick"), f' under mix "{mix["mix"]}"')
    if not isinstance(pick, dict) or row.get("failed") or row.get("note"):
        return why
    shown = shown_percentiles([pick])
    goodput, ttft, tpot = pick_load_cells(pick, shown)
    steady = "".join(f"{s}, " for s in steady_missed(pick))
    return (f"{why} — its best{whose}, `{pick['strategy']}` on {count_text(pick['gpus'], 'GPU')}: {steady}"
            f"p{shown[0]} TTFT {ttft}, p{shown[1]} TPOT {tpot}, goodput {goodput} requests/s"
            + (f".{front}" if (front := front_end_text(pick["load"].get("binding") or {})) else ""))


def steady_missed(pick: dict[str, Any]) -> list[str]:
    """The figures of the steady-state requirements a pick misses, each in its requirement's unit —
    `decode_throughput 0.7112 tokens/ms/gpu (steady state)` beside `misses decode_throughput >= 100 tokens/ms/gpu` —,
    as a load line's figure stands in its TTFT or TPOT cell (until 2026-12-02 such a line named the requirement
    alone, its figure nowhere).

    Example:
        >>> steady_missed({"requirements": [{"name": "tpot", "op": "<=", "target": 0.001, "value": 0.0225,
        ...     "met": False, "judged_on": "steady-state", "text": "tpot <= 1 ms"}]})
        ['tpot 22.5 ms (steady state)']
    """
    out = []
    for q in pick.get("requirements") or ():
        name = str(q.get("name"))
        kind = requirement_name(name.removesuffix("_per_gpu"))
        if q.get("met") is not False or q.get("judged_on") != "steady-state" or kind is None or q.get("value") is None:
            continue
        req = Requirement(kind=kind[0], op=str(q["op"]), target=float(q["target"]), per_gpu=name.endswith("_per_gpu"),
                          text=str(q["text"]))
        out.append(f"{req.written_name} {requirement_value_text(req, float(q['value']))} (steady state)")
    return out


def pick_odds(row: dict[str, Any]) -> str | None:
    """What dagc's error leaves of a cluster's pick meeting every requirement: its requirements whose 80 % band
    straddles or misses the target, with the odds `dagc check` gives them (`met_caveat_json` of the pick's
    `requirements`, `dagc search --rate`'s row); None when every band meets, for a cluster that misses, and for an
    answer written before its picks carried their odds."""
    pick = row.get("pick")
    if not row.get("meets_requirements") or not isinstance(pick, dict):
        return None
    return met_caveat_json(pick.get("requirements") or ())


def binds_text(row: dict[str, Any]) -> str:
    """A fleet row's `binds` cell: what binds its pick, and what dagc's error leaves uncertain of it (`pick_odds`);
    a binding requirement that is also uncertain named once, with both facts (`binding_caveat_json`)."""
    binding = row.get("binding") or "—"
    if pick_odds(row) is None:
        return binding
    mixes = row.get("mixes") or ()
    # with mixes, the row's pick and binding are its heaviest mix's, the binding prefixed with `mix "chat": `
    own = (max(mixes, key=lambda m: m["weight"]).get("binding") if mixes else row.get("binding")) or ""
    head = binding[:-len(own)] if own and binding.endswith(own) else ""
    return head + binding_caveat_json(own or binding, row["pick"].get("requirements") or ())


def fleet_md(doc: dict[str, Any], plan: str, svg_name: str | None = "fleet.svg") -> str:
    """fleet.md: which cluster to rent, the ranking, and the clusters that miss."""
    f = doc
    by = f["ranked_by"]
    unit = (md_text(f"$ per million tokens ({TOKENS_COUNTED})") if by == "money" else
            f"GPU-hours per million tokens ({TOKENS_COUNTED}; no GPU has a price)") \
        + " with every GPU the cluster rents charged"
    out = [f"# Fleet: {md_text(plan)}", "",
           f"{f['meeting']} of {f['clusters']} clusters meet every requirement {md_text(rate_text(f))} "
           f"(each cluster's strategies searched by the objective {md_text(f['objective'])}), the clusters ranked "
           f"by {unit}.", ""]
    best = f["best"]
    if best is not None:
        c = best["cluster"]
        out += [f"**Rent {md_text(cluster_text(best))} served by {md_text(c['engine'])}**: "
                f"{picks_text(best, md_code, md_text) if best.get('mixes') else md_code(best['pick']['strategy'])}"
                + ("" if best.get("mixes") else f" on {count_text(best['pick']['gpus'], 'GPU')}"
                   f"{md_text(replicas_words(best))} ({count_text(best['instances'], 'instance')} in the cluster)")
                + ", "
                f"{_cost_text(_rented(best, by), by)} per million tokens{basis_words(best)}"
                f"{md_text(rented_text(best, by))}{md_text(capacity_words(best))}; "
                f"what binds: {md_text(binds_text(best))}.",
                "", _whose(best) + md_code(search_command(best)) + ".", ""]
        same = [r for r in f["ranked"] if r["index"] in set(f.get("same_pick_as_best_index", ()))]
        if same:
            figure = "per_million_tokens" if by == "money" else "gpu_hours_per_million_tokens"
            out += [f"The same pick on more GPUs, where {SAME_PICK_WORDS}: "
                    + ", ".join(f"{md_text(cluster_text(r))} ({md_text(idle_instances(r))}{_rent_words(r)}, "
                                f"{_cost_text(rented_figure(r, figure), by)} per million tokens with every GPU it "
                                "rents charged)" for r in same) + ".", ""]
        if close := [r for r in f["ranked"] if r["index"] in set(f.get("within_error_of_best_index", ()))]:
            out += [f"Within dagc's error of the best ({CLOSE_WORDS}), the pick could change within the bands: "
                    + md_text(close_text(close, by)) + ".", ""]
        if held := held_by_batch(best, f["not_meeting"]):
            out += [md_prose(held[0].upper() + held[1:]) + ".", ""]
    if svg_name:
        out += [f"![cost per million tokens vs p{svg_tpot(f)} TPOT]({svg_name})", ""]
    if f["ranked"]:
        shown = shown_percentiles(r.get("pick") for r in f["ranked"])
        ttft_head, tpot_head = load_headers(shown)
        out += [f"| # | cluster | engine | strategy | GPUs | instances | goodput req/s | {ttft_head} | {tpot_head} | "
                "per Mtok | per Mtok on GPUs used | rent | binds |", "|---" * 13 + "|"]
        for k, r in enumerate(f["ranked"], 1):
            c, pick = r["cluster"], r["pick"]
            rent = r.get("rent_per_hour")
            goodput, ttft, tpot = pick_load_cells(pick, shown)
            out.append(f"| {k} | {md_text(cluster_text(r))} | {md_text(c['engine'])} | "
                       f"{strategy_cell(r, lambda t: md_code(t, in_table=True), md_text)} | "
                       f"{pick['gpus']} | {r['instances']} | {goodput} | {ttft} | {tpot} | "
                       f"{_cost_text(_rented(r, by), by)} | {_cost_text(_cost(r, by), by)} | "
                       f"{'—' if rent is None else md_text(f'${format_figure(rent)}/h')} | "
                       f"{md_text(binds_text(r))} |")
        out.append("")
        out += [x for note in _table_notes(f) if note for x in (md_text(note), "")]
    if f["not_meeting"]:
        out += ["## Not meeting every requirement", ""]
        for r in f["not_meeting"]:
            out.append(f"- {md_text(r['label'])}: {md_prose(missed_with_figures(r))}")     # its strategy as code
        out.append("")
    return "\n".join(out)


def fleet_svg(doc: dict[str, Any], title: str) -> str:
    """fleet.svg: each cluster's pick at its TPOT (at the tables' percentile, `svg_tpot`) and cost per million tokens
    (every GPU it rents charged, what the fleet ranks by), a colour a GPU type;
    filled: meets every requirement, hollow: misses one."""
    by, q = doc["ranked_by"], f"p{svg_tpot(doc)}"
    rows = [r for r in (*doc["ranked"], *doc["not_meeting"])
            if r.get("pick") and _rented(r, by) is not None and r["pick"]["load"]["tpot_s"][q] is not None]
    gpus = list(dict.fromkeys(r["cluster"]["gpu"] for r in (*doc["ranked"], *doc["not_meeting"])))
    colour = {g: _COLOURS[i % len(_COLOURS)] for i, g in enumerate(gpus)}
    xs = [r["pick"]["load"]["tpot_s"][q] * 1e3 for r in rows] or [1.0]
    ys = [_rented(r, by) or 0.0 for r in rows] or [1.0]
    x1, y1 = max(xs) * 1.1, max(ys) * 1.1

    def sx(x: float) -> float:
        return L + x / (x1 or 1) * (W - L - R)

    def sy(y: float) -> float:
        return H - B - y / (y1 or 1) * (H - T - B)

    ylabel = ("$" if by == "money" else "GPU-hours") + " per million tokens, every GPU rented"
    undrawn = _undrawn_lines(doc, rows, by, q)
    h = H + 14 * len(undrawn) + (4 if undrawn else 0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" '
           'font-family="Helvetica, DejaVu Sans, sans-serif">', FLEET_SIGNATURE,
           f'<rect width="{W}" height="{h}" fill="white"/>',
           f'<text x="{L}" y="22" font-size="14" font-weight="bold">{escape(title)}</text>',
           f'<text x="{L}" y="38" font-size="11">each cluster\'s pick {escape(rate_text(doc))}</text>',
           f'<text x="{L}" y="52" font-size="10">filled: meets every requirement, hollow: misses one; the label is '
           'its GPU count</text>']
    if any(r.get("mixes") for r in rows):       # as the table's row: the heaviest mix's figures, the costs averaged
        out.append(f'<text x="{L}" y="{T - 6}" font-size="10">with mixes: each pick\'s {q} TPOT under its heaviest '
                   'mix; costs averaged over the mixes; tooltips name each mix\'s pick</text>')
    for t in ticks(0.0, x1):
        out += [f'<line x1="{sx(t):.1f}" y1="{T}" x2="{sx(t):.1f}" y2="{H - B}" stroke="#eeeeee"/>',
                f'<text x="{sx(t):.1f}" y="{H - B + 16}" font-size="10" text-anchor="middle">{t:g}</text>']
    for t in ticks(0.0, y1):
        out += [f'<line x1="{L}" y1="{sy(t):.1f}" x2="{W - R}" y2="{sy(t):.1f}" stroke="#eeeeee"/>',
                f'<text x="{L - 6}" y="{sy(t) + 3:.1f}" font-size="10" text-anchor="end">{t:g}</text>']
    out += [f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="#333"/>',
            f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="#333"/>',
            f'<text x="{(L + W - R) / 2}" y="{H - 14}" font-size="12" text-anchor="middle">{q} TPOT (ms)</text>',
            f'<text x="16" y="{(T + H - B) / 2}" font-size="12" text-anchor="middle" '
            f'transform="rotate(-90 16 {(T + H - B) / 2})">{ylabel}</text>']
    # clusters whose picks fall on one point: one mark, their counts joined
    at: dict[tuple[str, float, float, bool], list[dict[str, Any]]] = {}
    for r in rows:
        x, y = sx(r["pick"]["load"]["tpot_s"][q] * 1e3), sy(_rented(r, by) or 0.0)
        at.setdefault((r["cluster"]["gpu"], round(x, 1), round(y, 1), bool(r.get("meets_requirements"))), []).append(r)
    for (gpu, x, y, meets), same in at.items():
        fill = colour[gpu] if meets else "white"
        names = "; ".join(f"{r['label']}: {strategy_cell(r)}" for r in same)
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{fill}" stroke="{colour[gpu]}" '
                   f'stroke-width="2"><title>{escape(names)}</title></circle>')
        counts = ", ".join(str(r["cluster"]["gpus"]) for r in same)
        out.append(f'<text x="{x + 7:.1f}" y="{y + 4:.1f}" font-size="10">{escape(counts)}</text>')
    out += _legend(gpus, colour)
    out += [f'<text x="{L}" y="{H + 14 * i}" font-size="10">{escape(t)}</text>' for i, t in enumerate(undrawn)]
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _legend(gpus: list[str], colour: dict[str, str]) -> list[str]:
    """A dot of each GPU type's colour and its name, right of the plot."""
    out: list[str] = []
    for i, g in enumerate(gpus):
        y = T + 10 + 18 * i
        out += [f'<circle cx="{W - R + 20}" cy="{y}" r="5" fill="{colour[g]}"/>',
                f'<text x="{W - R + 30}" y="{y + 4}" font-size="11">{escape(g)}</text>']
    return out


def _undrawn_lines(doc: dict[str, Any], rows: list[dict[str, Any]], by: str, q: str) -> list[str]:
    """The clusters fleet.svg has no point for, each with why, in lines under the plot (about 0.55 em a character
    at 10 px): a cluster without a strategy, or whose pick served nothing within the requirements (no cost per
    million tokens), or without the percentile's TPOT. Until 2026-11-30 they were left out without a word, so a
    picture of 9 clusters showed 7 and a reader took 8 H200s for untried."""
    drawn = {id(r) for r in rows}
    why = [f"{r['label']} ({_undrawn_reason(r, by, q)})" for r in (*doc["ranked"], *doc["not_meeting"])
           if id(r) not in drawn]
    lines: list[str] = []
    for words in (["not drawn:", *[f"{w};" for w in why[:-1]], *why[-1:]] if why else []):
        if lines and len(lines[-1]) + 1 + len(words) <= (W - L) / 5.5:
            lines[-1] += " " + words
        else:
            lines.append(words)
    return lines


def _undrawn_reason(row: dict[str, Any], by: str, q: str) -> str:
    if not row.get("pick"):
        return "no strategy"
    if _rented(row, by) is None:
        return "no goodput within the requirements: no cost"
    return f"no {q} TPOT"


def _table_notes(f: dict[str, Any]) -> tuple[str | None, ...]:
    """The notes under fleet.md's table, as the terminal gives them (`dagc.cli.print_fleet`): outside the
    calibration's runs, another GPU's kernel profile, another engine release's terms."""
    gpus = ((r["cluster"]["gpu"], r["cluster"].get("kernel_profile")) for r in f["ranked"])
    engines = engines_note(r["cluster"]["engine"] for r in f["ranked"])
    return f.get("outside_calibration"), borrowed_note(gpus), engines
