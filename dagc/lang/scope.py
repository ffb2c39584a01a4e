"""A strategy's scope, as written → its axes and its canonical text.

Input: a `scope` tree of grammar/plan.lark (`pp 4 [5, 4, 4, 3] < tp 4 sp ; ep 8 >`).
Output: the domains of `AxisNode`s (`scope_axes`), kept as written for the flatten pass
to judge, and the text dagc prints for the strategy (`strategy_text`). Both are Lark
Transformers with one method per rule of the scope grammar; neither reports anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from lark import Token, Transformer, Tree, v_args
from lark.tree import Meta

from ..plan.strategy import AxisNode
from ..source import SourceFile, Span
from .blocks import node_span

__all__ = ["Domains", "scope_axes", "strategy_text"]

Domains = tuple[tuple[AxisNode, ...], ...]


@dataclass(frozen=True)
class _Split:
    layers: tuple[float, ...]
    span: Span


@dataclass(frozen=True)
class _Body:
    domains: Domains


class _Written(TypedDict, total=False):
    """An axis's parts as written: `AxisNode`'s fields of these names."""

    degree: float
    degree_span: Span
    split: tuple[float, ...]
    split_span: Span
    body: Domains


@v_args(meta=True)
class _ScopeAxes(Transformer[Token, Domains]):
    """A strategy scope → its domains of `AxisNode`s, as written (the flatten pass judges them)."""

    def __init__(self, src: SourceFile) -> None:
        super().__init__(visit_tokens=False)
        self.src = src

    def scope(self, meta: Meta, domains: list[tuple[AxisNode, ...]]) -> Domains:
        return tuple(domains)

    def domain(self, meta: Meta, axes: list[AxisNode]) -> tuple[AxisNode, ...]:
        return tuple(axes)

    def split(self, meta: Meta, numbers: list[Token]) -> _Split:
        return _Split(tuple(float(str(t).replace("_", "")) for t in numbers), node_span(self.src, meta))

    def body(self, meta: Meta, children: list[Domains]) -> _Body:
        (domains,) = children
        return _Body(domains)

    def axis(self, meta: Meta, children: list[Token | _Split | _Body]) -> AxisNode:
        name, *parts = children
        assert isinstance(name, Token)          # the grammar's `axis: NAME …`
        written: _Written = {}
        for part in parts:
            match part:
                case Token():
                    # Degrees are judged by the flatten pass (E204), so keep even absurd values.
                    written.update({"degree": float(str(part).replace("_", "")),
                                    "degree_span": node_span(self.src, part)})
                case _Split(layers=layers, span=span):
                    written.update({"split": layers, "split_span": span})
                case _Body(domains=domains):
                    written.update({"body": domains})
        return AxisNode(name=str(name), span=node_span(self.src, name), **written)


class _ScopeText(Transformer[Token, str]):
    """A strategy scope → its canonical text (see `strategy_text`)."""

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)

    def scope(self, domains: list[str]) -> str:
        return " ; ".join(domains)

    def domain(self, axes: list[str]) -> str:
        return " ".join(axes)

    def axis(self, parts: list[str]) -> str:
        return " ".join(str(p) for p in parts)

    def split(self, numbers: list[Token]) -> str:
        return "[" + ", ".join(str(t) for t in numbers) + "]"

    def body(self, children: list[str]) -> str:
        (scope,) = children
        return f"< {scope} >"


def scope_axes(scope: Tree[Token], src: SourceFile) -> Domains:
    """The domains of a scope, each a tuple of `AxisNode`s located in `src`.

    Example:
        >>> from dagc.lang.parse import parse
        >>> src = SourceFile("s", "pp 2 [1, 1] < tp 4 ; ep 8 >")
        >>> (pp,), = scope_axes(parse(src, start="scope"), src)
        >>> pp.degree, pp.split, [[a.name for a in d] for d in pp.body], pp.split_span.text
        (2.0, (1.0, 1.0), [['tp'], ['ep']], '[1, 1]')
    """
    return _ScopeAxes(src).transform(scope)


def strategy_text(scope: Tree[Token]) -> str:
    """The canonical text of a strategy scope: single spaces, no comments, splits as `[a, b]`.

    It is what report.json, the CLI and the exports show, and `--strategy` accepts it back.

    Example:
        >>> from dagc.lang.parse import parse
        >>> from dagc.source import SourceFile
        >>> tree = parse(SourceFile("s", "pp 2 # c\\n [1,1] <tp 4;ep   8>"), start="scope")
        >>> strategy_text(tree)
        'pp 2 [1, 1] < tp 4 ; ep 8 >'
    """
    return _ScopeText().transform(scope)
