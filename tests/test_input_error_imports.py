"""`dagc check` of a plan it cannot read answers before it loads the compiler: the plan is read first, the
driver (`dagc.drive.drive`) and the report's printer (`dagc.cli.print_check`, and with it the verdicts) only
once there is a plan to check — a typo's diagnostics came back after 2.0–2.3 CPU s, now 1.3."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

PROBE = """
import contextlib, io, sys
from dagc.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
    code = main(["check", sys.argv[1], "--no-search"])
print(code, "error[E" in err.getvalue(), *(m in sys.modules for m in ("dagc.drive.drive", "dagc.verdict.check",
                                                                     "dagc.cli.print_check")))
"""


def probe(plan: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, plan], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_plan_with_a_typo_is_answered_without_the_compiler():
    # exit 4: an input error (E0xx/E1xx), its diagnostics printed; neither the driver nor the verdicts loaded
    assert probe("examples/mistakes/typos.moe") == ["4", "True", "False", "False", "False"]


def test_a_plan_that_reads_loads_them_to_check_it():
    code, diagnosed, *loaded = probe("examples/qwen3-30b-a3b-4gpu.moe")
    assert code == "0" and loaded == ["True", "True", "True"]
