"""A memory requirement written in an engine's or a dashboard's words — `memory_utilization`, vLLM's
`gpu_memory_utilization`, `mem_usage` — is "did you mean `memory …`?", its value kept, where it was the list of all
24 requirement names; and the line the hint writes reads."""

from __future__ import annotations

import pytest

from tests.conftest import run_dagc

PLAN = """model preset "mixtral-8x7b"
cluster {{ gpus = 8  gpu preset "h100-sxm" }}
workload {{ batch = 64  prompt = 2048  generate = 256 }}
require {{ {req} }}
strategy tp 8
"""


def _run(tmp_path, req: str):
    (tmp_path / "p.moe").write_text(PLAN.format(req=req))
    r = run_dagc("check", "p.moe", "--no-search", cwd=tmp_path)
    return r.returncode, " ".join((r.stdout + r.stderr).split())


@pytest.mark.parametrize(("req", "meant"), [("memory_utilization <= 90 %", "memory <= 90 %"),
                                            ("gpu_memory_utilization <= 0.9", "memory <= 0.9"),
                                            ("mem_usage <= 70 GB", "memory <= 70 GB")])
def test_memory_in_other_words_is_told_memory(tmp_path, req, meant):
    code, said = _run(tmp_path, req)
    assert code == 4
    assert (f"help: did you mean `{meant}`? (the worst GPU's weights, KV cache, activations and reserve, as a share "
            "of its memory or a size; `dagc launch` derives vLLM's `--gpu-memory-utilization` from it)") in said
    code, said = _run(tmp_path, meant)
    assert code == 0 and "error[" not in said


def test_other_names_keep_their_hints(tmp_path):
    assert "did you mean `ttft_p99`?" in _run(tmp_path, "p99_ttft <= 2 s")[1]
    assert "did you mean `memory" not in _run(tmp_path, "throughput_per_memory >= 3 tokens/s")[1]
