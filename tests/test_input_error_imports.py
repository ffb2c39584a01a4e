"""A command given a plan it cannot read answers before it loads the compiler: the plan is read first, the
driver (`dagc.drive.drive`), the verdicts (`dagc.verdict.check`), the exporters and the printers only once there
is a plan to work on. `dagc check` of a typo's plan came back after 2.0–2.3 CPU s, then 1.3; `compile`, `search`
and `launch` after 1.8, 1.4 and 1.3 CPU s, now about 1.0 each, as `check`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

PROBE = """
import contextlib, io, json, sys
from dagc.cli.main import main
argv, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
    code = main(argv)
print(code, "error[E" in err.getvalue(), *(m in sys.modules for m in heavy))
"""

# what each command must not have loaded when the plan has errors, and does load once it reads
HEAVY = {
    "check": ("dagc.drive.drive", "dagc.verdict.check", "dagc.cli.print_check"),
    "compile": ("dagc.drive.drive", "dagc.verdict.check", "dagc.export.compile", "dagc.cli.print_check"),
    "search": ("dagc.verdict.check", "dagc.search.search", "dagc.cli.print_check", "dagc.cli.print_search"),
    "launch": ("dagc.verdict.check", "dagc.export.launch", "dagc.launch.engines"),
}


def probe(command: str, plan: str, tmp_path) -> list[str]:
    argv = [command, plan, *{"check": ["--no-search"], "compile": ["--no-search", "-o", str(tmp_path / "out")],
                             "search": ["--top", "1", "--svg", str(tmp_path / "p.svg")]}.get(command, [])]
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(HEAVY[command])], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize("command", sorted(HEAVY))
def test_a_plan_with_a_typo_is_answered_without_the_compiler(command, tmp_path):
    # exit 4: an input error (E0xx/E1xx), its diagnostics printed; neither the compiler nor the printers loaded
    assert probe(command, "examples/mistakes/typos.moe", tmp_path) == ["4", "True", *["False"] * len(HEAVY[command])]


def test_a_plan_that_reads_loads_them_to_check_it(tmp_path):
    code, diagnosed, *loaded = probe("check", "examples/qwen3-30b-a3b-4gpu.moe", tmp_path)
    assert code == "0" and loaded == ["True", "True", "True"]
