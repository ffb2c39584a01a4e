"""The outputs the README and docs quote are dagc's: each excerpt's lines (or its table's cells) are found in what
the command prints today, so that a change of the cost model that moves a quoted figure fails here until the
page says the new one (a new user compared the README's seed-000 figures with dagc's and found them stale)."""

from __future__ import annotations

import re
import shlex

import pytest

from conftest import ROOT, run_dagc


def _block(page: str, command: str) -> list[str]:
    """The lines of the fenced block of `page` that holds `command` (after its first line that has it, to the
    fence), or of the block that follows that line when it stands before the block (a sentence naming the command)."""
    lines = (ROOT / page).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if command in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    if not any(line.strip() for line in lines[start + 1:end]):
        start, end = end, next(i for i in range(end + 1, len(lines)) if lines[i].startswith("```"))
    return lines[start + 1:end]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("│").split("│")]


def _printed(*args: str, columns: int = 120) -> str:
    proc = run_dagc(*args, env={"COLUMNS": str(columns)})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def test_the_readmes_critical_path_excerpt_is_what_check_prints():
    block = _block("README.md", "What a check prints (`dagc check examples/10b-moe-pp16-ep16-256gpu.moe`")
    quoted = [line for line in block if line.startswith(("critical path", "pipeline bubble"))]
    out = _printed("check", "examples/10b-moe-pp16-ep16-256gpu.moe", "--no-search").splitlines()
    assert len(quoted) == 3 and all(line in out for line in quoted), quoted


def test_the_readmes_n604_excerpt_is_what_check_prints():
    """The README's seed-000 excerpt ends with the `Times:` line and the N604 note, wrapped for the page: the
    `Times:` line is printed as quoted, and the note's lines, joined, are the line dagc prints."""
    block = _block("README.md", "What a check prints (`dagc check examples/10b-moe-pp16-ep16-256gpu.moe`")
    start = next(i for i, line in enumerate(block) if "note[N604]" in line)
    times = [line for line in block if line.startswith("Times:")]
    out = _printed("check", "examples/10b-moe-pp16-ep16-256gpu.moe", "--no-search").splitlines()
    assert len(times) == 1 and times[0] in out, times
    assert " ".join(block[start:]) in out, block[start:]


def test_the_readmes_mistake_excerpt_is_what_check_prints():
    """The README's E202 excerpt (`dagc check examples/mistakes/tp4-ep16-multiplied-degrees.moe`) is printed
    line for line, its help line whole (it once stopped before the Megatron-Core reading dagc names since)."""
    block = _block("README.md", "`dagc check examples/mistakes/tp4-ep16-multiplied-degrees.moe` shows")
    out = _printed("check", "examples/mistakes/tp4-ep16-multiplied-degrees.moe", "--no-search").splitlines()
    first = out.index(block[0])
    assert out[first:first + len(block)] == block, (block, out[first:first + len(block)])


def _table_rows_found(page: str, command: str, columns: int) -> None:
    rows = [_cells(line) for line in _block(page, command) if line.startswith("│")]
    out = _printed("check", "examples/qwen3-30b-a3b-traffic.moe", "--strategy", "tp 4", "--no-search",
                   columns=columns)
    printed = [_cells(line) for line in out.splitlines() if line.startswith("│")]
    assert rows and all(row in printed for row in rows), (rows, printed)


def test_the_bands_pages_table_is_what_check_prints():
    _table_rows_found("docs/bands.md", '$ dagc check examples/qwen3-30b-a3b-traffic.moe --strategy "tp 4"', 120)


def test_the_cli_pages_narrow_table_is_what_check_prints_at_80_columns():
    _table_rows_found("docs/cli.md", "┏━━━━━━━━━━━━━━┳", 80)


def test_the_cli_pages_set_mistake_is_what_check_prints():
    """docs/cli.md's mistake in a `--set` (`workload.batch=2k`) is the diagnostic dagc prints for it, line for
    line, and exit code 4 as the page says (its hint once wrote `batch = 2000`, a plan's line, where dagc writes the
    option)."""
    block = _block("docs/cli.md", "a mistake in it gets the plan's own diagnostic, located in the option")
    proc = run_dagc("check", "examples/mixtral-8x7b-1node.moe", "--set", "workload.batch=2k", "--no-search")
    printed = proc.stderr.splitlines()
    assert proc.returncode == 4 and printed[:len(block)] == block, (block, printed)


def _contiguous(block: list[str], printed: list[str]) -> bool:
    return any(printed[i:i + len(block)] == block for i in range(len(printed) - len(block) + 1))


@pytest.mark.parametrize("command", [
    'dagc launch examples/mixtral-8x7b-1node.moe --engine vllm --strategy "tp 8 ; ep 4 etp 2"',
    'dagc launch examples/qwen3-30b-a3b-4gpu.moe --engine sglang --strategy "tp 1 ; ep 4"'])
def test_the_launch_pages_excerpts_are_what_launch_prints(command):
    """docs/launch.md's `$ dagc launch …` blocks are what the command prints today, line for line (the vLLM one
    once lacked the "not launchable" line and showed figures of an older cost model)."""
    block = _block("docs/launch.md", f"$ {command}")
    printed = run_dagc(*shlex.split(command)[1:]).stdout.splitlines()
    assert _contiguous(block, printed), (block, printed)


def _abridged_lines_found(block: list[str], printed: list[str]) -> list[str]:
    """The lines of an excerpt that abridges with `…` that no printed line matches in order: a line `…` stands
    for lines left out, and a line's own `…` for words left out of it."""
    missing, at = [], 0
    for line in block:
        if line.strip() == "…":
            continue
        pattern = ".*".join(re.escape(part.strip()) for part in line.split("…"))
        found = next((i for i in range(at, len(printed)) if re.fullmatch(rf"\s*{pattern}\s*", printed[i])), None)
        if found is None:
            missing.append(line)
        else:
            at = found + 1
    return missing


def test_the_launch_pages_serving_flags_excerpt_is_what_launch_prints(tmp_path):
    """docs/launch.md's vLLM serving flags for Qwen3-30B-A3B at 250 requests of 2,000 + 500 tokens in chunks of
    4,096 on 8 H100s (`tp 1 ; ep 8`) are the command dagc writes (it once lacked `--max-model-len 2500`)."""
    block = _block("docs/launch.md", "$ dagc launch plan.moe --engine vllm      # Qwen3-30B-A3B on 8 H100s")
    (tmp_path / "plan.moe").write_text(
        'model preset "qwen3-30b-a3b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
        "workload { batch = 250  prompt = 2000  generate = 500  serving = inflight  chunk = 4096 }\n"
        "strategy tp 1 ; ep 8\n")
    printed = run_dagc("launch", str(tmp_path / "plan.moe"), "--engine", "vllm").stdout.splitlines()
    assert not _abridged_lines_found(block, printed), (block, printed)


def test_the_launch_pages_disaggregated_excerpt_is_what_launch_prints():
    command = "dagc launch examples/deepseek-v3-disaggregated.moe --engine sglang"
    block = _block("docs/launch.md", f"$ {command}")
    printed = run_dagc(*command.split()[1:]).stdout.splitlines()
    assert not _abridged_lines_found(block, printed), (block, printed)


def test_the_search_pages_yes_star_excerpt_is_what_search_prints(tmp_path):
    """docs/search.md's `yes*` excerpt is what `dagc search` prints for the plan its paragraph describes, and the
    paragraph says the lengths that reproduce it (it said "batch 8" without them: 512 + 64 tokens)."""
    page = (ROOT / "docs" / "search.md").read_text()
    paragraph = " ".join(page.partition("### Within dagc's error: `yes*`")[2].partition("```")[0].split())
    assert "Mixtral-8x7B on 8 H100s, batch 8 of 512 + 64 tokens, `tpot <= 20 ms`" in paragraph, paragraph
    block = _block("docs/search.md", "was left out of the DAG, docs/cost-model.md):")
    (tmp_path / "mx.moe").write_text('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
                                     "workload { batch = 8  prompt = 512  generate = 64 }\nrequire { tpot <= 20 ms }\n")
    proc = run_dagc("search", str(tmp_path / "mx.moe"), "--top", "3", "-o", str(tmp_path / "out"),
                    env={"COLUMNS": "200"})
    printed = proc.stdout.splitlines()
    row, quoted = _cells(next(line for line in printed if line.startswith("│ 1 │"))), _cells(block[0])
    cut = quoted.index("…")                 # the cells the excerpt leaves out
    assert row[:cut] == quoted[:cut] and row[cut - len(quoted) + 1:] == quoted[cut + 1:], (quoted, row)
    note = " ".join(" ".join(printed[printed.index(next(p for p in printed if p.startswith("yes*:"))):]).split())
    assert " ".join(" ".join(block[1:]).split()) in note, (block[1:], note)
