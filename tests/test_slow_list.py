"""tests/slow_tests.txt names the tests left out of the quick subset, `file::test` a line (tests/conftest.py marks
them `slow`): each name must be a test that exists, else a test renamed or removed leaves a stale line behind and
its successor runs in the quick subset unnoticed (three such lines were found on 2026-11-27)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def _defined(path: Path) -> set[str]:
    """The tests `path` defines as pytest names them: a test file's top-level `test_*` functions and its classes'
    `Class::test_*` methods; a module of dagc's functions and classes at any depth, by their dotted module paths
    too (a doctest's id: `load.py::dagc.serve.load.simulate`). Read once per file, however many of its tests the
    list names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    if not path.is_relative_to(ROOT / "dagc"):
        names = {n.name for n in tree.body if isinstance(n, functions) and n.name.startswith("test")}
        return names | {f"{c.name}::{m.name}" for c in tree.body if isinstance(c, ast.ClassDef)
                        for m in c.body if isinstance(m, functions) and m.name.startswith("test")}
    names = {n.name for n in ast.walk(tree) if isinstance(n, (*functions, ast.ClassDef))}
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return names | {f"{module}.{n}" for n in names}


def test_every_name_in_the_slow_list_is_a_test_that_exists():
    lines = (ROOT / "tests" / "slow_tests.txt").read_text(encoding="utf-8").splitlines()
    names = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    stale = []
    for name in names:
        file, _, test = name.partition("::")
        paths = [p for p in (ROOT / "tests" / file,) if p.exists()] or sorted((ROOT / "dagc").rglob(file))
        if not test or not any(test in _defined(p) for p in paths):
            stale.append(name)
    assert not stale, f"tests/slow_tests.txt names tests that do not exist: {stale}"
    assert len(names) == len(set(names)), "tests/slow_tests.txt names a test twice"
