"""`dagc launch` with `chunked_prefill = off`: each engine started as the plan says — whole prompts only.

vLLM `--disable-chunked-prefill` (and E730 where its config would refuse the budget: below `--max-model-len`),
SGLang `--chunked-prefill-size -1 --max-prefill-tokens CHUNK` (with the note that it then runs prefill and
decode apart), TensorRT-LLM `enable_chunked_prefill: false` with `max_num_tokens: CHUNK`; and the default
(`on`, written or not) as before. Every emitted flag is also checked against the engines' own flags by
tests/test_engine_flags.py (its FAMILIES hold a plan with chunked prefill off).
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from dagc.diagnostics import render
from dagc.lang.load import load_plan_text
from dagc.launch.chunked import SGLANG_NOTE as WHOLE_PROMPTS_NOTE
from dagc.launch.engine_check import PLAN_CODES, check as engine_check, plan_refusals
from dagc.launch.engines import launch_result
from dagc.launch.serving import Serving, longest_prompt
from dagc.launch.trtllm import _serving_notes as trtllm_serving_notes
from dagc.plan.workload import Traffic, Workload
from dagc.verdict.check import check
from conftest import plan_text

QWEN = 'model preset "qwen3-30b-a3b"'
WORKLOAD = "workload {{ batch = 250  prompt = 2000  generate = 500  serving = inflight  chunk = {chunk}  {extra} }}"
# 250 requests over 8 attention-DP ranks: 32 on the busiest; the longest request 2,500 tokens


def _launches(chunk: int = 4096, extra: str = "chunked_prefill = off", **parts) -> dict:
    parts.setdefault("model", QWEN)
    parts.setdefault("strategy", "strategy tp 1 ; ep 8")
    plan = load_plan_text(plan_text(workload=WORKLOAD.format(chunk=chunk, extra=extra), **parts))
    (result,) = check(plan)
    assert result.valid, [render(d) for d in result.diagnostics if d.is_error]
    return {x.engine: x for x in launch_result(result)}


def _argv(x) -> tuple[str, ...]:
    (command,) = x.commands
    return command.argv


def _after(argv: tuple[str, ...], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_vllm_disables_chunked_prefill_with_the_plans_budget():
    argv = _argv(_launches()["vllm"])
    assert "--disable-chunked-prefill" in argv and "--enable-chunked-prefill" not in argv
    assert _after(argv, "--max-num-batched-tokens") == "4096" and _after(argv, "--max-model-len") == "2500"
    # what SchedulerConfig.verify_max_model_len wants with chunked prefill off
    assert int(_after(argv, "--max-num-batched-tokens")) >= int(_after(argv, "--max-model-len"))


def test_sglang_disables_chunked_prefill_and_bounds_a_prefill_batch_by_the_chunk():
    x = _launches()["sglang"]
    argv = _argv(x)
    assert _after(argv, "--chunked-prefill-size") == "-1"            # not divided: -1 over any attention DP
    assert _after(argv, "--max-prefill-tokens") == "4096"            # per rank
    assert "--enable-mixed-chunk" not in argv
    # SGLang then runs prefill batches apart from decode: said, not silent
    assert WHOLE_PROMPTS_NOTE in x.notes and "decoding waits" in WHOLE_PROMPTS_NOTE
    assert any("--max-running-requests is written for all 8 ranks" in n for n in x.notes)


def test_trtllm_writes_chunked_prefill_false_with_the_chunk_as_max_num_tokens():
    x = _launches()["trtllm"]
    (yml,) = x.files
    assert "max_num_tokens: 4096\nenable_chunked_prefill: false\n" in yml.text
    assert "enable_chunked_prefill: true" not in yml.text
    assert any("whole prompts only (max_num_tokens, enable_chunked_prefill: false" in n for n in x.notes)


@pytest.mark.parametrize("extra", ["", "chunked_prefill = on"])
def test_the_default_is_as_before(extra):
    x = _launches(extra=extra)
    vllm, sglang = _argv(x["vllm"]), _argv(x["sglang"])
    assert "--enable-chunked-prefill" in vllm and "--disable-chunked-prefill" not in vllm
    assert _after(vllm, "--max-num-batched-tokens") == "4096"
    assert _after(sglang, "--chunked-prefill-size") == "32768" and "--enable-mixed-chunk" in sglang
    assert "--max-prefill-tokens" not in sglang                      # 4,096 is below SGLang's default, 16,384
    assert WHOLE_PROMPTS_NOTE not in x["sglang"].notes
    (yml,) = x["trtllm"].files
    assert "max_num_tokens: 4096\nenable_chunked_prefill: true\n" in yml.text


def test_a_static_plan_writes_no_chunked_prefill_setting():
    plan = load_plan_text(plan_text(model=QWEN, workload="workload { batch = 64  prompt = 2000  generate = 500 }",
                                    strategy="strategy tp 1 ; ep 8"))
    x = {x.engine: x for x in launch_result(check(plan)[0])}
    assert not {"--enable-chunked-prefill", "--disable-chunked-prefill"} & set(_argv(x["vllm"]))
    assert "--enable-mixed-chunk" not in _argv(x["sglang"])
    assert "enable_chunked_prefill" not in x["trtllm"].files[0].text


def test_vllm_refuses_a_budget_below_the_longest_request_E730():
    # chunk 2,100 holds the 31 others' decode tokens and one whole prompt (E307's least, 2,031) but not the longest
    # request, 2,500 tokens, which vLLM's scheduler config wants with chunked prefill off
    x = _launches(chunk=2100)
    assert not x["vllm"].ok and [d.code for d in x["vllm"].refusals] == ["E730"]
    (d,) = x["vllm"].refusals
    text = render(d)
    assert re.match(r"plan\.moe:\d+:\d+: error\[E730\]: vLLM: ", text) and "^" in text
    assert "`chunk = 2100`" in d.message and "2,500 tokens" in d.message and "verify_max_model_len" in d.message
    assert x["sglang"].ok and x["trtllm"].ok                  # neither has that rule
    assert "max_num_tokens: 2100\nenable_chunked_prefill: false\n" in x["trtllm"].files[0].text
    # the budget at the longest request is accepted
    assert _after(_argv(_launches(chunk=2500)["vllm"]), "--max-num-batched-tokens") == "2500"


def test_E730_is_the_plans_not_the_strategys_and_check_says_it_on_a_plan_naming_vllm():
    assert "E730" in PLAN_CODES
    text = plan_text(model=QWEN, cluster='cluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }',
                     workload=WORKLOAD.format(chunk=2100, extra="chunked_prefill = off"),
                     strategy="strategy tp 1 ; ep 8")
    plan = load_plan_text(text)
    (refused,) = plan_refusals(plan)
    assert refused.code == "E730" and refused.hint.startswith("no strategy changes it: write `chunk = 2500` or more")
    (result,) = engine_check(plan)
    assert "E730" in {d.code for d in result.diagnostics} and not result.verdict.correct


def test_trtllm_notes_a_drawn_prompt_longer_than_its_step():
    # the longest prompt of the traffic (drawn here), which TensorRT-LLM refuses past max_num_tokens with chunking off
    drawn = Workload(batch=64, prompt=2000, generate=500, serving="inflight", chunk=6000, chunked_prefill=False,
                     traffic=Traffic(requests=200, rate=2.0, lengths="lognormal"))
    longest = longest_prompt(drawn)
    assert longest > 6000 and longest_prompt(drawn.model_copy(update={"traffic": None})) == 2000
    v = Serving(batch=64, servers=1, ranks=1, pp=1, requests=64, chunk=6000, capacity_bytes=80e9, reserve_bytes=4e9,
                activation_bytes=1e9, resident_bytes=21e9, room=5936, prompt_tokens=5936, chunked_prefill=False,
                longest_prompt=longest, max_len=longest + 500)
    notes = " ".join(trtllm_serving_notes(v))
    assert f"longest prompt, {longest:,} tokens, is longer than max_num_tokens 6,000" in notes
    assert "should not exceed max_num_tokens" in notes
    assert "whole KV blocks" not in notes                     # a note of chunked prefill's (5,936 is no multiple of 32)
    chunked = " ".join(trtllm_serving_notes(dataclasses.replace(v, chunked_prefill=True)))
    assert "whole KV blocks" in chunked and "max_num_tokens 6,000" not in chunked


def test_a_pool_plan_is_unchanged():
    parts = dict(model=QWEN, cluster='cluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }',
                 strategy="strategy prefill 1 < tp 1 ; ep 8 > decode 1 < tp 1 ; ep 8 >")
    off = load_plan_text(plan_text(workload=WORKLOAD.format(chunk=4096, extra="chunked_prefill = off"), **parts))
    on = load_plan_text(plan_text(workload=WORKLOAD.format(chunk=4096, extra=""), **parts))
    for a, b in zip(launch_result(check(off)[0]), launch_result(check(on)[0]), strict=True):
        assert [c.argv for c in a.commands] == [c.argv for c in b.commands]
        assert [f.text for f in a.files] == [f.text for f in b.files]


PD_PLAN = """model preset "qwen3-30b-a3b"
cluster {{ engine = trtllm  gpus = 4  gpu preset "h100-sxm" }}
workload {{ batch = 64  prompt = 2000  generate = 300  serving = inflight
  rate = 4 requests/s  requests = 400  {lengths} }}
strategy pd = prefill 1 < tp 2 > decode 1 < tp 2 >
"""


def _prefill_yaml(lengths: str) -> tuple[str, str]:
    plan = load_plan_text(PD_PLAN.format(lengths=lengths))
    (launched,) = launch_result(check(plan)[0], ("trtllm",))
    (yml,) = [f.text for f in launched.files if f.name.endswith("-prefill.yml")]
    return yml, " ".join(launched.notes)


def test_a_trtllm_prefill_pool_splits_a_drawn_prompt_longer_than_its_step():
    # the prefill instance prefills its batch of 4 prompts of 2,000 tokens in one step: max_num_tokens 8,000
    plan = load_plan_text(PD_PLAN.format(lengths="lengths = lognormal  length_cv = 1.2"))
    longest = longest_prompt(plan.workload)
    assert longest > 8000
    yml, notes = _prefill_yaml("lengths = lognormal  length_cv = 1.2")
    assert "max_num_tokens: 8000\nenable_chunked_prefill: true\n" in yml
    assert f"longest prompt, {longest:,} tokens, is longer than the prefill server's max_num_tokens 8,000" in notes


def test_a_trtllm_prefill_pool_of_fixed_prompts_keeps_the_engines_default():
    yml, notes = _prefill_yaml("")
    assert "max_num_tokens: 8000\n" in yml and "enable_chunked_prefill" not in yml
    assert "longer than the prefill server's" not in notes
