"""`--set FIELD=VALUE`: what-ifs without editing the plan (`--set workload.batch=256`).

Input: the plan's text and the `--set` options. Output: the `Plan` lowered from the plan's text with
each value written in place — replaced where the field is written, added to its block where it is
not — so an override is read, checked and defaulted exactly as the plan's own field is. A problem
with an override is the plan's own diagnostic (E101 unknown field, E102, E104 …) located in the
option's text (`--set:1:16`), not in the plan's. A value is one value, read on its own before it is
put in the plan's text (`_one_value`): a comment, a brace, a quote or a second field after it is E001.

Paths: `workload.batch`, `workload.speculative.tokens`, `cluster.gpus`, `cluster.efficiency.compute`,
`cluster.gpu.memory` (a custom GPU), `cluster.gpu=h200` (another GPU preset), `model.layers`,
`model.moe.experts`, `cluster.engine=sglang@0.5.23`, `model=deepseek-v3` (another model preset),
`require.ttft=2 s` (the requirement written, else `<=`; `>=` for throughputs), `objective=ttft`.

One value says how requests arrive, so a `--set` of it replaces the other way (`REPLACES`): `workload.rate`
on a closed loop (`concurrency`) makes it an open loop at that rate, taking the plan's `concurrency` and
`ramp` away — what `dagc search --rate` simulates, and what the `dagc check` lines it prints run —
and `workload.concurrency` on an open loop takes `rate` and `arrival` away. Setting both is E104. So does
`workload.speculative.acceptance` take a written `accept_length` away, and the reverse (`dagc.lang.set_replaces`).
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lark import Token, Tree

from ..diagnostics import Diagnostic, PlanError, Severity
from ..plan.engines import NEWEST
from ..plan.plan import Plan
from ..plan.workload import RequirementKind
from ..source import SourceFile, Span
from ..units import lookup
from .blocks import child_tree
from .fields import axis_field, did_you_mean, set_path
from .fleet_rate import arrival_unsaid, written_fleet_rate
from .hints import NOT_A_NUMBER, not_a_number
from .lower import lower
from .override_edits import Edit, apply_edits as _apply
from .parse import parse, read_source
from .per_unit import set_value_hint
from .set_field import in_option_order, unknown_set_field
from .set_form import set_form
from .set_gpu import preset_gpu_field, preset_keyword
from .set_option_hint import set_form_hint
from .set_replaces import NO_FILE, REPLACES, replaced_spans

__all__ = ["REPLACES", "SET_SOURCE", "Override", "load_plan_with", "set_form"]

SET_SOURCE = "--set"
_TOP = ("model", "cluster", "workload", "require", "objective")
_PATH = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*=\s*(.*?)\s*$", re.S)
# One value as the grammar's `value` rule reads it (dagc/lang/plan.lark): a quantity (a number, its unit on
# the same line, never a statement's keyword), a name with an optional number, or a quoted string — and
# nothing after it: no comment, no newline, no brace, no second field. A preset's name (`model=…`,
# `cluster.gpu=…`) is put between quotes: any text without a quote or a newline, or one quoted string.
_NUMBER = r"[+-]?(?:[0-9][0-9_]*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_UNIT = (r"(?!(?:gpu|model|cluster|workload|require|strategy|mix)\b)[A-Za-z%$€£¥][A-Za-z0-9%]*(?:/[A-Za-z]+)*"
         r"(?![A-Za-z0-9_\-/%$]|[ \t\r\n]*(?:=|\{|<|>|from\b))")
_STRING = r'"[^"\n]*"'
_RELEASED = r"[A-Za-z_][A-Za-z0-9_\-]*@[A-Za-z0-9][A-Za-z0-9_.+\-]*"       # `vllm@0.33.0`: the grammar's RELEASED
_VALUE = re.compile(rf"{_NUMBER}(?:[ \t]*{_UNIT})?(?![A-Za-z0-9_\-/%$])"
                    rf"|{_RELEASED}|[A-Za-z_][A-Za-z0-9_\-]*(?:[ \t]+{_NUMBER})?|{_STRING}")
_NAMED = re.compile(rf'{_STRING}|[^"\n]+')
_QUOTED = (("model",), ("cluster", "gpu"))           # the paths whose value is a preset's name, put in quotes


@dataclass(frozen=True)
class Override:
    """One `--set` option: its dotted path, its value as written, and the option's own source."""

    path: tuple[str, ...]
    value: str
    src: SourceFile
    value_start: int                  # where the value starts in the option's text

    @classmethod
    def parse(cls, option: str) -> Override:
        """`workload.batch=256` → path ('workload', 'batch'), value '256'.

        Raises:
            PlanError: E001 for an option that is not `FIELD=VALUE`, E101 for an unknown first part.

        Example:
            >>> o = Override.parse("workload.batch = 256")
            >>> o.path, o.value, o.text
            (('workload', 'batch'), '256', 'workload.batch = 256')
        """
        src = SourceFile(SET_SOURCE, option)
        m = _PATH.fullmatch(option)
        if m is None or not m.group(2) or "\n" in m.group(2):
            raise PlanError([Diagnostic("E001", Severity.ERROR, "--set takes FIELD=VALUE", src.span(0, len(option)),
                                        set_form_hint(option))])
        path = tuple(m.group(1).split("."))
        if path[0] not in _TOP:
            raise PlanError([Diagnostic("E101", Severity.ERROR, f"unknown statement `{path[0]}` in --set",
                                        src.span(m.start(1), m.start(1) + len(path[0])), _top_hint(path, m.group(2)))])
        if (keyword := preset_keyword(path, m.group(2), src, m.start(2))) is not None:
            raise keyword                         # `cluster.gpu=preset "h200"`, as the plan writes it
        try:
            _one_value(src, path, m.group(2), m.start(2))
        except PlanError as exc:                  # the field first, as the option reads: `workload.log=x/y.csv`
            unknown = unknown_set_field(path, src, m.start(1) + len(m.group(1)) - len(path[-1]))
            if unknown is None:
                raise
            unknown = dataclasses.replace(unknown, hint=set_form(unknown.hint, path))
            raise PlanError([unknown, *exc.diagnostics]) from None
        return cls(path, m.group(2), src, m.start(2))

    @property
    def text(self) -> str:
        return self.src.text

    @property
    def whole(self) -> Span:
        """The option's whole text, for a finding about the override as a whole."""
        return self.src.span(0, len(self.src.text))

    @property
    def shown(self) -> str:
        """`workload.batch = 256`: how reports name it."""
        return f"{'.'.join(self.path)} = {self.value}"


_Edit = Edit[Override]


def _top_hint(path: tuple[str, ...], value: str) -> str:
    """E101's hint for an option whose first part is no statement: a field without its block (`gpus=8`) is told its
    path, quoted as a shell needs it (`--set 'workload.rate=2 requests/s'`; until 2026-11-30 unquoted, which a shell
    split at the space); a parallel degree (`tp=4`, `tensor_parallel_size=4`) the `--strategy`; else the statement."""
    if path[0] == "strategy":         # until 2026-11-30 "expected one of: `model`, …", which sets no strategy
        return f"a strategy is given by `--strategy {shlex.quote(value.strip())}` (check, compile, launch), not --set"
    if (axis := axis_field(path[0])) is not None:     # until 2026-12-02 "expected one of: `model`, …"
        said = shlex.quote(f"{axis} {value.strip() if value.strip().isdigit() else 'N'}")
        return f"`{path[0]}` is a parallel degree, which the strategy gives, not a field: `--strategy {said}`"
    if (full := set_path(path[0]) if len(path) == 1 else None) is None:
        return did_you_mean(path[0], _TOP)
    block, _, inner = full.rpartition(".")[0].partition(".")
    where = f"the {block}'s `{inner} {{ … }}` block" if inner else f"the {block}"
    return f"`{path[0]}` is a field of {where}: `--set {shlex.quote(full + '=' + value.strip())}`"


def _one_value(src: SourceFile, path: tuple[str, ...], value: str, start: int) -> None:
    """Refuse a value that is more than one value: put into the plan's text, a `#`, a newline, a brace,
    a quote or a second field would change the plan beyond the field (`--set 'require.ttft=2 s #'`
    would comment out the rest of the plan's line).

    Raises:
        PlanError: E001 located at what follows the value in the option.
    """
    m = (_NAMED if path in _QUOTED else _VALUE).match(value)
    end = m.end() if m is not None else 0
    if end == len(value):
        return                               # a bare `nan` too: the field's lowering says what it takes
    nan = NOT_A_NUMBER.match(value)          # `nan requests/s`, `-inf`: the number is what is wrong, not its unit
    if nan is not None and path not in _QUOTED:
        unit = value[nan.end():].strip()
        shown = f"{'.'.join(path)}=12{' ' + unit if lookup(unit) is not None else ''}"
        message, hint = not_a_number(nan.group(), f"`--set '{shown}'`") or ("", "")
        raise PlanError([Diagnostic("E001", Severity.ERROR, message, src.span(start, start + nan.end()), hint)])
    end += len(value[end:]) - len(value[end:].lstrip())
    message = (f"--set takes one value; `{value[end:end + 20]}` follows the value of `{'.'.join(path)}`" if end
               else f"--set takes one value; `{value[:20]}` is not a value of `{'.'.join(path)}`")
    hint = set_value_hint(path, value, end) or (
        "a number with its unit, a name or a quoted string, as in the plan, e.g. --set 'require.ttft=2 s'; a "
        "comment, a newline, a brace, a quote or a second field is not part of a value: give each field its own --set")
    if value[:end].strip() == "from" and path in NO_FILE:     # `requests=from "log.csv"`: a file is the plan's
        hint = NO_FILE[path]
    engine = value[:end].strip()
    newest = next((r for name, r in NEWEST.items() if name == engine), None)
    if path[-1] == "engine" and value[end:end + 1] == "@" and newest:   # `vllm@`: a release missing, not extra
        hint = f"a release follows `@`: --set {'.'.join(path)}={engine}@{newest}, or {engine} alone for its newest"
    raise PlanError([Diagnostic("E001", Severity.ERROR, message, src.span(start + end, start + len(value)), hint)])


def load_plan_with(path: str | Path, options: Sequence[str], *, allow_paths: Sequence[Path] = (),
                   rate: float | None = None, needs_strategy: bool = True) -> Plan:
    """The plan at `path` with each `--set` option in `options` applied (none: `load_plan`'s); without a `strategy`
    statement where `needs_strategy` is False (`dagc.lang.lower.lower`).

    `rate` is the arrival rate the command gives (`dagc search --rate`), else the `rate` of the plan's `fleet`
    (`written_fleet_rate`): where the workload describes traffic (`requests = 400`) but says neither how fast it
    arrives nor how many clients send it, and no option says either, the plan is read with `--set
    workload.rate=R requests/s` (`arrival_unsaid`).

    Raises:
        PlanError: the plan's diagnostics, an override's located in its option.
    """
    base_dir = Path(path).absolute().parent.resolve()
    src = read_source(path, roots=(base_dir, *allow_paths))
    tree = parse(src)
    rate = rate if rate is not None else written_fleet_rate(tree, src)     # a fleet's rate is its workload's
    if rate is not None and arrival_unsaid(tree, options):
        options = (*options, f"workload.rate={rate:g} requests/s")
    if not options:
        return lower(tree, src, base_dir=base_dir, allow_paths=allow_paths, needs_strategy=needs_strategy)
    overrides = [Override.parse(o) for o in options]
    seen: dict[tuple[str, ...], Override] = {}
    for o in overrides:
        if o.path in seen:
            raise PlanError([Diagnostic("E104", Severity.ERROR, f"`{'.'.join(o.path)}` is set twice", o.whole,
                                        f"keep one --set of it (the other is `{seen[o.path].text}`)")])
        seen[o.path] = o
    switch = ("model",) in seen          # another preset: a model written out or read is replaced whole
    edits = _outside_switch([_edit(src.text, tree, o, switch) for o in overrides] + _replaced(tree, overrides, seen))
    text, placed = _apply(src.text, edits)
    wrote = tuple((at, at + len(e.text), e.override.text) for at, e in placed)     # to name a line's own options
    changed = SourceFile(src.path, text, overrides=tuple(o.text for o in overrides), original=src.text, placed=wrote)
    try:
        plan = lower(parse(changed), changed, base_dir=base_dir, allow_paths=allow_paths, needs_strategy=needs_strategy)
        return plan.model_copy(update={"overrides": tuple(o.shown for o in overrides)})
    except PlanError as exc:
        located = [_located(d, placed) for d in exc.diagnostics]
        raise PlanError(in_option_order(located, [o.src for o in overrides])) from None



def _located(d: Diagnostic, placed: list[tuple[int, _Edit]]) -> Diagnostic:
    """`d` with its span moved into the option's text when it lies in an override's value or name."""
    if d.span is None:
        return d
    for start, e in placed:
        if not e.text:                 # a field taken away (`REPLACES`): nothing of it is left to point at
            continue
        lo, hi = d.span.start - start, d.span.end - start
        if 0 <= lo and hi <= len(e.text):
            o = e.override
            d = dataclasses.replace(d, hint=set_form(d.hint, o.path))
            if lo >= e.value_at:               # in the value
                return dataclasses.replace(d, span=o.src.span(o.value_start + lo - e.value_at,
                                                              min(len(o.text), o.value_start + hi - e.value_at)))
            name = o.text.rfind(o.path[-1], 0, o.value_start)    # in the field's name, else the option
            return dataclasses.replace(d, span=o.src.span(name, name + len(o.path[-1])) if e.name_at >= 0
                                       and hi <= e.value_at else o.whole)
    return d


def _outside_switch(edits: list[_Edit]) -> list[_Edit]:
    """`edits` but those inside the span a `--set model=NAME` replaces whole (`_edit`: a written-out model's
    fields that another override takes away, `_replaced`)."""
    whole = [e for e in edits if e.override.path == ("model",) and e.end > e.start]
    return [e for e in edits if not any(w is not e and w.start <= e.start and e.end <= w.end and e.end > e.start
                                        for w in whole)]


def _edit(text: str, tree: Tree[Token], o: Override, switch: bool = False) -> _Edit:
    """Where `o` goes in the plan's text: over the value written, or into its block; with `switch` (`--set
    model=NAME` too), a model field of a model written out or read from a config.json into a block after the preset
    that replaces it."""
    head, rest = o.path[0], o.path[1:]
    statements = [s for s in tree.children if isinstance(s, Tree)]
    found = next((s for s in statements if s.data == head or s.data.startswith(head + "_")), None)
    if switch and head == "model" and rest and found is not None and found.data in ("model_full", "model_from"):
        assert found.meta.end_pos is not None, "the parser keeps positions"
        return _insert_nested(found.meta.end_pos, " { ", rest, " }", o)
    if head == "objective" or (head == "model" and not rest):
        if rest:
            raise _unknown(o, 1)
        if found is None:
            return _insert(len(text), f"\n{head} = {o.value}\n" if head == "objective"
                           else f'\nmodel preset {_quoted(o.value)}\n', o, len(head) + 4 if head == "objective" else 15)
        if found.data in ("model_full", "model_from"):
            # another preset in place of a model written out or read from a config.json, its block with it (until
            # 2026-12-03 the written model kept its dimensions under the preset's name, and any name passed)
            assert found.meta.start_pos is not None and found.meta.end_pos is not None, "the parser keeps positions"
            return _Edit(found.meta.start_pos, found.meta.end_pos, f"model preset {_quoted(o.value)}", o, 13)
        token = next(c for c in found.children if isinstance(c, Token))
        return _replace(token, _quoted(o.value) if token.type == "STRING" else o.value, o)
    if not rest:
        raise PlanError([Diagnostic("E104", Severity.ERROR, f"`{head}` is a block: --set one of its fields",
                                    o.whole, f"e.g. --set {head}.{'batch' if head == 'workload' else 'gpus'}=…")])
    if rest[-1:] == ("preset",) and rest[:-1] in ((), ("gpu",)):      # `model preset "x"` is --set model=x
        said = ".".join(o.path[:-1])
        raise PlanError([Diagnostic("E104", Severity.ERROR, f"`{said}` is chosen by its preset's name, not a "
                                    "`preset` field", o.whole, f"--set {said}={o.value}")])
    if head == "require":
        return _require(text, found, o)
    if found is None:
        return _insert_nested(len(text), f"\n{head} {{ ", rest, " }\n", o)
    block = next((c for c in found.children if isinstance(c, Tree) and c.data == "block"), None)
    if block is None:                          # `model preset "x"` without a block: one after it
        return _insert_nested(found.meta.end_pos, " { ", rest, " }", o)
    return _in_block(block, rest, o)


def _replaced(tree: Tree[Token], overrides: list[Override], seen: dict[tuple[str, ...], Override]) -> list[_Edit]:
    """The fields of the plan that an override takes away (`REPLACES`): each written in its block and set by no
    override (set too, the two are E104, as in a plan), cut out."""
    return [_Edit(start, end, "", o, 0) for o in overrides for start, end in replaced_spans(tree, o.path, seen)]


def _in_block(block: Tree[Token], rest: tuple[str, ...], o: Override) -> _Edit:
    name, deeper = rest[0], rest[1:]
    items = [i for i in block.children if isinstance(i, Tree)]
    if name == "gpu":
        gpu = next((i for i in items if i.data in ("gpu_preset", "gpu_custom")), None)
        if not deeper and gpu is not None:     # another preset
            return _Edit(gpu.meta.start_pos, gpu.meta.end_pos, f"gpu preset {_quoted(o.value)}", o, 11)
        if gpu is not None and gpu.data == "gpu_custom":
            return _in_block(child_tree(gpu, 1), deeper, o)
        if deeper:                             # `gpu { memory = … }` would be a GPU of no preset and no name
            raise preset_gpu_field(o.path, o.src, gpu)
    match_ = next((i for i in items if i.children and isinstance(i.children[0], Token)
                   and str(i.children[0]) == name and i.data != "gpu_preset"), None)
    if match_ is not None and not deeper and match_.data == "assign":
        value = child_tree(match_, 1)
        return _Edit(value.meta.start_pos, value.meta.end_pos, o.value, o, 0)
    if match_ is not None and deeper and match_.data == "subblock":
        return _in_block(child_tree(match_, 1), deeper, o)
    return _insert_nested(block.meta.end_pos - 1, " ", rest, " ", o)      # before the block's `}`


def _require(text: str, found: Tree[Token] | None, o: Override) -> _Edit:
    if len(o.path) != 2:
        raise _unknown(o, 2)
    kind = o.path[1]
    for req in (found.children if found is not None else ()):
        if isinstance(req, Tree) and str(req.children[0]) == kind:
            value = child_tree(req, 2)
            return _Edit(value.meta.start_pos, value.meta.end_pos, o.value, o, 0)
    base = re.sub(r"_p[0-9]+$", "", kind)                        # `ttft_p99`: a percentile of `ttft`
    floor = base in {k.value for k in RequirementKind} and RequirementKind(base).is_floor
    line = f"{kind} {'>=' if floor else '<='} {o.value}"
    if found is None:
        return _insert(len(text), f"\nrequire {{ {line} }}\n", o, 11 + len(kind) + 4, 11)
    return _insert(found.meta.end_pos - 1, f" {line} ", o, 1 + len(kind) + 4, 1)


def _insert_nested(at: int, before: str, rest: tuple[str, ...], after: str, o: Override) -> _Edit:
    """`speculative { tokens = 3 }` for the path ('speculative', 'tokens'), between `before` and `after`. An edit that
    opens blocks (nested names, or a `before` that opens one: ` { `, `workload { `) says so (`_Edit.opener`)."""
    field = f"{rest[-1]} = {o.value}"
    opener = before + "".join(f"{name} {{ " for name in rest[:-1])
    closer = " }" * (len(rest) - 1) + after
    equals = len(opener) + len(rest[-1])               # the field's `=`
    edit = _insert(at, opener + field + closer, o, equals + 3, equals - len(rest[-1]))
    if len(rest) > 1 or before.rstrip().endswith("{"):
        return dataclasses.replace(edit, opener=opener, closer=closer, before=before, after=after, path=rest[:-1],
                                   field=field)
    return edit


def _insert(at: int, text: str, o: Override, value_at: int, name_at: int = -1) -> _Edit:
    return _Edit(at, at, text, o, value_at, name_at)


def _replace(token: Token, text: str, o: Override) -> _Edit:
    assert token.start_pos is not None and token.end_pos is not None, "the parser keeps positions"
    return _Edit(token.start_pos, token.end_pos, text, o, 0)


def _quoted(value: str) -> str:
    return value if value.startswith('"') else f'"{value}"'


def _unknown(o: Override, depth: int) -> PlanError:
    part = ".".join(o.path[:depth + 1])
    return PlanError([Diagnostic("E101", Severity.ERROR, f"`{part}` is not a field --set can reach",
                                 o.src.span(0, len(part)), "docs/cli.md lists the paths --set takes")])
