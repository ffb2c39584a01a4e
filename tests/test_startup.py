"""`dagc --version`, `--help`, `explain` and `presets` answer without loading the compiler: no numpy,
networkx, pydantic or lark in the process (rich only for `presets`' tables). What those commands
show without the compiler — the rule documentation and the preset tables that `dagc.cli.builtin_text`
reads, the choices of `--objective` and `--graph-detail` — is the compiler's, checked here.

The data files dagc/data/explain.md and dagc/data/presets.json are generated:
`pytest tests/test_startup.py --update-golden` rewrites them (review the diff like code).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dagc.cli import builtin_text, main as cli, parser as cli_parser
from dagc.cli.print_presets import preset_fields, preset_rows
from dagc.export.dot import Detail
from dagc.plan.objective import OBJECTIVES
from dagc.rules import RULES, explain
from conftest import ROOT

COMPILER = ("numpy", "networkx", "pydantic", "lark")

# Runs `dagc.cli.main.main(argv)` in a fresh interpreter and prints the top-level packages it loaded.
_PROBE = """\
import contextlib, io, json, sys
from dagc.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        rc = main(sys.argv[1:])
    except SystemExit as exc:
        rc = exc.code
print(json.dumps({"rc": rc, "out": out.getvalue(), "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def run_probe(*argv: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("argv", [("--version",), ("--help",), ("explain", "E202"), ("explain", "nope"),
                                  ("check", "--help"), ()])
def test_quick_commands_load_no_compiler_nor_rich(argv):
    found = run_probe(*argv)
    assert found["rc"] in (0, 2, None)
    loaded = set(found["modules"]) & {*COMPILER, "rich"}
    assert not loaded, f"dagc {' '.join(argv)} loaded {sorted(loaded)}"


def test_presets_loads_no_compiler():
    found = run_probe("presets")
    assert found["rc"] == 0 and "mixtral-8x7b" in found["out"] and "h100-sxm" in found["out"]
    assert not set(found["modules"]) & set(COMPILER)


def test_presets_json_loads_neither_the_compiler_nor_rich():
    found = run_probe("presets", "--format", "json")
    assert found["rc"] == 0 and json.loads(found["out"])["gpus"]["h100-sxm"]["flops_16bit"] == 989e12
    assert not set(found["modules"]) & {*COMPILER, "rich"}


def test_check_still_loads_the_compiler():
    # The probe sees what a command imports: a command that does real work is not hidden by a cache.
    found = run_probe("check", "examples/qwen3-30b-a3b-4gpu.moe", "--no-search", "--format", "json")
    assert found["rc"] == 0 and {"numpy", "pydantic", "lark"} <= set(found["modules"])
    # networkx is for dag.json and the tests (Dag.to_networkx): checking a plan does not load it.
    assert "networkx" not in found["modules"]


@pytest.mark.parametrize("argv", [("check", "examples/qwen3-30b-a3b-4gpu.moe", "--no-search"),
                                  ("search", "examples/qwen3-30b-a3b-4gpu.moe", "--format", "json", "--top", "1"),
                                  ("launch", "examples/qwen3-30b-a3b-4gpu.moe", "--engine", "vllm")])
def test_commands_that_draw_no_dag_load_no_graphviz(argv, tmp_path):
    """Only `dagc compile` writes dag.dot: the others do not pay for the `graphviz` package."""
    plan = tmp_path / "plan.moe"
    plan.write_bytes((ROOT / argv[1]).read_bytes())
    svg = ("--svg", str(tmp_path / "pareto.svg")) if argv[0] == "search" else ()   # never into the checkout
    found = run_probe(argv[0], str(plan), *argv[2:], *svg)
    assert found["rc"] in (0, 1) and "graphviz" not in found["modules"]


@pytest.mark.parametrize("argv", [("--version",), ("explain", "E202"), ("presets",)])
def test_the_command_answers_as_before(argv):
    # `python -m dagc`: through dagc.__main__, as the installed `dagc` script runs.
    done = subprocess.run([sys.executable, "-m", "dagc", *argv], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0 and done.stderr == "" and done.stdout.strip()
    if argv[0] == "explain":
        assert done.stdout == explain("E202") + "\n"


def test_explain_codes_are_case_insensitive_and_unknown_ones_are_usage_errors(capsys):
    assert cli.main(["explain", "e202"]) == 0
    assert capsys.readouterr().out == explain("E202") + "\n"
    assert cli.main(["explain", "E999\x1b[31m"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "\x1b" not in err and "E202" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- what the parser and the data files restate


def test_the_parser_choices_are_the_compilers():
    parser = cli_parser.build_parser()
    for command in ("check", "compile", "search"):
        for name in OBJECTIVES:
            assert parser.parse_args([command, "plan.moe", "--objective", name]).objective == name
        with pytest.raises(SystemExit):
            parser.parse_args([command, "plan.moe", "--objective", "cheapest"])
    assert cli_parser.GRAPH_DETAILS == tuple(d.value for d in Detail)


def explain_markdown() -> str:
    """dagc/data/explain.md: each rule's documentation under a `## CODE` heading, in the registry's order."""
    sections = []
    for r in RULES:
        text = explain(r.code) or ""
        assert not builtin_text.HEADING.search(text), f"{r.code}'s documentation holds a line like a heading"
        sections.append(f"\n\n## {r.code}\n\n{text}")
    preamble = ("<!-- What `dagc explain CODE` prints: each rule's documentation under its code, generated from\n"
                "the rule registry (dagc.rules). Do not edit: tests/test_startup.py compares this file with the\n"
                "registry, and `pytest tests/test_startup.py --update-golden` rewrites it. -->")
    return preamble + "".join(sections) + "\n"


def presets_json() -> str:
    """dagc/data/presets.json: the rows of `dagc presets`' tables, one row a line, and every preset's
    fields (`dagc presets --format json`), one preset a line."""
    def table(rows) -> str:
        return "[\n" + ",\n".join(f"    {json.dumps(list(row), ensure_ascii=False)}" for row in rows) + "\n  ]"

    def by_name(entries: dict) -> str:
        return "{\n" + ",\n".join(f"      {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}"
                                   for k, v in entries.items()) + "\n    }"
    models, gpus, profiles = preset_rows()
    fields = ",\n".join(f"    {json.dumps(k)}: {by_name(v)}" for k, v in preset_fields().items())
    about = ("What `dagc presets` prints, generated from the built-in presets (dagc.cli.print_presets.preset_rows "
             "and preset_fields). Do not edit: `pytest tests/test_startup.py --update-golden` rewrites it.")
    return (f'{{\n  "about": {json.dumps(about)},\n  "models": {table(models)},\n  "gpus": {table(gpus)},\n'
            f'  "profiles": {table(profiles)},\n  "fields": {{\n{fields}\n  }}\n}}\n')


@pytest.mark.parametrize(("path", "generate"), [(builtin_text.EXPLAIN_FILE, explain_markdown),
                                                (builtin_text.PRESETS_FILE, presets_json)],
                         ids=["explain.md", "presets.json"])
def test_builtin_text_is_generated_from_the_registry_and_the_presets(request, path, generate):
    text = generate()
    if request.config.getoption("--update-golden"):
        path.write_bytes(text.encode("utf-8"))
    assert path.read_bytes().decode("utf-8") == text, f"dagc/data/{path.name} differs from the rules or presets; " \
        "run `pytest tests/test_startup.py --update-golden` and review the diff"


def test_the_data_files_ship_with_the_package():
    # An installed copy (a wheel) holds only what `[tool.setuptools.package-data]` names.
    import fnmatch
    import tomllib
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["dagc"]
    for path in (builtin_text.EXPLAIN_FILE, builtin_text.PRESETS_FILE):
        inside = path.relative_to(ROOT / "dagc").as_posix()
        assert any(fnmatch.fnmatch(inside, p) for p in patterns), f"{inside} is not in the package data"


def test_builtin_text_holds_what_the_compiler_says():
    # The same facts through the loader (not only the files' text).
    texts = builtin_text.explain_texts()
    assert list(texts) == [r.code for r in RULES]
    assert all(texts[r.code] == explain(r.code) for r in RULES)
    assert builtin_text.preset_tables() == preset_rows()
    assert builtin_text.preset_fields() == json.loads(json.dumps(preset_fields()))


@pytest.mark.parametrize("first", ["", "import dagc.export.compile", "import dagc.verdict.check",
                                   "from dagc.verdict.check import check"])
def test_the_public_check_is_callable_whatever_was_imported_first(first):
    """`dagc.check(plan)` is the public function even when the `dagc.verdict.check` module was imported before
    the attribute was read (the import system then makes the package's attribute the module)."""
    probe = (f"{first}\nimport dagc\n"
             "r = dagc.check(dagc.load_plan('examples/qwen3-30b-a3b-4gpu.moe'))\n"
             "print(r[0].verdict.correct, type(r[0]).__name__)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "StrategyResult"]
