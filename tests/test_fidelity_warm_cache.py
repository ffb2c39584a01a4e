"""bench/fidelity_warm_cache.py: the SGLang cookbook's runs with the runs before them cached (an experiment,
docs/cost-model.md)."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import fidelity_warm_cache as wc  # noqa: E402, I001


@pytest.mark.parametrize(("prompts", "input_len", "output_len", "input_total", "output_total"), [
    (10, 1000, 1000, 6101, 4210),           # each scenario's 1-client run (Qwen3 and DeepSeek-R1 alike)
    (80, 1000, 1000, 39668, 40725),         # the chat runs at 16 clients
    (500, 1000, 1000, 249831, 252162),      # … at 100
    (10, 8000, 1000, 41941, 4210),          # the summarising runs at 1 client
    (80, 8000, 1000, 300020, 41589),        # … at 16
    (320, 8000, 1000, 1273893, 169680),     # … at 64
    (320, 1000, 8000, 158939, 1300705),     # the reasoning runs at 64
])
def test_the_draws_are_the_cookbooks_prompts(prompts, input_len, output_len, input_total, output_total):
    """`sglang.bench_serving`'s draws at seed 1 total what the cookbook printed ("Total input tokens", "Total
    generated tokens") for every run of its two pages."""
    ins, outs = wc.drawn(prompts, input_len, output_len)
    assert (int(ins.sum()), int(outs.sum())) == (input_total, output_total)


def test_a_run_sends_the_prompts_of_a_shorter_run_first():
    """The first 80 prompts of the 320 are the 16-client run's 80, and its first 10 the 1-client run's 10."""
    assert wc.drawn(320, 8000, 1000)[0][:80].tolist() == wc.drawn(80, 8000, 1000)[0].tolist()
    assert wc.drawn(80, 8000, 1000)[0][:10].tolist() == wc.drawn(10, 8000, 1000)[0].tolist()


def test_a_cached_prompt_is_one_token_and_every_prompt_has_its_own_blocks():
    """Prompts 600, 1,025 and 3 tokens, outputs 0, 7 and 5, the first cached: 1 token in 1 block (id 0), then
    1,025 tokens in 3 blocks (ids 1–3) and 3 in 1 (id 4); an output of 0 is the log's least, 1."""
    ins, outs = wc.np.array([600, 1025, 3]), wc.np.array([0, 7, 5])
    rows = [json.loads(line) for line in wc.log_lines(ins, outs, cached=1)]
    assert rows == [{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [0]},
                    {"timestamp": 0, "input_length": 1025, "output_length": 7, "hash_ids": [1, 2, 3]},
                    {"timestamp": 0, "input_length": 3, "output_length": 5, "hash_ids": [4]}]
