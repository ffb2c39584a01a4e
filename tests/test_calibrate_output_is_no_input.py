"""`dagc calibrate -o FILE` that names one of its own inputs — a run file, measured once, the plan, the manifest, or
a manifest's run or plan — is refused before anything is written, `--force` or not. `dagc calibrate rate4.json --plan
qwen.moe -o rate4.json --force` wrote the calibration over the benchmark's result (and `-o qwen.moe` over the plan);
without `--force` it was told `it exists; pass --force to replace it`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_calibrate_percentile_metrics import SUMMARY

from conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h100-sxm"  engine = vllm }
workload { serving = inflight  batch = 256  prompt = 1024  generate = 256  rate = 4 requests/s  requests = 300 }
strategy tp 2
"""
RUN = json.dumps(SUMMARY | {"mean_ttft_ms": 46.35, "median_ttft_ms": 47.21, "p99_ttft_ms": 75.38,
                            "mean_tpot_ms": 13.9, "median_tpot_ms": 14.68, "p99_tpot_ms": 17.56})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "qwen.moe").write_text(PLAN)
    (tmp_path / "rate4.json").write_text(RUN)
    (tmp_path / "runs.toml").write_text('plan = "qwen.moe"\n[[run]]\nfile = "rate4.json"\n')
    return tmp_path


@pytest.mark.parametrize("given, out, what", [
    (["rate4.json", "--plan", "qwen.moe"], "rate4.json", "a run file"),
    (["rate4.json", "--plan", "qwen.moe"], "qwen.moe", "the plan"),
    (["runs.toml"], "runs.toml", "the manifest"),
    (["runs.toml"], "rate4.json", "a run file"),
    (["runs.toml"], "./qwen.moe", "a plan"),
])
@pytest.mark.parametrize("force", [[], ["--force"]])
def test_an_output_that_is_an_input_is_refused(home: Path, given, out, what, force):
    before = {p.name: p.read_bytes() for p in home.iterdir()}
    proc = run_dagc("calibrate", *given, "-o", out, *force, cwd=home)
    assert proc.returncode == 5 and proc.stdout == ""
    assert proc.stderr.strip() == (f"error: -o {out} is {what} this calibration reads: writing the calibration there "
                                   "would replace it; give -o another path")
    assert {p.name: p.read_bytes() for p in home.iterdir()} == before


def test_another_output_is_written(home: Path):
    proc = run_dagc("calibrate", "rate4.json", "--plan", "qwen.moe", "-o", "cal.json", cwd=home)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((home / "cal.json").read_text())["model"] == "qwen3-30b-a3b"
