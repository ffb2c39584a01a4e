"""`dagc fleet` says what `dagc check` warns of the traffic every cluster is judged under: a percentile requirement
judged on too few simulated requests (W521) and a request log whose lengths are not the workload's `prompt` and
`generate` (W536). Before, the fleet ranked clusters by p99s of 400 requests, or searched each at lengths its log never
sends, without a word, while `dagc check` of its pick warned of both."""

from __future__ import annotations

from pathlib import Path

from dagc.cli.main import main

# 1 H100 cannot hold Qwen3-235B-A22B: every cluster's search ends at once, and the warnings come before it
HEAD = """model preset "qwen3-235b-a22b"
cluster { gpus = 8  gpu preset "h100-sxm" }
"""
FLEET = """require { ttft_p99 <= 2 s  tpot_p90 <= 40 ms }
fleet {
  gpu preset "h100-sxm" { price = 2.49 $/h }
  gpus = [1]
  rate = 6 requests/s
}
"""


def _fleet(tmp_path: Path, workload: str, capsys) -> str:
    (tmp_path / "plan.moe").write_text(HEAD + workload + FLEET)
    assert main(["fleet", str(tmp_path / "plan.moe"), "-o", str(tmp_path / "out")]) == 1
    return " ".join(capsys.readouterr().err.split())


def test_a_p99_of_400_requests_is_warned_of(tmp_path: Path, capsys):
    err = _fleet(tmp_path, "workload { batch = 64  prompt = 2000  generate = 400  serving = inflight\n"
                 "  requests = 400 }\n", capsys)
    # a p99 needs 10 samples beyond it: 10 / (1 − 0.99) = 1,000 requests; a p90 needs 100
    assert ("plan.moe:5:11: warning[W521]: `ttft_p99 <= 2 s` is judged on 400 simulated requests: a p99 needs at "
            "least 1,000 to rest on more than its largest few") in err
    assert "help: simulate more: `requests = 1000` or more in the workload" in err
    assert err.count("W521") == 1


def test_a_log_of_other_lengths_than_the_workload_is_warned_of(tmp_path: Path, capsys):
    # 4 requests of 1,000 + 200 and 4 of 3,000 + 600: means 2,000 + 400, beside a workload of 1,000 + 200
    rows = [f"2023-11-16 18:15:{s:02d}.0000000,{p},{g}" for s, (p, g) in
            enumerate([(1000, 200), (3000, 600)] * 4)]
    (tmp_path / "log.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "\n".join(rows) + "\n")
    err = _fleet(tmp_path, 'workload { batch = 64  prompt = 1000  generate = 200  serving = inflight\n'
                 '  requests from "log.csv" }\n', capsys)
    assert ("plan.moe:3:24: warning[W536]: the request log's 8 requests average 2,000 prompt + 400 output tokens, the "
            "workload's `prompt` and `generate` 1,000 + 200: the steady state (TTFT, TPOT, tokens/s), the memory table "
            "and the search behind the optimal verdict are priced at the workload's lengths, which the log does not "
            "send") in err
    assert ("help: write the log's means in the workload, `prompt = 2000 generate = 400` (`--set workload.prompt=2000 "
            "--set workload.generate=400` tries them)") in err
