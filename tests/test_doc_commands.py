"""What docs/cli.md and the README say a command prints is what it prints today: the keys of `dagc presets --format
json`, each named on the page (a new user reading the page from the README checked each claim against the command)."""

from __future__ import annotations

import json
import re
import sys

from conftest import ROOT, run_dagc


def _presets_paragraph() -> str:
    page = (ROOT / "docs" / "cli.md").read_text()
    start = page.index("`presets` prints `{models, gpus, profiles,")
    return " ".join(page[start:page.index("\n\n", start)].split())


def test_every_key_of_a_gpu_in_presets_json_is_named_on_the_cli_page():
    """The page lists a GPU's keys in `dagc presets --format json`; it left out `vendor` (`nvidia`, `amd`, null for
    a generic GPU) and `host_gpus` (GB200's and GB300's 4 GPUs a host) until 2026-11-30."""
    proc = run_dagc("presets", "--format", "json")
    presets = json.loads(proc.stdout)
    paragraph = _presets_paragraph()
    named = set(re.findall(r"`([a-z_0-9]+)`", paragraph))
    top = paragraph.partition("`presets` prints `{")[2].partition("}`")[0]
    assert set(presets) == {k.strip() for k in top.split(",")}, top
    keys = {k for gpu in presets["gpus"].values() for k in gpu}
    assert {"vendor", "host_gpus", "memory_bytes"} <= keys
    assert keys <= named, sorted(keys - named)
    assert presets["gpus"]["gb200"]["host_gpus"] == 4 and presets["gpus"]["h100-sxm"]["host_gpus"] is None
    assert presets["gpus"]["mi300x"]["vendor"] == "amd" and presets["gpus"]["generic-400t"]["vendor"] is None
    for kind in ("models", "profiles"):
        keys = {k for entry in presets[kind].values() for k in entry}
        assert keys <= named, (kind, sorted(keys - named))



def test_the_cli_pages_optimal_excerpt_is_what_check_prints(tmp_path):
    """docs/cli.md's `optimal?` excerpt is `dagc check` of the plan it names (bench/bench_check.py's largest,
    DeepSeek-V3 on 2,048 H800s), line for line: until 2026-11-30 it quoted an earlier cost model's figures in an
    earlier format (80.41×, `TTFT 36.7 s`, `memory 82 %`) and named no plan, so no reader could run it."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_check import LADDER, plan_text
    name, model, gpus, gpu, microbatches, strategy = LADDER[-1]
    page = (ROOT / "docs" / "cli.md").read_text()
    start = page.index("figures; with `batch = max`, the requests each serves and what one more would break")
    said = " ".join(page[start:page.index("```", start)].split())
    assert name == "deepseek-v3 2048 GPUs" and f"`{strategy}`" in said and "2,048 H800s" in said, said
    (tmp_path / "ds.moe").write_text(plan_text(model, gpus, gpu, microbatches, strategy))
    block = page[page.index("```\n", start) + 4:].partition("```")[0].splitlines()
    printed = run_dagc("check", str(tmp_path / "ds.moe"), env={"COLUMNS": "200"}).stdout.splitlines()
    first = printed.index(block[0])
    assert printed[first:first + len(block)] == block, (block, printed[first:first + len(block)])


def test_the_search_pages_traffic_example_is_what_search_answers(tmp_path):
    """docs/search.md's account of `dagc search examples/qwen3-30b-a3b-traffic.moe` under the log's traffic is the
    search's answer today: its best, `tp 1` on one GPU, simulated and meeting every line (`yes*`), and 9 of the 10
    rows simulated (until 2026-11-30 the page said `tp 1` missed `tpot_p90` and the search answered `tp 2 ; ep 2`)."""
    page = " ".join((ROOT / "docs" / "search.md").read_text().split())
    said = page[page.index("On `examples/qwen3-30b-a3b-traffic.moe` the steady state's best"):]
    said = said[:said.index(" A simulation costs")]
    proc = run_dagc("search", "examples/qwen3-30b-a3b-traffic.moe", "--format", "json", "-o", str(tmp_path / "s"))
    found = json.loads(proc.stdout)
    best, rows = found["candidates"][0], found["candidates"]
    assert best["strategy"] == "tp 1 with microbatches 1 overlap none" and best["gpus"] == 1
    assert best["judged"] == "all" and best["meets_requirements"] and "best is `tp 1` on one GPU" in said
    tpot = next(r for r in best["requirements"] if r["text"] == "tpot_p90 <= 30 ms")
    assert tpot["class"] == "uncertain" and f"p90 TPOT of {tpot['value'] * 1e3:.2f} ms" in said, (tpot, said)
    simulated = sum(r["judged"] == "all" for r in rows)
    assert len(rows) == 10 and f"{simulated} of its 10 rows are simulated" in said, (simulated, said)
    assert [r["judged"] for r in rows[simulated:]] == ["steady-state"] * (10 - simulated)


def test_the_outputs_pages_report_md_row_names_its_sections_in_order(tmp_path):
    """docs/outputs.md's `report.md` row lists the report's sections in the order report.md has them; it left out
    "Error bands" and "Memory of the model" until 2026-11-30."""
    row = next(line for line in (ROOT / "docs" / "outputs.md").read_text().splitlines()
               if line.startswith("| `report.md` |")).lower()
    proc = run_dagc("compile", "tests/fixtures/small.moe", "-o", str(tmp_path / "out"), "--no-search", "-q")
    assert proc.returncode in (0, 1), proc.stderr
    headings = [line[3:].lower() for line in (tmp_path / "out" / "report.md").read_text().splitlines()
                if line.startswith("## ")]
    assert {"error bands", "memory of the model", "launch"} <= set(headings), headings
    at = 0
    for heading in headings:
        found = row.find(heading, at)
        assert found >= 0, (heading, row[at:])
        at = found + len(heading)


def test_limits_page_says_what_each_writing_command_writes():
    """docs/limits.md's "What dagc writes" has a line for every command with an output option (`-o`, `--svg`,
    `--requests-out`), `dagc kernels import` among them (left out until 2026-11-30)."""
    import argparse

    from dagc.cli.parser import build_parser
    page = (ROOT / "docs" / "limits.md").read_text()
    section = page.partition("## What dagc writes")[2].partition("\n## ")[0]
    written = {line.split("`")[1] for line in section.splitlines() if line.startswith("- `dagc ")}

    def writers(parser: argparse.ArgumentParser, name: str) -> set[str]:
        out = {name} if any(o in ("--output", "--svg", "--requests-out")
                            for a in parser._actions for o in a.option_strings) else set()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, p in action.choices.items():
                    out |= writers(p, f"{name} {sub}".strip())
        return out
    commands = {f"dagc {name}" for name in writers(build_parser(), "")}
    assert "dagc kernels import" in commands and "dagc check" in commands
    assert commands <= written, sorted(commands - written)
