"""docs/calibrate.md's first example runs as written: each `dagc calibrate … --plan` line there, given run files
whose rates are the ones their names say (`rateN.json`, as the `vllm bench serve` line above it writes them)."""

from __future__ import annotations

import json
import re
import shlex

from test_calibrate import PLAN, TRUE, vllm_result

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
