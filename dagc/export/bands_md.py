"""report.md's section on error bands: each requirement's band and odds, each figure's band and regime.

Input: a `StrategyResult`. Output: Markdown lines (`bands_md`), from `dagc.verdict.bands.bands_of` — the
figures report.json's `bands` and `requirements[].probability` / `class` hold (docs/bands.md).
"""

from __future__ import annotations

from ..units import Dimension, format_figure, format_si
from ..verdict.bands import Band, Bands, bands_of
from ..verdict.check import StrategyResult
from .bands_words import bands_source, odds_text, value_band_text
from .md_escape import md_code, md_prose, md_text

__all__ = ["bands_md", "figure_text"]


def figure_text(key: str, x: float) -> str:
    """A banded figure in its unit: seconds for times, tokens/s, requests/s.

    Example:
        >>> figure_text("tpot_s", 0.0412), figure_text("decode_tokens_per_s", 4554.1), \\
        ...     figure_text("load.capacity_requests_per_s", 15.99)
        ('41.2 ms', '4,554 tokens/s', '15.99 requests/s')
    """
    if "tokens_per_s" in key:
        return f"{format_figure(x)} tokens/s"
    if "requests_per_s" in key:
        return f"{format_figure(x)} requests/s"
    return format_si(x, Dimension.TIME)


def _bound_text(b: Band) -> str:
    if b.bound is None:
        return "—"
    share = f"{format_figure(100 * b.value / b.bound)} % of {figure_text('tokens_per_s', b.bound)}"
    return f"**past it**: {share}" if b.past_bound else share


def _source(banded: Bands) -> str:
    """Where the section's bands come from: the ledger's words as before, else `bands_source`'s."""
    bands = [*banded.figures.values(), *(o.band for o in banded.requirements if o.band is not None)]
    said = bands_source(bands)
    if said == bands_source([]):        # the ledger's alone
        return ("from dagc's errors on published serving runs it was not tuned on, in the figure's regime (engine, "
                "GPU family, serving mode, concurrency band, quantity; docs/bands.md)")
    return said


def bands_md(r: StrategyResult) -> list[str]:
    """The section: the requirements with their bands and odds, then every banded figure (none without
    figures)."""
    banded = bands_of(r)
    if not banded.figures and not any(o.probability is not None for o in banded.requirements):
        return []
    conf = f"{banded.confidence * 100:.0f} %"
    # the odds beside the Requirements table's *met*, which a plan without requirements has neither of
    odds = (" *met* (the [Requirements](#requirements) table's column) is dagc's figure against the target; *odds* "
            "what the deployment is likely to do: `meets` when the whole band meets the target, `misses` when it "
            "misses it, else `uncertain`." if r.requirements else "")
    lines = ["## Error bands", "", f"Where the measured value of each figure lies, at {conf}, {_source(banded)}.{odds}",
             ""]
    if r.requirements:
        lines += ["| requirement | dagc [band] | odds |", "|---|---|---|"]
        lines += [f"| {md_code(q.requirement.text, in_table=True)} | "
                  f"{value_band_text(q, o) if q.value is not None else 'not computed'} | {odds_text(o, r.valid)} |"
                  for q, o in zip(r.requirements, banded.requirements, strict=True)]
        lines += [""]
    if banded.figures:
        lines += [f"| figure | dagc | {conf} band | regime (runs) | of the physical bound |", "|---|---:|---|---|---|"]
        for key, b in banded.figures.items():
            lines += [f"| `{key}` | {figure_text(key, b.value)} | {figure_text(key, b.low)} – "
                      f"{figure_text(key, b.high)} | {md_code(b.regime, in_table=True)} ({b.runs}) | "
                      f"{_bound_text(b)} |"]
        lines += [""]
        notes = {b.regime: b.note for b in banded.figures.values() if b.note}
        # a regime names the GPU, which a plan may name: its note is text, never markup, but for the calibration file's
        # code span dagc's words put there (`calibration `cal.json` has 3 runs`: until 2026-11-30 shown as backticks)
        lines += [f"- {md_code(k)}: {md_prose(n, colons=True)}." for k, n in notes.items()] + ([""] if notes else [])
        clamped = {k: b.clamped for k, b in banded.figures.items() if b.clamped}
        clamped |= {k: b.floored for k, b in banded.figures.items() if b.floored and not b.clamped}
        lines += [f"- `{k}`'s band: {md_text(c)}." for k, c in clamped.items()] + ([""] if clamped else [])
        past = [k for k, b in banded.figures.items() if b.past_bound]
        if past:
            lines += ["**Warning**: " + ", ".join(f"`{k}`" for k in past) + " — the figure, or its band, claims more "
                      "than the GPUs can do at 100 % efficiency.", ""]
    return lines
