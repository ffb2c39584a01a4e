"""How the pictures and the trace name a plan read with `--set` (`dagc compile PLAN --set cluster.gpus=16`): the
plan's name with its overrides, as report.md's "Overrides" line and report.json's `overrides` give them. A what-if
writes where the plan's own outputs go (`out/<plan>/`); until 2026-11-30 its dag.svg, placement.svg, pareto.svg and
trace said the plan's name alone, and looked like the plan's own."""

from __future__ import annotations

from ..plan.plan import Plan

__all__ = ["titled", "what_if_metadata"]


def titled(plan: Plan) -> str:
    """The plan's name, and the overrides it was read with.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> plan = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                       'workload { batch = 8 prompt = 64 generate = 8 } strategy tp 8', "p.moe")
        >>> titled(plan), titled(plan.model_copy(update={"overrides": ("cluster.gpus = 16",)}))
        ('p', 'p (with --set cluster.gpus = 16)')
    """
    return f"{plan.name} (with --set {', '.join(plan.overrides)})" if plan.overrides else plan.name


def what_if_metadata(plan: Plan) -> dict[str, object]:
    """The trace metadata's `overrides` (`path = value` each) of a plan read with `--set`; none of the plan's own."""
    return {"overrides": list(plan.overrides)} if plan.overrides else {}
