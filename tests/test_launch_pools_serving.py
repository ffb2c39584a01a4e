"""A disaggregated strategy's servers carry the serving flags of their pool's instance as dagc analyses
it by itself (`dagc.verdict.pools`): the prefill instance its prefill batch of whole prompts at once, the
decode instance the decode steps of its share of the batch; every server takes the whole request; the
memory share is the instance's, capped by the plan's memory requirement."""

from __future__ import annotations

import functools

import pytest

from dagc.lang.load import load_plan_text
from dagc.launch.engines import launch_result
from dagc.verdict.check import check

QWEN = ('model preset "qwen3-30b-a3b"\ncluster {{ gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }}\n'
        'workload {{ batch = 64  prompt = 2000  generate = 200  serving = inflight }}\n{require}\n'
        'strategy prefill 2 < tp 2 > decode 1 < dp 2 < tp 1 ; ep 4 > >\n')


@functools.cache
def _launch(engine: str, require: str = ""):
    r = check(load_plan_text(QWEN.format(require=require)))[0]
    assert r.valid and r.pooled is not None
    (x,) = launch_result(r, (engine,))
    assert x.ok
    return r, x


def _value(argv: tuple[str, ...], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_pools_figures_are_each_instances():
    r, _ = _launch("vllm")
    prefill, decode = r.pooled.pools
    # prefill: 8,192 // 2,000 = 4 whole prompts at once on its one rank; decode: 64 over dp 2 × 4 attention-DP ranks
    assert (prefill.batch_per_instance, prefill.analysis.layout.requests_per_rank) == (4, 4)
    assert (decode.batch_per_instance, decode.analysis.layout.requests_per_rank) == (64, 8)


def test_vllm_pools_get_their_instances_serving_flags():
    r, x = _launch("vllm")
    serves = [c.argv for c in x.commands if c.argv[:2] == ("vllm", "serve")]
    prefill, decode = serves[:2], serves[2:]
    for argv in prefill:
        assert _value(argv, "--max-num-seqs") == "4"
        assert _value(argv, "--max-num-batched-tokens") == "8000"       # 4 prompts of 2,000 at once
        assert _value(argv, "--max-model-len") == "2200"                # the whole request: prompt + generate
        assert "--enable-chunked-prefill" not in argv
    for argv in decode:
        assert _value(argv, "--max-num-seqs") == "8"                    # each DP engine: one attention-DP rank
        assert _value(argv, "--max-num-batched-tokens") == "2200"       # the longest request whole
        assert _value(argv, "--max-model-len") == "2200"
    mem = r.pooled.pools[0].analysis.memory.worst
    share = float(_value(prefill[0], "--gpu-memory-utilization"))
    assert share == int((mem.capacity_bytes - mem.reserve_bytes) / mem.capacity_bytes * 1000) / 1000
    assert not any("the engine's defaults apply" in n for n in x.notes)
    assert any(n.startswith("decode pool: decode steps only (serving flags of vLLM") for n in x.notes)


@pytest.mark.parametrize("engine", ["vllm", "sglang", "trtllm"])
def test_pools_notes_say_what_each_pool_runs_not_static(engine):
    """A plan written `serving = inflight`: each pool's note says what its servers run (a prefill pool whole
    prompts, a decode pool decode steps), never `static`, which the plan did not write."""
    _, x = _launch(engine)
    serving = [n for n in x.notes if "(serving " in n]
    assert [n.partition(" (serving ")[0] for n in serving] == ["prefill pool: prefill only",
                                                                "decode pool: decode steps only"], serving
    assert "a prefill of all its prompts at once" in serving[0]
    assert "their KV caches arriving from the prefill pool" in serving[1]
    assert not any(n.startswith(("prefill pool: static", "decode pool: static")) for n in x.notes)


def test_sglang_pools_count_as_sglang_does():
    _, x = _launch("sglang")
    servers = [c.argv for c in x.commands if "sglang.launch_server" in c.argv]
    prefill = [a for a in servers if _value(a, "--disaggregation-mode") == "prefill"]
    decode = [a for a in servers if _value(a, "--disaggregation-mode") == "decode"]
    assert len(prefill) == len(decode) == 2
    assert {(_value(a, "--max-running-requests"), _value(a, "--chunked-prefill-size")) for a in prefill} == \
        {("4", "8000")}
    # SGLang divides by the server's 4 attention-DP ranks: 4 × 8 requests, 4 × 2,200 tokens
    assert {(_value(a, "--max-running-requests"), _value(a, "--chunked-prefill-size")) for a in decode} == \
        {("32", "8800")}
    assert all("--mem-fraction-static" in a and _value(a, "--context-length") == "2200" for a in servers)


def test_trtllm_pool_yaml_carries_its_instances_settings():
    _, x = _launch("trtllm")
    files = {f.name: f.text for f in x.files}
    decode = next(t for n, t in files.items() if n.endswith("-decode.yml"))
    assert "max_batch_size: 8\n" in decode and "max_num_tokens: 2200\n" in decode
    assert "free_gpu_memory_fraction:" in decode and "cache_transceiver_config:\n  backend: NIXL\n" in decode


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_a_memory_requirement_caps_each_pools_share(engine):
    _, free = _launch(engine)
    _, capped = _launch(engine, "require { memory <= 80 % }")
    flag = "--gpu-memory-utilization" if engine == "vllm" else "--mem-fraction-static"
    shares = [float(_value(c.argv, flag)) for c in capped.commands if flag in c.argv]
    before = [float(_value(c.argv, flag)) for c in free.commands if flag in c.argv]
    assert len(shares) == len(before) == 4
    assert all(s < b for s, b in zip(shares, before, strict=True)) and max(shares) <= 0.8
    assert any(n.startswith("prefill pool: the plan requires `memory <= 80 %`") for n in capped.notes)
