"""The import layers of dagc: a stage imports only from the stages before it, and no module
imports itself back, not even from inside a function (STYLE: "data flows one way").

Every `import` and `from ... import` of every module under dagc/ is read with `ast` — at module
level, inside functions and under `if TYPE_CHECKING:` alike. `from . import name` where `name`
is not a module (the CLI reading `dagc.__version__`) is an attribute of the package, not an
import of a stage, and is not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

from conftest import ROOT

PACKAGE = ROOT / "dagc"

# The pipeline, first stage first (docs/architecture.md draws it). A module may import a module
# of its own layer or of an earlier one. `rules` and `export` are packages: one layer each.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("source", "units", "exit_codes", "enums"),  # spans, SI units, exit codes, enums hashed by identity: no imports
    ("builtin_text",),                          # what `explain` and `presets` print, generated: no imports
    ("diagnostics",),
    ("plan", "dag"),                            # the immutable IRs: Plan, and the DAG's node types
    ("kernel_format", "kernel_tables"),         # kernel profiles: the file format (E105); interpolation tables
    ("kernel_profile",),                        # a profile's time functions (KernelProfile)
    ("fields", "params", "presets", "kernels"), # helpers of lower, read by later stages too; kernel profiles
    ("parse",),
    ("hf", "blocks", "model", "scope", "cluster"),  # lower's helper passes
    ("lower", "flatten"),                       # syntax tree → Plan; StrategyDecl → Strategy
    ("load",),                                  # file / text → Plan (parse + lower)
    ("layout",),                                # Plan → Layout (resolve)
    ("shards",),                                # per-rank shard formulas
    ("op_shapes",),                             # the op catalogue's shapes, recipes and helpers
    ("op_attention", "op_moe"),                 # the catalogue's figures: attention and dense ops; MoE ops
    ("ops",),                                   # the op catalogue: typed recipes, per-rank op templates
    ("build",),                                 # Plan + Layout → DAG
    ("memory",),                                # per-rank memory, activations from the catalogue's op shapes
    ("bounds",),
    ("rules",),                                 # Plan + Layout (+ memory, metrics) → diagnostics
    ("cost",),
    ("schedule",),                              # DAG + costs → frozen Schedule (start, finish, critical path)
    ("metrics",),                               # Schedule → TTFT, TPOT, throughputs, bubble
    ("compiled",),                              # DAG + costs + schedule + metrics: what exporters draw
    ("fastsched",),                             # the search's evaluator: the catalogue's ops, cost, metrics
    ("verdict",),
    ("fastcheck",),                             # the search's check: rules, memory, the recurrence's figures
    ("analyse",),                               # resolve → rules → memory → DAG → schedule → verdict
    ("batch_max",),                             # `batch = max`: the largest batch a strategy serves
    ("check",),
    ("search_result", "search_space"),          # the search's ranking and front; its candidates, lazily
    ("search_bound",),                          # branch and bound: what a candidate must beat to matter
    ("search_screen", "search_pool"),           # the bounds on a window of candidates; the worker processes
    ("search",),
    ("launch",),                                # `dagc launch`: degrees, nodes, nearest strategy (engine-neutral)
    ("launch_vllm", "launch_sglang", "launch_trtllm"),  # one table per serving engine
    ("launch_engines",),                        # the engines, and the launch of a checked strategy on each
    ("export",),
    ("compile",),
    ("cli_print", "cli_launch"),                # what each command prints; `dagc launch`
    ("cli",),
    ("__main__", "__init__"),                   # the package's faces: no logic
)
LAYER_OF = {name: k for k, names in enumerate(LAYERS) for name in names}



def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts)


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


def _stage(module: str) -> str:
    head = module.split(".")[0]
    return head if head in ("rules", "export") else module


def import_graph() -> nx.DiGraph:
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target in imports_of(name, path, set(modules)):
            if target != name:
                graph.add_edge(name, target)
    return graph


GRAPH = import_graph()


def test_the_graph_sees_the_imports_inside_functions(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("from . import __version__\n"
                      "def f():\n    from .check import check\n    import dagc.search\n"
                      "if False:\n    from . import rules\n")
    assert imports_of("late", module, {"check", "search", "rules.__init__"}) == {"check", "search", "rules.__init__"}
    assert GRAPH.has_edge("check", "analyse") and GRAPH.has_edge("rules.hierarchy", "flatten")
    assert GRAPH.has_edge("rules.__init__", "rules.hierarchy") and GRAPH.has_edge("export.render", "export.write")


def test_every_module_has_a_layer():
    missing = sorted({_stage(m) for m in GRAPH} - set(LAYER_OF))
    assert not missing, f"add these modules to LAYERS in {Path(__file__).name}: {missing}"


def test_no_stage_imports_a_later_stage():
    late = []
    for src, dst in GRAPH.edges:
        a, b = _stage(src), _stage(dst)
        if a in LAYER_OF and b in LAYER_OF and LAYER_OF[b] > LAYER_OF[a]:
            late.append(f"{src} imports {dst} (a later stage)")
    assert not late, "\n".join(sorted(late))


def test_no_import_cycle():
    graph = nx.DiGraph((_stage(a), _stage(b)) for a, b in GRAPH.edges if _stage(a) != _stage(b))
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import cycles between stages: {cycles}"
    # inside the rules and export packages too
    inner = GRAPH.subgraph([m for m in GRAPH if _stage(m) != m])
    assert nx.is_directed_acyclic_graph(inner), list(nx.simple_cycles(inner))


def test_check_and_search_do_not_import_each_other():
    assert not GRAPH.has_edge("check", "search") and not GRAPH.has_edge("search", "check")
    assert GRAPH.has_edge("search", "analyse") and GRAPH.has_edge("check", "analyse")
