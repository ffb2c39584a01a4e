"""What a strategy's techniques give (SPEC 12), computed once when the strategy is checked and carried on its
result (`StrategyResult.techniques`): speculative decoding's figures (`dagc.serve.speculative`) of its DAG — a
disaggregated strategy's decode instance's — and expert load balancing's (`dagc.layout.eplb.balance_figures`) of
its layout — the decode instance's likewise. report.json's `speculative` and `eplb` are these; report.md and the
terminal put them into words (`dagc.export.techniques`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..jsontypes import JSON
from ..layout.eplb import ExpertSplit, balance_figures, ep_nodes
from ..layout.layout import Layout
from ..plan.plan import Plan
from ..serve.speculative import SpeculativeFigures, speculative_figures
from .compiled import Compiled
from .steady import SteadyMetrics

__all__ = ["Techniques", "techniques_of"]


@dataclass(frozen=True)
class Techniques:
    """report.json's `speculative` and `eplb` (docs/outputs.md): None where the plan uses neither."""

    speculative: SpeculativeFigures | None = None
    eplb: dict[str, JSON] | None = None


def techniques_of(plan: Plan, layout: Layout | None, compiled: Compiled | None,
                  metrics: SteadyMetrics | None) -> Techniques:
    """The techniques' figures of a strategy checked on `plan` with the `layout`, DAG (`compiled`) and steady
    figures (`metrics`) of the instance that decodes: speculative decoding's need a DAG and a TPOT, expert load
    balancing's a layout of a model with experts.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200" } '
        ...     'workload { batch = 8 prompt = 512 generate = 64 speculative { method = ngram tokens = 2 '
        ...     'acceptance = 0.5 } } strategy tp 1 ; ep 8')
        >>> t = check(p)[0].techniques
        >>> t.speculative["tokens"], t.eplb is None
        (2, True)
    """
    spec = None
    if compiled is not None and metrics is not None:
        spec = speculative_figures(compiled.dag, compiled.costs.node_s, compiled.plan.model, compiled.plan.workload,
                                   metrics.tpot_s)
    eplb = None
    if layout is not None and plan.model.has_experts:
        moe = plan.model.moe
        split = ExpertSplit(moe.experts, layout.ep, layout.redundant, ep_nodes(layout.ep, layout.etp,
                                                                                layout.gpus_per_node),
                            layout.eplb, moe.groups)
        eplb = balance_figures(plan.workload.expert_load, split)
        if eplb is not None:
            w = (compiled.plan if compiled is not None else plan).workload
            eplb["decode_tokens_per_slot"] = decode_tokens_per_slot(w.batch, w.step_positions, layout.dp,
                                                                    w.microbatches_for(layout.pp),
                                                                    moe.top_k, moe.experts + layout.redundant)
    return Techniques(spec, eplb)


def decode_tokens_per_slot(batch: int, positions: int, dp: int, microbatches: int, top_k: int, slots: int) -> float:
    """report.json's `eplb.decode_tokens_per_slot`: the tokens each expert slot of an EP group takes in a decode step
    on average — a replica's requests (`batch` over `dp`) in a micro-batch, each at its `positions` (one, or the
    draft's and the bonus token's), `top_k` picks each, over the group's `slots` (experts and redundant slots). A
    slot's grouped GEMM at a few tokens is its weights' read, whatever its load.

    Example:
        >>> decode_tokens_per_slot(64, 1, 1, 1, 8, 256 + 32)       # DeepSeek-V3, 64 in flight, 32 redundant slots
        1.7777777777777777
    """
    return batch / dp / microbatches * positions * top_k / slots
