"""report.md: the three verdicts with their evidence, for people.

Input: a `StrategyResult`. Output: Markdown text: verdicts, GPUs, placement, memory per
rank, metrics against each requirement, the critical-path breakdown and every diagnostic.
"""

from __future__ import annotations

from ..check import StrategyResult
from ..cost import cost_basis_text
from ..diagnostics import render_all
from ..layout import Layout
from ..memory import MemoryBreakdown
from ..params import active_params, total_params
from ..units import Dimension, format_bytes, format_si

__all__ = ["report_md", "shown_stages", "gap_text", "MAX_STAGE_ROWS"]

MAX_STAGE_ROWS = 64     # per-stage table rows drawn; beyond, the first and last halves and a gap row


def shown_stages(n: int, limit: int = MAX_STAGE_ROWS) -> list[int | None]:
    """The stages a per-stage table draws: all up to `limit`, else the first and the last
    `limit // 2` with None standing for the gap (report.json lists every stage).

    Example:
        >>> shown_stages(3), shown_stages(6, 4)
        ([0, 1, 2], [0, 1, None, 4, 5])
    """
    if n <= limit:
        return list(range(n))
    half = limit // 2
    return [*range(half), None, *range(n - half, n)]


def gap_text(n: int) -> str:
    """What the gap row of a table of `n` stages says (see `shown_stages`)."""
    return f"… {n - 2 * (MAX_STAGE_ROWS // 2):,} more stages (report.json lists them all)"


def _gap_row(n: int, columns: int) -> list[str]:
    return [gap_text(n)] + [""] * (columns - 1)

_WORD = {True: "**yes**", False: "**no**", None: "not judged"}


def _count(n: float) -> str:
    """Parameters: 46.7 B, 12.3 M, 950 K."""
    for factor, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n:.0f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + [""]


def report_md(r: StrategyResult, links: dict[str, str] | None = None) -> str:
    """report.md of one strategy; `links` names the pictures and trace written beside it."""
    plan, m = r.plan, r.plan.model
    title = f"{r.decl.name} = {r.decl.text}" if r.decl.name else r.decl.text
    lines = [f"# dagc report: `{plan.name}` · strategy `{title}`", ""]
    lines += [f"Model **{m.name}** ({_count(total_params(m))} parameters, {_count(active_params(m))} active, "
              f"{m.weights.value} weights) on **{plan.cluster.gpus} × {plan.cluster.gpu.name}** "
              f"({plan.cluster.gpus_per_node} per node); batch {plan.workload.batch} × "
              f"({plan.workload.prompt} prompt + {plan.workload.generate} generated) tokens.", ""]
    lines += _verdicts(r)
    if r.layout is not None:
        lines += _placement(r, r.layout)
    if r.memory is not None:
        lines += _memory(r.memory)
    lines += _metrics(r)
    if r.requirements:
        lines += ["## Requirements", ""]
        lines += _table(["requirement", "value", "margin", "met"], [
            [f"`{q.requirement.text}`", q.value_text(), "" if q.margin is None else f"{q.margin * 100:+.1f} %",
             {True: "yes", False: "**no**", None: "—"}[q.met]] for q in r.requirements])
    if r.metrics is not None:
        lines += _critical_path(r.metrics)
    lines += _pictures(links or {})
    lines += ["## Diagnostics", ""]
    if r.diagnostics:
        lines += ["```", render_all(r.diagnostics), "```", ""]
    else:
        lines += ["None.", ""]
    return "\n".join(lines)


def _verdicts(r: StrategyResult) -> list[str]:
    plan, lay, v = r.plan, r.layout, r.verdict
    errors = [d for d in r.diagnostics if d.is_error]
    failed = [q for q in r.requirements if q.met is False]
    correct_ev = "no rule errors" if not errors else "; ".join(f"{d.code}: {d.message}" for d in errors)
    if lay is not None:
        correct_ev += f"; uses {lay.gpus_used} of {plan.cluster.gpus} GPUs"
    req_ev = ("the strategy is not correct, so it cannot be deployed" if not v.correct and not failed else
              "no requirements given" if not r.requirements else
              "all met" if v.meets_requirements else
              "; ".join(f"`{q.requirement.text}` is {q.value_text()}" for q in failed) if failed else
              "some requirements could not be judged")
    return ["## Verdicts", ""] + _table(["question", "answer", "evidence"], [
        ["Is the strategy correct?", _WORD[v.correct], correct_ev],
        ["Does it meet the requirements?", _WORD[v.meets_requirements], req_ev],
        ["Is it optimal on this cluster?", _WORD[v.optimal],
         (r.optimality or {}).get("note", "not judged: no strategy search has run (`dagc search`)")],
    ])


def _placement(r: StrategyResult, lay: Layout) -> list[str]:
    plan, m = r.plan, r.plan.model
    lines = ["## GPUs and placement", ""]
    lines += [f"GPUs used = dp {lay.dp} × pp {lay.pp} × stage group {lay.group_size} = **{lay.gpus_used}** "
              f"of {plan.cluster.gpus} available. Inside a stage: attention tp {lay.tp} × cp {lay.cp}"
              f"{' (sp)' if lay.sp else ''} with attention DP {lay.adp}; experts "
              + (f"ep {lay.ep} × etp {lay.etp} with expert DP {lay.edp}" if lay.expert_domain_written
                 else f"follow tp (each expert split {lay.etp} ways, expert DP {lay.edp})") + ".", ""]
    rows = []
    for s in shown_stages(lay.pp):
        if s is None:
            rows.append(_gap_row(lay.pp, 5))
            continue
        a, b = lay.stage_layers[s]
        ranks = lay.stage_ranks(0, s)
        per = lay.experts_per_ep_rank if m.has_experts else 0
        replicas = f" (+{lay.dp - 1} replicas)" if lay.dp > 1 else ""
        rows.append([str(s), f"{ranks.start}–{ranks.stop - 1}" + replicas,
                     f"{a}–{b - 1}" if b > a else "none", str(b - a),
                     f"{per} of {lay.experts} per MoE layer" if m.has_experts else "—"])
    return lines + _table(["stage", "GPUs", "layers", "count", "routed experts per GPU"], rows)


def _memory(mem: MemoryBreakdown) -> list[str]:
    rows = []
    for k in shown_stages(len(mem.stages)):
        if k is None:
            rows.append(_gap_row(len(mem.stages), 8))
            continue
        st = mem.stages[k]
        rows.append([str(st.stage), format_bytes(st.weights_bytes), format_bytes(st.kv_cache_bytes),
                     format_bytes(st.activation_bytes), format_bytes(st.reserve_bytes), format_bytes(st.total_bytes),
                     f"{st.fraction * 100:.1f} %", format_bytes(st.capacity_bytes - st.total_bytes)])
    return ["## Memory per rank", ""] + _table(
        ["stage", "weights", "KV cache", "activations", "reserve", "total", "of GPU", "headroom"], rows)


def _metrics(r: StrategyResult) -> list[str]:
    met, lay = r.metrics, r.layout
    lines = ["## Metrics", ""]
    if met is None or lay is None:
        return lines + ["Not computed: the strategy is not sound enough to build its DAG (see the diagnostics).", ""]
    g = lay.gpus_used
    lines += [cost_basis_text(r.plan.cluster) + " (What the figures rest on: dagc's docs/cost-model.md.)", ""]
    return lines + _table(["metric", "value", "per GPU"], [
        ["TTFT (prefill makespan)", format_si(met["ttft_s"], Dimension.TIME), ""],
        ["TPOT (steady decode step)", format_si(met["tpot_s"], Dimension.TIME), ""],
        ["prefill throughput", f"{met['prefill_tokens_per_s']:,.0f} tokens/s",
         f"{met['prefill_tokens_per_s'] / g:,.1f}"],
        ["decode throughput", f"{met['decode_tokens_per_s']:,.0f} tokens/s",
         f"{met['decode_tokens_per_s'] / g:,.1f}"],
        ["end-to-end throughput", f"{met['throughput_tokens_per_s']:,.0f} tokens/s",
         f"{met['throughput_tokens_per_s'] / g:,.1f}"],
        ["pipeline bubble (prefill)", f"{met['bubble_fraction'] * 100:.1f} %", ""],
    ])


def _critical_path(met: dict) -> list[str]:
    rows = []
    for phase in ("prefill", "decode"):
        p = met["critical_path"][phase]
        total = p["makespan_s"] or 1.0
        rows.append([phase, format_si(p["makespan_s"], Dimension.TIME)] + [
            f"{format_si(p[k], Dimension.TIME)} ({p[k] / total * 100:.0f} %)"
            for k in ("compute_s", "tp_comm_s", "ep_comm_s", "pp_comm_s", "waiting_s")])
    return (["## Critical path", ""]
            + _table(["phase", "makespan", "compute", "TP comm", "EP comm", "PP comm", "waiting"], rows)
            + ["The decode row covers two consecutive steps; TPOT is the gap between them.", ""])


def _pictures(links: dict[str, str]) -> list[str]:
    if not links:
        return []
    lines = ["## Pictures and trace", ""]
    if "placement.svg" in links:
        lines += ["Which GPU holds what ([placement.svg](placement.svg)):", "", "![placement](placement.svg)", ""]
    if "dag.svg" in links:
        lines += ["The DAG, prefill micro-batch 0 ([dag.svg](dag.svg), source [dag.dot](dag.dot); the "
                  "critical path is red):", "", "![DAG](dag.svg)", ""]
    if "trace" in links:
        lines += [f"The timeline: [{links['trace']}]({links['trace']}) — open it in "
                  "[Perfetto](https://ui.perfetto.dev) (prefill, then two decode steps).", ""]
    if "pareto.svg" in links:
        target = links["pareto.svg"]
        lines += [f"This strategy among every legal one the search evaluated ([pareto.svg]({target})):", "",
                  f"![Pareto front]({target})", ""]
    return lines


def comparison_md(plan, results: list[StrategyResult], dirs: list[str]) -> str:
    """The side-by-side table of several strategies of one plan."""
    lines = [f"# dagc comparison: `{plan.name}`", "",
             f"{len(results)} strategies for **{plan.model.name}** on {plan.cluster.gpus} × {plan.cluster.gpu.name}; "
             f"batch {plan.workload.batch} × ({plan.workload.prompt} + {plan.workload.generate}) tokens.", ""]
    header = ["", *[f"[`{r.decl.name or r.decl.text}`]({d}/report.md)" for r, d in zip(results, dirs, strict=True)]]

    def row(name, fn):
        return [name, *[fn(r) for r in results]]

    def metric(key, dim=None, per_gpu=False):
        def fn(r):
            if not r.metrics:
                return "—"
            v = r.metrics[key] / (r.layout.gpus_used if per_gpu else 1)
            return format_si(v, dim) if dim else f"{v:,.1f}"
        return fn

    rows = [
        row("strategy", lambda r: f"`{r.decl.text}`"),
        row("correct", lambda r: _WORD[r.verdict.correct]),
        row("meets requirements", lambda r: _WORD[r.verdict.meets_requirements]),
        row("optimal", lambda r: _WORD[r.verdict.optimal]),
        row("GPUs used", lambda r: str(r.layout.gpus_used) if r.layout else "—"),
        row("worst rank memory",
            lambda r: f"{format_bytes(r.memory.worst.total_bytes)} ({r.memory.worst.fraction * 100:.0f} %)"
            if r.memory else "—"),
        row("TTFT", metric("ttft_s", Dimension.TIME)),
        row("TPOT", metric("tpot_s", Dimension.TIME)),
        row("decode tokens/s per GPU", metric("decode_tokens_per_s", per_gpu=True)),
        row("prefill tokens/s per GPU", metric("prefill_tokens_per_s", per_gpu=True)),
        row("end-to-end tokens/s per GPU", metric("throughput_tokens_per_s", per_gpu=True)),
        row("errors", lambda r: ", ".join(sorted({d.code for d in r.diagnostics if d.is_error})) or "none"),
    ]
    for q_index, req in enumerate(plan.requirements):
        rows.append(row(f"`{req.text}`", lambda r, k=q_index: (
            {True: "met", False: "**not met**", None: "—"}[r.requirements[k].met]
            + (f" ({r.requirements[k].value_text()})" if r.requirements[k].value is not None else ""))))
    return "\n".join(lines + _table(header, rows))
