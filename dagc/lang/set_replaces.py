"""The fields a `--set` takes away: one value says how requests arrive, and one how often a drafted token is
accepted, so a `--set` of one way replaces the other where the plan writes it (docs/cli.md, `--set`).

Input: the plan's syntax tree, an override's dotted path, and the paths every override sets. Output: the spans of
the plan's text to cut — each field the override takes away, written in its block and set by no override (both
set are E104, as in a plan).
"""

from __future__ import annotations

from collections.abc import Container

from lark import Token, Tree

from .blocks import child_tree

__all__ = ["FROM_FORMS", "NO_FILE", "REPLACES", "replaced_spans"]

# `workload.rate` on a closed loop takes its clients and their ramp away, `workload.concurrency` on an open loop its
# rate and arrivals; `acceptance` and `accept_length` are two ways to say one speculative decoding's yield
REPLACES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("workload", "rate"): ("concurrency", "ramp"),
    ("workload", "concurrency"): ("rate", "arrival"),
    ("workload", "speculative", "acceptance"): ("accept_length",),
    ("workload", "speculative", "accept_length"): ("acceptance",),
}
# The fields whose file form (`routing from "loads.json"`) is another way to say the field: a `--set` of the field
# takes it away (`--set workload.routing=uniform` over measured loads; until 2026-12-02 E104, "given twice"). Not
# `requests`: `requests = N` beside `requests from "log.csv"` is how many of the log's requests.
FROM_FORMS = frozenset({("workload", "routing")})
# E001's hint for a file given to --set (`--set 'workload.routing=from "x.json"'`): a file is the plan's to name
NO_FILE: dict[tuple[str, ...], str] = {
    ("workload", "routing"): ("--set names no file: measured expert loads are the plan's, `workload { routing from "
                              "\"FILE\" }`; --set workload.routing=uniform (random, imbalance X) takes them away"),
    ("workload", "requests"): ("--set names no file: a request log is the plan's, `workload { requests from \"FILE\" "
                               "}`; --set workload.requests=N sets how many requests (the first N of the plan's log)"),
}


def replaced_spans(tree: Tree[Token], path: tuple[str, ...], seen: Container[tuple[str, ...]]) -> list[tuple[int, int]]:
    """The (start, end) of each field of `path`'s own block that a `--set` of `path` takes away.

    Example:
        >>> from dagc.lang.parse import parse
        >>> from dagc.source import SourceFile
        >>> text = "workload { batch = 8  speculative { method = mtp  tokens = 2  accept_length = 2.6 } }"
        >>> tree = parse(SourceFile("p.moe", text))
        >>> [text[a:b] for a, b in replaced_spans(tree, ("workload", "speculative", "acceptance"), ())]
        ['accept_length = 2.6']
        >>> text = 'workload { batch = 8  routing from "loads.json" }'
        >>> [text[a:b] for a, b in replaced_spans(parse(SourceFile("p.moe", text)), ("workload", "routing"), ())]
        ['routing from "loads.json"']
    """
    names = [n for n in REPLACES.get(path, ()) if (*path[:-1], n) not in seen]
    from_form = path[-1] if path in FROM_FORMS else None
    statement = next((s for s in tree.children if isinstance(s, Tree) and s.data == path[0]), None)
    if not (names or from_form) or statement is None:
        return []
    block = child_tree(statement, 0)
    for name in path[1:-1]:                        # a block inside it: `speculative { … }`
        sub = next((i for i in block.children if isinstance(i, Tree) and i.data == "subblock"
                    and str(i.children[0]) == name), None)
        if sub is None:
            return []
        block = child_tree(sub, 1)
    return [(i.meta.start_pos, i.meta.end_pos) for i in block.children if isinstance(i, Tree) and (
        i.data == "assign" and str(i.children[0]) in names
        or i.data == "assign_from" and str(i.children[0]) == from_form)]
