"""`dagc launch`: the plan its figures are priced with, and the header's words for the engine that prices them.

`--engine X` on a plan of another engine prices the plan as `--set cluster.engine=X` does. A plan that names a
calibration (`calibration from "cal.json"`, docs/calibrate.md) of its own engine cannot be priced for another: the
calibration is E109 there. Until 2026-12-01 `dagc launch plan.moe --engine sglang` on a plan of vLLM calibrated on
vLLM runs wrote nothing, its E109 saying "its engine is `vllm`, the plan's `sglang`" of a plan that says vllm; it now
writes X's commands, the figures the plan's own as calibrated, and says why they are not X's.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..plan.plan import Plan

__all__ = ["engine_option", "engine_set", "repriced", "served_by"]


def repriced(args: argparse.Namespace, plan: Plan, options: Sequence[str], needs_strategy: bool) -> Plan:
    """The plan priced for `--engine`'s engine; the plan as written where that is refused for its calibration alone
    (E109: a calibration of the plan's own engine, which `served_by` then names)."""
    from ..diagnostics import PlanError
    from ..lang.overrides import load_plan_with

    try:
        return load_plan_with(args.plan, (*options, f"cluster.engine={args.engine}"),
                              allow_paths=tuple(Path(p) for p in args.allow_path), needs_strategy=needs_strategy)
    except PlanError as exc:
        if plan.calibration is None or any(d.code != "E109" for d in exc.diagnostics):
            raise
        return plan


def engine_set(plan: Plan) -> bool:
    """Whether the plan's engine is a `--set cluster.engine=…` what-if's, not the plan's own `engine = …`: an
    option wrote the text its span covers (`SourceFile.placed`), or the span is the option's own."""
    return engine_option(plan) is not None


def engine_option(plan: Plan) -> str | None:
    """The `--set` option that set the plan's engine, as it was given (`cluster.engine=vllm@0.8.5`), or None when the
    plan's own `engine = …` names it: the words that quote it keep its release (until 2026-12-01 `--set
    cluster.engine=vllm@0.8.5` was quoted as `--set cluster.engine=vllm`, an option the user never gave)."""
    from ..lang.overrides import SET_SOURCE

    span = plan.spans.get("cluster.engine")
    if span is None:
        return None
    given = next((o for a, b, o in span.source.placed if a < span.end and span.start < b), None)
    if given is None and span.source.path == SET_SOURCE:
        given = f"cluster.engine={plan.cluster.engine.name}"
    return given


def served_by(plan: Plan, asked: str | None, whence: str | None = None) -> str:
    """The engine dagc's figures are priced for, in the header's words: `--engine`'s (`asked`) when the plan was
    priced for it (`dagc.cli.launch._engine_option`), else the plan's — and, when that is not the engine asked for,
    how to get the figures of the one whose commands follow. `whence`: where an engine no `--engine` asked for came
    from (`dagc fleet --launch`: until 2026-11-30 it quoted an `--engine vllm` the user never typed)."""
    from ..lang.overrides import SET_SOURCE

    engine = plan.cluster.engine
    served = f"served by {engine.name}{'' if engine.name == 'pytorch' else ' ' + str(engine.release)}"
    if whence is not None:
        return f"{served} ({whence}; the launch uses its flags)"
    if asked is None:
        whose = "the plan's engine" if "cluster.engine" in plan.spans else "dagc's default engine: the plan names none"
        # a what-if's engine is no plan's (until 2026-12-01 `--set cluster.engine=sglang` read "the plan's engine")
        option = engine_option(plan)
        whose = f"the engine `--set {option}` names" if option is not None else whose
        return f"{served} ({whose}; another's with `--set cluster.engine=NAME`)"
    if "cluster.engine" not in plan.spans or engine.name == asked:
        # what `--engine` does to both halves, said as a sentence (until 2026-11-30 "(--engine vllm, as
        # `--set cluster.engine=vllm` prices the plan)", which left the reader to work out what "as" joined)
        return (f"{served} (--engine {asked}: the launch uses {asked}'s flags, and these figures are the plan's "
                f"priced with `--set cluster.engine={asked}`)")
    if plan.calibration is not None and plan.spans["cluster.engine"].source.path != SET_SOURCE:     # `repriced`
        return (f"{served}, the plan's engine, as its calibration `{plan.calibration.file}` prices it (--engine "
                f"{asked}: the launch uses {asked}'s flags; {asked}'s figures need a calibration of {asked} runs, "
                "or the plan without `calibration from`)")
    return (f"{served} (the engine a --set names, not --engine {asked}: {asked}'s with "
            f"`--set cluster.engine={asked}`)")
