"""`dagc --version`, `--help`, `explain` and `presets` answer without loading the compiler: no numpy,
networkx, pydantic or lark in the process (rich only for `presets`' tables). What those commands
show without the compiler — the rule documentation and the preset tables of `dagc.cli.builtin_text`,
the choices of `--objective` and `--graph-detail` — is the compiler's, checked here.

`dagc/cli/builtin_text.py` is generated: `pytest tests/test_startup.py --update-golden` rewrites it
(review the diff like code).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dagc.cli import builtin_text, main as cli
from dagc.cli.printing import preset_rows
from dagc.export.dot import Detail
from dagc.plan.plan import OBJECTIVES
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


def test_check_still_loads_the_compiler():
    # The probe sees what a command imports: a command that does real work is not hidden by a cache.
    found = run_probe("check", "examples/qwen3-30b-a3b-4gpu.moe", "--no-search", "--format", "json")
    assert found["rc"] == 0 and {"numpy", "pydantic", "lark"} <= set(found["modules"])
    # networkx is for dag.json and the tests (Dag.to_networkx): checking a plan does not load it.
    assert "networkx" not in found["modules"]


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


# ---------------------------------------------------------------- what the parser and builtin_text restate


def test_the_parser_choices_are_the_compilers():
    assert cli.OBJECTIVES == OBJECTIVES
    assert cli.GRAPH_DETAILS == tuple(d.value for d in Detail)


def _literal(text: str, indent: int) -> str:
    """A Python string literal of `text`, one line of source per line of text (long ones cut)."""
    pieces = []
    for line in text.splitlines(keepends=True) or [""]:
        while True:
            pieces.append(line[:96])
            line = line[96:]
            if not line:
                break
    pad = " " * indent
    if len(pieces) == 1:
        return json.dumps(pieces[0], ensure_ascii=False)
    body = "\n".join(pad + "    " + json.dumps(p, ensure_ascii=False) for p in pieces)
    return f"(\n{body}\n{pad})"


def _rows(rows) -> str:
    lines = []
    for row in rows:
        cells = ", ".join(json.dumps(c, ensure_ascii=False) for c in row)
        line = f"    ({cells}),"
        if len(line) > 116:
            line = "    (\n" + "".join(f"        {json.dumps(c, ensure_ascii=False)},\n" for c in row) + "    ),"
        lines.append(line)
    return "(\n" + "\n".join(lines) + "\n)"


def builtin_text_source() -> str:
    models, gpus, profiles = preset_rows()
    explained = "".join(f"    {json.dumps(r.code)}: {_literal(explain(r.code) or '', 4)},\n" for r in RULES)
    return f'''"""What `dagc explain` and `dagc presets` print, generated from the rule registry (`dagc.rules`) and
the built-in presets (`dagc.cli.printing.preset_rows`), so that those commands load no compiler module.

Do not edit: tests/test_startup.py compares this file with its sources, and
`pytest tests/test_startup.py --update-golden` rewrites it.
"""

EXPLAIN: dict[str, str] = {{
{explained}}}

MODEL_ROWS: tuple[tuple[str, ...], ...] = {_rows(models)}

GPU_ROWS: tuple[tuple[str, ...], ...] = {_rows(gpus)}

PROFILE_ROWS: tuple[tuple[str, ...], ...] = {_rows(profiles)}
'''


def test_builtin_text_is_generated_from_the_registry_and_the_presets(request):
    path = ROOT / "dagc" / "cli" / "builtin_text.py"
    text = builtin_text_source()
    if request.config.getoption("--update-golden"):
        path.write_text(text)
    assert path.read_text() == text, "dagc/cli/builtin_text.py differs from the rules or presets; " \
        "run `pytest tests/test_startup.py --update-golden` and review the diff"


def test_builtin_text_holds_what_the_compiler_says():
    # The same facts through the module's own values (not only its source text).
    assert list(builtin_text.EXPLAIN) == [r.code for r in RULES]
    assert all(builtin_text.EXPLAIN[r.code] == explain(r.code) for r in RULES)
    assert (builtin_text.MODEL_ROWS, builtin_text.GPU_ROWS, builtin_text.PROFILE_ROWS) == preset_rows()


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
