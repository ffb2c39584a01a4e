"""report.md's Assumptions section: the cost basis, the GPU, the interconnect, the reserve, routing.

Input: a checked `StrategyResult`. Output: Markdown lines (`assumptions_md`), from the figures
`dagc.export.report.assumptions` derives for report.json's `assumptions`.
"""

from __future__ import annotations

from typing import Any

from ..cost.cost_model import calibrated_by, cost_basis, cost_basis_text, engine_text
from ..diagnostics import code
from ..plan.cluster import Cluster
from ..units import Dimension, count_text, exact_text, format_bytes, format_gpu_memory, format_si
from ..verdict.check import StrategyResult
from .md_escape import md_code, md_prose, md_text
from .report import assumptions
from .serving_md import inflight_execution

__all__ = ["assumptions_md"]


def _gbs(x: float) -> str:
    """A bandwidth of the assumptions, as a plan writes it (every digit: `3.35 TB/s`, not `3.4 TB/s`)."""
    return exact_text(x, Dimension.BANDWIDTH)


def _flops(x: float) -> str:
    """A peak of the assumptions, as a plan writes it (`1.979 PFLOPS`, not `2.0 PFLOPS`)."""
    return exact_text(x, Dimension.COMPUTE)


def _cost_basis_md(c: Cluster) -> str:
    """`cost_basis_text` in Markdown: the profile's name a code span, the GPU's name and the profile's provenance
    text (`md_text`; until 2026-11-30 they sat unfenced in a sentence `md_prose` reads for code spans, so a GPU named
    ``a`<b>`c`` made `<b>` one)."""
    b = cost_basis(c)
    if b["kernel_profile"] is None:
        return md_prose(cost_basis_text(c))
    m = b.get("measured_on")
    where = f", measured on {md_text(m['gpu'])} with {md_text(m['software'])} ({md_text(m['date'])})" if m else ""
    borrowed = f"; {md_text(b['note'])}" if "note" in b else ""
    return f"Times: kernel profile {md_prose(code(str(b['kernel_profile'])))}{where}{borrowed}."


def assumptions_md(r: StrategyResult) -> list[str]:
    """The assumptions section: the cost basis, the GPU, the interconnect, the reserve, routing."""
    plan = r.plan
    a = assumptions(plan, r.layout.microbatches if r.layout else None)
    c, g = plan.cluster, a["gpu"]
    eff = c.efficiency
    fp8 = f", {_flops(g['flops_8bit'])} fp8" if g["flops_8bit"] else ""
    fp8 += f", {_flops(g['flops_4bit'])} fp4" if g["flops_4bit"] else ""
    routing = {"random": "`random`: each token picks its experts at random, the busiest EP rank gets the expected "
                         "maximum",
               "measured": "measured loads (`routing from`), placed by EPLB: the busiest EP rank gets the larger of "
                           "their placement's load and random routing's expected maximum"}.get(
        a["routing"], f"the busiest EP rank gets {a['routing_imbalance'] or 1:g}× the mean")
    lines = ["## Assumptions", "", "The figures rest on these; change them in the plan (`cluster`, `workload`) "
             "if your system differs.", "",
             f"- {_cost_basis_md(c)} Network efficiency {eff.network:g}"
             + (f", compute {eff.compute:g}" if eff.compute is not None else "")
             + (f", HBM {eff.hbm:g}" if eff.hbm is not None else "") + ". How: dagc's docs/cost-model.md.",
             f"- GPU {md_code(g['name'])}: {format_gpu_memory(g['memory_bytes'])}, "
             f"{_flops(g['flops_16bit'])} bf16{fp8}, HBM {_gbs(g['hbm_bytes_per_s'])}.",
             *_fp4_md(a["fp4"], g["name"]),
             f"- Interconnect: {_gbs(a['intra_node_bytes_per_s'])} per GPU inside a node of {a['gpus_per_node']} "
             f"({format_si(a['intra_node_latency_s'], Dimension.TIME)} latency), "
             f"{_gbs(a['inter_node_bytes_per_s'])} per GPU between nodes "
             f"({format_si(a['inter_node_latency_s'], Dimension.TIME)}).",
             f"- Reserve: {format_bytes(a['reserve_bytes'])} per GPU kept by the runtime (CUDA context, "
             "communication buffers, allocator), counted in every memory figure.",
             f"- {md_prose(engine_text(c, calibrated_by(plan)))}"]
    if plan.model.has_experts:
        lines.append(f"- Routing: {routing}; the all-to-all dispatch carries {a['dispatch']}.")
    mb = a["microbatches"]
    execution = count_text(mb, "micro-batch", "micro-batches") if mb is not None else "— micro-batches"
    lines.append(f"- Execution: {execution}, overlap `{a['overlap']}`; "
                 f"batch {plan.workload.batch_text} × ({plan.workload.prompt:,} prompt + {plan.workload.generate:,} "
                 "generated) tokens." + inflight_execution(r))
    return lines + [""]


def _fp4_md(fp4: dict[str, Any] | None, gpu: str) -> list[str]:
    """The assumptions line on the model's fp4 weights (`dagc.export.report.fp4_compute`), if it has any."""
    if fp4 is None:
        return []
    which = " and ".join(fp4["dtypes"])
    peak = _flops(fp4["peak_flops"])
    if fp4["compute"] == "fp4":
        return [f"- Precision: the {which} weights run on the GPU's fp4 tensor cores at {peak}."]
    return [f"- Precision: the {which} weights are weight-only: dequantised to bf16 (the {md_text(gpu)} has no fp4 "
            f"units), their matmuls at the 16-bit peak, {peak}; their bytes stay 4-bit."]
