"""Which statements a plan has: one model, cluster, workload and (optional) require, objective and calibration, and
at least one strategy unless the command searches them itself — E104 for a second of one, E103 for one missing.

A plan with a `fleet` and no `cluster` is told so at its `fleet`: `dagc fleet` reads the plan's cluster and replaces
the fields its lists sweep, one cluster at a time (docs/fleet.md), so a fleet does not stand for the cluster; said at
the end of the file, with the generic example, a user who wrote the fleet's GPU types and sizes read it as dagc
ignoring them.
"""

from __future__ import annotations

from lark import Token, Tree

from ..source import SourceFile, Span
from .blocks import Collector, node_span

__all__ = ["check_statements"]

_EXAMPLES = {"model": 'model preset "mixtral-8x7b"', "cluster": 'cluster { gpus = 8  gpu preset "h100-sxm" }',
             "workload": "workload { batch = 64  prompt = 2048  generate = 256 }", "strategy": "strategy tp 8"}
# the commands that read a plan without one: the strategy given, or searched
_NO_STRATEGY = "; or give it with `--strategy \"tp 8\"`, or let `dagc search PLAN` find one"
_FLEET_PICKS = " (`dagc fleet PLAN --launch`: the fleet's best cluster's, and the commands that start it)"
_FLEET_CLUSTER = ("a plan with a `fleet` keeps its `cluster`: `dagc fleet` reads it and replaces the fields the fleet "
                  "lists (`gpu`, `gpus`, `engine` …), one cluster at a time, and `dagc check` checks it as written — "
                  "add one, e.g. `cluster { gpus = 8  gpu preset \"h100-sxm\" }` (docs/fleet.md)")


def check_statements(out: Collector, src: SourceFile, by_kind: dict[str, list[Tree[Token]]],
                     needs_strategy: bool = True) -> None:
    """One model, cluster, workload and (optional) require; at least one strategy unless the command searches them
    itself (`needs_strategy` False: `dagc fleet`, `dagc search`)."""
    for kind in ("model", "cluster", "workload", "require", "objective", "calibration"):
        for st in by_kind.get(kind, [])[1:]:
            at = node_span(src, st.meta)
            out.error("E104", f"a plan has one `{kind}` statement; this is another",
                      src.span(at.start, at.start + len(kind)),
                      f"the first is at line {node_span(src, by_kind[kind][0].meta).line}")
    text = src.text.rstrip()
    end = src.span(max(0, len(text) - 1), max(1, len(text))) if src.text.strip() else src.span(0, 0)
    if not any(by_kind.values()):
        _empty(out, src, end, needs_strategy)
        return
    fleet = by_kind.get("fleet", [])
    for kind in ("model", "cluster", "workload", *(("strategy",) if needs_strategy else ())):
        if kind in by_kind:
            continue
        if kind == "cluster" and fleet:
            out.error("E103", "the plan has no `cluster` statement", _keyword(src, fleet[0], "fleet"), _FLEET_CLUSTER)
            continue
        out.error("E103", f"the plan has no `{kind}` statement", end, f"add one, e.g. `{_EXAMPLES[kind]}`"
                  + (_NO_STRATEGY + _FLEET_PICKS * bool(fleet) if kind == "strategy" else ""))


def _keyword(src: SourceFile, statement: Tree[Token], word: str) -> Span:
    at = node_span(src, statement.meta)
    return src.span(at.start, at.start + len(word))


def _empty(out: Collector, src: SourceFile, end: Span, needs_strategy: bool) -> None:
    """One E103 for a plan of no statement (an empty file, or comments alone) saying what a plan is, with one to
    start from: until 2026-11-30 four, one for each statement missing, each with its own example."""
    kinds = ("model", "cluster", "workload", *(("strategy",) if needs_strategy else ()))
    what = "is empty" if not src.text.strip() else "holds only comments"
    needs = ", ".join(f"a `{k}`" for k in kinds[:-1]) + f" and a `{kinds[-1]}`"
    searched = "" if needs_strategy else " (the command searches the strategies)"
    out.error("E103", f"the plan {what}: a plan needs {needs}{searched}", end,
              "start from this plan (a plan may be one line) and change it: `"
              + "  ".join(_EXAMPLES[k] for k in kinds) + "`; `dagc presets` lists the models and GPUs")
