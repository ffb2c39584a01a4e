"""The layout of dagc: one sub-package per pipeline stage, in the order of SPEC 2, a stage importing
only the stages before it (STYLE: "data flows one way").

The order is the `import-linter` layers contract in pyproject.toml (`[tool.importlinter]`), run
here with the linter itself so CI fails when an import breaks it. The linter sees every import,
inside functions and under `if TYPE_CHECKING:` alike. What it does not check is checked here with
`ast`: no import cycle between any two modules (inside a stage too), no module over 400 lines, only
a handful of modules outside the stages, and every stage package in the contract; no function
over 60 lines or with more than 7 parameters, but those of a list that only shrinks; and no `to_json` or
`as_json` outside `dagc.export`, but the public API's `Diagnostic.to_json`.
"""

from __future__ import annotations

import ast
import functools
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import networkx as nx

from conftest import ROOT

PACKAGE = ROOT / "dagc"
MAX_LINES = 400
MAX_FUNCTION_LINES = 60         # decorators and docstring included
MAX_PARAMETERS = 7              # positional-only, positional, keyword-only, *args and **kwargs; not self or cls
# The functions still over a limit, each with its count when it was listed. The list only shrinks: a function
# brought within the limits leaves it, and no function joins it or grows past its count.
OVER_LINES: dict[str, int] = {}
OVER_PARAMETERS: dict[str, int] = {}
# The modules that are no stage: the package's faces and what every stage reads.
# `interrupts`, like `exit_codes`, is read by `__main__` before the compiler loads: the standard library only
TOP_LEVEL = {"__init__", "__main__", "diagnostics", "source", "units", "enums", "exit_codes", "interrupts", "jsontypes",
             "extras"}


def _contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["id"] == "pipeline"]
    return contract


def _layer_modules() -> list[str]:
    return [name.strip() for layer in _contract()["layers"] for name in layer.split("|")]


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, node: ast.ImportFrom) -> str | None:
    """The dagc module an ImportFrom names (None: not dagc), before the `import` list."""
    if node.level == 0:
        name = node.module or ""
        return name[len("dagc."):] if name.startswith("dagc.") else ("" if name == "dagc" else None)
    package = module.split(".")[:-1]            # "rules.base" and "rules.__init__" both live in rules
    base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The dagc modules `module` imports, anywhere in its source."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name[len("dagc."):] for a in node.names if a.name.startswith("dagc."))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if target is None:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                if sub in known or f"{sub}.__init__" in known:
                    out.add(sub)              # `from . import hierarchy`: a module
                elif target:
                    out.add(target)           # `from .x import name`: module x
                # `from . import __version__`: an attribute of the package, not a stage
    return {m if m in known else f"{m}.__init__" for m in out if m in known or f"{m}.__init__" in known}


@functools.cache
def import_graph() -> nx.DiGraph:
    """dagc's modules and the imports between them, built once per test process, when a test first reads it (not
    while pytest collects the file in every process)."""
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target in imports_of(name, path, set(modules)):
            if target != name:
                graph.add_edge(name, target)
    return graph


# `lint-imports`, run by this interpreter: import-linter is in the `test` extra, like pytest itself.
_LINTER = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def _lint_imports(config: Path, cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)} if pythonpath else None
    return subprocess.run([sys.executable, "-c", _LINTER, str(config), "--no-cache", "--no-logo"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_layers_contract_is_kept():
    run = _lint_imports(ROOT / "pyproject.toml", ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 kept, 0 broken" in run.stdout


def test_the_layers_contract_fails_on_an_import_of_a_later_stage(tmp_path):
    """The contract bites: a copy of dagc whose plan IR imports the CLI breaks it."""
    copy = tmp_path / "dagc"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("data", "__pycache__", "*.lark"))
    params = copy / "plan" / "params.py"
    params.write_text(params.read_text() + "\n\ndef _late():\n    from ..cli import main  # noqa: F401\n")
    config = tmp_path / "pyproject.toml"
    shutil.copyfile(ROOT / "pyproject.toml", config)
    run = _lint_imports(config, tmp_path, pythonpath=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "dagc.plan.params -> dagc.cli" in run.stdout


def test_every_stage_is_in_the_contract_and_only_a_handful_of_modules_are_not():
    stages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    listed = {name.removeprefix("dagc.") for name in _layer_modules()}
    assert stages - listed == set(), f"add these packages to [tool.importlinter] layers: {sorted(stages - listed)}"
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top == TOP_LEVEL, f"modules outside the stage packages: {sorted(top - TOP_LEVEL)}"
    assert listed - stages == TOP_LEVEL - {"__init__", "__main__"}


def test_no_module_is_over_400_lines():
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules by responsibility (over {MAX_LINES} lines): {long}"


def _function_sizes(tree: ast.Module, prefix: str) -> dict[str, tuple[int, int]]:
    """Every function and method under `tree` (nested ones too), by `prefix` and its qualified name: its lines
    (decorators and docstring included) and its parameters (self and cls not counted)."""
    sizes = {}
    todo: list[tuple[ast.AST, str]] = [(tree, prefix)]
    while todo:
        node, at = todo.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                a = child.args
                names = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
                own = names[:1] in (["self"], ["cls"])
                params = len(names) + (a.vararg is not None) + (a.kwarg is not None) - own
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                sizes[f"{at}.{child.name}"] = (child.end_lineno - first + 1, params)
                todo.append((child, f"{at}.{child.name}"))
            elif isinstance(child, ast.ClassDef):
                todo.append((child, f"{at}.{child.name}"))
            else:
                todo.append((child, at))
    return sizes


def _all_function_sizes() -> dict[str, tuple[int, int]]:
    return {name: size for module, path in _modules().items()
            for name, size in _function_sizes(ast.parse(path.read_text()), module.removesuffix(".__init__")).items()}


def test_the_function_sizes_are_counted_as_written():
    tree = ast.parse("class C:\n    @staticmethod\n    def m(self, a, /, b, *c, d, **e):\n        'doc'\n"
                     "        def inner(x):\n            return x\n        return 1\n"
                     "def f(cls, a):\n    pass\n")
    assert _function_sizes(tree, "mod") == {"mod.C.m": (6, 5), "mod.C.m.inner": (2, 1), "mod.f": (2, 1)}


def test_no_function_is_over_60_lines_or_7_parameters_but_those_listed():
    sizes = _all_function_sizes()
    long = {name: n for name, (n, _) in sizes.items() if n > MAX_FUNCTION_LINES}
    many = {name: n for name, (_, n) in sizes.items() if n > MAX_PARAMETERS}
    grown = {name: n for name, n in long.items() if n > OVER_LINES.get(name, MAX_FUNCTION_LINES)}
    assert not grown, f"split these functions into steps that each do one thing (over {MAX_FUNCTION_LINES} lines, " \
                      f"or longer than listed): {grown}"
    more = {name: n for name, n in many.items() if n > OVER_PARAMETERS.get(name, MAX_PARAMETERS)}
    assert not more, f"group the values that travel together (over {MAX_PARAMETERS} parameters, or more than " \
                     f"listed): {more}"
    done = sorted({*OVER_LINES.keys() - long.keys(), *OVER_PARAMETERS.keys() - many.keys()})
    assert not done, f"within the limits now (or gone): take them off OVER_LINES / OVER_PARAMETERS: {done}"


def test_no_private_name_is_imported_across_modules():
    """A name with a leading underscore is its module's own: another module that needs it needs a public name
    (`from .compute import MEMORY_BOUND`, not `_MEMORY_BOUND`). Importing a public name under a private alias
    (`Timer as _Timer`) is the importer's own affair."""
    known = set(_modules())
    private = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and _resolve(name, node) is not None:
                private += [f"{name}: {a.name}" for a in node.names
                            if a.name.startswith("_") and not a.name.startswith("__")
                            and f"{_resolve(name, node)}.{a.name}" not in known]
    assert not private, f"make these names public in their module, or move their user: {private}"


# The JSON boundary (docs/architecture.md, "The JSON boundary"): the only code where `Any` may stand, as what
# `json.loads`, `tomllib` and the writers of report.json take and give. A module here holds it whole; a
# `module.function` its function (nested ones included).
JSON_BOUNDARY = {
    "export",                               # results → report.json, dag.json, trace.json, search and fleet JSON
    "kernels.engine_import",                # an engine's measured tables (parquet rows) → a kernel profile's JSON
    "fleet.results_file._json", "fleet.results_file.read_results", "fleet.results_file.Resumed",
    "fleet.results_file.start_results", "fleet.results_file.append_result",    # the fleet's results file
    "calibrate.runs._loads", "calibrate.runs._pairs", "calibrate.runs._objects",  # a run file's JSON lines
    "calibrate.manifest._json_list",        # a manifest's JSON list
}
# The modules that still hold `Any` outside the boundary, each with its count when it was listed. The list only
# shrinks: a module that types its values leaves it, and no module joins it or grows past its count.
ANY_LEFT: dict[str, int] = {}


def _any_uses(tree: ast.Module, prefix: str) -> list[str]:
    """Where `Any` (or `typing.Any`) is named under `tree`: the qualified name of the innermost function or class
    around each use (`prefix` alone at module level), once per use; quoted annotations are read too."""
    uses: list[str] = []
    todo: list[tuple[ast.AST, str]] = [(tree, prefix)]
    while todo:
        node, at = todo.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                todo.append((child, f"{at}.{child.name}"))
                continue
            if isinstance(child, ast.Name) and child.id == "Any" or isinstance(child, ast.Attribute) \
                    and child.attr == "Any":
                uses.append(at)
            elif isinstance(child, ast.Constant) and isinstance(child.value, str) and "Any" in child.value:
                try:
                    quoted = ast.parse(child.value, mode="eval")
                except SyntaxError:
                    quoted = None                # prose: a docstring, a message
                if quoted is not None:
                    uses += _any_uses(ast.Module(body=[ast.Expr(quoted.body)], type_ignores=[]), at)
            todo.append((child, at))
    return uses


def _at_the_boundary(where: str) -> bool:
    return any(where == b or where.startswith(f"{b}.") for b in JSON_BOUNDARY)


def test_the_any_uses_are_found_where_they_stand():
    tree = ast.parse("from typing import Any\nX: Any = 1\n'''Any prose.'''\n"
                     "def f(a: 'dict[str, Any]') -> typing.Any:\n    def g() -> list[Any]: ...\n"
                     "class C:\n    def m(self) -> object: ...\n")
    assert sorted(_any_uses(tree, "mod")) == ["mod", "mod.f", "mod.f", "mod.f.g"]
    assert _at_the_boundary("export.report.report_json") and not _at_the_boundary("exports.x")


def test_any_stands_only_at_the_json_boundary_but_in_the_modules_listed():
    """`Any` is kept for what crosses the JSON boundary; inside, values have types: TypedDicts, dataclasses,
    `object` narrowed where it is read, and `dagc.jsontypes.JSON` for a document being read or built."""
    left: dict[str, int] = {}
    for name, path in _modules().items():
        for where in _any_uses(ast.parse(path.read_text(), str(path)), name.removesuffix(".__init__")):
            if not _at_the_boundary(where):
                left[name] = left.get(name, 0) + 1
    grown = {name: n for name, n in left.items() if n > ANY_LEFT.get(name, 0)}
    assert not grown, f"type these values (`Any` outside the JSON boundary, or more than listed): {grown}"
    done = sorted(name for name, n in ANY_LEFT.items() if left.get(name, 0) < n)
    assert not done, f"fewer `Any` now: lower or remove their counts in ANY_LEFT: {done}"


# Results become JSON in `dagc.export` alone (docs/architecture.md, "The JSON boundary"): no function or method named
# `to_json` or `as_json` anywhere else, but these, by qualified name. `dagc.Diagnostic` is the public API's, and the
# bottom layer, which `dagc.export` sits above: its JSON form is its own.
JSON_ELSEWHERE = {"diagnostics.Diagnostic.to_json"}


def test_results_become_json_in_export_alone():
    found = {name for name in _all_function_sizes()
             if name.rsplit(".", 1)[-1] in ("to_json", "as_json") and not name.startswith("export.")}
    assert not found - JSON_ELSEWHERE, f"move these into dagc/export/ as functions: {sorted(found - JSON_ELSEWHERE)}"
    assert found == JSON_ELSEWHERE, f"gone: remove them from JSON_ELSEWHERE: {sorted(JSON_ELSEWHERE - found)}"


def test_the_graph_sees_the_imports_inside_functions(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("from . import __version__\n"
                      "def f():\n    from .check import check\n    import dagc.search\n"
                      "if False:\n    from . import rules\n")
    assert imports_of("late", module, {"check", "search", "rules.__init__"}) == {"check", "search", "rules.__init__"}
    graph = import_graph()
    assert graph.has_edge("verdict.check", "verdict.analyse") and graph.has_edge("rules.hierarchy", "lang.flatten")
    assert graph.has_edge("rules.__init__", "rules.hierarchy") and graph.has_edge("export.render", "export.write")


def test_no_import_cycle_between_modules():
    """The contract orders the stages; inside a stage, modules import each other one way too."""
    graph = import_graph()
    assert nx.is_directed_acyclic_graph(graph), list(nx.simple_cycles(graph))


def test_check_and_search_do_not_import_each_other():
    """The optimal verdict compares a check's result with a search's (`verdict.optimal.judge_optimal`): the
    search is handed to `check`, never imported by it."""
    graph = import_graph()
    assert not any(src.startswith("verdict.") and dst.startswith("search.") for src, dst in graph.edges)
    assert graph.has_edge("search.rescore", "verdict.analyse") and graph.has_edge("verdict.check", "verdict.analyse")


def test_dagc_check_is_the_function_whatever_was_imported():
    """No module is named `check` at the top: `dagc.check` is only ever the public function."""
    assert not (PACKAGE / "check.py").exists() and not (PACKAGE / "check").exists()
    probe = "import dagc.verdict.check, dagc.export.compile\nimport dagc, types\n" \
            "assert isinstance(dagc.check, types.FunctionType), dagc.check\n"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
