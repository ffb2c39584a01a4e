"""Measured expert loads: `workload { routing from "expert_load.json" }` (SPEC 12).

Input: the `routing from` entry of a workload and the plan's import roots; later the model, to check the
counts against (`check_expert_load`). Output: a frozen `ExpertLoad` — the tokens routed to each expert of
each MoE layer — or E106 diagnostics located at the entry in the plan.

The format is `{"layers": [[tokens to expert 0, expert 1, …], …]}`, one list per MoE layer in layer
order (`bench/convert_sglang_expert_load.py` makes it from an SGLang expert-distribution dump). The file
is read as an imported config is: a regular file of at most `MAX_PLAN_BYTES`, never echoed; messages
name layer and expert indices, never the counts found.
"""

from __future__ import annotations

import hashlib
import json
import math

from ..diagnostics import Diagnostic, PlanError, Severity, code, quote
from ..plan.model import Model
from ..plan.workload import ExpertLoad
from ..source import Span
from .blocks import BAD, Bad, Collector, Item
from .hf import MAX_JSON_INT_DIGITS
from .model import ImportRoots
from .parse import read_source

__all__ = ["EXPERT_LOAD_CODE", "check_expert_load", "read_expert_load"]

EXPERT_LOAD_CODE = "E106"
MAX_LOAD = 1e18                  # tokens routed to one expert; more is not a count
_FORMAT = '{"layers": [[tokens to expert 0, expert 1, …], …]}, one list per MoE layer'


def read_expert_load(out: Collector, roots: ImportRoots, item: Item) -> ExpertLoad | Bad:
    """The loads the entry `item` (`routing from "…"`) names, or BAD with the reasons in `out`."""
    assert item.label_span is not None, "a `from` entry has its path"
    at = out.spans["workload.routing.file"] = item.label_span
    path = roots.resolve(out, item.label, at, "the expert loads")
    if path is None:
        return BAD
    try:
        src = read_source(path, echo=False, what="an expert load",
                          hint='give the path of the expert load JSON (docs/language.md, "Measured expert loads")')
    except PlanError as exc:
        for d in exc.diagnostics:
            out.error(EXPERT_LOAD_CODE, f"cannot read expert loads {code(path.name)}: {d.message}", at, d.hint)
        return BAD
    shown = quote(path.name)
    try:
        data = json.loads(src.text, parse_int=_whole, parse_constant=_constant)
    except (ValueError, RecursionError):
        return out.error(EXPERT_LOAD_CODE, f"`{shown}` is not valid JSON", at, f"an expert load file is {_FORMAT}")
    layers = data.get("layers") if isinstance(data, dict) else None
    if not isinstance(layers, list) or not layers:
        return out.error(EXPERT_LOAD_CODE, f'`{shown}` has no "layers" list', at, f"an expert load file is {_FORMAT}")
    rows: list[tuple[float, ...]] = []
    for i, layer in enumerate(layers):
        problem = _layer_problem(layer, len(layers[0]) if isinstance(layers[0], list) else None)
        if problem is not None:
            return out.error(EXPERT_LOAD_CODE, f"`{shown}`: MoE layer {i} (counting from 0) {problem}", at,
                             f"an expert load file is {_FORMAT}: token counts, each at least 0")
        rows.append(tuple(float(x) for x in layer))
    if not any(any(row) for row in rows):
        return out.error(EXPERT_LOAD_CODE, f"`{shown}` routes no token to any expert", at,
                         "record the loads while the engine serves traffic")
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]
    return ExpertLoad(file=path.name, layers=tuple(rows), digest=digest)


def check_expert_load(model: Model, load: ExpertLoad, at: Span) -> list[Diagnostic]:
    """E106 when the loads do not fit the model: one list per MoE layer, one count per routed expert."""
    shown = quote(load.file)
    if not model.has_experts:
        return [_error(f"`{shown}` gives expert loads, but model {code(model.name)} has no routed experts", at,
                       "remove `routing from`: a dense model routes nothing")]
    if len(load.layers) != model.moe_layer_count:
        n = len(load.layers)
        return [_error(f"`{shown}` has {n} layer{'s' if n != 1 else ''} of loads; the model has "
                       f"{model.moe_layer_count} MoE layers", at,
                       "give one list per MoE layer, in layer order (drop the dense layers' lists)")]
    if len(load.layers[0]) != model.moe.experts:
        return [_error(f"`{shown}` has {len(load.layers[0])} experts per layer; the model routes to "
                       f"{model.moe.experts}", at, "give one count per routed expert (not per physical slot)")]
    return []


def _error(message: str, at: Span, hint: str) -> Diagnostic:
    return Diagnostic(EXPERT_LOAD_CODE, Severity.ERROR, message, at, hint)


def _layer_problem(layer: object, experts: int | None) -> str | None:
    """Why one layer's list is not a list of counts like the first one's, or None."""
    if not isinstance(layer, list):
        return "is not a list of counts"
    if experts is not None and len(layer) != experts:
        return f"has {len(layer)} counts, layer 0 has {experts}"
    for e, x in enumerate(layer):
        if isinstance(x, bool) or not isinstance(x, int | float):
            return f"expert {e}: not a number"
        if not math.isfinite(x) or not 0 <= x <= MAX_LOAD:
            return f"expert {e}: a count must be from 0 to {MAX_LOAD:.0e}"
    return None


def _whole(text: str) -> int | float:
    # a literal too long to convert is out of range: infinity fails the range check, never int()
    return math.inf if len(text.lstrip("-")) > MAX_JSON_INT_DIGITS else int(text)


def _constant(name: str) -> float:
    return math.nan              # NaN, Infinity: not a count (the range check says so)
