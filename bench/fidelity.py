"""Fidelity of dagc's cost model against the measurements in bench/calibration/.

Usage:
    python bench/fidelity.py              # regenerate docs/fidelity.md and docs/fidelity.svg, print the figures
    python bench/fidelity.py --check      # print the figures only
    python bench/fidelity.py --out DIR    # write fidelity.md and fidelity.svg into DIR instead of docs/

Two comparisons, both computed here from the data (no figure is typed in):

(a) Each built-in kernel profile against the measurements it was made from: the profile's
    prediction at every measured point of bench/calibration/<gpu>-ops.json (the graph-timed
    `g_*` sections, eager `attn_prefill` and the eager HBM copy, as bench/make_profiles.py
    takes them) versus the measured seconds. The profile uses the monotone envelope of the
    measurements, so a point slower than a larger shape of its series is predicted at the
    larger shape's time; those points are counted ("lowered").
(b) Whole-model runs on one H100 (bench/calibration/h100-sxm-e2e-*.json) against
    `dagc.verdict.check.check(...)[0].metrics` of the plan that describes each run: TTFT for prefill
    runs, TPOT for graph-captured decode steps.

(d) `serving = inflight` plans of published serving runs (bench/fidelity_inflight.py, which
    names each source): mean TPOT and output tokens/s per GPU.
(e) Disaggregated `prefill N < A > decode M < B >` plans of published disaggregated deployments
    (bench/fidelity_disagg.py, which names each source): each pool's input or output tokens/s per
    node against the published prefill-only or decode-only benchmark.
(f) Speculative decoding (MTP) plans of published DeepSeek-V3/R1 runs with and without it
    (bench/fidelity_speculative.py, which names each source), given the published accept length:
    the speed-up and the tokens/s per user or per GPU.
(g) Engine-measured kernel profiles (bench/fidelity_engines.py, which needs the extra `dagc[engines]`
    and records its figures in bench/engine_fidelity.json, rendered here): dagc against the engine
    tables' own static estimates and against the published measurements of (d).
(h) The public corpus (bench/corpus/, run by bench/fidelity_corpus.py, which records its figures in
    bench/corpus_results.json, rendered here): every published run with its engine in the plan, per
    half of the split, and the held-out half's targets. The published runs of (d), (e) and (f) are
    read from the corpus files: they are one list.

Caveats: (b) uses the cost model as it is in the working tree; the measured reference is
plain PyTorch on one GPU, so no collective is exercised (docs/fidelity.md, "Known limits").
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:       # run as a script from anywhere: import the working tree's dagc
    sys.path.insert(0, str(ROOT))
if str(ROOT / "bench") not in sys.path:     # and its siblings bench/fidelity_*.py, however it is loaded
    sys.path.insert(0, str(ROOT / "bench"))

import fidelity_corpus  # noqa: E402, I001  (bench/, on the path above)
import fidelity_disagg  # noqa: E402, I001  (bench/, on the path above)
import fidelity_engines  # noqa: E402, I001  (bench/, on the path above)
import fidelity_inflight  # noqa: E402, I001  (bench/, on the path above)
import fidelity_regimes  # noqa: E402, I001  (bench/, on the path above)
import fidelity_speculative  # noqa: E402, I001  (bench/, on the path above)

from dagc.verdict.steady import SteadyMetrics  # noqa: E402
from dagc.kernels.kernels import KernelProfile, builtin_profile  # noqa: E402
from dagc.lang.load import load_plan_text  # noqa: E402
from dagc.verdict.check import check  # noqa: E402

__all__ = ["E2E_MODELS", "KERNEL_MEDIAN_TARGET", "E2E_MEDIAN_TARGET", "E2E_WORST_TARGET", "ClassSummary",
           "E2ECase", "OpPoint", "Skipped", "compute", "e2e_cases", "e2e_summary", "e2e_targets", "kernel_points",
           "kernel_summary", "kernel_targets", "main", "plan_text", "render_markdown", "render_svg"]

CALIBRATION = ROOT / "bench" / "calibration"
DOCS = ROOT / "docs"
PROFILES = {"h100-sxm": "h100-sxm-ops.json", "h200": "h200-ops.json"}
E2E_MODELS = {"mixtral-8x7b": 16, "qwen3-30b-a3b": 24}     # model preset → layers the runs had
KERNEL_MEDIAN_TARGET = 0.05      # (a) median |error| per profile
E2E_MEDIAN_TARGET = 0.15         # (b) median |error| over every case
E2E_WORST_TARGET = 0.40          # (b) no case worse than this
BANDS = (0.15, 0.40)             # the plot's bands around y = x
GLUE_OPS = ("rms_norm", "silu_mul", "router_topk", "permute", "unpermute")
_EXACT = 1e-6                    # relative difference below which two times are "the same"


# ---------------------------------------------------------------- (a) profile vs its measurements


@dataclass(frozen=True)
class OpPoint:
    """One measured point of an ops file and the profile's prediction there."""

    profile: str
    op_class: str
    shape: str
    measured_s: float
    envelope_s: float      # least time at this point or any point of its series with at least as many tokens
    predicted_s: float

    @property
    def error(self) -> float:
        return (self.predicted_s - self.measured_s) / self.measured_s

    @property
    def envelope_error(self) -> float:
        return (self.predicted_s - self.envelope_s) / self.envelope_s

    @property
    def lowered(self) -> bool:
        return self.envelope_s < self.measured_s * (1 - _EXACT)


# (op class, series key, token coordinates, shape label, prediction) per source row.
_Spec = tuple[str, tuple, tuple[float, ...], str, Callable[[KernelProfile], float]]


def _gemm(r: dict, dtype: str) -> _Spec:
    m, n, k = r["M"], r["N"], r["K"]
    return (f"gemm {dtype}", (dtype, n, k), (m,), f"M={m} N={n} K={k}",
            lambda p: float(p.gemm_s(m, n, k, dtype)))


def _grouped(r: dict) -> _Spec:
    e, t, k, n = r["E"], r["tokens_per_expert"], r["K"], r["N"]
    return ("grouped gemm", (e, k, n), (t,), f"E={e} t={t:g} K={k} N={n}",
            lambda p: float(p.grouped_gemm_s(e, t, k, n)))


def _prefill(r: dict) -> _Spec:
    b, s, h, hkv, d = r["B"], r["S"], r["H"], r["Hkv"], r["D"]
    return ("attn prefill", (h, hkv, d), (s,), f"B={b} S={s} H={h} Hkv={hkv} D={d}",
            lambda p: float(p.attn_prefill_s(b, s, h, hkv, d)))


def _decode(r: dict) -> _Spec:
    b, c, h, hkv, d = r["B"], r["ctx"], r["H"], r["Hkv"], r["D"]
    return ("attn decode", (h, hkv, d), (b, c), f"B={b} ctx={c} H={h} Hkv={hkv} D={d}",
            lambda p: float(p.attn_decode_s(b, c, h, hkv, d)))


def _mla(r: dict) -> _Spec:
    b, c, h = r["B"], r["ctx"], r["heads"]
    return ("mla decode", (h,), (b, c), f"B={b} ctx={c} heads={h}", lambda p: float(p.mla_decode_s(b, c, h)))


def _memory(op: str, nbytes: float, label: str) -> _Spec:
    return ("memory", (op,), (nbytes,), f"{op} {label}", lambda p: float(p.memory_s(nbytes, op)))


def _specs(sections: dict) -> Iterable[tuple[_Spec, float]]:
    """Every row make_profiles.py turns into a profile row, with its measured seconds."""
    for r in sections["g_gemm_bf16"]:
        yield _gemm(r, "bf16"), r["s"]
    for r in sections["g_gemm_fp8"]:
        yield _gemm(r, "fp8"), r["s"]
    for r in sections["g_grouped_mm"]:
        yield _grouped(r), r["s"]
    for r in sections["attn_prefill"]:
        yield _prefill(r), r["s"]
    for r in sections["g_attn_decode"]:
        yield _decode(r), r["s"]
    for r in sections.get("g_mla_decode", []):
        yield _mla(r), r["s"]
    for r in sections["g_glue"]:
        if r["op"] in GLUE_OPS:
            yield _memory(r["op"], r["bytes"], f"T={r['T']} H={r['H']}"), r["s"]
    for r in sections["hbm"]:
        if "copy_s" in r:
            yield _memory("copy", r["bytes"], f"{r['mib']} MiB"), r["copy_s"]


def kernel_points(profile: str) -> list[OpPoint]:
    """The profile's prediction at every measured point of its source file.

    Args:
        profile: a built-in profile name (`h100-sxm`, `h200`).

    Returns:
        One `OpPoint` per measured row, in file order.

    Example:
        >>> pts = kernel_points("h100-sxm")
        >>> sorted({p.op_class for p in pts})[:2]
        ['attn decode', 'attn prefill']
    """
    if profile not in PROFILES:
        raise KeyError(f"no calibration file for profile {profile!r}; known: {', '.join(PROFILES)}")
    sections = json.loads((CALIBRATION / PROFILES[profile]).read_text())["sections"]
    prof = builtin_profile(profile)
    rows = list(_specs(sections))
    out = []
    for (cls, series, tokens, label, predict), s in rows:
        # The envelope as docs/kernels.md defines it: same series, at least as many tokens in every coordinate.
        env = min(s2 for (c2, se2, t2, _, _), s2 in rows
                  if c2 == cls and se2 == series and all(a >= b for a, b in zip(t2, tokens, strict=True)))
        out.append(OpPoint(profile, cls, label, s, env, predict(prof)))
    return out


@dataclass(frozen=True)
class ClassSummary:
    """Errors of one op class (or `all`) of one profile."""

    profile: str
    op_class: str
    points: int
    median_abs_error: float
    worst_abs_error: float
    worst_shape: str
    lowered: int
    worst_envelope_error: float     # |prediction − envelope| / envelope: 0 when the profile reproduces its envelope


def _summary(profile: str, cls: str, pts: Sequence[OpPoint]) -> ClassSummary:
    # rounded to 1e-12, so that errors equal but for rounding (0 to ~1e-16 where the profile reproduces
    # its points) name the first of them, whatever numpy's last bits: the page is the same everywhere
    worst = max(pts, key=lambda p: round(abs(p.error), 12))
    return ClassSummary(profile, cls, len(pts), statistics.median(abs(p.error) for p in pts), abs(worst.error),
                        worst.shape, sum(p.lowered for p in pts), max(abs(p.envelope_error) for p in pts))


def kernel_summary(points: Sequence[OpPoint]) -> list[ClassSummary]:
    """Per profile, one summary per op class (sorted) and one for `all` its points."""
    out = []
    for prof in dict.fromkeys(p.profile for p in points):
        mine = [p for p in points if p.profile == prof]
        for cls in sorted({p.op_class for p in mine}):
            out.append(_summary(prof, cls, [p for p in mine if p.op_class == cls]))
        out.append(_summary(prof, "all", mine))
    return out


# ---------------------------------------------------------------- (b) end-to-end


@dataclass(frozen=True)
class E2ECase:
    """One measured whole-model run and dagc's figure for the plan that describes it."""

    model: str
    layers: int
    phase: str            # "prefill" (TTFT) or "decode" (TPOT)
    batch: int
    prompt: int           # prompt tokens (prefill) or KV-cache context (decode)
    microbatches: int
    chunk: int
    measured_s: float
    predicted_s: float

    @property
    def workload(self) -> str:
        return (f"workload {{ batch = {self.batch} prompt = {self.prompt} generate = 1 "
                f"microbatches = {self.microbatches} }}")

    @property
    def error(self) -> float:
        return (self.predicted_s - self.measured_s) / self.measured_s


@dataclass(frozen=True)
class Skipped:
    model: str
    phase: str
    case: str
    reason: str


def plan_text(model: str, layers: int, batch: int, prompt: int, microbatches: int) -> str:
    """The dagc plan of one single-H100 run (the form `dagc check` reads).

    Example:
        >>> print(plan_text("mixtral-8x7b", 16, 8, 2048, 2))
        model preset "mixtral-8x7b" { layers = 16 }
        cluster { gpus = 1  gpu preset "h100-sxm"  engine = pytorch }
        workload { batch = 8 prompt = 2048 generate = 1 microbatches = 2 }
        strategy tp 1
        <BLANKLINE>
    """
    return (f'model preset "{model}" {{ layers = {layers} }}\n'
            f'cluster {{ gpus = 1  gpu preset "h100-sxm"  engine = pytorch }}\n'
            f"workload {{ batch = {batch} prompt = {prompt} generate = 1 microbatches = {microbatches} }}\n"
            f"strategy tp 1\n")


def _metrics(text: str) -> SteadyMetrics:
    result = check(load_plan_text(text, "fidelity.moe"))[0]
    if result.metrics is None:
        codes = ", ".join(d.code for d in result.diagnostics)
        raise RuntimeError(f"dagc computed no metrics for the plan ({codes}):\n{text}")
    return result.metrics


def _e2e_file(model: str, layers: int) -> Path:
    return CALIBRATION / f"h100-sxm-e2e-{model}-{layers}layers.json"


def _reason(row: dict, figure: str) -> str:
    """Why a run has no figure: the exception's name (`OutOfMemoryError`), or the missing key."""
    if "error" in row:
        return "the run failed: " + str(row["error"]).split("(")[0]
    return f"no {figure} recorded"


def e2e_cases() -> tuple[list[E2ECase], list[Skipped]]:
    """Every usable whole-model run with dagc's prediction, and the runs that were skipped (why).

    Example:
        >>> cases, skipped = e2e_cases()
        >>> {c.phase for c in cases} == {"prefill", "decode"}
        True
    """
    cases, skipped = [], []
    for model, layers in E2E_MODELS.items():
        raw = json.loads(_e2e_file(model, layers).read_text())
        if raw.get("layers") != layers or raw.get("model") != model:
            raise ValueError(f"{_e2e_file(model, layers).name}: expected {model} with {layers} layers")
        for r in raw.get("prefill", []):
            label = f"batch {r['batch']} prompt {r['prompt']} chunk {r['chunk']}"
            if "error" in r or "ttft_s" not in r:
                skipped.append(Skipped(model, "prefill", label, _reason(r, "ttft_s")))
                continue
            b, chunk = r["batch"], r["chunk"]
            if b % chunk:
                raise ValueError(f"{model} prefill {label}: batch is not a multiple of chunk")
            m = _metrics(plan_text(model, layers, b, r["prompt"], b // chunk))
            cases.append(E2ECase(model, layers, "prefill", b, r["prompt"], b // chunk, chunk, r["ttft_s"],
                                 m.ttft_s))
        for r in raw.get("decode", []):
            label = f"batch {r['batch']} ctx {r['ctx']}"
            if "error" in r or "tpot_graph_s" not in r:
                skipped.append(Skipped(model, "decode", label, _reason(r, "tpot_graph_s")))
                continue
            m = _metrics(plan_text(model, layers, r["batch"], r["ctx"], 1))
            cases.append(E2ECase(model, layers, "decode", r["batch"], r["ctx"], 1, 1, r["tpot_graph_s"],
                                 m.tpot_s))
    return cases, skipped


def e2e_summary(cases: Sequence[E2ECase]) -> dict[str, tuple[int, float, float]]:
    """(count, median |error|, worst |error|) overall (`all`) and per phase."""
    groups = {"all": list(cases), "prefill": [c for c in cases if c.phase == "prefill"],
              "decode": [c for c in cases if c.phase == "decode"]}
    return {k: (len(v), statistics.median(abs(c.error) for c in v), max(abs(c.error) for c in v))
            for k, v in groups.items() if v}


# ---------------------------------------------------------------- (c) the plot

W, H, L, R, T, B = 760, 620, 90, 200, 60, 70


def render_svg(cases: Sequence[E2ECase]) -> str:
    """Log-log scatter of dagc's figure against the measured one, with y = x and the ±15 % / ±40 % bands."""
    vals = [v for c in cases for v in (c.measured_s, c.predicted_s)] or [1e-3, 1.0]
    lo = 10 ** math.floor(math.log10(min(vals) / (1 + BANDS[-1])))
    hi = 10 ** math.ceil(math.log10(max(vals) * (1 + BANDS[-1])))
    a, b = math.log10(lo), math.log10(hi)

    def sx(v: float) -> float:
        return L + (math.log10(v) - a) / (b - a) * (W - L - R)

    def sy(v: float) -> float:
        return H - B - (math.log10(v) - a) / (b - a) * (H - T - B)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           f'font-family="Helvetica, DejaVu Sans, sans-serif">', f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{L}" y="24" font-size="15" font-weight="bold">dagc vs measured, one H100 SXM (bf16)</text>',
           f'<text x="{L}" y="42" font-size="11">TTFT of prefill runs and TPOT of graph-captured decode steps; '
           f'log-log, both axes in seconds</text>']
    # Bands: polygons between y = x/(1+f) … y = x(1+f), clipped to the square by construction.
    for f, shade in zip(reversed(BANDS), ("#f2f2f2", "#dfe9f5"), strict=True):
        pts = [(lo, lo * (1 + f)), (hi / (1 + f), hi), (hi, hi), (hi, hi / (1 + f)), (lo * (1 + f), lo), (lo, lo)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        out.append(f'<polygon class="band" points="{path}" fill="{shade}"/>')
    for e in range(round(a), round(b) + 1):
        v = 10.0 ** e
        label = f"{v * 1e3:g} ms" if v < 1 else f"{v:g} s"
        out.append(f'<line x1="{sx(v):.1f}" y1="{T}" x2="{sx(v):.1f}" y2="{H - B}" stroke="#cccccc"/>')
        out.append(f'<text x="{sx(v):.1f}" y="{H - B + 16}" font-size="10" text-anchor="middle">{label}</text>')
        out.append(f'<line x1="{L}" y1="{sy(v):.1f}" x2="{W - R}" y2="{sy(v):.1f}" stroke="#cccccc"/>')
        out.append(f'<text x="{L - 6}" y="{sy(v) + 3:.1f}" font-size="10" text-anchor="end">{label}</text>')
    out.append(f'<line class="diagonal" x1="{sx(lo):.1f}" y1="{sy(lo):.1f}" x2="{sx(hi):.1f}" y2="{sy(hi):.1f}" '
               f'stroke="#333" stroke-dasharray="4 3"/>')
    out.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="#333"/>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 24}" font-size="12" text-anchor="middle">'
               f'measured (s, log scale)</text>')
    out.append(f'<text x="22" y="{(T + H - B) / 2}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 22 {(T + H - B) / 2})">dagc prediction (s, log scale)</text>')
    for c in cases:
        x, y = sx(c.measured_s), sy(c.predicted_s)
        tip = escape(f"{c.model} {c.phase} {c.workload}: measured {c.measured_s:.4g} s, dagc {c.predicted_s:.4g} s "
                     f"({c.error:+.1%})")
        fill = "#2171b5" if c.model == "mixtral-8x7b" else "#ffffff"
        if c.phase == "prefill":
            out.append(f'<circle class="prefill" cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{fill}" stroke="#2171b5" '
                       f'stroke-width="1.5"><title>{tip}</title></circle>')
        else:
            out.append(f'<rect class="decode" x="{x - 4.5:.1f}" y="{y - 4.5:.1f}" width="9" height="9" '
                       f'fill="{fill if fill == "#ffffff" else "#d94801"}" stroke="#d94801" stroke-width="1.5">'
                       f'<title>{tip}</title></rect>')
    lx, ly = W - R + 14, T + 10
    legend = [
        ('<circle cx="{x}" cy="{y}" r="5" fill="#2171b5" stroke="#2171b5"/>', "prefill TTFT, Mixtral"),
        ('<circle cx="{x}" cy="{y}" r="5" fill="#ffffff" stroke="#2171b5" stroke-width="1.5"/>', "prefill TTFT, Qwen3"),
        ('<rect x="{x0}" y="{y0}" width="9" height="9" fill="#d94801" stroke="#d94801"/>', "decode TPOT, Mixtral"),
        ('<rect x="{x0}" y="{y0}" width="9" height="9" fill="#ffffff" stroke="#d94801" stroke-width="1.5"/>',
         "decode TPOT, Qwen3"),
        ('<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#333" stroke-dasharray="4 3"/>', "y = x"),
        ('<rect x="{x0}" y="{y0}" width="9" height="9" fill="#dfe9f5"/>', f"within ±{_whole(BANDS[0])}"),
        ('<rect x="{x0}" y="{y0}" width="9" height="9" fill="#f2f2f2" stroke="#ccc"/>', f"within ±{_whole(BANDS[1])}"),
    ]
    out.append(f'<g class="legend" font-size="11"><text x="{lx}" y="{ly}" font-weight="bold">legend</text>')
    for i, (shape, text) in enumerate(legend):
        y = ly + 20 + 18 * i
        out.append(shape.format(x=lx + 5, y=y - 4, x0=lx + 0.5, y0=y - 8.5, x1=lx + 12))
        out.append(f'<text x="{lx + 20}" y="{y}">{escape(text)}</text>')
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- the page


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def _exact(x: float) -> str:
    # Below 1e-9 the difference is floating-point rounding; its digits vary by machine, so they are not printed.
    return "< 1e-9" if x < 1e-9 else f"{x:.1e}"


def _whole(x: float) -> str:
    return f"{x * 100:.0f} %"


def _signed(x: float) -> str:
    return f"{x * 100:+.1f} %"


def _ms(s: float) -> str:
    return f"{s * 1e3:.2f}"


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def kernel_targets(summaries: Sequence[ClassSummary]) -> dict[str, tuple[float, bool]]:
    """Per profile: (median |error| over all its points, whether it is ≤ the target)."""
    return {s.profile: (s.median_abs_error, s.median_abs_error <= KERNEL_MEDIAN_TARGET)
            for s in summaries if s.op_class == "all"}


def e2e_targets(summary: dict[str, tuple[int, float, float]]) -> tuple[bool, bool]:
    """(median ≤ target, worst ≤ target) over all cases."""
    _, med, worst = summary["all"]
    return med <= E2E_MEDIAN_TARGET, worst <= E2E_WORST_TARGET


def _kernel_section(summaries: Sequence[ClassSummary]) -> list[str]:
    lines = ["## (a) Each kernel profile against its own measurements", "",
             "For each built-in profile, the profile's time at every measured point of its source file "
             "(`bench/calibration/<gpu>-ops.json`: the graph-timed `g_*` sections, eager `attn_prefill` and "
             "the eager HBM copy, as `bench/make_profiles.py` takes them) against the measured seconds. "
             "Error = (profile − measured) / measured. The profile reproduces the **monotone envelope** of "
             "each series (docs/kernels.md): a point that ran slower than a larger shape of the same series is "
             "priced at that larger shape's time. *lowered* counts those points; *vs envelope* is the worst "
             "|profile − envelope| / envelope, which shows whether the rest of the error is the envelope alone.",
             "",
             "| profile | op class | points | median \\|error\\| | worst \\|error\\| | worst at | lowered | "
             "vs envelope |",
             "|---|---|---:|---:|---:|---|---:|---:|"]
    for s in summaries:
        name = "**all**" if s.op_class == "all" else s.op_class
        lines.append(f"| {s.profile} | {name} | {s.points} | {_pct(s.median_abs_error)} | "
                     f"{_pct(s.worst_abs_error)} | {s.worst_shape} | {s.lowered} | {_exact(s.worst_envelope_error)} |")
    lines.append("")
    exact = max(s.worst_envelope_error for s in summaries)
    lines.append(f"At every point the profile equals the envelope ({_exact(exact)} relative): all the error above is "
                 "points the envelope lowers. The memory ops form one series per op keyed by bytes alone, so a "
                 "slow shape (e.g. an RMSNorm at a small T with a wide hidden size) takes the time of a "
                 "faster shape with more bytes; that is where the worst differences are.")
    return lines + [""]


def _e2e_section(cases: Sequence[E2ECase], skipped: Sequence[Skipped],
                 summary: dict[str, tuple[int, float, float]]) -> list[str]:
    lines = ["## (b) End to end: whole-model runs on one H100 SXM", "",
             "`bench/calibration/h100-sxm-e2e-*.json`: a plain PyTorch MoE transformer in bf16 with random "
             "weights and the real model's dimensions (Mixtral-8x7B with 16 of its 32 layers, Qwen3-30B-A3B "
             "with 24 of its 48), on one GPU. Prefill: TTFT of `batch` requests of `prompt` tokens, `chunk` "
             "requests per forward pass (eager), compared with dagc's `ttft_s` with "
             "`microbatches = batch / chunk`. Decode: one graph-captured decode step (`tpot_graph_s`) with a KV "
             "cache of `ctx` tokens, compared with dagc's `tpot_s` with `prompt = ctx`.", "",
             "Each row is the plan below with the row's `workload` line; reproduce one with `dagc check`:", ""]
    for model, layers in E2E_MODELS.items():
        lines += ["```", plan_text(model, layers, 8, 2048, 2).replace(
            "workload { batch = 8 prompt = 2048 generate = 1 microbatches = 2 }", "<workload line of the row>")
            .rstrip("\n"), "```", ""]
    lines += ["| model | phase | plan (workload line) | measured (ms) | dagc (ms) | error |",
              "|---|---|---|---:|---:|---:|"]
    for c in cases:
        lines.append(f"| {c.model} | {c.phase} | `{c.workload}` | {_ms(c.measured_s)} | {_ms(c.predicted_s)} | "
                     f"{_signed(c.error)} |")
    lines += ["", "| cases | count | median \\|error\\| | worst \\|error\\| |", "|---|---:|---:|---:|"]
    for k, (n, med, worst) in summary.items():
        lines.append(f"| {k} | {n} | {_pct(med)} | {_pct(worst)} |")
    lines.append("")
    beyond = [c for c in cases if abs(c.error) > E2E_WORST_TARGET]
    lines.append(f"Cases beyond ±{_whole(E2E_WORST_TARGET)}: " + ("; ".join(
        f"{c.model} {c.phase} `{c.workload}` ({_signed(c.error)})" for c in beyond) if beyond else "none") + ".")
    lines.append("")
    if skipped:
        lines += ["Skipped (the measurement has no figure):", ""]
        lines += [f"- {s.model} {s.phase} {s.case}: {s.reason}" for s in skipped]
        lines.append("")
    return lines


LIMITS = """## Known limits: what the calibration does not cover

- **Multi-GPU communication is not measured.** Every run here is on one GPU. Collectives
  (all-reduce, all-gather, reduce-scatter, all-to-all, send/recv) are priced by the alpha-beta
  model of [cost-model.md](cost-model.md), "Communication" (`dagc/cost/comm.py`: ring all-reduce
  `2(n−1)/n·M/B + α`, the others `(n−1)/n·M/B + α`, with the cluster's link bandwidths and
  latencies); no measured collective backs it. The ops file's `nccl_like_local` section is a
  device-to-device copy on one GPU, not a collective, and no profile uses it. So the figures
  above say nothing about tp, ep or pp across GPUs.
- **Disaggregated serving is compared pool by pool, not end to end.** Section (e) sets each pool's
  capacity against a published prefill-only or decode-only benchmark (SGLang's DeepSeek-V3
  deployment on H100s, DeepSeek's own H800 figures). Those deployments place their experts with
  redundant slots (EPLB), which dagc cannot state yet: their EP72 and EP144 decode pools
  are written as `ep 64` and `ep 128`, the same experts and tokens per GPU; their routing is real
  traffic's, where dagc's is random. No published figure here measures TTFT, the KV transfer or
  both pools serving together, so that part of the model (docs/cost-model.md, "Disaggregated
  prefill and decode") is not checked.
- **Speculative decoding is checked for its cost, not its acceptance.** Section (f) gives dagc
  the accept length each source measured (MTP on DeepSeek-V3/R1: TensorRT-LLM at one request on
  B200s, SGLang's disaggregated decode on H200s), so only the verify step's and the draft's cost
  is compared; the `acceptance` form is not checked, and neither is EAGLE or n-gram drafting.
- **fp8 end to end is not measured.** fp8 GEMMs are measured kernel by kernel (`g_gemm_fp8`,
  in (a)); grouped GEMMs were measured in bf16 only (an fp8 grouped GEMM uses the bf16
  efficiencies with the fp8 roofline), and the whole-model runs are bf16.
- **The reference implementation is plain PyTorch** (cuBLAS, `torch._grouped_mm`, flash
  attention through `scaled_dot_product_attention`, unfused RMSNorm, router, permutation and
  scatter-add). Production engines fuse more (e.g. the permutation into the grouped GEMM) and
  run faster. The built-in profiles are timings of these kernels, so dagc's figures describe
  this implementation, not a fused engine.
- **Prefill is eager, decode graph-captured.** The TTFT runs include the host's launch gaps of an
  eager forward pass; the kernel profiles are graph-timed except `attn_prefill` and the HBM copy.
- **H200 end to end is not measured.** The H200 profile is checked only against its own kernel
  timings (a); no whole-model run on an H200 exists.
- **MLA decode is an upper bound.** The H200's `g_mla_decode` is absorbed MLA written as two
  batched GEMMs over the latent cache, much slower than a fused MLA kernel; the H100 profile has
  no MLA table and prices MLA with the decode-attention efficiencies. No MLA model (DeepSeek) was
  run end to end.
- **Routing is random.** The runs route with random weights (balanced in expectation, with
  random spread); real traffic may be more skewed.
- **Other GPUs** (b200, mi300x, a100, …) use the nearest measured profile at their own peaks
  (`for_gpu`): an assumption, not a measurement.
- **The held-out half's worst throughput, examined (2026-11-28).** It was TensorRT-LLM 1.0's offline
  Qwen3-235B-A22B at 5,000 / 500 on 8 GPUs (H200 +151.6 %, B200 +117.4 %, H100 +81.2 %). Part of it was
  dagc's: the load simulation priced a step in which every attention-DP rank prefills as if the busiest
  rank alone did, its experts seeing an eighth of the prompt tokens; priced with them all
  ([cost-model.md](cost-model.md), "Prompts on several attention-DP ranks in one step"; the Hopper expert
  scale refitted on the calibration half, 2.22 → 2.05), those runs were +63.7 %, +76.9 % and +33.8 %; with
  TensorRT-LLM's EP exchange as the engine runs it on attention-DP ranks (an all-gather and a reduce-scatter,
  2026-11-29, [cost-model.md](cost-model.md), "TensorRT-LLM's EP exchange") they are +54.2 %, +64.6 % and +28.1 %.
  What remains has no ground in the calibration half, whose 1.2 edition of the same page puts
  Qwen3-235B-A22B's 8,192- and 32,768-token prompts on DEP4 within −16 % to +14 % on all five GPUs.
  Ruled out on these runs: the KV cache and admission (all 1,500 requests fit in dagc's KV cache at full
  length, 197 a rank; chunked prefill on gives +151.7 % where off gave +151.6 %; a 16-bit KV cache, half the
  requests, still +85 %), the page's other reading of "TP8" (attention TP, no attention DP: −13 % to
  −34 % here, but −40 % at 1,000 / 1,000 and −51 % for Llama 4 Maverick at 5,000 / 500), and the
  narrow experts' tiles (the plan keeps each expert whole on its EP rank: 1,536 columns, not 192).
  The table's GB200 column (one GPU, 1,000 / 1,000: Qwen3-30B-A3B +66.9 %, Llama 4 Scout +64.9 %)
  measured 27–32 % below its B200 column, where dagc prices a GB200 as a B200; the calibration half's
  1.2 rows show the same at 1,024 / 1,024 only (Qwen3-30B-A3B GB200 +64.5 % against B200 +22.7 %,
  gpt-oss-20b +49.8 % against +25.7 %): a Grace host's slower host loop is a candidate (PyTorch's CPU
  time per module about 2.7× an x86 DGX's on GB200, NVIDIA/TransformerEngine issue #2053), not
  measured here, so no term (until 2026-12-01: "A Grace host's eager launches", below).
  Read against TensorRT-LLM 1.0's own source ([cost-model.md](cost-model.md), "The held-out v1.0 MoE table against
  TensorRT-LLM 1.0's own source"): the plans' batch, token budget, chunking and memory share are the engine's; the
  page does not state how its "TP8" split the experts (its MoE options file, as printed, is refused by 1.0's LLM API);
  and the engine's EP exchange on these ranks is an all-gather and a reduce-scatter, which dagc prices since
  2026-11-29 — a sixth of the 5,000 / 500 runs' error.
- **The TensorRT-LLM runs audited against their sources and releases (2026-12-01).** Two settings of the
  performance pages' runs were not the runs': the v1.0 and 1.2 editions' `llm_options.yml` capture CUDA graphs of
  1 … 8,192 requests, padded, where the plans took TensorRT-LLM's default (1–31, 32, 64, 128, not padded: a
  larger decode step priced eagerly), and the v0.17 and v1.0 editions' 1,000 / 1,000, 500 / 2,000, 128 / 2,048
  and 2,048 / 128 rows sent 3,000 requests (the pages' `$num_requests`), where the plans sent 1,500. Each run
  now carries its own (the `cuda_graphs` of a corpus run, bench/corpus/README.md; the DeepSeek-R1 blog's H200
  run its one unpadded size, 128), checked by tests/test_corpus_trtllm_defaults.py. dagc is faster on both
  counts, which moves these pages' over-predictions further: the held-out half's worst throughput goes from
  +66.9 % to +99.5 % (Llama 4 Scout on one GB200 at 1,000 / 1,000; Qwen3-30B-A3B there +66.9 % → +99.2 %;
  Qwen3-235B-A22B at 1,000 / 1,000 on 8 B200, whose 28,672-request cap holds every request at once,
  −19.6 % → +83.4 %) and the calibration half's signed median throughput from −0.9 % to +6.4 %. The
  terms fitted on these runs (the Hopper expert scale, the step and layer times) were not refitted here.
- **A Grace host's eager launches (2026-12-01).** The held-out worst were then Llama 4 Scout and Qwen3-30B-A3B
  at 1,000 / 1,000 on one GB200 (+99.5 %, +99.2 %), the same runs on one B200 +43.0 % and +35.9 %. Their offline
  burst holds 600–1,500 requests a step, and with whole prompts only (trtllm-bench 1.0 on the PyTorch backend)
  55 % of its steps carry a prompt: TensorRT-LLM runs those outside its CUDA graphs, so each of their ~830
  kernel launches (Qwen3-30B-A3B's 48 layers) is the host's — dagc priced a step of 1,529 requests and a
  1,000-token prompt at 36.3 ms (its decode step 28.6 ms, of which attention 16.0 ms at 88 % of the HBM peak,
  the experts 7.7 ms), the run's mean step being 64 ms on the GB200 and 43 ms on the B200 at dagc's count of
  steps. A GB200's host is a Grace CPU: dagc now prices a GB200's and GB300's eager launches at the built-in
  profile's (an x86 HGX host's) × 37.08 / 13.48 = 2.751, the CPU time of a PyTorch `Linear` forward on GB200
  against a DGX H100 (NVIDIA/TransformerEngine issue #2053; [cost-model.md](cost-model.md), "A Grace host's
  eager launches") — a sourced constant, not fitted. The held-out GB200 runs go from a median |error| of 36.5 %
  to 15.5 % (Qwen3-30B-A3B +99.2 % → +52.9 %, Llama 4 Scout +99.5 % → +50.4 %, both at 2,048 / 2,048 +56.3 % →
  +27.9 % and +24.8 % → +15.5 %); the calibration half's 55 GB200 and GB300 figures (the 1.2 edition) from
  15.7 % to 14.9 % (signed median +5.1 % → +3.5 %; 27 nearer, 28 further): Qwen3-30B-A3B at 1,024 / 1,024
  +79.2 % → +40.3 % on GB200 and +67.3 % → +49.3 % on GB300, gpt-oss-20b there +54.5 % → +64.4 % and +52.1 % →
  +65.2 % (its steps of several prompts are priced by extrapolating a whole prompt's and half a prompt's step,
  both launch-bound on a Grace host: the line's slope loses the kernels' growth), gpt-oss-120b −2.5 % →
  −18.6 % on GB200. The held-out half's worst throughput is now Qwen3-235B-A22B at 5,000 / 500 on 8 B200
  (+91.6 %; at 1,000 / 1,000 +83.4 %), no Grace host in it. With TensorRT-LLM's routed experts on Blackwell at
  1.68× the profile's grouped-GEMM time (fitted on the calibration half's 95 Blackwell MoE runs;
  [cost-model.md](cost-model.md), "TensorRT-LLM's experts on Blackwell") it is still the worst, at +76.3 % (+57.5 %);
  with the scale of TensorRT-LLM 1.0 and 1.1 on Blackwell fitted on the calibration half's 57 runs of the
  performance overview's 1.1 edition (2.18; [cost-model.md](cost-model.md), "TensorRT-LLM 1.1's Blackwell experts")
  at +66.5 % (+48.4 %): that edition has no 5,000 / 500 rows, and no release-wide term is grounded to close the rest.
"""


def render_markdown(summaries: Sequence[ClassSummary], cases: Sequence[E2ECase], skipped: Sequence[Skipped],
                    command: str, date: str) -> str:
    """docs/fidelity.md from the computed figures."""
    summary = e2e_summary(cases)
    kt = kernel_targets(summaries)
    med_ok, worst_ok = e2e_targets(summary)
    _, med, worst = summary["all"]
    lines = ["<!-- Generated by bench/fidelity.py: do not edit by hand; run `python bench/fidelity.py`. -->", "",
             "# Fidelity of the cost model", "",
             f"Made by `{command}` on {date}, from the measurements in `bench/calibration/` and the cost model "
             "of this working tree. Every figure is computed by the script.", "",
             "## Targets", "",
             "| target | value today | met? |", "|---|---:|---|"]
    for prof, (m, ok) in kt.items():
        target = _whole(KERNEL_MEDIAN_TARGET)
        lines.append(f"| (a) {prof}: median \\|error\\| ≤ {target} | {_pct(m)} | {_verdict(ok)} |")
    lines.append(f"| (b) median \\|error\\| ≤ {_whole(E2E_MEDIAN_TARGET)} | {_pct(med)} | {_verdict(med_ok)} |")
    lines.append(f"| (b) no case worse than {_whole(E2E_WORST_TARGET)} | {_pct(worst)} | {_verdict(worst_ok)} |")
    corpus = json.loads(fidelity_corpus.RESULTS.read_text(encoding="utf-8"))
    half = fidelity_corpus.halves()
    for what, q, v, ok in fidelity_corpus.targets_met([r | {"half": half.get(r["source"])} for r in corpus["runs"]]):
        if q == "runs":
            lines.append(f"| (h) no corpus run refused or crashed | {v:.0f} | {_verdict(ok)} |")
        else:
            limit, value = fidelity_corpus.TARGETS[what], "—" if v is None else _pct(v)
            lines.append(f"| (h) held-out {q}: {what} \\|error\\| ≤ {_whole(limit)} | {value} | {_verdict(ok)} |")
    lines.append("")
    lines += _kernel_section(summaries)
    lines += _e2e_section(cases, skipped, summary)
    lines += ["## (c) Predicted against measured", "",
              "![dagc prediction against the measured time, log-log, with y = x and ±15 % / ±40 % bands]"
              "(fidelity.svg)", ""]
    lines += fidelity_inflight.markdown_section([fidelity_inflight.predict(c) for c in fidelity_inflight.CASES])
    lines += fidelity_disagg.markdown_section([fidelity_disagg.predict(c) for c in fidelity_disagg.CASES])
    lines += fidelity_speculative.markdown_section([fidelity_speculative.predict(c)
                                                    for c in fidelity_speculative.CASES])
    lines += fidelity_engines.markdown_section(json.loads(fidelity_engines.RESULTS.read_text()))
    reference = fidelity_corpus.RESULTS_PYTORCH
    files = fidelity_corpus.load_corpus()
    lines += fidelity_corpus.markdown_section(corpus, files, half, json.loads(reference.read_text(encoding="utf-8"))
                                              if reference.exists() else None)
    lines += fidelity_regimes.markdown_section(corpus, {r.id: r for f in files for r in f.runs}, half)
    lines.append(LIMITS)
    return "\n".join(lines)


def compute() -> tuple[list[ClassSummary], list[E2ECase], list[Skipped]]:
    points = [p for name in PROFILES for p in kernel_points(name)]
    cases, skipped = e2e_cases()
    return kernel_summary(points), cases, skipped


def _print(summaries: Sequence[ClassSummary], cases: Sequence[E2ECase], skipped: Sequence[Skipped]) -> None:
    print("(a) profile vs its measurements: median / worst |error|, points, envelope-lowered")
    for s in summaries:
        print(f"  {s.profile:9} {s.op_class:13} {_pct(s.median_abs_error):>8} {_pct(s.worst_abs_error):>8} "
              f"n={s.points:<4} lowered={s.lowered}")
    print("(b) end to end, one H100: measured ms, dagc ms, error")
    for c in cases:
        print(f"  {c.model:14} {c.phase:8} B={c.batch:<4} P={c.prompt:<5} mb={c.microbatches:<3} "
              f"{_ms(c.measured_s):>9} {_ms(c.predicted_s):>9} {_signed(c.error):>8}")
    for sk in skipped:
        print(f"  skipped: {sk.model} {sk.phase} {sk.case}: {sk.reason}")
    for k, (n, med, worst) in e2e_summary(cases).items():
        print(f"  {k:8} n={n:<3} median {_pct(med)} worst {_pct(worst)}")
    kt = kernel_targets(summaries)
    med_ok, worst_ok = e2e_targets(e2e_summary(cases))
    print("targets: " + ", ".join(f"(a) {p} {'met' if ok else 'NOT met'}" for p, (_, ok) in kt.items())
          + f", (b) median {'met' if med_ok else 'NOT met'}, (b) worst {'met' if worst_ok else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="print the figures only, write nothing")
    ap.add_argument("--out", type=Path, default=DOCS, help="directory for fidelity.md and fidelity.svg")
    args = ap.parse_args(argv)
    summaries, cases, skipped = compute()
    _print(summaries, cases, skipped)
    if not args.check:
        args.out.mkdir(parents=True, exist_ok=True)
        date = datetime.date.today().isoformat()
        (args.out / "fidelity.md").write_text(
            render_markdown(summaries, cases, skipped, "python bench/fidelity.py", date), encoding="utf-8")
        (args.out / "fidelity.svg").write_text(render_svg(cases), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
