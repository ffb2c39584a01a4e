"""The `dagc` process leaves the objects alive when its command ends to the exit (`dagc.__main__.run` freezes them,
`gc.freeze`) rather than to Python's teardown, whose collections walk every one of them: after a check with traffic
(its step prices, kernel look-ups and kept runs) those took a fifth of the check's CPU (docs/load.md, "The
interpreter's last collections"). A caller of `dagc.cli.main.main` in its own process (a test, a notebook) keeps
collecting as before."""

from __future__ import annotations

import subprocess
import sys

from conftest import TINY


def _after(tmp_path, call: str) -> list[str]:
    """The exit code `call` (of `argv`) returns and `gc.get_freeze_count()` after it, in a fresh process."""
    plan = tmp_path / "p.moe"
    plan.write_text(TINY)
    code = ("import gc, sys\n"
            f"argv = ['check', {str(plan)!r}, '-q', '--no-search']\n"
            f"{call}\n"
            "print('after', code, gc.get_freeze_count())\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True,
                         timeout=120).stdout
    return out.splitlines()[-1].split()


def test_the_dagc_process_freezes_what_is_alive_when_its_command_ends(tmp_path):
    call = "import dagc.__main__ as entry\nsys.argv = ['dagc', *argv]\ncode = entry.run()"
    _, code, frozen = _after(tmp_path, call)
    assert code == "0"
    assert int(frozen) > 10_000        # the compiler's modules and what the check made: all of it


def test_a_caller_of_main_keeps_collecting(tmp_path):
    _, code, frozen = _after(tmp_path, "from dagc.cli.main import main\ncode = main(argv)")
    assert (code, frozen) == ("0", "0")
