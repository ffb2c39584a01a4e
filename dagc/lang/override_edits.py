"""The text edits `--set` options make in a plan (`dagc.lang.overrides`): each an `Edit` — text put at a span of the
plan's, and where the option's value lands in it —, made in one pass (`apply_edits`), fields that open the same new
block at one place written as one block."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Opt = TypeVar("Opt")        # the option an edit comes from (`dagc.lang.overrides.Override`)

__all__ = ["Edit", "apply_edits"]


@dataclass(frozen=True)
class Edit(Generic[Opt]):
    """Text put at [start, end) of the plan; `value_at` is where the override's value starts in `text` and `name_at`
    where its last path part does (-1: not in it)."""

    start: int
    end: int
    text: str
    override: Opt
    value_at: int
    name_at: int = -1
    # the text before the field when the edit opens new blocks (` { `, ` speculative { `) and after it (` }`):
    # edits opening blocks at one place, after the same text (`before`: ` { `), are one block (`apply_edits`), each
    # field (`field`) in the blocks its `path` names
    opener: str = ""
    closer: str = ""
    before: str = ""
    after: str = ""
    path: tuple[str, ...] = ()
    field: str = ""


def apply_edits(text: str, edits: list[Edit[Opt]]) -> tuple[str, list[tuple[int, Edit[Opt]]]]:
    """The text with every edit made, and where each edit's text starts in it."""
    out: list[str] = []
    placed: list[tuple[int, Edit[Opt]]] = []
    at, delta = 0, 0
    ordered = sorted(edits, key=lambda e: (e.start, e.end, e.opener))
    i = 0
    while i < len(ordered):
        e = ordered[i]
        group = [e]
        while e.opener and i + len(group) < len(ordered) and _joins(ordered[i + len(group)], e):
            group.append(ordered[i + len(group)])
        i += len(group)
        out.append(text[at:e.start])
        if len(group) == 1:
            placed.append((e.start + delta, e))
            out.append(e.text)
            delta += len(e.text) - (e.end - e.start)
            at = e.end
            continue
        # fields into new blocks at one place make one block: ` { a = 1  moe { b = 2 } }`, not ` { a = 1 } { moe { …`
        block, fields = _one_block(group)
        placed += [(e.start + delta + off, f) for off, f in fields]
        out.append(block)
        delta += len(block)
        at = e.end
    out.append(text[at:])
    return "".join(out), placed


def _joins(x: Edit[Opt], e: Edit[Opt]) -> bool:
    """Whether insertion `x` goes into the blocks insertion `e` opens: at the same place, after the same text."""
    return bool(x.opener) and x.start == x.end == e.start == e.end and (x.before, x.after) == (e.before, e.after)


def _one_block(group: list[Edit[Opt]]) -> tuple[str, list[tuple[int, Edit[Opt]]]]:
    """The text of `group`'s fields in one block after their `before` (nested blocks shared: `moe { a = 1  b = 2 }`),
    and each field as an edit of its own text, with where it starts in that text."""
    tree: _Node[Opt] = _Node()
    for g in group:
        node = tree
        for name in g.path:
            node = node.blocks.setdefault(name, _Node())
        node.fields.append(g)
    text, fields = group[0].before, list[tuple[int, Edit[Opt]]]()

    def render(node: _Node[Opt]) -> None:
        nonlocal text
        parts = 0
        for g in node.fields:
            text += "  " if parts else ""
            fields.append((len(text), dataclasses.replace(g, text=g.field, value_at=g.field.index(" = ") + 3,
                                                          name_at=0)))
            text += g.field
            parts += 1
        for key, kid in node.blocks.items():
            text += ("  " if parts else "") + f"{key} {{ "
            render(kid)
            text += " }"
            parts += 1

    render(tree)
    return text + group[0].after, fields


@dataclass
class _Node(Generic[Opt]):
    """A block of `_one_block`: its fields' edits, in order, and its inner blocks by name."""

    fields: list[Edit[Opt]] = field(default_factory=list)
    blocks: dict[str, _Node[Opt]] = field(default_factory=dict)


