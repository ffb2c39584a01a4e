"""W536: a request log whose requests are not the workload's `prompt` and `generate`. A user who adds Azure's
conversation log (1,014 + 247 tokens a request on average over its first 1,000, 903 + 235 over its first 200,
computed from the CSV by hand) to a workload of 10,240 + 256 read a steady state, a memory table and an optimal
verdict of requests the log never sends, and was told nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import run_dagc

ROOT = Path(__file__).resolve().parents[1]
LOG = "azure-llm-conv-2023-first1000.csv"
PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 4  gpu preset "h200" }}
workload {{ batch = 64  prompt = {prompt}  generate = {generate}  serving = inflight  requests from "{log}"{extra} }}
strategy tp 4
"""


def _check(tmp_path: Path, *args: str, prompt: int = 10240, generate: int = 256, extra: str = ""):
    shutil.copy(ROOT / "examples" / "traces" / LOG, tmp_path / LOG)
    (tmp_path / "p.moe").write_text(PLAN.format(prompt=prompt, generate=generate, log=LOG, extra=extra))
    r = run_dagc("check", "p.moe", "--no-search", *args, cwd=tmp_path)
    return r.returncode, r.stdout + r.stderr


def _words(text: str) -> str:
    """The text with its line breaks and runs of spaces as one space (a long message wraps in the terminal)."""
    return " ".join(text.split())


def test_a_log_of_other_lengths_is_w536_with_its_means(tmp_path):
    said = _words(_check(tmp_path)[1])
    assert _words("p.moe:3:24: warning[W536]: the request log's 1,000 requests average 1,014 prompt + 247 output "
                  "tokens, the workload's `prompt` and `generate` 10,240 + 256: the steady state (TTFT, TPOT, "
                  "tokens/s), the memory table and the search behind the optimal verdict are priced at the workload's "
                  "lengths, which the log does not send") in said
    assert _words("help: write the log's means in the workload, `prompt = 1014 generate = 247` (`--set "
                  "workload.prompt=1014 --set workload.generate=247` tries them)") in said


def test_its_hint_followed_is_quiet(tmp_path):
    code, said = _check(tmp_path, "--set", "workload.prompt=1014", "--set", "workload.generate=247")
    assert "W536" not in said and code == 0


def test_the_means_are_of_the_requests_replayed(tmp_path):
    said = _words(_check(tmp_path, extra="  requests = 200")[1])
    assert "the request log's 200 requests average 903 prompt + 235 output tokens" in said


def test_a_mean_within_5_percent_is_the_workloads(tmp_path):
    """Where the rule draws the line, read off the rule (`log_lengths`) on the plan as `dagc check` loads it: that
    the check prints the rule's W536, and nothing when it has none, is the tests above's (each of its checks replays
    the log's 1,000 requests, ~3 CPU s, which the rule does not read)."""
    from dagc.lang.load import load_plan
    from dagc.rules.log_lengths import log_lengths

    def codes(prompt: int, generate: int) -> list[str]:
        shutil.copy(ROOT / "examples" / "traces" / LOG, tmp_path / LOG)
        (tmp_path / "p.moe").write_text(PLAN.format(prompt=prompt, generate=generate, log=LOG, extra=""))
        return [d.code for d in log_lengths(load_plan(tmp_path / "p.moe"))]

    assert codes(1060, 240) == []               # +4.5 %, −2.9 %
    assert codes(1070, 247) == ["W536"]         # +5.5 %
    assert codes(1014, 235) == ["W536"]         # outputs of 247 tokens, +5.1 % over 235: the output's line too
