"""Reading `{ … }` blocks and field values: the value layer of the lowering pass.

Input: the items of a block as the `dagc.lang.lower` Transformer builds them (`Item`, `Value`:
syntax, not yet meaning) and the block's field schema (`dagc.lang.fields`). Output: the values
(`FieldValue`s, in SI units) keyed by field name, with every problem recorded as a diagnostic in a
`Collector`: unknown names (E101), wrong dimensions (E102), bad values and duplicates (E104).
A value that failed is `BAD`, so that the caller can stop without a second message.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from lark import Token, Tree
from lark.tree import Branch, Meta

from ..diagnostics import Diagnostic, Severity, quote
from ..source import SourceFile, Span
from ..units import Dimension, Unit, bound_text, lookup
from .choice_words import choice_hint
from .field_words import unknown_block_hint, unknown_field_hint
from .fields import PLAIN, Field, FieldValue, Inner, Named, degree_after, did_you_mean
from .hints import NOT_A_NUMBER, efficiency_above_one, fraction_between, not_a_number, unit_hint, unitless_hint
from .unit_slips import slip_hint, token_rate_hint, tokens_multiplier_hint

__all__ = ["BAD", "Bad", "Collector", "Item", "ItemKind", "Value", "ValueKind", "child_tree", "node_span",
           "read_block", "read_value", "subtrees", "unit_dimension", "written_fields"]

# A mix changes the workload's fields; a request log is the workload's, which each mix replays at its own rate
_LOG_IN_MIX = ('a request log is the workload\'s, `workload { requests from "…" }`: each mix replays it, at its own '
               "`rate`; a mix's `requests = N` replays its first N")
_NUM_RE = re.compile(r"[+-]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def node_span(src: SourceFile, node: Meta | Token) -> Span:
    """Where a tree (by its `meta`) or a token is in `src`; an empty tree is the whole file."""
    if isinstance(node, Token):
        assert node.start_pos is not None and node.end_pos is not None, "the lexer positions every token"
        return src.span(node.start_pos, node.end_pos)
    return src.whole() if getattr(node, "empty", True) else src.span(node.start_pos, node.end_pos)


def subtrees(children: Sequence[Branch[Token]]) -> list[Tree[Token]]:
    """Children the grammar makes rules, never tokens: a plan's statements, a fleet's items, a strategy's options."""
    trees = [c for c in children if isinstance(c, Tree)]
    assert len(trees) == len(children), "the grammar makes these rules"
    return trees


def written_fields(tree: Tree[Token], statement: str) -> set[str]:
    """The names of the `name = value` fields the plan's first `statement` block writes (`rate` in `workload`)."""
    found = next((s for s in subtrees(tree.children) if s.data == statement), None)
    items = child_tree(found, 0).children if found is not None else []
    return {str(i.children[0]) for i in items if isinstance(i, Tree) and i.data == "assign"}


def child_tree(node: Tree[Token], i: int) -> Tree[Token]:
    """The `i`-th child of `node`, one the grammar makes a rule (a block, a value)."""
    child = node.children[i]
    assert isinstance(child, Tree), "the grammar makes this child a rule"
    return child


class Bad:
    """Marker for a value that already produced a diagnostic."""


BAD = Bad()


@dataclass
class Collector:
    """What the lowering has found so far: diagnostics, and where each field was written."""

    diags: list[Diagnostic] = field(default_factory=list)
    spans: dict[str, Span] = field(default_factory=dict)
    # fields an unknown one was told it is likely to be (`where.field`): their absence is that typo, not a second
    # error (`genrate = 500` is E101 "did you mean `generate`", not also E103 "the workload has no `generate`")
    guessed: set[str] = field(default_factory=set)
    # where each field's value was written (`spans` has the whole `name = value`): a check of the value alone
    # points there, so that a value a `--set` gave is shown in the option (`dagc.lang.overrides`)
    value_spans: dict[str, Span] = field(default_factory=dict)

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None) -> Bad:
        self.diags.append(Diagnostic(code, Severity.ERROR, message, span, hint))
        return BAD

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diags)


class ValueKind(enum.Enum):
    QUANTITY = "quantity"           # `64 GB`, `0.6`, `16`
    NAMED_NUMBER = "named_number"   # `imbalance 1.3`
    WORD = "word"                   # `bf16`, `true`
    STRING = "string"               # `"h100-sxm"`


@dataclass(frozen=True)
class Value:
    """The right-hand side of `name = value`, as written."""

    kind: ValueKind
    tokens: tuple[Token, ...]
    span: Span
    token_spans: tuple[Span, ...]


class ItemKind(enum.Enum):
    ASSIGN = "assign"            # name = value
    SUBBLOCK = "subblock"        # name { … }
    GPU_PRESET = "gpu_preset"    # gpu preset "h100-sxm"
    GPU_CUSTOM = "gpu_custom"    # gpu "name" { … }
    FROM_FILE = "from_file"      # name from "file.json"


@dataclass(frozen=True)
class Item:
    """One entry of a block. A `gpu` entry is named "gpu" and spans the whole entry."""

    kind: ItemKind
    name: str
    span: Span
    name_span: Span
    value: Value | None = None          # ASSIGN
    block: tuple[Item, ...] = ()        # SUBBLOCK, GPU_CUSTOM
    label: str = ""                     # GPU_PRESET, GPU_CUSTOM, FROM_FILE: the quoted text, without quotes
    label_span: Span | None = None


def read_block(out: Collector, items: tuple[Item, ...], where: str, fields: dict[str, Field],
               inner: Inner = PLAIN) -> tuple[dict[str, FieldValue | Bad], dict[str, Item]]:
    """Read a `{ … }` block: values by field (`dagc.lang.block_fields` types them), and the sub-block items by name.

    `where` names the block in messages and in the recorded spans (`cluster.efficiency`).
    A `gpu` entry is returned as the sub-block "gpu" where `inner.gpu` allows one (the cluster), else it is E101.
    `inner.files` names the fields that may be read from a file (`kernels from "…"`): such an entry
    is returned among the sub-block items, under its name; the caller reads the file. Those in
    `inner.file_and_value` may be written both ways at once (`requests from "log.csv"  requests = 100`).
    """
    subblocks, files, file_and_value = inner.subblocks, inner.files, inner.file_and_value
    values: dict[str, FieldValue | Bad] = {}
    subs: dict[str, Item] = {}
    seen: dict[tuple[str, bool], Item] = {}
    for item in items:
        key = (item.name, item.kind is ItemKind.FROM_FILE and item.name in file_and_value)
        if key in seen:
            out.error("E104", f"`{item.name}` is given twice in {where}", item.name_span,
                      f"the first is at line {seen[key].span.line}; keep one")
            continue
        seen[key] = item
        match item.kind:
            case ItemKind.ASSIGN:
                _assign(out, item, where, fields, subblocks, values)
            case ItemKind.SUBBLOCK:
                if item.name not in subblocks:
                    out.error("E101", f"unknown block `{item.name}` in {where}", item.name_span,
                              unknown_block_hint(item.name, subblocks, list(fields)))
                    continue
                out.spans[f"{where}.{item.name}"] = item.span
                subs[item.name] = item
            case ItemKind.GPU_PRESET | ItemKind.GPU_CUSTOM:
                if not inner.gpu:
                    out.error("E101", f"unknown block `gpu` in {where}", item.name_span,
                              'the GPU is named in the cluster: `cluster { gpu preset "h100-sxm" … }`')
                    continue
                subs["gpu"] = item
            case ItemKind.FROM_FILE:
                if item.name not in files:
                    if item.name in fields or item.name in subblocks:
                        out.error("E104", f"`{item.name}` cannot be read from a file in {where}", item.name_span,
                                  _LOG_IN_MIX if (where, item.name) == ("fleet.mix", "requests") else
                                  f"write `{item.name} = …`" if item.name in fields else f"write `{item.name} {{ … }}`")
                    else:
                        out.error("E101", f"unknown field `{item.name}` in {where}", item.name_span,
                                  did_you_mean(item.name, list(dict.fromkeys([*fields, *subblocks, *files]))))
                    continue
                out.spans[f"{where}.{item.name}" + (".from" if key[1] else "")] = item.span
                subs[item.name] = item
    return values, subs


def _assign(out: Collector, item: Item, where: str, fields: dict[str, Field], subblocks: tuple[str, ...],
            values: dict[str, FieldValue | Bad]) -> None:
    if item.name not in fields:
        if item.name in subblocks:
            out.error("E104", f"`{item.name}` is a block: write `{item.name} {{ … }}`", item.name_span,
                      f"replace `{item.name} = …` with `{item.name} {{ … }}` and the fields inside it")
        else:
            # a degree written as a field (`tensor_parallel_size = 2`): the strategy's hint at that degree
            v = item.value
            degree = degree_after(str(v.tokens[0])) if v is not None and v.kind is ValueKind.QUANTITY and \
                len(v.tokens) == 1 else "8"
            guess, hint = unknown_field_hint(item.name, where, [*fields, *subblocks], fields, degree)
            if guess is not None:
                out.guessed.add(f"{where}.{guess}")
            out.error("E101", f"unknown field `{item.name}` in {where}", item.name_span, hint)
        return
    assert item.value is not None, "the grammar gives every assignment a value"
    out.spans[f"{where}.{item.name}"] = item.span
    out.value_spans[f"{where}.{item.name}"] = item.value.span       # a check of the value points at it alone
    values[item.name] = read_value(out, item.value, fields[item.name], f"{where}.{item.name}")


def read_value(out: Collector, value: Value, spec: Field, label: str, op: str = "=") -> FieldValue | Bad:
    """The value of one field in SI units (a `(value, per_gpu)` pair for a throughput), or BAD.

    `label` is the field's dotted name; messages use its last part, and their examples `op` after it
    (a requirement's comparison: `tpot <= 50 ms`).
    """
    short = label.rpartition(".")[2]
    lhs = f"{short} {op}"
    match spec.kind:
        case "bool":
            return _bool(out, value, short)
        case "choice":
            return _choice(out, value, spec, short)
        case "routing":
            return _routing(out, value)
        case "batch":
            if value.kind is ValueKind.WORD and str(value.tokens[0]) == "max":
                return "max"             # the largest batch each strategy serves (`dagc.verdict.batch_max`)
            if value.kind is ValueKind.WORD and not NOT_A_NUMBER.fullmatch(str(value.tokens[0])):
                return out.error("E101", f"`batch` is a number of requests or `max`, not `{value.tokens[0]}`",
                                 value.span, "write `batch = 128`, or `batch = max` for the largest that fits")
            if value.kind not in (ValueKind.QUANTITY, ValueKind.WORD):   # a string, a block, several words: neither
                shown = " ".join(str(t) for t in value.tokens)
                return out.error("E102", f"`batch` is a number of requests or `max`, not `{shown}`", value.span,
                                 "write `batch = 128`, or `batch = max` (unquoted) for the largest that fits")
            return _quantity(out, value, replace(spec, kind="int"), short, lhs)
        case "name":
            return _word(out, value, short)
        case "tokens":             # `prefix = 2000 tokens`, or the plain number
            return _quantity(out, _without_tokens(value), replace(spec, kind="int"), short, lhs)
        case _:
            return _quantity(out, value, spec, short, lhs)


def _without_tokens(value: Value) -> Value:
    """A count written with the word `tokens` (or `token`) after it, as the plain number."""
    text = str(value.tokens[0]) if value.tokens else ""
    m = _NUM_RE.match(text)
    if value.kind is not ValueKind.QUANTITY or m is None or text[m.end():].strip() not in ("tokens", "token"):
        return value
    number = Token.new_borrow_pos(value.tokens[0].type, text[:m.end()], value.tokens[0])
    return replace(value, tokens=(number, *value.tokens[1:]))


def _word(out: Collector, value: Value, short: str) -> str | Bad:
    match value.kind:
        case ValueKind.WORD:
            return str(value.tokens[0])
        case ValueKind.STRING:
            return str(value.tokens[0])[1:-1]
    return out.error("E102", f"`{short}` takes a name, not a number", value.span,
                     f"write a name after `{short} =` (docs/language.md lists them)")


def _bool(out: Collector, value: Value, short: str) -> bool | Bad:
    word = _word(out, value, short)
    if isinstance(word, Bad):
        return BAD
    if word not in ("true", "false"):
        return out.error("E101", f"`{short}` is true or false, not `{word}`", value.span,
                         did_you_mean(word, ["true", "false"]))
    return word == "true"


def _choice(out: Collector, value: Value, spec: Field, short: str) -> str | Bad:
    if value.kind not in (ValueKind.WORD, ValueKind.STRING):
        return out.error("E102", f"`{short}` takes a name, not a number", value.span,
                         "one of: " + ", ".join(f"`{short} = {c}`" for c in spec.choices))
    word = _word(out, value, short)
    if isinstance(word, Bad):
        return BAD
    if word not in spec.choices:
        return out.error("E101", f"unknown {short} `{word}`", value.span, choice_hint(short, word, spec.choices))
    return word


def _routing(out: Collector, value: Value) -> float | None | Bad:
    """`random` is None (the busiest rank's load follows from the token count); `uniform` is 1.0;
    `imbalance X` is X, the busiest rank's share of the mean."""
    head = str(value.tokens[0])
    if value.kind is ValueKind.WORD and head in ("random", "uniform"):
        return None if head == "random" else 1.0
    if value.kind is ValueKind.NAMED_NUMBER and head == "imbalance":
        x = _number(out, str(value.tokens[1]), value.token_spans[1])
        if isinstance(x, Bad):
            return BAD
        if not 1.0 <= x <= 1e6:
            return out.error("E104", f"imbalance {x:g} is below 1: the busiest rank carries at least the mean",
                             value.span, "write `routing = imbalance 1.3` (1.0 is uniform)")
        return x
    return out.error("E101", f"unknown routing `{head}`", value.span,
                     "write `routing = random` (the default), `routing = uniform` or `routing = imbalance 1.3`")


def _number(out: Collector, text: str, span: Span) -> float | Bad:
    try:
        x = float(text.replace("_", ""))
    except ValueError:
        return out.error("E104", f"`{quote(text)}` is not a number", span,
                         "write a number such as `8`, `1.5`, `2e9` or `1_000` (with its unit where it takes one)")
    if not math.isfinite(x) or abs(x) > 1e30:
        return out.error("E104", f"`{quote(text)}` is too large", span, "dagc reads numbers up to 1e30")
    return x


def _quantity(out: Collector, value: Value, spec: Field, short: str, lhs: str) -> float | tuple[float, bool] | Bad:
    dim = spec.dimension
    assert dim is not None, "every numeric field has a dimension"
    if value.kind is not ValueKind.QUANTITY:
        shown = " ".join(str(t) for t in value.tokens)
        if nan := not_a_number(shown, f"`{lhs} {dim.example}`"):       # `nan`, `inf`: no figure, in any unit
            return out.error("E104", nan[0], value.span, nan[1])
        return out.error("E102", f"`{short}` takes {dim.value}, not `{shown}`", value.span,
                         f"for example `{lhs} {dim.example}`")
    text, tok_span = str(value.tokens[0]), value.token_spans[0]
    m = _NUM_RE.match(text)
    assert m is not None, "the QUANTITY terminal starts with a number"
    num = _number(out, m.group(0), tok_span.source.span(tok_span.start, tok_span.start + m.end()))
    if isinstance(num, Bad):
        return BAD
    scaled = _with_unit(out, num, text, text[m.end():].strip(), tok_span, Named(short, lhs, dim))
    if isinstance(scaled, Bad):
        return BAD
    x, per_gpu = scaled
    if dim is Dimension.COUNT:
        if (between := fraction_between(m.group(0))) is not None:      # whole as written, not as a float rounds it
            lo, hi = max(1, between[0]), max(1, between[1])
            return out.error("E104", f"`{short}` must be a whole number, not {text}", value.span,
                             f"write `{lhs} {lo}`" + ("" if lo == hi else f" or `{lhs} {hi}`"))
        x = int(x)
    if not spec.lo <= x <= spec.hi:
        return _out_of_range(out, x, text, spec, Named(short, lhs, dim), value.span)
    return (x, per_gpu) if dim is Dimension.THROUGHPUT else x


def _with_unit(out: Collector, num: float, text: str, unit_text: str, span: Span,
               field: Named) -> tuple[float, bool] | Bad:
    """The number scaled by its unit, and whether the unit ends in `/gpu`; `span` is the token's."""
    dim, short, lhs = field.dim, field.short, field.lhs
    if not unit_text:
        if dim in (Dimension.COUNT, Dimension.RATIO):
            return num, False
        return out.error("E102", f"`{short}` takes {dim.value}: `{text}` has no unit", span,
                         unitless_hint(num, text, dim, short, lhs))
    unit_span = span.source.span(span.end - len(unit_text), span.end)
    unit: Unit | None = lookup(unit_text)
    if unit is None:               # the unit of the same meaning, the factor said aloud, or the units it takes
        number = text[:len(text) - len(unit_text)].strip()
        return out.error("E101", f"unknown unit `{unit_text}`", unit_span,       # `Mtokens/s`: converted first
                         token_rate_hint(text, unit_text, dim, lhs) or tokens_multiplier_hint(number, unit_text, dim,
                         lhs) or unit_hint(number, unit_text, dim, short, lhs))
    if unit.dimension is not dim:
        hint = slip_hint(text, unit_text, dim, lhs) or f"for example `{lhs} {dim.example}`"
        if dim is Dimension.RATE and unit.dimension is Dimension.RATIO:     # a share of the traffic, meant as a rate
            hint = (f"`{short}` counts requests a second, not a share of them: write the rate that share is, "
                    f"e.g. {text} of 10 requests/s is `{lhs} {num * unit.factor * 10:g} requests/s`")
        return out.error("E102", f"`{short}` takes {dim.value}, but `{text}` is {unit.dimension.value}",
                         unit_span, hint)
    return num * unit.factor, unit.per_gpu


def _out_of_range(out: Collector, x: float, text: str, spec: Field, field: Named, span: Span) -> Bad:
    dim, short, lhs = field.dim, field.short, field.lhs
    if x < spec.lo:                          # a floor that stands for "above 0" is said so, not as its tiny value
        low = bound_text(spec.lo, dim, _NUM_RE.sub("", text, count=1).strip())     # in the unit written
        bound = "above 0" if spec.above_zero and x <= 0 else f"at least {low}"
        return out.error("E104", f"`{short}` = {text} is out of range: it must be {bound}", span,
                         f"write `{lhs} {low}` or more" if dim is Dimension.COUNT else
                         f"write a value {bound.replace('at least', 'of at least')}, e.g. `{lhs} {dim.example}`")
    if dim is Dimension.COUNT:
        return out.error("E104", f"`{short}` = {text} is out of range (too large)", span,
                         f"write `{lhs} {int(spec.hi):,}` or less".replace(",", "_"))
    if dim is Dimension.RATIO and spec.hi == 1 and (x <= 100 or short == "memory") and "%" not in text:     # 90, 150
        hint = (f"a bare number is a share of the GPU's memory, at most 1: did you mean the size `{lhs} {text} "
                f"{'GB' if x < 1000 else 'MiB'}`?" if x > 100 else efficiency_above_one(short, lhs, x) or
                f"did you mean `{lhs} {text} %`? (or the fraction `{lhs} {x / 100:g}`)" if short != "acceptance"
                or x > 9 else f"a drafted token's odds of acceptance; {text} tokens a step: `accept_length = {text}`")
        return out.error("E104", f"`{short}` = {text} is out of range: a share is at most 1", span, hint)
    return out.error("E104", f"`{short}` = {text} is out of range (too large)", span,
                     f"dagc accepts at most {bound_text(spec.hi, dim, _NUM_RE.sub('', text, count=1).strip())}")


def unit_dimension(value: Value) -> Dimension | None:
    """The dimension of a quantity's unit (None for a bare number, a word or an unknown unit)."""
    if value.kind is not ValueKind.QUANTITY:
        return None
    text = str(value.tokens[0])
    m = _NUM_RE.match(text)
    assert m is not None, "the QUANTITY terminal starts with a number"
    unit = lookup(text[m.end():].strip())
    return unit.dimension if unit else None
