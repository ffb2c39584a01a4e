"""Counts are worded as they are: one GPU is `1 GPU`, a cluster smaller than a node says nothing of nodes, the
pools' balance never reads as a whole number it is not, and a memory use of thousands of per cent is grouped."""

from __future__ import annotations

import pytest

from dagc.export.serving_md import balance_text
from dagc.units import format_percent
from conftest import run_dagc

ONE_L40S = '''
model preset "gpt-oss-20b"
cluster {
  gpus = 1
  gpu "l40s" { memory = 46068 MiB  flops = 362 TFLOPS  fp8_flops = 733 TFLOPS  hbm = 864 GB/s  intra_node = 32 GB/s }
  engine = vllm
}
workload { batch = 64  prompt = 6000  generate = 800  serving = inflight }
strategy tp 1
'''

# a 100,000,000-token prompt: Mixtral's dimensions with a context stated long enough to take it (its own,
# 32,768 tokens, refuses it first: E111)
HUGE_PROMPT = '''
model preset "mixtral-8x7b" { context_length = 200000000 }
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 100000000  generate = 256  serving = inflight }
require { memory <= 90 % }
strategy tp 8
'''


@pytest.fixture(autouse=True)
def _wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")


def test_a_one_gpu_cluster_is_worded_as_one_gpu_and_no_node(tmp_path):
    plan = tmp_path / "one.moe"
    plan.write_text(ONE_L40S)
    check = run_dagc("check", str(plan), "--no-search").stdout
    assert "cluster 1 × l40s · batch" in check and "per node" not in check
    launch = run_dagc("launch", str(plan)).stdout
    assert "· strategy `tp 1` · 1 GPU\n" in launch and "1 GPUs" not in launch and "node of" not in launch
    run_dagc("compile", str(plan), "--no-search", "-o", str(tmp_path / "out"))
    md = (tmp_path / "out" / "report.md").read_text()
    assert "on **1 × l40s**; batch" in md and "per node" not in md.split("## Assumptions")[0]
    assert "uses 1 of the 1 GPU." in md and "uses 1 of 1 GPU |" in md
    assert "Over its 1 GPU the strategy" in md and "| held over 1 GPU |" in md and "1 GPUs" not in md
    svg = (tmp_path / "out" / "placement.svg").read_text()
    assert "1 of 1 GPU used" in svg and "per node" not in svg
    assert "· 1 GPU ·" in (tmp_path / "out" / "dag.dot").read_text()


def test_a_cluster_of_a_node_or_more_still_says_its_node(tmp_path):
    plan = tmp_path / "eight.moe"
    plan.write_text(ONE_L40S.replace("gpus = 1", "gpus = 8").replace("tp 1", "tp 8"))
    assert "cluster 8 × l40s (8 per node) · batch" in run_dagc("check", str(plan), "--no-search").stdout
    assert "· 8 GPUs (1 node of 8)\n" in run_dagc("launch", str(plan)).stdout


def test_the_balance_never_rounds_a_ratio_to_a_whole_number_it_is_not():
    said = balance_text((50, 49), 1, 1, "prefill")
    assert "1 prefill instances" not in said and "at 1.02 prefill instances to 1 decode instance (50:49)" in said
    assert said.endswith("beside its 1 decode instance, the prefill pool needs 2 instances (1.02, rounded up to "
                         "whole instances)")
    assert balance_text((5, 1), 1, 1, "prefill").endswith("the prefill pool needs 5 instances")


def test_a_memory_use_of_thousands_of_per_cent_is_grouped(tmp_path):
    assert format_percent(341251.472) == "34,125,147.2 %" and format_percent(0.5) == "50.0 %"
    plan = tmp_path / "huge.moe"
    plan.write_text(HUGE_PROMPT)
    out = run_dagc("check", str(plan), "--no-search").stdout
    assert "1,934.5 %" in out and "1934.5 %" not in out


def test_one_unused_gpu_is_one(tmp_path):
    plan = tmp_path / "seven.moe"
    plan.write_text(HUGE_PROMPT.replace("gpus = 8", "gpus = 9").replace("prompt = 100000000", "prompt = 1000"))
    assert "1 of 9 GPUs is unused (the strategy uses 8)" in run_dagc("check", str(plan), "--no-search").stdout


def test_thousands_of_unused_gpus_are_grouped(tmp_path):
    plan = tmp_path / "wide.moe"
    plan.write_text(HUGE_PROMPT.replace("gpus = 8", "gpus = 2048").replace("prompt = 100000000", "prompt = 1000"))
    out = run_dagc("check", str(plan), "--no-search").stdout
    assert "2,040 of 2,048 GPUs are unused (the strategy uses 8)" in out and "dp 256 would use 2,048" in out
