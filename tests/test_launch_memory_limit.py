"""A plan's memory requirement caps every engine's memory share (`Serving.top_bytes`): vLLM's
--gpu-memory-utilization, SGLang's --mem-fraction-static and TensorRT-LLM's
kv_cache_config.free_gpu_memory_fraction are derived from the limit in place of the GPU's capacity, the
note says so, and a KV cache priced for the batch that does not fit under the limit is named."""

from __future__ import annotations

import math

import pytest

from dagc.lang.load import load_plan_text
from dagc.launch.engines import launch_result
from dagc.launch.serving import memory_limit, serving
from dagc.verdict.check import check

PLAN = ('model preset "qwen3-235b-a22b" {{ weights = fp8 }} cluster {{ gpus = 4 gpu preset "h200" engine = vllm }} '
        'workload {{ batch = 128 prompt = 1500 generate = 300 serving = inflight }} {require} strategy tp 4')
GIB = 2 ** 30


def _launch(require: str, engine: str):
    plan = load_plan_text(PLAN.format(require=require))
    r = check(plan)[0]
    (x,) = launch_result(r, (engine,))
    assert x.ok
    return plan, r, x


def _argv_value(x, flag: str) -> float:
    argv = x.commands[0].argv
    return float(argv[argv.index(flag) + 1])


def _yaml_value(x, key: str) -> float:
    (f,) = x.files
    line = next(line for line in f.text.splitlines() if line.strip().startswith(key + ":"))
    return float(line.split(":")[1])


def _share(x, engine: str) -> float:
    if engine == "vllm":
        return _argv_value(x, "--gpu-memory-utilization")
    if engine == "sglang":
        return _argv_value(x, "--mem-fraction-static")
    return _yaml_value(x, "free_gpu_memory_fraction")


def test_vllm_share_is_capped_by_the_requirement():
    plan, r, x = _launch("require { memory <= 90 % }", "vllm")
    cap = plan.cluster.gpu.memory_bytes
    reserve = plan.cluster.reserve_bytes
    # (0.9 × 140.40 GiB − 4 GiB) / 140.40 GiB = 0.8715…, rounded down; without the cap it was 0.971
    assert _argv_value(x, "--gpu-memory-utilization") == math.floor((0.9 * cap - reserve) / cap * 1000) / 1000 == 0.871
    assert r.memory.worst.fraction < 0.6            # dagc's figure: well under the limit, ~49 %
    assert any("(limit − reserve) / capacity, limit 126.36 GiB (`memory <= 90 %`)" in n for n in x.notes)
    assert any(n.startswith("the plan requires `memory <= 90 %`: the engine's memory share is derived from that "
                            "limit, 126.36 GiB a GPU") for n in x.notes)
    assert not any("does not fit under" in n for n in x.notes)


@pytest.mark.parametrize("engine", ["vllm", "sglang", "trtllm"])
def test_every_engines_share_leaves_the_gpu_within_the_limit(engine):
    plan, r, x = _launch("require { memory <= 90 % }", engine)
    _, _, free = _launch("", engine)
    cap, reserve = plan.cluster.gpu.memory_bytes, plan.cluster.reserve_bytes
    share = _share(x, engine)
    assert share < _share(free, engine)
    v = serving(plan, r.strategy, r.layout, r.memory)
    # the GPU memory the engine's share gives it, plus dagc's reserve, within 90 % of the GPU
    if engine == "vllm":
        used = share * cap + reserve
    elif engine == "sglang":
        used = share * cap + (v.activation_bytes or 0.0) + reserve
    else:
        used = v.resident_bytes + share * (cap - v.resident_bytes) + reserve
    assert used <= 0.9 * cap
    assert used > 0.9 * cap - 0.002 * cap            # and no less than rounding down to 3 decimals takes
    assert any("`memory <= 90 %`" in n for n in x.notes)


def test_without_a_memory_requirement_nothing_changes():
    plan, r, x = _launch("require { ttft <= 2 s }", "vllm")
    assert memory_limit(plan) is None
    assert _argv_value(x, "--gpu-memory-utilization") == 0.971
    assert not any("the plan requires" in n or "limit" in n for n in x.notes)


def test_a_limit_in_bytes_and_a_lower_bound():
    plan = load_plan_text(PLAN.format(require="require { memory <= 100 GB }"))
    assert memory_limit(plan) == (100e9, "memory <= 100 GB")
    _, _, x = _launch("require { memory <= 100 GB }", "vllm")
    assert _argv_value(x, "--gpu-memory-utilization") == math.floor((100e9 - 4 * GIB) / (140.40 * GIB) * 1000) / 1000
    assert memory_limit(load_plan_text(PLAN.format(require="require { memory >= 10 % }"))) is None


def test_a_batch_whose_kv_cache_does_not_fit_under_the_limit_is_named():
    # 44 %: 61.78 GiB; weights and activations 54.90 GiB + reserve 4 GiB leave 2.88 GiB of the 10.33 GiB priced
    plan, r, x = _launch("require { memory <= 44 % }", "sglang")
    v = serving(plan, r.strategy, r.layout, r.memory)
    assert v.kv_needed_bytes == pytest.approx(r.memory.worst.kv_needed_bytes)
    (note,) = [n for n in x.notes if "does not fit under" in n]
    room = 0.44 * plan.cluster.gpu.memory_bytes - v.kv_resident_bytes - plan.cluster.reserve_bytes
    assert 0 < room < v.kv_needed_bytes
    assert f"the KV cache dagc priced for the batch of 128 at full length, {v.kv_needed_bytes / GIB:.2f} GiB" in note
    assert f"leaves {room / GIB:.2f} GiB, so the engine holds fewer requests' KV cache" in note
    for engine in ("vllm", "sglang", "trtllm"):     # with no KV cache at all none starts: refused (E732)
        (refused,) = launch_result(check(load_plan_text(PLAN.format(require="require { memory <= 30 % }")))[0],
                                   (engine,))
        assert not refused.ok and [d.code for d in refused.refusals] == ["E732"] and not refused.commands


def test_check_the_load_and_the_launch_size_the_kv_cache_under_the_same_limit():
    """Mixtral 8x7B on 2 A100-80Gs, `tp 2`, a cap of 200 requests of 4,096 + 512 tokens, `memory <= 70 GB`:
    the launch gives vLLM 0.764 of each GPU (65.19 GiB less the 4 GiB reserve), and what that leaves after the
    weights and activations (43.91 GiB) is the KV cache `dagc check` prices, 17.29 GiB — not the whole GPU's
    32.09 GiB, ≈ 120 requests in flight and 85.9 GB against the 70 GB the requirement allows, as before. The
    load simulation's KV pool is the same; the steady state runs the requests it admits (W520 says under which
    limit), and the memory requirement is met at its limit. The plan states its 8,192-token chunk: vLLM's own on an
    A100 is 2,048, whose smaller activations would leave 17.50 GiB (`tests/test_engine_chunk.py`)."""
    from dagc.serve.kv_blocks import kv_capacity_tokens
    plan = load_plan_text('model preset "mixtral-8x7b"\ncluster { gpus = 2  gpu preset "a100-80g" }\n'
                          "workload { batch = 200  prompt = 4096  generate = 512  serving = inflight  chunk = 8192 }\n"
                          "require { ttft <= 3 s  tpot <= 60 ms  memory <= 70 GB }\nstrategy tp 2\n")
    r = check(plan)[0]
    (x,) = launch_result(r, ("vllm",))
    share = _argv_value(x, "--gpu-memory-utilization")
    assert share == math.floor((70e9 - 4 * GIB) / (80 * GIB) * 1000) / 1000 == 0.764
    worst = r.memory.worst
    kv_room = 70e9 - worst.weights_bytes - worst.activation_bytes - 4 * GIB
    assert worst.kv_cache_bytes == pytest.approx(kv_room, rel=1e-9) and 17.2 < worst.kv_cache_bytes / GIB < 17.4
    assert worst.total_bytes <= 70e9 and worst.total_bytes == pytest.approx(70e9, rel=1e-9)
    memory_line = next(q for q in r.requirements if q.requirement.text == "memory <= 70 GB")
    assert memory_line.met
    # tokens: 17.29 GiB over 65,536 bytes a token (32 layers × 8 KV heads × 128 × 2 × 2 bytes, over tp 2)
    tokens = kv_capacity_tokens(plan, r.strategy, r.layout)
    assert tokens == int(kv_room / 65536) == 283_218
    assert r.metrics.concurrency_effective == tokens // (4096 + 256) == 65
    (w520,) = [d for d in r.diagnostics if d.code == "W520"]
    assert w520.message.startswith("the KV cache the engine is given under `memory <= 70 GB` (its memory share, "
                                   "65.19 GiB a GPU, as `dagc launch` sets it) holds 61 of the 200 requests")
    assert "judged at 65 requests in flight" in w520.message
