"""The example plans a user reads first: each says in its header which seed report it answers
(`# seed: …`), what it shows (`# shows: …`) and, in examples/mistakes/, exactly which diagnostic
codes dagc gives it (`# expect: …`); every valid example checks clean of errors, every mistake
gives exactly the codes it promises, and no file is named after a seed number."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan
from dagc.verdict.check import check
from conftest import EXAMPLES, ROOT, checked_example, run_dagc

VALID = sorted(EXAMPLES.glob("*.moe"))
MISTAKES = sorted((EXAMPLES / "mistakes").glob("*.moe"))
ALL = VALID + MISTAKES
SEEDS = ROOT.parent / "shared" / "seeds"
SEED_LINE = re.compile(r"^# seed: (none|\d{3}\b.*)$")
SEED_NUMBER = re.compile(r"(?<![\d.,])(\d{3})(?![\d.,])")
CODE = re.compile(r"^[EWN]\d{3}$")


def ids(path: Path) -> str:
    return str(path.relative_to(EXAMPLES))


def header(path: Path) -> list[str]:
    """The comment lines before the first statement."""
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            lines.append(line.rstrip())
        elif line.strip():
            break
    return lines


def field(path: Path, name: str) -> str:
    """The text of `# name: …` in the header, with its indented continuation lines."""
    lines = header(path)
    for i, line in enumerate(lines):
        if line.startswith(f"# {name}: "):
            text = [line[len(f"# {name}: "):]]
            for more in lines[i + 1:]:
                if not more.startswith("#   "):
                    break
                text.append(more[4:])
            return " ".join(text)
    return ""


def seeds_answered(path: Path) -> list[str]:
    text = field(path, "seed")
    # only the numbers outside quotes name seeds ("10240", "100" inside a quote do not)
    unquoted = re.sub(r'"[^"]*"', "", text)
    return SEED_NUMBER.findall(unquoted)


def expected_codes(path: Path) -> set[str]:
    return set(field(path, "expect").split())


def codes_of(path: Path) -> set[str]:
    """Every diagnostic code dagc gives the plan, over all its strategies."""
    try:
        plan = load_plan(path)
    except PlanError as e:
        return {d.code for d in e.diagnostics}
    return {d.code for r in check(plan) for d in r.diagnostics}


def test_examples_exist():
    assert len(VALID) >= 7 and len(MISTAKES) >= 7


@pytest.mark.parametrize("path", ALL, ids=ids)
def test_named_for_what_it_shows_not_for_a_seed(path):
    assert not path.name.startswith("seed"), f"{ids(path)}: name it for what it shows; say the seed in `# seed:`"
    assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*\.moe", path.name)


@pytest.mark.parametrize("path", ALL, ids=ids)
def test_header_names_its_seed_and_what_it_shows(path):
    lines = header(path)
    assert lines and not lines[0].startswith("# seed:"), f"{ids(path)}: first line says what the plan is"
    seed = [line for line in lines if line.startswith("# seed:")]
    assert len(seed) == 1 and SEED_LINE.match(seed[0]), f"{ids(path)}: one `# seed: none` or `# seed: 003 (…)` line"
    if field(path, "seed") != "none":
        numbers = seeds_answered(path)
        assert numbers, f"{ids(path)}: `# seed:` names no seed number"
        if SEEDS.is_dir():
            known = {p.name[:3] for p in SEEDS.iterdir()}
            assert set(numbers) <= known, f"{ids(path)}: no seed report {set(numbers) - known}"
    shows = field(path, "shows")
    assert len(shows.split()) >= 5, f"{ids(path)}: `# shows:` says what the example shows"


@pytest.mark.parametrize("path", [p for p in ALL if "require" in p.read_text()], ids=ids)
def test_seed_requirements_say_how_they_were_read(path):
    # a seed's requirements are prose ("20,000 tokens/second"); the plan says which metric it took
    if field(path, "seed") not in ("", "none") and re.search(r"^require\b", path.read_text(), re.M):
        assert len(field(path, "read as").split()) >= 5, f"{ids(path)}: `# read as:` says how the seed was read"


@pytest.mark.parametrize("path", VALID, ids=ids)
def test_every_example_checks_without_errors(path):
    assert not field(path, "expect"), "valid examples list no expected errors"
    results = checked_example(path.name)
    assert results
    for r in results:
        errors = [f"{d.code} {d.message}" for d in r.diagnostics if d.is_error]
        assert r.valid and not errors, errors
        assert r.metrics is not None and r.verdict.correct


@pytest.mark.parametrize("path", MISTAKES, ids=ids)
def test_every_mistake_gives_exactly_the_codes_it_promises(path):
    expected = expected_codes(path)
    assert expected and all(CODE.match(c) for c in expected), f"{ids(path)}: a `# expect: E402 W506` line"
    assert any(c.startswith("E") for c in expected), "a mistake is an error"
    assert codes_of(path) == expected


@pytest.mark.parametrize("path", [p for p in MISTAKES if p.name.startswith("10b-moe-on-2gpus")], ids=ids)
def test_mistake_is_located_on_the_command_line(path):
    proc = run_dagc("check", str(path.relative_to(ROOT)), "--no-search")
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    text = proc.stdout + proc.stderr
    assert f"{path.relative_to(ROOT)}:" in text and "error[E402]" in text and "KV cache" in text


def test_one_example_compiles_to_every_output(compiled_example):
    """`dagc compile PLAN -o DIR --no-search` (`compiled_example`'s, shared with tests/test_compile.py's of every
    example) writes each strategy's every output."""
    tmp_path, proc = compiled_example(EXAMPLES / "10b-moe-1024-vs-64gpu.moe")
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    for name in ("original", "capped"):
        out = tmp_path / name
        assert {"report.json", "report.md", "dag.json", "dag.svg", "trace.json.gz"} <= {p.name for p in out.iterdir()}
        report = json.loads((out / "report.json").read_text())
        assert report["valid"] and report["strategy"]
    gpus = {n: json.loads((tmp_path / n / "report.json").read_text())["gpus"]["used"] for n in ("original", "capped")}
    assert gpus == {"original": 1024, "capped": 64}


def test_paths_in_docs_point_at_existing_examples():
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for doc in texts:
        for rel in re.findall(r"examples/[\w./-]+?\.moe", doc.read_text()):
            assert (ROOT / rel).is_file(), f"{doc.name} names {rel}, which does not exist"
    first = re.search(r"dagc (?:check|compile) (examples/\S+\.moe)", (ROOT / "README.md").read_text())
    assert first and (ROOT / first.group(1)).is_file()
