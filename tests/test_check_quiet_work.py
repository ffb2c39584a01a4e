"""`dagc check --quiet` prints each strategy's verdicts and the errors alone: it computes nothing else — no next
steps of a strategy that misses a requirement (each a check of a changed plan, its traffic simulated again), no
nearest strategy an engine runs for W533's hint (a check of another strategy) — and its verdicts and exit code are
those of the whole check.
"""

from __future__ import annotations

import pytest

from dagc.launch import nearest as nearest_module
from dagc.verdict import next_steps as next_steps_module
from conftest import run_dagc

# a requirement no strategy on 8 H100s meets, and a strategy no engine starts (sequence parallelism: E709 on vLLM,
# SGLang and TensorRT-LLM alike, W533, whose hint is the nearest strategy vLLM runs)
PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 1024  generate = 128  serving = inflight  rate = 2 requests/s  requests = 200 }
require { tpot <= 1 ms }
strategy tp 4 sp ; ep 4
"""


@pytest.fixture
def counted(monkeypatch) -> dict[str, int]:
    calls = {"next_steps": 0, "nearest": 0}
    real_steps, real_nearest = next_steps_module._steps, nearest_module.nearest

    def next_steps(*args, **kwargs):
        calls["next_steps"] += 1
        return real_steps(*args, **kwargs)

    def nearest(*args, **kwargs):
        calls["nearest"] += 1
        return real_nearest(*args, **kwargs)
    monkeypatch.setattr(next_steps_module, "_steps", next_steps)   # the steps and what helps not
    monkeypatch.setattr("dagc.launch.engine_check.nearest", nearest)
    return calls


def test_quiet_computes_neither_next_steps_nor_warnings_hints(tmp_path, counted):
    plan = tmp_path / "plan.moe"
    plan.write_text(PLAN)
    whole = run_dagc("check", str(plan), "--no-search", cwd=tmp_path)
    assert "W533" in whole.stdout and "help: the nearest strategy vLLM can run" in whole.stdout
    assert "next steps" in whole.stdout.lower()
    assert counted["next_steps"] >= 1 and counted["nearest"] >= 1, "the whole check computes both"
    counted.update(next_steps=0, nearest=0)
    quiet = run_dagc("check", str(plan), "--no-search", "-q", cwd=tmp_path)
    assert counted == {"next_steps": 0, "nearest": 0}
    assert quiet.returncode == whole.returncode == 1          # a requirement missed
    assert quiet.stdout.splitlines() == [
        "strategy tp 4 sp ; ep 4: correct yes · meets requirements no · optimal not judged"]
    assert "verdict: correct: yes · meets requirements: no · optimal: not judged" in whole.stdout
