"""Loaders: plan text → `Plan`, strategy text → `StrategyDecl` (parse, then lower).

Input: a `.moe` file, plan text, or a strategy expression. Output: the immutable `Plan` or
`StrategyDecl`. Errors are raised as `PlanError` carrying located diagnostics.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Sequence
from pathlib import Path

from ..diagnostics import Diagnostic, PlanError, Severity
from ..plan.plan import Plan
from ..plan.strategy import StrategyDecl
from ..source import SourceFile, Span
from ..units import said_list
from .axis_hint import OPTION_KEYWORD_HINT
from .fields import nearest
from .lower import lower, lower_strategy, strategy_input_errors
from .overrides import load_plan_with
from .parse import parse

__all__ = ["STRATEGY_SOURCE", "load_plan", "load_plan_text", "parse_strategy", "strategy_option"]

STRATEGY_SOURCE = "--strategy"      # where a strategy given on the command line is said to stand

_KEYWORD = re.compile(r"\s*strategy\b")


def load_plan(path: str | Path, *, allow_paths: Sequence[Path] = (), needs_strategy: bool = True,
              overrides: Sequence[str] = ()) -> Plan:
    """Read, parse and lower a plan file; with `overrides`, each `FIELD=VALUE` applied as `--set` applies it (the
    plan's text changed and read again: checked as the plan's own, its errors located in the option).

    `model from` reads files inside the plan's directory, or inside one of `allow_paths`
    (the CLI's `--allow-path DIR`), and nowhere else. With `needs_strategy` False a plan without a `strategy`
    statement is read too (its `strategies` empty), as `dagc search` and `dagc fleet` read one; else it is E103.

    A workload that names its traffic without a rate, in a plan whose `fleet` writes one, is read at the
    fleet's rate, as `dagc fleet` reads it (`dagc.lang.overrides.load_plan_with`, docs/fleet.md).

    Raises:
        PlanError: with located E0xx/E1xx diagnostics.
    """
    if isinstance(overrides, str):                 # one option given bare: its characters are no options
        raise TypeError("overrides is a list of FIELD=VALUE strings, e.g. [\"workload.batch=256\"]")
    return load_plan_with(path, tuple(overrides), allow_paths=allow_paths, needs_strategy=needs_strategy)


def load_plan_text(text: str, name: str = "plan.moe", base_dir: Path | None = None, *,
                   allow_paths: Sequence[Path] = (), needs_strategy: bool = True) -> Plan:
    """Parse and lower a plan given as text (for tests and tools).

    With `base_dir` None the plan has no directory: `model from` can read only inside
    `allow_paths`. `needs_strategy`: as `load_plan`'s.

    Example:
        >>> plan = load_plan_text('''
        ...   model preset "mixtral-8x7b"
        ...   cluster { gpus = 8  gpu preset "h100-sxm" }
        ...   workload { batch = 64  prompt = 2048  generate = 256 }
        ...   strategy tp 8''')
        >>> plan.cluster.gpus, [s.text for s in plan.strategies]
        (8, ['tp 8'])
        >>> load_plan_text('''
        ...   model preset "mixtral-8x7b"
        ...   cluster { gpus = 8  gpu preset "h100-sxm" }
        ...   workload { batch = 64  prompt = 2048  generate = 256 }''', needs_strategy=False).strategies
        ()
    """
    src = SourceFile(name, text)
    return lower(parse(src), src, base_dir=base_dir, allow_paths=allow_paths, needs_strategy=needs_strategy)


def parse_strategy(text: str, name: str | None = None) -> StrategyDecl:
    """A strategy expression such as `pp 2 < tp 4 ; ep 8 >` (what `--strategy` accepts),
    optionally written `name = expression`, as dagc prints a named strategy.

    Example:
        >>> decl = parse_strategy("balanced = pp 2 # two stages\\n < tp 4;ep 8 >")
        >>> decl.name, decl.text
        ('balanced', 'pp 2 < tp 4 ; ep 8 >')

    Raises:
        PlanError: with located E0xx/E1xx diagnostics; E001 when the text is empty or blank. (An unknown axis
            or option is `flatten`'s, which `strategy_option` raises.)
    """
    src = SourceFile(STRATEGY_SOURCE, text)
    if not text.strip():
        raise PlanError([Diagnostic("E001", Severity.ERROR, "the strategy expression is empty",
                                    Span(src, 0, len(src.text)),
                                    "give an expression such as `tp 4 ; ep 8`, or no --strategy to use the plan's "
                                    "strategies")])
    try:
        tree = parse(src, start="named_scope")
    except PlanError as exc:                 # `strategy fast = tp 8`: the plan line pasted whole
        first = exc.diagnostics[0] if exc.diagnostics else None
        if first is None or not _KEYWORD.match(text):
            raise                            # else the keyword is what to mend first
        raise PlanError([dataclasses.replace(first, hint=OPTION_KEYWORD_HINT), *exc.diagnostics[1:]]) from None
    return lower_strategy(tree, src, name)


def strategy_option(text: str, plan: Plan) -> StrategyDecl:
    """What `--strategy TEXT` names in `plan`: the plan's strategy of that name (`strategy fast = tp 8` and
    `--strategy fast`), else the expression `text` (`parse_strategy`).

    Raises:
        PlanError: as `parse_strategy`, when no strategy of the plan has that name; and with the E0xx/E1xx
            of an expression that parses but names an unknown axis or option, or gives an option a bad
            value (`strategy_input_errors`): a typo, as in the plan, so nothing is checked.
    """
    named = next((s for s in plan.strategies if s.name is not None and s.name == text.strip()), None)
    if named is not None:
        return named
    try:
        decl = parse_strategy(text)
        if errors := strategy_input_errors([decl]):
            raise PlanError(errors)
    except PlanError as exc:
        raise PlanError([_named_hint(d, text, plan) if plan.strategies or text.strip() else
                         dataclasses.replace(d, hint=_EMPTY_WITHOUT_PLANS) for d in exc.diagnostics]) from None
    return decl


# `--strategy ''` on a plan without a strategy line: leaving the option out would leave no strategy (E103)
_EMPTY_WITHOUT_PLANS = ("give an expression such as `tp 4 ; ep 8`: the plan writes no strategy of its own "
                        "(`dagc search PLAN` finds one)")


def _named_hint(d: Diagnostic, text: str, plan: Plan) -> Diagnostic:
    """The hint of an unknown axis at the start of `--strategy TEXT` that stands for one of the plan's strategy
    names: `expertt` for `expert` (did you mean it?), or `expert with microbatches 2` (a name with options, which
    `--strategy` does not take: the strategy's expression with them); a word alone like none of them gets the
    axes and the plan's names (until 2026-11-30 the axes alone, so that `--strategy fast` on a plan naming `ep` and
    `tp` read as if dagc took no names)."""
    words = text.split()
    at_start = bool(words) and d.span is not None and d.span.start == text.index(words[0])
    if d.code != "E101" or not d.message.startswith("unknown axis") or not at_start:
        return d
    by_name = {s.name: s for s in plan.strategies if s.name is not None}
    head = words[0]
    if head in by_name:
        rest = text.strip()[len(head):].strip()
        return dataclasses.replace(d, hint=f"`{head}` is the plan's strategy `{by_name[head].text}`; --strategy "
                                           f"takes a name alone, or an expression with options: "
                                           f"`{by_name[head].text} {rest}`")
    best = nearest(head, by_name)
    if best is not None:
        return dataclasses.replace(d, hint=f"did you mean the plan's strategy `{best}` (`{by_name[best].text}`)?")
    # not the same name written another way: the names most like it, by difflib's ratio (at least 0.6)
    close = difflib.get_close_matches(head, list(by_name), n=3)
    if not close and len(words) == 1 and by_name:    # a name like none of the plan's: which names it has
        names = said_list([f"`{n}`" for n in by_name])
        return dataclasses.replace(d, hint=(f"{d.hint}; " if d.hint else "")
                                   + f"no strategy of the plan is named `{head}`: its names are {names}")
    if not close:
        return d
    names = said_list([f"`{n}` (`{by_name[n].text}`)" for n in close], "or")
    return dataclasses.replace(d, hint=f"the plan's strategies nearest `{head}`: {names}"
                                       + (f"; {d.hint}" if d.hint else ""))
