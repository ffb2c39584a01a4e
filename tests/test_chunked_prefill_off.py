"""`chunked_prefill = off`: in flight, each step takes whole prompts only (`dagc.layout.mix`, `dagc.serve.replica`).

The steady state's shares computed by hand; E307 when `chunk` holds no whole prompt beside the decode tokens,
with the least `chunk` that does; W514 on a static plan; report.json's `serving.chunked_prefill`; and the
simulated load, whose every step carries whole prompts (a prompt longer than the whole budget alone), where
the same plan with chunked prefill splits them.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from dagc.export.result_json import serving_json
from dagc.export.serving_md import inflight_execution
from dagc.lang.load import load_plan_text
from dagc.layout.mix import shares
from dagc.plan.workload import Workload
from dagc.serve import replica as replica_module
from dagc.serve.load import simulate
from dagc.serve.requests import request_lengths
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 1  gpu preset "h200" }}
workload {{
  batch = {batch}  prompt = 4000  generate = 500  serving = {serving}  chunk = {chunk}  {extra}
}}
strategy tp 1
"""


def _shares(chunk: int, whole: bool, d: int = 64):
    w = Workload(batch=d, prompt=4000, generate=500, serving="inflight", chunk=chunk, chunked_prefill=not whole)
    return shares(w, SimpleNamespace(requests_per_rank=d, adp=1, dp=1))


def test_whole_prompts_shares_by_hand():
    s = _shares(10_000, whole=True)
    # room 10,000 − 64 = 9,936 (10,000 − 63 beside the others) holds two whole prompts of 4,000; the 64 requests
    # need 64 · 4,000 / 500 = 512
    # prompt tokens a step, so a mixed step carries one whole prompt, on 512 / 4,000 of the steps
    assert (s.room, s.carry, s.chunk_prompt_tokens, s.first_token_steps) == (9_936, 8_000, 4_000, 1)
    assert s.share == pytest.approx(512 / 4_000) and s.demand == pytest.approx(512 / 8_000)
    # keeps up while d · 4,000 / 500 ≤ floor((10,000 − (d − 1)) / 4,000) · 4,000 (the request whose prompt runs
    # decodes no token yet): d = 1,000 (two prompts of room),
    # 1,001 not; chunked, d ≤ 10,000 · 500 / (500 + 4,000) = 1,111
    assert s.sustainable_batch == 1_000 and _shares(10_000, whole=False).sustainable_batch == 1_111
    assert s.least_chunk == 63 + 4_000 and s.whole_prompts


def test_whole_prompts_carry_what_the_requests_need_in_whole_prompts():
    s = _shares(20_000, whole=True, d=900)
    # 900 requests need 7,200 prompt tokens a step: two whole prompts (8,000), of the four the room holds
    assert (s.carry, s.chunk_prompt_tokens) == (16_000, 8_000)
    assert s.share == pytest.approx(7_200 / 8_000)
    chunked = _shares(20_000, whole=False, d=900)
    assert (chunked.carry, chunked.chunk_prompt_tokens) == (19_100, 7_200)


def test_a_chunk_without_room_for_a_whole_prompt_is_E307_naming_the_least_chunk():
    plan = load_plan_text(PLAN.format(batch=64, serving="inflight", chunk=4_000, extra="chunked_prefill = off"))
    (r,) = check(plan)
    (e,) = [d for d in r.diagnostics if d.code == "E307"]
    assert "no room for a whole prompt of 4,000 tokens" in e.message
    assert "`chunk = 4063`" in e.hint and "`chunked_prefill = on`" in e.hint
    on = load_plan_text(PLAN.format(batch=64, serving="inflight", chunk=4_000, extra=""))
    assert not [d for d in check(on)[0].diagnostics if d.code == "E307"], "chunked, 3,936 tokens of room is room"


def test_chunked_prefill_on_a_static_plan_is_W514():
    plan = load_plan_text(PLAN.format(batch=8, serving="static", chunk=8_192, extra="chunked_prefill = off"))
    found = [d.message for d in check(plan)[0].diagnostics if d.code == "W514"]
    assert any(m.startswith("`chunked_prefill` does nothing") for m in found)
    assert any(m.startswith("`chunk` does nothing") for m in found)


def test_report_says_whether_prompts_are_chunked():
    for extra, value in (("chunked_prefill = off", False), ("", True)):
        plan = load_plan_text(PLAN.format(batch=16, serving="inflight", chunk=8_192, extra=extra))
        (r,) = check(plan)
        assert serving_json(plan.workload, r.layout)["chunked_prefill"] is value


def _traffic_text(extra: str) -> str:
    """The plan with traffic whose drawn prompts are partly longer than its whole budget of 6,000 tokens."""
    return PLAN.format(batch=24, serving="inflight", chunk=6_000,
                       extra=f"{extra}  rate = 8 requests/s  requests = 300  lengths = lognormal  seed = 3")


@pytest.fixture(scope="module")
def traffic_runs():
    """For chunked prefill off (`"chunked_prefill = off"`) and on (`""`): the plan, its `check` (capacity and all)
    and every step's prompt tokens of the load it simulated (the check's runs and one `simulate`), each a list of
    (the request's prompt, the tokens it took). Checked once in this module and read by the tests of the steps
    taken and of W526 (each check under traffic runs a dozen simulations)."""
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        for extra in ("chunked_prefill = off", ""):
            taken: list[list[tuple[int, int]]] = []
            real = replica_module.step_chunks       # each step's prompt tokens, as the replica's event takes them

            def chunks(*args, real=real, taken=taken):
                out = real(*args)
                taken.append([(req.left, take) for c in out[0] for req, take in c])
                return out
            mp.setattr(replica_module, "step_chunks", chunks)
            plan = load_plan_text(_traffic_text(extra))
            (r,) = check(plan)
            simulate(plan, r.strategy, r.layout)
            mp.undo()
            runs[extra] = SimpleNamespace(plan=plan, checked=r, steps=[s for s in taken if s])
    return runs


def test_the_simulated_steps_take_whole_prompts(traffic_runs):
    whole = traffic_runs["chunked_prefill = off"].steps
    assert whole and all(left == take for step in whole for left, take in step), "every prompt taken whole"
    # some drawn prompt is longer than the whole budget: it ran alone in its step
    alone = [step for step in whole if any(take > 6_000 for _, take in step)]
    assert alone and all(len(step) == 1 for step in alone)
    split = traffic_runs[""].steps
    assert any(take < left for step in split for left, take in step), "chunked, some prompt is split"


def test_a_prompt_longer_than_any_step_runs_when_it_heads_its_queue(monkeypatch):
    # a drawn prompt longer than the whole budget (6,000) never fits beside decode tokens: it is its step's only
    # prompt as soon as it heads its rank's queue, beside the rank's decode tokens (SGLang's prefill batch of it
    # alone), not once the rank has drained — which held every prompt behind it for the rank's longest request
    seen: list[tuple[int, int]] = []            # per such step: the rank's decode requests, the prompts it took
    real = replica_module.step_chunks

    def chunks(prefill, ndec, chunk, *rest):
        heads = [q[0] if q else None for q in prefill]
        out = real(prefill, ndec, chunk, *rest)
        ranks = [r for r, q in enumerate(prefill) if q]      # `step_chunks` lists the ranks with a queue, in order
        for r, mine in zip(ranks, out[0], strict=True):
            head = heads[r]
            if head is not None and head.left > chunk:
                assert mine and mine[0][0] is head and mine[0][1] == head.left, "it heads its queue: it runs whole"
                seen.append((ndec[r], len(mine)))
        return out
    monkeypatch.setattr(replica_module, "step_chunks", chunks)
    text = PLAN.format(batch=24, serving="inflight", chunk=6_000, extra="chunked_prefill = off  rate = 8 requests/s  "
                       "requests = 300  lengths = lognormal  seed = 3")
    plan = load_plan_text(text)
    (r,) = check(plan)
    simulate(plan, r.strategy, r.layout)
    assert seen and all(n == 1 for _, n in seen), "a step's only prompt"
    assert any(ndec > 0 for ndec, _ in seen), "beside decode tokens: the rank did not drain first"


NO_EVICT = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 1  gpu preset "h200"  engine = {engine} }}
workload {{
  batch = 64  prompt = 2000  generate = 1000  serving = inflight  chunk = 8192
  concurrency = 64  requests = 200  ramp = 0 s
}}
strategy tp 1
"""


@pytest.mark.parametrize("engine,preempts", [("vllm", True), ("trtllm", False)])
def test_an_engine_that_never_preempts_admits_at_full_length(monkeypatch, engine, preempts):
    # a KV cache of 64,000 tokens per rank: 21 requests at their full 3,000 tokens, 25 at their mean 2,500
    plan = load_plan_text(NO_EVICT.format(engine=engine))
    (r,) = check(plan)
    most: list[int] = []
    real = replica_module.Replica._place

    def place(self, req, rank, j, need):
        real(self, req, rank, j, need)
        most.append(self.inflight[rank])
    monkeypatch.setattr(replica_module.Replica, "_place", place)
    load = simulate(plan, r.strategy, r.layout, kv_tokens=64_000)
    assert (int(load.preemptions.sum()) > 0) is preempts
    if not preempts:          # TensorRT-LLM's GUARANTEED_NO_EVICT: 64,000 tokens are 4,000 blocks of 16, a
        # request at full length 3,000 / 16 = 188 blocks (187.5 rounded up): 21 of them (3,948 blocks), not 22
        assert max(most) == 21
    else:
        assert max(most) > 21


def test_prompts_longer_than_the_whole_budget_are_W526(traffic_runs):
    plan, off = traffic_runs["chunked_prefill = off"].plan, traffic_runs["chunked_prefill = off"].checked
    prompt, _ = request_lengths(plan.workload.traffic, plan.workload)     # the lengths the simulation draws
    (w,) = [d for d in off.diagnostics if d.code == "W526"]
    count = w.message.split(" ")[0]
    longest = int(w.hint.split("a `chunk` of at least ")[1].split(" tokens")[0].replace(",", ""))
    assert int(count) == int((prompt > 6_000).sum()) >= 1 and longest == int(prompt.max()) > 6_000
    assert f"(the longest {longest:,} tokens)" in w.message
    on = traffic_runs[""].checked
    assert not [d for d in on.diagnostics if d.code == "W526"], "chunked, a long prompt is split over steps"


def test_a_disaggregated_strategy_is_not_told_of_chunked_prefill(tmp_path):
    # its pools mix no step: no E730 on vLLM (the pools' budgets are their own), no W514 per pool, no W526
    text = (Path(__file__).parent.parent / "examples" / "deepseek-v3-disaggregated.moe").read_text()
    text = text.replace('gpu preset "h200"', 'gpu preset "h200"  engine = vllm').replace(
        "serving = inflight", "serving = inflight  chunked_prefill = off  chunk = 4096")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("strategy aggregated"))
    (r,) = check(load_plan_text(text))
    assert r.pooled is not None and r.valid, [d.message for d in r.diagnostics if d.code.startswith("E")]
    assert not {d.code for d in r.diagnostics} & {"E730", "W514", "W526"}


def test_report_md_says_whole_prompts_and_full_length_admission():
    # 512 requests of 5,000 tokens at full length are more than one H200's KV cache holds: W520's case
    plan = load_plan_text(NO_EVICT.format(engine="trtllm").replace("batch = 64  prompt = 2000  generate = 1000",
                                                                   "batch = 512  prompt = 4000  generate = 1000")
                          .replace("chunk = 8192", "chunk = 8192  chunked_prefill = off"))
    (r,) = check(plan)
    words = inflight_execution(r)
    assert "then whole prompts while they fit: chunked prefill off" in words
    assert "at their full length (the engine never preempts)" in words


def test_W526_says_what_each_engine_does_with_a_longer_prompt():
    text = _traffic_text("chunked_prefill = off")
    for engine, says in (("trtllm", "TensorRT-LLM refuses such a prompt"),
                         ("sglang", "SGLang runs such a prompt alone")):
        plan = load_plan_text(text.replace('gpu preset "h200"', f'gpu preset "h200"  engine = {engine}'))
        (w,) = [d for d in check(plan)[0].diagnostics if d.code == "W526"]
        assert says in w.message


def test_a_load_held_back_by_the_reservation_is_bound_by_the_kv_cache():
    # TensorRT-LLM's cache is reserved, not used, and it never preempts: the share it reports is the reserved one
    text = NO_EVICT.format(engine="trtllm").replace("batch = 64  prompt = 2000  generate = 1000",
                                                   "batch = 512  prompt = 4000  generate = 1000").replace(
        "concurrency = 64  requests = 200  ramp = 0 s", "rate = 8 requests/s  requests = 300")
    (r,) = check(load_plan_text(text))
    assert r.load is not None and r.load.binding.limit.value == "kv_blocks"
    assert r.load.binding.preemptions == 0 and r.load.binding.kv_share_waiting >= 0.9
