"""An 8-bit KV cache is suggested — in E732's hint (the engine does not start for want of KV cache) and W520's (the
cache runs fewer than `batch`) — only where it would help: where the 16-bit cache has room it doubles past one
request of the length limit (E732) or past the requests it runs now (W520); never with no room at all, nor to a
plan whose cache is 8-bit already (until now E732 said it always, and W520 "would run ≈ 8" beside ≈ 8 running)."""

from __future__ import annotations

import pytest

import dagc
from dagc.lang.load import load_plan_text

FP8 = "an 8-bit KV cache (`model { kv_cache = fp8 }`)"


def _diags(share: int, kv: str = "bf16"):
    """Qwen3-30B-A3B's 56.9 GiB of weights on one H200 (140.4 GiB), one request of 40,000 + 500 tokens at most,
    under vLLM's share of `memory <= share %`: 45 % leaves one rank 18,647 tokens of a 16-bit KV cache (37,295 of
    an 8-bit one, short of 40,500 too), 46 % leaves 33,983 (67,966 at 8 bits: the engine starts)."""
    plan = load_plan_text(f'model preset "qwen3-30b-a3b" {{ kv_cache = {kv} }}\n'
                          'cluster { gpus = 1  gpu preset "h200"  engine = vllm }\n'
                          'workload { batch = 8  prompt = 40000  generate = 500  serving = inflight }\n'
                          f'require {{ memory <= {share} % }}\nstrategy tp 1\n')
    (result,) = dagc.check(plan, search=False)
    return {d.code: d for d in result.diagnostics if d.code in ("E732", "W520")}


@pytest.mark.parametrize("share, kv", [(45, "bf16"), (45, "fp8")])
def test_no_8_bit_cache_where_it_would_not_start_the_engine(share, kv):
    d = _diags(share, kv)
    assert "E732" in d and d["E732"].hint is not None and "8-bit KV cache" not in d["E732"].hint


def test_the_8_bit_cache_that_would_start_the_engine_is_suggested():
    d = _diags(46)
    assert d["E732"].hint is not None and FP8 in d["E732"].hint
    assert "E732" not in _diags(46, "fp8")           # as it says: 8 bits start it
    assert "E732" in _diags(45, "fp8")               # and at 45 % they do not


@pytest.mark.parametrize("share", [45, 46])
def test_w520_names_no_8_bit_cache_that_runs_what_runs_now(share):
    """A rank runs ≈ 1 request (the figures of a cache that held one): at 8 bits, 37,295 or 67,966 tokens still run
    one request of 40,250 at its mean context — the hint said "an 8-bit KV cache … would run ≈ 1"."""
    w520 = _diags(share)["W520"]
    assert "in flight the engine runs ≈ 1 at their mean context" in w520.message
    assert w520.hint is not None and "8-bit KV cache" not in w520.hint
    assert "a `batch` of 1 states what runs" in w520.hint
