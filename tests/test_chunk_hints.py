"""The in-flight chunk's diagnostics (E307, W513) advise only what works: a `chunk` the language accepts (at most
`CHUNK_LIMIT`), a batch of at least one request, or — when one request's prompt alone outpaces every chunk a plan
may write — a shorter prompt."""

from __future__ import annotations

import re

from dagc import load_plan_text
from dagc.lang.fields import CHUNK_LIMIT
from dagc.launch.engine_check import check

# Qwen3-30B-A3B's dimensions with a context stated long enough for the prompts of billions of tokens these hints
# are tested at (its own, 40,960 tokens, refuses them first: E111)
QWEN_4 = '''
model preset "qwen3-30b-a3b" {{ context_length = 2000000000 }}
cluster {{ gpus = 4  gpu preset "h200" }}
workload {{ batch = {batch}  prompt = {prompt}  generate = 500  serving = inflight  chunk = {chunk} }}
strategy tp 4
'''


def diagnostic(code: str, batch: int, prompt: int = 4000, chunk: int = 8192):
    r = check(load_plan_text(QWEN_4.format(batch=batch, prompt=prompt, chunk=chunk), name="chunk"))[0]
    found = [d for d in r.diagnostics if d.code == code]
    return found[0] if found else None


def chunks_named(hint: str) -> list[int]:
    return [int(n) for n in re.findall(r"`chunk = (\d+)`", hint)]


def test_e307_never_names_a_chunk_above_the_languages_bound():
    # 2,000,000 requests on one rank: a chunk with room for them (4,000,000) is above the bound
    d = diagnostic("E307", batch=2_000_000)
    assert d is not None and all(n <= CHUNK_LIMIT for n in chunks_named(d.hint)), d.hint
    assert f"`chunk` is at most {CHUNK_LIMIT:,} tokens" in d.hint
    # what it names instead works: the largest batch the bound keeps up with (2^20 · 500 // 4500 on one rank)
    batch = CHUNK_LIMIT * 500 // 4500
    assert f"the largest batch `chunk = {CHUNK_LIMIT}` keeps up with is {batch:,};" in d.hint
    assert diagnostic("E307", batch, chunk=CHUNK_LIMIT) is None and diagnostic("W513", batch, chunk=CHUNK_LIMIT) is None


def test_e307_names_the_least_chunk_with_room_and_apart_the_least_that_keeps_up():
    # 600,000 requests of 100-token prompts on one rank: 600,001 has room for a prompt token, 600,000 + 120,000
    # keeps up with their prompts; the engines' 8192 has no room for them, so it is not named
    d = diagnostic("E307", batch=600_000, prompt=100)
    assert d is not None and chunks_named(d.hint) == [600_001, 720_000], d.hint
    assert "default" not in d.hint
    assert diagnostic("E307", 600_000, prompt=100, chunk=600_000) is not None
    assert diagnostic("E307", 600_000, prompt=100, chunk=600_001) is None
    assert diagnostic("W513", 600_000, prompt=100, chunk=720_000) is None
    # (below it the KV cache, not the chunk, binds: the engine runs ≈ 9,665 of them, W520, which 719,999 keeps up with)


def test_e307_below_the_bound_names_the_least_chunk_and_the_default_apart():
    # 256 requests of 4,000-token prompts over 500 generated on one rank: 257 has room, 256 + 2,048 keeps up
    d = diagnostic("E307", batch=256, chunk=64)
    assert d is not None and d.hint == (
        "write `chunk = 257` or more, one more than its 256 decode tokens; `chunk = 2304` or more also keeps up "
        "with the prompts of its 256 requests (W513); the engine's default on this GPU is 8192 — or spread the batch "
        "over more ranks")      # vLLM's on an H200
    assert diagnostic("E307", 256, chunk=256) is not None and diagnostic("E307", 256, chunk=257) is None
    assert diagnostic("W513", 256, chunk=2303) is not None and diagnostic("W513", 256, chunk=2304) is None


def test_w513_never_advises_serving_zero_requests():
    # one request of a 10,000,000-token prompt over 500 generated needs 20,000 prompt tokens a step
    d = diagnostic("W513", batch=1, prompt=10_000_000)
    assert d is not None and "is 0" not in d.hint and "at most that many" not in d.hint, d.hint
    assert "1 request in flight per attention-DP rank needs 20,000 prompt tokens" in d.message
    assert "even one request's prompt (10,000,000 tokens" in d.hint and chunks_named(d.hint) == [20_001]
    assert diagnostic("W513", batch=1, prompt=10_000_000, chunk=20_001) is None
    assert diagnostic("W513", batch=1, prompt=10_000_000, chunk=20_000) is not None


def test_w513_says_no_legal_chunk_keeps_up_with_one_prompt_that_long():
    d = diagnostic("W513", batch=1, prompt=1_000_000_000)
    assert d is not None and chunks_named(d.hint) == [] and "is 0" not in d.hint, d.hint
    assert f"any `chunk` a plan may write (at most {CHUNK_LIMIT:,})" in d.hint and "shorten the prompt" in d.hint


def test_e307_memory_table_counts_the_steps_tokens_not_every_prompt():
    # Qwen3-30B-A3B on 8 H100s, tp 8, 256 requests in flight and `chunk = 256`: each step holds the 256 decode
    # tokens alone (E307). The activations the memory table shows are those of that step, by hand: the LM head's
    # logits and input, 256 × (2,048 + 151,936 / 8) values of 2 bytes — beside the qkv projection's
    # 256 × (2,048 + (32/8 + 2·1) × 128) and the experts' 256 · 8 tokens × (2,048 + 2 · 768 / 8) — not the
    # micro-batch's 256 whole prompts of 4,000 tokens (34 GiB before)
    text = QWEN_4.replace("gpus = 4  gpu preset \"h200\"", "gpus = 8  gpu preset \"h100-sxm\"").replace(
        "strategy tp 4", "strategy tp 8")
    r = check(load_plan_text(text.format(batch=256, prompt=4000, chunk=256), name="chunk"))[0]
    assert any(d.code == "E307" for d in r.diagnostics)
    assert r.memory is not None
    assert [s.activation_bytes for s in r.memory.stages] == [256 * (2048 + 151936 / 8) * 2]


def test_the_in_flight_line_says_prompts_queue_where_w513_does(tmp_path, capsys):
    """The check's in-flight line closes on "steady state, no queueing" only where the chunk keeps up with the
    batch's prompts; where it does not (W513), on their queue and a TTFT that is a floor. Until 2026-12-03 both
    read "no queueing", beside W513's "prompts queue and TTFT grows"."""
    from dagc.cli.main import main

    def line(chunk: int) -> str:
        path = tmp_path / f"c{chunk}.moe"
        path.write_text(QWEN_4.format(batch=256, prompt=4000, chunk=chunk))
        main(["check", str(path), "--no-search"])
        (found,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("in flight (chunk")]
        return found
    assert line(2304).endswith("in flight; steady state, no queueing")
    assert line(2303).endswith("fewer than the batch's 256: prompts queue and the TTFT grows (W513), the steady "
                               "state's TTFT is a floor")
