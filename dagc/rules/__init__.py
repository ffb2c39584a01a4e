"""The rules of SPEC 4: one registry, one module per family.

Input: a `RuleContext` (plan, strategy, layout, memory). Output: diagnostics. Each rule is
a documented function; `RULES` lists them with their code and severity, and `explain`
returns a rule's documentation (what it checks, why, a bad plan and its fix). Codes
emitted while the plan is read (E001, E002, E101–E104 by parse and lower; E201, E202,
E204 by flatten) are registered here too, each naming the passes that emit it, so that
`dagc explain` knows every code a user can see; so are the E7xx codes of `dagc launch`
(what a serving engine cannot express, `rules.launch`).
"""

from __future__ import annotations

import inspect

from ..diagnostics import Diagnostic, Severity
from . import (
    calibration,
    config_attention,
    drawn_context,
    engine,
    hierarchy,
    launch,
    launch_cp,
    launch_gpu,
    launch_kv,
    launch_none,
    log_lengths,
    node_size,
    pipeline,
    precision,
    replica_nodes,
    requirements,
    resources,
    serving,
    speculative,
    static_engine,
    static_fields,
    structure,
    syntax,
    throughput_tokens,
)
from .base import Reads, Rule, RuleContext

__all__ = ["RULES", "Reads", "Rule", "RuleContext", "explain", "in_rule_order", "rule", "run_rules"]

RULES: tuple[Rule, ...] = tuple(sorted(
    syntax.RULES + hierarchy.RULES + structure.RULES + resources.RULES + precision.RULES + pipeline.RULES
    + requirements.RULES + serving.RULES + speculative.RULES + launch.RULES + launch_gpu.RULES + launch_cp.RULES
    + launch_kv.RULES + launch_none.RULES + engine.RULES + calibration.RULES + static_engine.RULES + node_size.RULES
    + log_lengths.RULES + drawn_context.RULES + throughput_tokens.RULES + static_fields.RULES + config_attention.RULES
    + replica_nodes.RULES,
    key=lambda r: r.code))
_BY_CODE = {r.code: r for r in RULES}
_ORDER = {r.code: k for k, r in enumerate(RULES)}
# The checks `run_rules` calls, in code order, by (what they read or None for all, errors only).
_CHECKS = {(reads, errors_only): tuple(r.check for r in RULES if r.check is not None
                                       and reads in (None, r.reads)
                                       and (not errors_only or r.severity is Severity.ERROR))
           for reads in (None, *Reads) for errors_only in (False, True)}


def rule(code: str) -> Rule | None:
    return _BY_CODE.get(code.upper())


def explain(code: str) -> str | None:
    """The documentation of a rule, or None for an unknown code.

    Example:
        >>> explain("E202").splitlines()[0]
        'E202 (error): attention and expert axes written in one domain without `;`'
    """
    r = rule(code)
    if r is None:
        return None
    return f"{r.code} ({r.severity.value}): {r.title}\n\n{inspect.cleandoc(r.doc)}"


def run_rules(ctx: RuleContext, reads: Reads | None = None, errors_only: bool = False) -> list[Diagnostic]:
    """The rules that look at a resolved strategy, in code order (the others' passes have run):
    those that read `reads` (every one when None); with `errors_only`, only those whose code is an
    error (what rejects a strategy: the search's fast check reads nothing else)."""
    out: list[Diagnostic] = []
    for check in _CHECKS[reads, errors_only]:
        out.extend(check(ctx))
    return out


def in_rule_order(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics of rules run at different stages, in code order as one `run_rules` gives them
    (a check emits only its own code; the sort is stable within a code)."""
    return sorted(diagnostics, key=lambda d: _ORDER[d.code])
