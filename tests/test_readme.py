"""The README's two commands: each is one line of POSIX shell that makes (or reuses) the virtual
environment `.venv`, installs dagc there and runs it — the example, or the whole test suite — and
`.ci/run` runs the second one exactly as written.

The commands themselves are run by hand on a fresh clone (they install from the package index);
here they are parsed and their parts checked.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest

from conftest import ROOT, run_dagc

README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"
VENV = "python3 -m venv .venv && .venv/bin/python -m pip install "


def two_commands() -> list[str]:
    """The shell blocks of the README's "Two commands" section: the example, then the test suite."""
    text = README.read_text()
    section = text.partition("\n## Two commands\n")[2].partition("\n## ")[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def test_the_readme_has_two_one_line_commands():
    commands = two_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands), "each command is one line a user can paste"


def test_the_test_command_is_what_ci_runs():
    test_command = two_commands()[1]
    lines = [line.strip() for line in CI.read_text().splitlines()]
    commands = [line for line in lines if line and not line.startswith("#")]
    assert commands[-1] == test_command, ".ci/run's last command is the README's test command, character for character"


@pytest.mark.parametrize("index", [0, 1])
def test_each_command_parses_as_posix_shell(index):
    command = two_commands()[index]
    words = shlex.split(command)
    assert words.count("&&") == 2
    shell = shutil.which("sh")
    if shell is not None:
        done = subprocess.run([shell, "-n", "-c", command], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr


def test_both_commands_install_into_the_checkouts_venv():
    example, tests = two_commands()
    assert example.startswith(VENV + "-e . && ")
    assert tests.startswith(VENV + "-e '.[test]' && ")
    # Run from the environment, never from the system's Python (Debian refuses to install there).
    for command in (example, tests):
        for step in command.split(" && ")[1:]:
            assert step.startswith(".venv/bin/"), step


def test_the_example_exists_and_the_venv_is_ignored():
    example = two_commands()[0]
    plan = shlex.split(example)[-1]
    assert (ROOT / plan).is_file(), plan
    ignored = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}
    assert {".venv/", "out/*"} <= ignored


def test_the_readmes_python_runs(tmp_path, monkeypatch, capsys):
    """The README's Python block runs as written, from a directory holding the examples, and writes
    only there."""
    (block,) = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in printed] == [["ep", "True", "True"], ["tp", "True", "True"]]
    assert (tmp_path / "out" / "qwen3" / "report.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["examples", "out"]


def test_the_readmes_seed_figures_are_what_dagc_prints(tmp_path):
    """The README's seed-000 paragraph quotes `dagc check` and `dagc search` on its example: the strategy's
    decode throughput per GPU, the best's, their ratio and its TTFT, and the candidates pruned; each figure as
    dagc prints it now (they went stale at 97 and 486 tokens/s per GPU, 5.0×)."""
    plan = "examples/10b-moe-pp16-ep16-256gpu.moe"
    def run(*args: str) -> str:
        return run_dagc(*args, plan, env={"COLUMNS": "200"}).stdout       # in this process, as `python -m dagc`
    # the search's pareto.svg in the test's temp directory (until 2026-11-30 out/<plan>/ of the checkout)
    checked, searched = run("check"), run("search", "--svg", str(tmp_path / "pareto.svg"))
    gain = re.search(r"`tp 1 ; ep 8 with microbatches 1 overlap none` gives ([\d.]+)× the decode throughput per GPU "
                     r"\(([\d.,]+) vs ([\d.,]+) tokens/s per GPU\) on 8 GPUs", checked)
    ttft = re.search(r"the better one: 8 GPUs · TTFT ([\d.]+ s) ·", checked)
    pruned = re.search(r"13,201 strategies examined: ([\d,]+) pruned by their bounds", searched)
    assert gain and ttft and pruned, (checked, searched)
    paragraph = " ".join(README.read_text().partition("On the seed-000 scenario")[2].partition("\n\n")[0].split())
    assert f"`pp 16 < ep 16 >` on 256 GPUs decodes {gain[3]} tokens/s per GPU" in paragraph
    assert (f"`tp 1 ; ep 8 with microbatches 1 overlap none` on **8 GPUs** decodes {gain[2]} tokens/s per GPU "
            f"— {gain[1]}× — at a TTFT of {ttft[1]}") in paragraph
    assert f"branch and bound shows {pruned[1]} of them cannot enter" in paragraph


def test_the_readmes_launch_usage_line_names_every_option_of_dagc_launch():
    """Until 2026-12-02 the "Using it" line of `dagc launch` left out `--allow-path`, which `dagc launch --help`
    lists (and the hint of E002 on a link outside the plan's directory names)."""
    import argparse

    from dagc.cli.parser import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    options = {max(a.option_strings, key=len) for a in sub.choices["launch"]._actions if a.option_strings} - {"--help"}
    line = next(line for line in README.read_text().splitlines() if line.startswith("dagc launch PLAN "))
    written = set(re.findall(r"\[(--?[a-z-]+)", line))
    assert {"--engine", "--strategy", "--set", "--allow-path"} <= options
    assert options - {"--output"} <= written and ("--output" not in options or "-o" in written), (options, written)
