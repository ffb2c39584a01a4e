"""`warm = N`: the first N requests' prompts are in the prefix cache when the load simulation starts (a server that
served them before — a benchmark's warm-up request, an earlier run of the same prompts), found there as a shared
`prefix` or a Mooncake log's blocks are (docs/language.md, "Lengths and a shared prefix")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dagc.lang.load import PlanError, load_plan_text
from dagc.lang.traffic import WARM_BLOCK_TOKENS
from dagc.serve.kv_blocks import RankKV
from dagc.serve.load import simulate
from dagc.serve.requests import requests_of
from dagc.serve.step_prices import StepPrices
from dagc.verdict.check import check

ROOT = Path(__file__).resolve().parents[1]
INFLIGHT = (ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text()


def _plan(traffic: str):
    return load_plan_text(INFLIGHT.replace("chunk = 8192", "chunk = 8192\n  " + traffic))


def _load(traffic: str):
    plan = _plan(traffic)
    r = check(plan, "tp 4")[0]
    prices = StepPrices(plan, r.strategy, r.layout)
    return plan, prices, simulate(plan, r.strategy, r.layout, prices)


def test_the_first_prompts_are_their_own_16_token_blocks_and_the_rest_have_none():
    plan = _plan("concurrency = 1  requests = 4  warm = 2")
    req = requests_of(plan.workload.traffic, plan.workload)
    assert plan.workload.traffic.warm == 2 and req.warm == 2 and req.block_tokens == WARM_BLOCK_TOKENS == 16
    # 4,000-token prompts: 250 blocks each for the first two, none for the others
    assert req.hash_offsets.tolist() == [0, 250, 500, 500, 500] and req.hash_ids.tolist() == list(range(500))


def test_a_warm_prompt_prefills_only_its_last_block():
    """One client, four 4,000-token prompts, the first two cached: each of those finds (4,000 − 1) // 16 = 249
    blocks, 3,984 tokens, and prefills the last 16 — its TTFT is a mixed step of 16 prompt tokens over a 4,000-token
    prompt's context —; the other two prefill all 4,000, as every request does without `warm`."""
    plan, prices, load = _load("concurrency = 1  requests = 4  ramp = 0 s  warm = 2")
    assert load.cached_tokens is not None and load.cached_tokens.tolist() == [3984, 3984, 0, 0]
    ingest = plan.cluster.engine.terms.ingest_s
    assert load.ttft_server[0] == pytest.approx(ingest + prices.mixed(1, 16, 4000), rel=1e-9)
    assert load.ttft_server[2] == pytest.approx(ingest + prices.mixed(1, 4000), rel=1e-9)
    _, _, cold = _load("concurrency = 1  requests = 4  ramp = 0 s")
    assert cold.cached_tokens is not None and not cold.cached_tokens.any()
    assert np.allclose(cold.ttft_server, load.ttft_server[2])


def test_preloaded_blocks_are_evictable_and_the_oldest_go_first():
    """A pool of 3 blocks of 16 tokens: four cached blocks preloaded keep the last three; a request taking two
    evicts two more."""
    kv = RankKV(3, 16)
    kv.preload([0, 1, 2, 3])
    assert list(kv.cache) == [1, 2, 3] and kv.used == kv.evictable == 3 and kv.free == 3
    assert kv.match([1, 2]) == (2, 2) and kv.match([0, 1]) == (0, 0)
    kv.take(2)
    assert list(kv.cache) == [3] and kv.free == 1


@pytest.mark.parametrize(("traffic", "words"), [
    ("concurrency = 4  requests = 8  warm = 9", "`warm` = 9 requests, but the traffic sends 8"),
    ("concurrency = 4  requests = 8  warm = 2  prefix = 100", "it does not go with a shared `prefix`"),
])
def test_warm_is_e104_beyond_the_requests_or_with_a_shared_prefix(traffic, words):
    with pytest.raises(PlanError) as e:
        _plan(traffic)
    assert [d.code for d in e.value.diagnostics] == ["E104"] and words in e.value.diagnostics[0].message


def test_warm_is_e104_with_a_request_log(tmp_path):
    (tmp_path / "t.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n"
                                    "2023-11-16 18:17:04.0319600,3180,8\n")
    text = INFLIGHT.replace("chunk = 8192", 'chunk = 8192\n  requests from "t.csv"  warm = 1')
    with pytest.raises(PlanError) as e:
        load_plan_text(text, "p.moe", base_dir=tmp_path)
    assert [d.code for d in e.value.diagnostics] == ["E104"]
    assert "it does not go with a request log" in e.value.diagnostics[0].message
