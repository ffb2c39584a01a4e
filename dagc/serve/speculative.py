"""Speculative decoding's figures for the report (SPEC 12): tokens per step and the draft's share of a step.

Input: a compiled strategy (its DAG, the ops' costs and its TPOT). Output: `speculative_figures` —
the method, drafted tokens, acceptance, tokens a step emits per request (`Workload.tokens_per_step`),
the decode step's time (TPOT × tokens per step) and the draft passes' share of it: the seconds of the
draft ops of one decode step of micro-batch 0 (`dagc.layout.speculative`: numbered after the model's
layers, and their final norm and LM head), as the DAG runs them.
"""

from __future__ import annotations

from typing import TypedDict

from ..ir.dag import Dag, Phase, Vec
from ..plan.model import Model
from ..plan.workload import Workload

__all__ = ["SpeculativeFigures", "speculative_figures"]


class SpeculativeFigures(TypedDict):
    """report.json's `speculative` (docs/outputs.md), in its key order."""

    method: str
    tokens: int
    acceptance: float | None
    accept_length: float | None
    tokens_per_step: float
    verify_positions: int
    step_s: float
    draft_s: float
    draft_share: float | None


def speculative_figures(dag: Dag, node_s: Vec, model: Model, workload: Workload, tpot_s: float
                        ) -> SpeculativeFigures | None:
    """report.json's `speculative` (docs/outputs.md), or None without speculative decoding."""
    spec = workload.speculative
    if spec is None:
        return None
    layers = model.layers
    draft_s = float(sum(node_s[i] for i in range(len(dag))
                        if dag.phase[i] is Phase.DECODE and dag.step[i] == 1 and dag.mb[i] == 0
                        and (dag.layer[i] >= layers or dag.pos[i] > layers + 0.5)))
    step_s = tpot_s * workload.tokens_per_step
    return {"method": spec.method, "tokens": spec.tokens, "acceptance": spec.acceptance,
            "accept_length": spec.accept_length, "tokens_per_step": workload.tokens_per_step,
            "verify_positions": workload.step_positions, "step_s": step_s, "draft_s": draft_s,
            "draft_share": draft_s / step_s if step_s > 0 else None}
