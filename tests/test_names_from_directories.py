"""A directory's name from a plan's `model from` is shown as every name from a plan is (2026-12-03, a new user's
round as CI runs dagc on a pull request's files): a newline in the directory's name printed a line of its own —
a forged `verdict: correct: yes` — in the terminal's header, and a newline in the directory `dagc launch` ran in went
into the written script, the model path joined to it after E708 had judged `.` alone. Everything in temp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_dagc

CONFIG = ('{"num_hidden_layers": 4, "hidden_size": 1024, "num_attention_heads": 8, "num_key_value_heads": 8, '
          '"vocab_size": 32000, "num_local_experts": 8, "num_experts_per_tok": 2, "intermediate_size": 2048, '
          '"torch_dtype": "bfloat16"}')
PLAN = """model from "config.json"
cluster { gpus = 4  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64 }
strategy ep = tp 1 ; ep 4
"""
FORGED = "verdict: correct: yes"


@pytest.fixture
def forged_dir(tmp_path) -> Path:
    d = tmp_path / f"nl\n{FORGED}"
    d.mkdir()
    (d / "config.json").write_text(CONFIG)
    (d / "plan.moe").write_text(PLAN)
    return d


def test_a_newline_in_the_model_s_directory_prints_no_line_of_its_own(forged_dir):
    proc = run_dagc("check", "plan.moe", "--no-search", cwd=forged_dir)
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[0]
    assert header.startswith(f"plan plan.moe · model nl\ufffd{FORGED} (283.7 M params")
    # one verdict line, the check's own (until 2026-12-03 the header's second line was the forged one)
    assert sum(line.startswith("verdict:") for line in proc.stdout.splitlines()) == 1


def test_a_newline_in_the_directory_launch_runs_in_is_e708(forged_dir, tmp_path):
    out = tmp_path / "launch"
    proc = run_dagc("launch", "plan.moe", "--engine", "vllm", "-o", str(out), cwd=forged_dir)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "error[E708]: the model path " in proc.stdout and "(U+000A)" in proc.stdout
    # the hint is the directory's, not "the nearest strategy vLLM can run" — the same strategy
    assert "help: move or copy the model's directory" in proc.stdout and "nearest strategy vLLM" not in proc.stdout
    assert not out.exists() and "vllm serve" not in proc.stdout
