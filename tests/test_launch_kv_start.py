"""E732: an engine does not start when its memory share leaves one rank's KV cache too small for the longest
request (vLLM) or for any (SGLang), and a memory requirement the KV cache fills exactly is met (the float
tolerance of `Requirement.holds`). Figures by hand for Qwen3-30B-A3B on one H200:

- weights 30,532,110,336 params × 2 B = 61,064,220,672 B; the activations 570,425,344 B (report.json's stage);
  reserve 4 GiB = 4,294,967,296 B; the GPU 150,754,820,096 B.
- KV a token: 2 (K, V) × 48 layers × 4 KV heads × 128 × 2 B = 98,304 B; one request of 40,000 + 500 tokens:
  3,981,312,000 B.
- weights + activations + reserve = 65,929,613,312 B = 43.733 % of the GPU: `memory <= 40 %` leaves no KV cache.
- vLLM's share is --gpu-memory-utilization = floor₃((limit − reserve) / GPU), holding weights, activations and the
  KV cache: one request needs (61,064,220,672 + 570,425,344 + 3,981,312,000) / GPU = 0.43525 → a flag of 0.436 →
  a limit of 0.436 + 4 GiB / GPU (0.028490) = 0.46449 → the hint's `memory <= 46.5 %`; 46.4 % writes
  floor₃(0.43551) = 0.435, short of it (0.435 × GPU − weights − activations = 3,943,700,726 B = 40,117 tokens).
- `memory <= 45 %`: floor₃(0.42151) = 0.421 → 0.421 × GPU − weights − activations = 1,833,133,244 B = 18,647 tokens.
- SGLang's --mem-fraction-static = floor₃((limit − reserve − activations) / GPU) holds weights and pool: at 45 %
  floor₃(0.417726) = 0.417 → 1,800,539,308 B = 18,316 tokens (it starts); at 40 % 0.367 × GPU < the weights: none.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.cli.main import main
from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 1  gpu preset "h200"  engine = {engine} }}
workload {{ batch = 8  prompt = 40000  generate = 500  serving = inflight }}
require {{ memory <= {limit} % }}
strategy tp 1
"""
CAPACITY = 150_754_820_096


def _errors(engine: str, limit: float) -> list[str]:
    r = check(load_plan_text(PLAN.format(engine=engine, limit=limit), "p.moe"))[0]
    return [d.code for d in r.diagnostics if d.is_error]


def test_the_hand_figures() -> None:
    resident = 61_064_220_672 + 570_425_344 + 4 * 2 ** 30
    assert resident / CAPACITY == pytest.approx(0.43733, abs=1e-5)
    assert (resident + 40_500 * 98_304) / CAPACITY == pytest.approx(0.46374, abs=1e-5)
    weights_act = 61_064_220_672 + 570_425_344
    assert (weights_act + 40_500 * 98_304) / CAPACITY == pytest.approx(0.43525, abs=1e-5)
    assert int((0.435 * CAPACITY - weights_act) / 98_304) == 40_117 < 40_500
    assert int((0.421 * CAPACITY - weights_act) / 98_304) == 18_647
    assert int((0.417 * CAPACITY - 61_064_220_672) / 98_304) == 18_316


def test_vllm_without_room_for_one_request_is_refused() -> None:
    r = check(load_plan_text(PLAN.format(engine="vllm", limit=40), "p.moe"))[0]
    e = next(d for d in r.diagnostics if d.code == "E732")
    assert "holds 0 tokens" in e.message and "No available memory for the cache blocks" in e.message
    assert e.span is not None and e.span.line == 4           # at the memory requirement that leaves no room
    assert e.hint is not None and "`memory <= 46.5 %`" in e.hint and "at most 0 tokens" not in e.hint
    assert (r.verdict.correct, r.verdict.meets_requirements) == (False, False)


def test_vllm_with_room_short_of_the_longest_is_refused() -> None:
    r = check(load_plan_text(PLAN.format(engine="vllm", limit=45), "p.moe"))[0]
    e = next(d for d in r.diagnostics if d.code == "E732")
    assert "holds 18,647 tokens under --gpu-memory-utilization 0.421" in e.message
    assert "--max-model-len 40,500" in e.message
    assert e.hint is not None and "requests of at most 18,647 tokens" in e.hint


def test_sglang_starts_with_a_pool_short_of_the_longest() -> None:
    assert _errors("sglang", 45) == []                       # it cuts its longest request to the pool
    assert _errors("sglang", 40) == ["E732"]                 # a pool of 0 tokens: "Memory pool size is too small"


def test_room_for_one_request_starts() -> None:
    assert _errors("vllm", 47) == []


def test_the_share_is_judged_as_its_flag_is_written() -> None:
    """46.4 % writes --gpu-memory-utilization 0.435: 40,117 tokens, short of 40,500 (the hint says 46.5 %)."""
    text = PLAN.format(engine="vllm", limit=46.4)
    r = check(load_plan_text(text, "p.moe"))[0]
    e = next(d for d in r.diagnostics if d.code == "E732")
    assert "holds 40,117 tokens under --gpu-memory-utilization 0.435" in e.message
    assert _errors("vllm", 46.5) == []


def test_tensorrt_llm_without_any_kv_cache_is_refused() -> None:
    assert _errors("trtllm", 40) == ["E732"]        # free_gpu_memory_fraction 0.000: no request runs
    assert _errors("trtllm", 45) == []              # some KV cache: W519 says the longer requests


POOLS = """model preset "qwen3-30b-a3b"
cluster { gpus = 3  gpu preset "h200"  engine = vllm }
workload { batch = 8  prompt = 40000  generate = 500  serving = inflight }
require { memory <= 42 % }
strategy pd = prefill 1 < tp 1 > decode 1 < tp 2 >
"""


def test_a_pool_whose_instance_does_not_start_is_refused() -> None:
    """The prefill instance holds all 56.87 GiB of weights on one GPU under 42 % (58.97 GiB): no KV cache."""
    r = check(load_plan_text(POOLS, "p.moe"))[0]
    e = next(d for d in r.diagnostics if d.code == "E732")
    assert e.message.startswith("prefill pool: vLLM does not start: one rank's KV cache holds 0 tokens")
    assert "--max-model-len 40,001" in e.message                     # a prefill instance's requests: prompt + 1
    assert e.hint is not None and "one request of 40,001 tokens" in e.hint


def test_a_memory_limit_the_kv_cache_fills_is_met() -> None:
    r = check(load_plan_text(PLAN.format(engine="vllm", limit=47), "p.moe"))[0]
    req = r.requirements[0]
    assert req.value == pytest.approx(0.47, rel=1e-12) and req.met is True
    assert req.margin_percent() == "0 %"


def test_launch_writes_nothing_and_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN.format(engine="vllm", limit=40))
    out = tmp_path / "out"
    assert main(["launch", str(plan), "--engine", "vllm", "-o", str(out)]) == 3
    assert not out.exists()
    said = capsys.readouterr().out
    assert "error[E732]" in said and "vLLM (E732) cannot start it" in said
