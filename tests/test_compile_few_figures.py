"""`dagc compile` prints, under a strategy's figures line, that they are not the deployment's when the strategy has
errors and dagc priced fewer requests than the plan's batch — as `dagc check`'s metrics table says it — where it
printed the figures alone (Qwen3-235B-A22B, `tp 1 ; ep 8` on 8 H100s: E732, 8 requests of the batch's 64)."""

from __future__ import annotations

from conftest import run_dagc

PLAN = """model preset "qwen3-235b-a22b"
cluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 64  prompt = 4000  generate = 500  serving = inflight }
require { memory <= 90 % }
strategy tp 1 ; ep 8
"""


def test_compile_says_whose_figures_a_strategy_with_errors_prints(tmp_path):
    (tmp_path / "plan.moe").write_text(PLAN)
    r = run_dagc("compile", str(tmp_path / "plan.moe"), "--no-search", "-o", str(tmp_path / "out"))
    assert r.returncode == 3 and "error[E732]" in r.stderr
    lines = r.stdout.splitlines()
    at = next(k for k, line in enumerate(lines) if line.startswith("  TTFT "))
    assert lines[at + 1] == ("  8 requests' figures, not the deployment's: the strategy has errors, so dagc priced 8 "
                             "requests in flight, not the plan's batch of 64; no requirement is judged on them")
