"""E109's hint for a file that is no calibration gives the `dagc calibrate` command that fits one on it: the file's
name is one shell word there, as every command dagc prints for pasting writes a path (`dagc.cli.shell_words`).
Until 2026-11-30 it was pasted in bare: a manifest in a pull request named `$(touch PWN);x.toml` made the hint read
`dagc calibrate $(touch PWN);x.toml -o cal.json`, a command substitution for whoever pasted it, and a run named
`-o;id.json` an option and a second command."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import plan_text, run_dagc

MANIFEST = 'plan = "plan.moe"\n[[run]]\nfile = "rate4.json"\n'
RUN = '{"backend": "vllm", "mean_ttft_ms": 100.0}\n'


@pytest.mark.parametrize(("name", "text", "command"), [
    ("$(touch PWN);x.toml", MANIFEST, "`dagc calibrate '$(touch PWN);x.toml' -o cal.json`"),
    ("-o;id.json", RUN, "`dagc calibrate './-o;id.json' --plan PLAN -o cal.json`"),
    ("my runs.toml", MANIFEST, "`dagc calibrate 'my runs.toml' -o cal.json`"),
    ("rate4.json", RUN, "`dagc calibrate rate4.json --plan PLAN -o cal.json`"),
])
def test_the_hints_command_takes_the_file_as_one_word(tmp_path: Path, name, text, command):
    (tmp_path / name).write_text(text)
    plan = tmp_path / "plan.moe"
    plan.write_text(plan_text(strategy=f'calibration from "{name}"\nstrategy tp 8'))
    proc = run_dagc("check", str(plan), "--no-search")
    assert proc.returncode == 4
    assert f"fit a calibration on {'them' if text == MANIFEST else 'it'} with {command}" in proc.stderr
    assert not (tmp_path / "PWN").exists()
