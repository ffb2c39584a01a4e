"""report.md: the three verdicts with their evidence, for people.

Input: a `StrategyResult`. Output: Markdown text: the summary and the assumptions
(`dagc.export.summary`), then the details: verdicts, requirements (each in its own unit),
GPUs and placement, memory (the model in total, over all GPUs and per rank), metrics, the
critical-path breakdown, pictures, every diagnostic and a glossary.
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import render_all
from ..layout.layout import Layout
from ..layout.modes import mode_of
from ..memory.admission import admission_words
from ..plan.cluster import per_node_text
from ..plan.model import Model
from ..plan.params import active_params, total_params
from ..plan.workload import RequirementKind
from ..search.rejections import own_rows, rule_title
from ..units import (
    Dimension,
    count_text,
    format_bytes,
    format_params,
    format_percent,
    format_si,
    range_text,
    share_text,
)
from ..verdict.check import StrategyResult
from ..verdict.verdict import RequirementResult, met_text
from .assumptions_md import assumptions_md
from .bands_md import bands_md
from .bands_words import counted_text
from .binding_text import faster_weights
from .comparison_md import comparison_md as comparison_md
from .glossary import glossary
from .load_md import load_md, load_pictures_md
from .md_escape import VERDICT_WORDS, md_code, md_fence, md_prose, md_table, md_text
from .pictures_md import pictures_md
from .report import load_of, memory_totals
from .result_json import metrics_json
from .serving_md import front_end_words, inflight_metric_rows
from .summary import (
    COST_NAMES,
    data_parallel_text,
    margin_text,
    metric_text,
    optimal_note,
    requirement_value_text,
    summary_md,
)

__all__ = ["comparison_md", "report_md", "shown_stages", "gap_text", "MAX_STAGE_ROWS"]

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

def _count(n: float) -> str:
    """Parameters: 46.7 B, 12.3 M, 950.0 K (`dagc.units.format_params`)."""
    return format_params(n)


def report_md(r: StrategyResult, links: dict[str, str] | None = None, undrawn: str | None = None) -> str:
    """report.md of one strategy; `links` names the pictures and trace written beside it, `undrawn` why dag.svg is
    not among them though dag.dot is (Graphviz stopped after `--dot-timeout`, say: `pictures_md`)."""
    plan, m = r.plan, r.plan.model
    title = f"{r.decl.name} = {r.decl.text}" if r.decl.name else r.decl.text
    lines = [f"# dagc report: {md_code(plan.name)} · strategy {md_code(title)}", ""]
    structure = f"; {m.structure_text}" if m.structure_text else ""
    per_node = per_node_text(plan.cluster)
    lines += [f"Model **{md_text(m.name)}** ({_count(total_params(m))} parameters, {_count(active_params(m))} active, "
              f"{m.weights.value} weights{structure}) on **{plan.cluster.gpus:,} × {md_text(plan.cluster.gpu.name)}**"
              f"{f' ({per_node})' if per_node else ''}; batch {plan.workload.batch_text} × "
              f"({plan.workload.prompt:,} prompt + {plan.workload.generate:,} generated) tokens.", ""]
    if plan.overrides:
        lines += ["Overrides (`--set`, not in the plan): "
                  + ", ".join(md_code(o) for o in plan.overrides) + ".", ""]
    lines += summary_md(r)
    lines += load_md(load_of(r), faster_weights(r.plan)) + load_pictures_md(load_of(r), links or {})
    lines += assumptions_md(r)
    lines += _verdicts(r)
    if r.requirements:
        lines += ["## Requirements", ""]
        lines += md_table(["requirement", "value", "target", "margin", "met"], [
            [f"`{q.requirement.text}`", _judged_value(q),
             requirement_value_text(q.requirement, q.requirement.target), margin_text(q),
             met_text(q, r.verdict.correct, "**no**")] for q in r.requirements])
        if any(q.load_value is not None for q in r.requirements):
            lines += ["A `ttft` or `tpot` line is judged on the steady state (the figures of [Metrics](#metrics): no "
                      "queueing); the simulated load's mean is beside it, and a percentile line (`ttft_p50 <= …`) "
                      "judges the load.", ""]
    lines += bands_md(r)
    if r.layout is not None:
        lines += _placement(r, r.layout)
    if r.memory is not None:
        lines += _memory(r)
    lines += _metrics(r)
    if r.metrics is not None:
        lines += _critical_path(metrics_json(r.metrics))
    mode = mode_of(r.compiled.plan.workload if r.compiled is not None else plan.workload).name
    lines += pictures_md(links or {}, mode, undrawn)
    # the engines' commands: imported by a report, not by every `dagc check`
    from .launch import launch_md
    lines += launch_md(r)
    lines += ["## Diagnostics", ""]
    if r.diagnostics:
        lines += [*md_fence(render_all(r.diagnostics)), ""]
    else:
        lines += ["None.", ""]
    words = glossary(mode, plan.workload.traffic is not None)
    lines += ["## Glossary", ""] + [f"- **{word}**: {text}" for word, text in words]
    return "\n".join(lines) + "\n"


def _verdicts(r: StrategyResult) -> list[str]:
    plan, v = r.plan, r.verdict
    errors = [d for d in r.diagnostics if d.is_error]
    failed = [q for q in r.requirements if q.met is False]
    correct_ev = "no rule errors" if not errors else "; ".join(f"{d.code}: {md_prose(d.message)}" for d in errors)
    if r.gpus_used:
        correct_ev += f"; uses {r.gpus_used:,} of {count_text(plan.cluster.gpus, 'GPU')}"
    carried = r.load.not_carried_because if r.load is not None and v.correct else None
    # a line the traffic not carried makes unmet (its queue grows) is said by the reason, the others before it
    own = "".join(f"`{q.requirement.text}` is {requirement_value_text(q.requirement, q.value)}; "
                  for q in failed if q.unmet is None)
    req_ev = ("the strategy is not correct, so it cannot be deployed" if not v.correct and not failed else
              f"{own}the deployment cannot carry its traffic: {md_prose(carried)}" if carried else
              md_prose(unjudged) if v.meets_requirements is None and (unjudged := r.traffic_unjudged) else
              "no requirements given" if not r.requirements else
              "all met" if v.meets_requirements else
              "; ".join(f"`{q.requirement.text}` is {requirement_value_text(q.requirement, q.value)}"
                        for q in failed) if failed else
              "some requirements could not be judged")
    return ["## Verdicts", ""] + md_table(["question", "answer", "evidence"], [
        ["Is the strategy correct?", VERDICT_WORDS[v.correct], correct_ev],
        ["Does it meet the requirements?", VERDICT_WORDS[v.meets_requirements], req_ev],
        ["Is it optimal on this cluster?", VERDICT_WORDS[v.optimal],
         optimal_note(r)],
    ]) + _rejections(r)


def _rejections(r: StrategyResult) -> list[str]:
    """When the search found no legal strategy: each rule that rejected candidates, with its first candidate and
    the rule's message and hint for it (`verdict.optimal_evidence.rejected_by`), what to change."""
    rows = own_rows(r.optimality.rejected_by) if r.optimality is not None else []
    if not rows:
        return []
    lines = ["", "No strategy the search tried is legal; the rules that rejected them, most first, each with the first "
             "it rejected (`dagc check --strategy` of it says the same):", ""]
    for x in rows:
        said = (f": {md_prose(x.message)}" if x.message else "") + (f" Help: {md_prose(x.hint)}" if x.hint else "")
        lines.append(f"- **{x.code}** ({md_prose(rule_title(x.code))}): {x.candidates:,} — e.g. "
                     f"{md_code(x.example)}{said}")
    return lines + [""]


def _placement(r: StrategyResult, lay: Layout) -> list[str]:
    plan, m = r.plan, r.plan.model
    lines = ["## GPUs and placement", ""]
    if r.pooled is not None:             # what follows, dag.dot/svg and placement.svg's grid: one instance
        lines += ["A disaggregated strategy: this section, the memory sections below, dag.dot, dag.svg and "
                  "placement.svg's grid describe **one decode instance** (`" + r.pooled.pools[-1].pool.strategy.text
                  + "`), which sets TPOT; the pools and each one's memory use are in the summary, placement.svg's "
                  "strip shows every pool's GPUs, and dag.json and trace.json hold one instance of each pool with the "
                  "KV transfer between them.", ""]
    adp, edp = data_parallel_text(lay)
    lines += [f"GPUs used = dp {lay.dp} × pp {lay.pp} × stage group {lay.group_size} = **{lay.gpus_used:,}** "
              f"of {plan.cluster.gpus:,} available. Inside a stage: attention tp {lay.tp} × cp {lay.cp}"
              f"{' (sp)' if lay.sp else ''} with attention DP {adp}; experts "
              + (f"ep {lay.ep} × etp {lay.etp} with expert DP {edp}" if lay.expert_domain_written
                 else f"follow tp (each expert split {lay.etp} ways, expert DP {edp})") + ".", ""]
    rows = []
    for s in shown_stages(lay.pp):
        if s is None:
            rows.append(_gap_row(lay.pp, 5))
            continue
        a, b = lay.stage_layers[s]
        ranks = lay.stage_ranks(0, s)
        per = stage_experts(m, lay, a, b)
        replicas = f" (+{count_text(lay.dp - 1, 'replica')})" if lay.dp > 1 else ""
        rows.append([str(s), range_text(ranks.start, ranks.stop) + replicas, range_text(a, b), str(b - a),
                     f"{per} of {lay.experts} per MoE layer" if m.has_experts else "—"])
    return lines + md_table(["stage", "GPUs", "layers", "count", "routed experts per GPU"], rows)


def stage_experts(model: Model, lay: Layout, first: int, end: int) -> int:
    """The routed experts (slots) each GPU of a stage of layers [first, end) holds per MoE layer: none for a stage of
    dense layers alone (until 2026-12-03 its row said the MoE stages' 8, its weights holding none)."""
    return lay.experts_per_ep_rank if any(model.is_moe_layer(L) for L in range(first, end)) else 0


_CATEGORY_NAMES = {"attention": "attention", "routed_experts": "routed experts", "shared_experts": "shared experts",
                   "dense_ffn": "dense FFN", "embedding_and_lm_head": "embedding and LM head",
                   "norms_and_routers": "norms and routers"}


def _copies(x: float | None) -> str:
    return "—" if x is None else f"{x:,.2f}×"


def _padded(r: StrategyResult) -> str:
    """How the engine holds the routed experts, when not as the checkpoint has them (`dagc.plan.expert_padding`)."""
    lay, m, c = r.layout, r.plan.model, r.plan.cluster
    if lay is None or lay.held.backend is None:
        return ""
    held, ffn, backend = lay.held, m.moe.ffn / lay.etp, lay.held.backend
    shape = f"{held.hidden:,} × {held.ffn:,.0f}" + (f" from {m.hidden:,} × {ffn:,.0f}"
                                                    if (held.hidden, held.ffn) != (m.hidden, ffn) else "")
    scales = ", its block scales kept twice" if held.resident_bytes_per_param > held.read_bytes_per_param else ""
    return (f" The engine ({md_text(c.engine.name)}, its {backend.value} MoE kernel) holds each routed expert on a GPU "
            f"as {shape}{scales} (docs/cost-model.md, \"MXFP4 experts as vLLM holds them\").")


def _memory_totals(r: StrategyResult) -> list[str]:
    t = memory_totals(r)
    if t is None:
        return []
    m, w, wt, kv = r.plan.model, r.plan.workload, t["weights"], t["kv_cache"]
    n = t["ranks"]
    each = f"× {t['bytes_per_param']:g} byte{'' if t['bytes_per_param'] == 1 else 's'} ({m.weights.value})"
    if m.expert_weights != m.weights:           # the experts in their own dtype: the table gives each category's
        each = f"({m.weights.value}, the experts {m.expert_weights.value})"
    lines = ["## Memory of the model", "",
             f"**{md_text(m.name)}** has {_count(wt['params'])} parameters {each} = **{format_bytes(wt['bytes'])}** "
             f"of weights. Over its {count_text(n, 'GPU')} "
             "the strategy "
             f"holds {format_bytes(wt['all_ranks_bytes'])} of weights ({_copies(wt['copies'])} the model); "
             f"each GPU holds only its share ([per rank](#memory-per-rank)).{_padded(r)}", ""]
    rows = [[_CATEGORY_NAMES[c["category"]], _count(c["params"]), format_bytes(c["bytes"]),
             format_bytes(c["all_ranks_bytes"]), _copies(c["copies"])] for c in t["categories"]]
    rows.append(["**all weights**", _count(wt["params"]), format_bytes(wt["bytes"]),
                 format_bytes(wt["all_ranks_bytes"]), _copies(wt["copies"])])
    if (d := t["draft"]) is not None:       # the speculative draft's layer: beside the model's, none of its copies
        rows.append([f"speculative draft ({d['method']})", _count(d["params"]), format_bytes(d["bytes"]),
                     format_bytes(d["all_ranks_bytes"]), _copies(d["copies"])])
    over = f"held over {'all ' if n > 1 else ''}{count_text(n, 'GPU')}"
    lines += md_table(["weights", "parameters", "bytes", over, "copies"], rows)
    ctx = w.prompt + w.generate
    windowed = m.windowed_layers_below(m.layers) if m.window is not None else 0
    kept = f" ({windowed} of them keep at most {m.window.size:,} tokens of it)" if m.window and windowed else ""
    lines += [f"KV cache ({m.kv_cache.value}): **{format_si(kv['bytes_per_token'], Dimension.SIZE)} per token** of "
              f"context over all {m.layers} layers{kept}, **{format_bytes(kv['bytes_per_request'])} per request** of "
              f"{ctx:,} tokens, {format_bytes(kv['batch_bytes'])} for the batch of {w.batch:,}; held over all GPUs: "
              f"{format_bytes(kv['all_ranks_bytes'])} ({_copies(kv['copies'])})"
              + (f", and the draft's layer {format_bytes(d['kv_all_ranks_bytes'])} more." if d else "."), ""]
    return lines


_STAGE_WEIGHTS = (("attention", ("attention_bytes",)), ("routed experts", ("routed_expert_bytes",)),
                  ("shared experts", ("shared_expert_bytes",)), ("dense FFN", ("dense_ffn_bytes",)),
                  ("embedding and LM head", ("embedding_bytes", "lm_head_bytes")),
                  ("norms and routers", ("replicated_bytes",)))


def _memory(r: StrategyResult) -> list[str]:
    mem = r.memory
    assert mem is not None
    rows, weight_rows = [], []
    present = [(name, fields) for name, fields in _STAGE_WEIGHTS
               if any(getattr(st, f) for st in mem.stages for f in fields)]
    for k in shown_stages(len(mem.stages)):
        if k is None:
            rows.append(_gap_row(len(mem.stages), 8))
            weight_rows.append(_gap_row(len(mem.stages), len(present) + 2))
            continue
        st = mem.stages[k]
        activations = format_bytes(st.activation_bytes) if st.activations_counted else "not counted"
        rows.append([str(st.stage), format_bytes(st.weights_bytes), format_bytes(st.kv_cache_bytes),
                     activations, format_bytes(st.reserve_bytes), format_bytes(st.total_bytes),
                     format_percent(st.fraction), format_bytes(st.capacity_bytes - st.total_bytes)])
        held = (format_bytes(sum(getattr(st, f) for f in fields)) for _, fields in present)
        weight_rows.append([str(st.stage), *held, format_bytes(st.weights_bytes)])
    worst = mem.worst
    lines = _memory_totals(r) + [
        "## Memory per rank", "",
        f"Every GPU of a stage holds the same; the fullest is rank {mem.worst_rank()} (stage {worst.stage}) with "
        f"{format_bytes(worst.total_bytes)}, {format_percent(worst.fraction)} of its "
        f"{format_bytes(worst.capacity_bytes)}{_fuller_elsewhere(r, worst.total_bytes)}.",
        ""]
    lines += md_table(["stage", "weights", "KV cache", "activations", "reserve", "total", "of GPU", "headroom"], rows)
    words = admission_words(r.plan.workload, r.layout, mem, r.plan.cluster.engine.terms) \
        if r.pooled is None and r.layout is not None else None
    if words:
        lines += [md_text(words) + " (W520).", ""]
    lines += ["Weights of one GPU of each stage, by category:", ""]
    return lines + md_table(["stage", *(name for name, _ in present), "weights"], weight_rows)


def _fuller_elsewhere(r: StrategyResult, shown_bytes: float) -> str:
    """When the ranks shown are not the deployment's fullest — a disaggregated strategy's decode instance beside a
    fuller prefill instance —, the fullest GPU's memory, as the `memory` requirement reads it (until 2026-11-30
    report.md named only the decode instance's rank, 11.2 %, beside `memory <= 90 %` judged at 26.4 %)."""
    full = r.fullest_memory
    if full is None or full.need_bytes <= shown_bytes:
        return ""
    return (f"; the deployment's fullest GPU is another pool's, with {format_bytes(full.need_bytes)}, "
            f"{format_percent(full.fraction)} of its {format_bytes(full.capacity_bytes)} (what a `memory` "
            "requirement is judged on)")


def _judged_value(q: RequirementResult) -> str:
    """A requirement's value as judged, and for a steady-state latency of a plan with traffic the load's mean
    beside it (`RequirementResult.load_value`)."""
    value = requirement_value_text(q.requirement, q.value) + counted_text(q.requirement)
    if q.load_value is None:
        return value
    return f"{value} (steady state; the simulated load's mean {requirement_value_text(q.requirement, q.load_value)})"


def _metrics(r: StrategyResult) -> list[str]:
    met, lay, plan = r.metrics, r.layout, r.plan
    lines = ["## Metrics", ""]
    if met is None or lay is None:
        return lines + ["Not computed: the strategy is not sound enough to build its DAG (see the diagnostics).", ""]
    K = RequirementKind
    lines += ["From the schedule of the DAG, on the [assumptions](#assumptions) above; a figure the plan has a "
              "requirement on is in that requirement's unit.", ""]
    if (few := r.figures_requests_text) is not None:      # E402: one request's figures, not the deployment's
        lines += [f"**{few[0].upper()}{few[1:]}.**", ""]

    def throughput(name: str, kind: RequirementKind, value: float, per_gpu: float) -> list[str]:
        # per GPU as the metrics have it: over every GPU the deployment uses (both pools of a disaggregated
        # one), not over the one instance `lay` describes
        return [name, metric_text(plan, kind, value), metric_text(plan, kind, per_gpu, per_gpu=True)]

    inflight = mode_of(plan.workload).continuous
    pooled = met.kv_transfer_s is not None      # pools: a prefill instance's prefill and a KV transfer, then decode
    front = front_end_words(plan.cluster.engine.terms)     # the client's TTFT less the server's, a request alone
    return lines + md_table(["metric", "value", "per GPU"], [
        [f"TTFT as a client measures it (the server's + {front})", metric_text(plan, K.TTFT, met.ttft_s), ""],
        ["TTFT at the server (" + ("a prefill instance's prefill + the KV transfer's visible part)" if pooled
                                  else "mixed steps to a first token)" if inflight else "prefill makespan)"),
         format_si(met.ttft_server_s, Dimension.TIME), ""],
        ["TPOT (the decode instance's decode step)" if pooled else "TPOT (decode and mixed steps mixed)" if inflight
         else "TPOT (steady decode step)", metric_text(plan, K.TPOT, met.tpot_s), ""],
        throughput("prefill throughput", K.PREFILL_THROUGHPUT, met.prefill_tokens_per_s,
                   met.prefill_tokens_per_s_per_gpu),
        throughput("decode throughput", K.DECODE_THROUGHPUT, met.decode_tokens_per_s, met.decode_tokens_per_s_per_gpu),
        throughput("end-to-end throughput", K.THROUGHPUT, met.throughput_tokens_per_s,
                   met.throughput_tokens_per_s_per_gpu),
        *inflight_metric_rows(r),
        [f"pipeline bubble ({'decode steps' if pooled else 'mixed steps' if inflight else 'prefill'})",
         f"{(met.bubble_fraction or 0.0) * 100:.1f} %", ""],
    ])


def _critical_path(met: dict[str, Any]) -> list[str]:
    rows = []
    for phase, p in met["critical_path"].items():
        total = p["makespan_s"] or 1.0
        host = p.get("host_s") or 0.0
        rows.append([phase, format_si(p["makespan_s"], Dimension.TIME)] + [
            f"{format_si(p[k], Dimension.TIME)} ({share_text(p[k] / total)}"
            + (f"; host {format_si(host, Dimension.TIME)}" if k == "compute_s" and host > 0 else "") + ")"
            for k in COST_NAMES])
    inflight = "mixed" in met["critical_path"]
    note = ("The decode row covers two consecutive steps; TPOT is the gap between them." if not inflight
            else "Each row covers two consecutive steps of its kind (the mixed steps carry a prompt's chunk in "
                 "micro-batch 0); a step is the gap between them.")
    if any(p.get("host_s") for p in met["critical_path"].values()):
        note += (" Compute includes the engine's host time (`host`: scheduling, inputs and sampling of each step, "
                 "per request and per layer; docs/cost-model.md, \"The engine\").")
    return ["## Critical path", ""] + md_table(["phase", "makespan", *COST_NAMES.values()], rows) + [note, ""]
