"""docs/calibrate.md's first example runs as written: each `dagc calibrate … --plan` line there, given run files
whose rates are the ones their names say (`rateN.json`, as the `vllm bench serve` line above it writes them)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat

from test_calibrate import PLAN, RUNS, TRUE, vllm_result

from conftest import ROOT, run_dagc


def _example_commands() -> list[list[str]]:
    text = (ROOT / "docs" / "calibrate.md").read_text(encoding="utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True)[1:] for line in block.splitlines()
            if line.startswith("dagc calibrate ") and "--plan" in line]


def test_the_docs_command_line_calibration_runs(tmp_path):
    (argv,) = _example_commands()
    (tmp_path / argv[argv.index("--plan") + 1]).write_text(PLAN.format(p=512, g=128, r=4, s="tp 8"))
    for name in argv[1:argv.index("--plan")]:
        rate = float(re.fullmatch(r"rate(\d+)\.json", name).group(1))
        (tmp_path / name).write_text(json.dumps(vllm_result(512, 128, rate, TRUE)))
    run = run_dagc(*argv, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "E110" not in run.stderr and (tmp_path / "cal.json").is_file()


def _text_block(after: str) -> list[str]:
    """The lines of docs/calibrate.md's first ```text block after the text `after`."""
    page = (ROOT / "docs" / "calibrate.md").read_text(encoding="utf-8")
    return page[page.index(after):].split("```text\n", 1)[1].split("```", 1)[0].splitlines()


def test_the_pages_summary_of_eight_runs_is_what_the_command_prints(tmp_path):
    """"What the command prints" quotes `dagc calibrate runs.toml -o cal.json` on tests/test_calibrate.py's eight
    runs line for line (until 2026-11-30 it quoted an earlier cost model's fit: `step_s = 3.007 ms`, TTFT 28.1 %)."""
    (tmp_path / "plan.moe").write_text(PLAN.format(p=512, g=128, r=4, s="tp 8"))
    entries = []
    for i, (p, g, r, st) in enumerate(RUNS):
        (tmp_path / f"run{i}.json").write_text(json.dumps(vllm_result(p, g, r, TRUE, st)))
        entries.append(f'[[run]]\nfile = "run{i}.json"\nstrategy = "{st}"\nset = ["workload.prompt={p}", '
                       f'"workload.generate={g}", "workload.rate={r} requests/s"]\n')
    (tmp_path / "runs.toml").write_text('plan = "plan.moe"\n' + "\n".join(entries))
    block = _text_block("On tests/test_calibrate.py's eight runs")
    mask = os.umask(0o027)
    try:
        run = run_dagc("calibrate", "runs.toml", "-o", "cal.json", cwd=tmp_path)
    finally:
        os.umask(mask)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == block, (block, run.stdout)
    # the mode the umask leaves of 0o666, as every file dagc writes (docs/limits.md); until 2026-11-30 mkstemp's 0o600
    assert stat.S_IMODE((tmp_path / "cal.json").stat().st_mode) == 0o640


def test_the_pages_w542_excerpt_is_what_the_command_prints(tmp_path):
    """The W542 excerpt (DeepSeek-V3's three SGLang runs, tests/fixtures/trial72) is what `dagc calibrate
    cal/runs.toml -o cal/cal.json` prints there: the summary and `wrote` line on stdout, the warning (abridged at
    its `…`) on stderr (until 2026-11-30 the page said TPOT 38.4 % calibrated, throughput 2.3 %, and a `wrote` line
    of run files given with `--plan`)."""
    shutil.copytree(ROOT / "tests" / "fixtures" / "trial72", tmp_path, dirs_exist_ok=True)
    (tmp_path / "cal" / "cal.json").unlink(missing_ok=True)
    block = _text_block("41.8 %, TPOT 37.8 %, E2E 36.5 % calibrated. Now")
    run = run_dagc("calibrate", "cal/runs.toml", "-o", "cal/cal.json", cwd=tmp_path)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    out = run.stdout.splitlines()
    first = out.index(block[0])
    assert out[first:] == block[:-1], (block, out[first:])
    warning = block[-1].removesuffix(" …")
    assert any(line.startswith(warning) for line in run.stderr.splitlines()), (warning, run.stderr)
    # `dagc explain W542` (docs/rules.md) quotes the same runs' TPOT and throughput: until 2026-11-30 it said an
    # earlier fit's, "throughput 2.3 % → 0.3 % off, TPOT 32.6 % → 37.8 %"
    rows = {line.split()[0]: line.split()[1:] for line in out[first + 1:first + 5]}
    said = (f"throughput {rows['throughput'][0]} % → {rows['throughput'][2]} % off, TPOT {rows['tpot'][0]} % → "
            f"{rows['tpot'][2]} %")
    explain = " ".join(run_dagc("explain", "W542").stdout.split())
    assert said in explain, (said, explain)
    assert f"tpot {rows['tpot'][0]} % uncalibrated, {rows['tpot'][2]} % calibrated → W542" in explain, explain
