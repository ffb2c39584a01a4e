"""What a user reads of a plan priced for its serving engine: the search and `check` agree on what the
plan's engine can start, the figures after admission (W520) speak of the requests admitted, and the
outputs say which TTFT is the client's and which the server's."""

from __future__ import annotations

import dagc
from dagc.lang.load import load_plan_text

# Qwen3-30B-A3B on 4 H100s under TensorRT-LLM, ranked by TTFT: unfiltered, the search's best was
# `dp 2 < tp 1 ; ep 2 > with microbatches 2 overlap microbatch`, which TensorRT-LLM cannot start (E725:
# it has no option that overlaps one micro-batch's communication with another's compute).
QWEN_TRTLLM = """
model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h100-sxm"  ENGINE }
workload { batch = 32  prompt = 4096  generate = 512 }
require { tpot <= 40 ms  memory <= 80 % }
objective = ttft
strategy dp 2 < tp 1 ; ep 2 > with microbatches 2 overlap microbatch
"""


def test_search_leaves_out_what_the_plans_engine_cannot_start_and_check_rejects_it():
    from dagc.search.search import search
    from dagc.search.space import candidates, count_candidates, engine_left_out

    plan = load_plan_text(QWEN_TRTLLM.replace("ENGINE", "engine = trtllm"))
    unchosen = load_plan_text(QWEN_TRTLLM.replace("ENGINE", ""))       # priced as vLLM, refused by no launcher
    # the library's check applies the engine's refusal as `dagc check` does
    [own] = dagc.check(plan)
    assert [d.code for d in own.diagnostics if d.code.startswith("E")] == ["E725"]
    assert not own.verdict.correct and own.verdict.meets_requirements is False
    [free] = dagc.check(unchosen)
    assert free.verdict.correct                                        # no engine chosen: no launch rule applies
    # the search never ranks what check rejects: no overlap at all under TensorRT-LLM
    found = search(plan, objective="ttft", top=5, rescore=5)
    assert found.complete and found.best is not None
    for c in found.ranked[:5]:
        assert c.overlap.value == "none", c.text
        [r] = dagc.check(plan, c.text)
        assert r.verdict.correct, (c.text, [d.code for d in r.diagnostics])
    # the left-out candidates are counted among the examined and rejected, the space the same as without an engine
    space = count_candidates(unchosen)
    assert engine_left_out(unchosen) == 0
    left_out = engine_left_out(plan)
    # the space's `overlap microbatch` variants (91 here), every one refused (E725)
    overlapped = sum(1 for _, _, overlap in candidates(unchosen) if overlap.value == "microbatch")
    assert left_out >= overlapped and count_candidates(plan) == space - left_out
    assert found.total == space and found.evaluated == space
    assert found.rejected >= left_out
    # the optimal verdict's evidence names a best that check accepts
    [judged] = dagc.check(plan, optimality=found)
    best = judged.optimality["best_strategy"]
    assert "overlap microbatch" not in best
    assert dagc.check(plan, best)[0].verdict.correct


def test_checks_e702_names_the_nearest_strategy_as_dagc_launch_does(tmp_path, capsys):
    from dagc.cli.main import main

    text = ('model preset "mixtral-8x7b"\ncluster { gpus = 8 gpu preset "h100-sxm" engine = vllm }\n'
            'workload { batch = 8 prompt = 512 generate = 64 }\nstrategy tp 8 ; ep 4 etp 2\n')
    plan = load_plan_text(text)
    [r] = dagc.check(plan)
    [e702] = [d for d in r.diagnostics if d.code == "E702"]
    # vLLM's EP is the whole stage or 1: the nearest it runs keeps tp 8 and spreads the experts over all 8
    assert e702.hint is not None and e702.hint.startswith("the nearest strategy vLLM can run: `tp 8 ; ep 8` (TTFT ")
    [near] = dagc.check(plan, "tp 8 ; ep 8")
    assert near.verdict.correct
    ttft_ms = near.metrics["ttft_s"] * 1e3
    assert f"TTFT {ttft_ms:.4g} ms" in e702.hint
    # `dagc launch` says the same under its refusal
    path = tmp_path / "plan.moe"
    path.write_text(text)
    main(["launch", str(path), "--engine", "vllm"])
    assert f"= help: {e702.hint}" in capsys.readouterr().out
