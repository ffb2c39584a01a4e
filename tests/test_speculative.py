"""Speculative decoding (`workload { speculative { … } }`, SPEC 12): tokens per step by hand, the verify step
and the draft passes in the DAG, TPOT = the step over the tokens it emits, in every serving mode, and bad
input located."""

from __future__ import annotations

import pytest

from dagc.export.search_json import candidate_json
from dagc.ir.dag import Phase
from dagc.lang.load import PlanError, load_plan_text
from dagc.plan.workload import Speculative
from dagc.verdict.check import check
from conftest import run_dagc

QWEN_1GPU = ('model preset "qwen3-30b-a3b"\ncluster {{ gpus = 1  gpu preset "h100-sxm" }}\n'
             "workload {{ batch = 1  prompt = 1000  generate = 200 {extra} }}\nstrategy tp 1\n")


def plan(spec: str = "", extra: str = "") -> str:
    body = f"\n  speculative {{ {spec} }}" if spec else ""
    return QWEN_1GPU.format(extra=extra + body)


@pytest.mark.parametrize("k, a, tokens", [
    (1, 0.8, 1.8),                              # 1 + 0.8
    (3, 0.7, 1 + 0.7 + 0.49 + 0.343),           # (1 − 0.7⁴) / (1 − 0.7)
    (2, 1.0, 3.0),                              # every draft accepted: k + 1
    (4, 0.5, 1 + 0.5 + 0.25 + 0.125 + 0.0625),
])
def test_tokens_per_step_by_hand(k, a, tokens):
    assert Speculative(method="mtp", tokens=k, acceptance=a).tokens_per_step == pytest.approx(tokens, rel=1e-15)
    assert Speculative(method="eagle", tokens=k, accept_length=2.4).tokens_per_step == 2.4


def decode_step(r, step: int = 1) -> list[int]:
    """The nodes of micro-batch 0's decode step `step`."""
    dag = r.compiled.dag
    return [i for i in range(len(dag)) if dag.phase[i] is Phase.DECODE and dag.step[i] == step and dag.mb[i] == 0]


def test_an_mtp_tpot_at_batch_1_on_one_gpu_is_its_step_over_the_tokens_it_emits():
    """One GPU, one request: no collective, so a step is its ops in turn. The MTP step verifies two
    positions and runs one draft pass (one MoE layer, the final norm and the LM head, numbered after the
    model's layers); n-gram drafting verifies the same two positions with no draft pass."""
    (mtp,) = check(load_plan_text(plan("method = mtp  tokens = 1  acceptance = 0.8")))
    (ngram,) = check(load_plan_text(plan("method = ngram  tokens = 1  acceptance = 0.8")))
    (plain,) = check(load_plan_text(plan()))
    layers = mtp.plan.model.layers
    dag, costs = mtp.compiled.dag, mtp.compiled.costs
    step = decode_step(mtp)
    draft = [i for i in step if dag.layer[i] == layers or dag.pos[i] > layers + 0.5]
    assert {dag.layer[i] for i in draft} == {layers, -1} and len(draft) == len(
        [i for i in decode_step(plain) if dag.layer[i] == 1]) + 2       # an MoE layer's ops, norm and head
    draft_s = float(sum(costs.node_s[i] for i in draft))
    # TPOT × tokens per step is the step: the verify step (n-gram's) and the draft pass after it
    assert mtp.metrics.tpot_s * 1.8 == pytest.approx(ngram.metrics.tpot_s * 1.8 + draft_s, rel=1e-9)
    assert ngram.metrics.tpot_s * 1.8 >= plain.metrics.tpot_s      # two positions cost at least one
    assert mtp.metrics.tpot_s < plain.metrics.tpot_s               # and the draft pays off here
    assert mtp.metrics.ttft_s == plain.metrics.ttft_s               # the prefill drafts nothing


def test_draft_passes_run_after_each_decode_step_on_the_last_stage_only():
    text = QWEN_1GPU.replace("gpus = 1 ", "gpus = 2 ").replace("strategy tp 1", "strategy pp 2 < tp 1 >").format(
        extra="microbatches = 2\n  speculative { method = eagle  tokens = 2  acceptance = 0.6 }")
    (r,) = check(load_plan_text(text))
    dag, layers = r.compiled.dag, r.plan.model.layers
    drafted = [i for i in range(len(dag)) if dag.layer[i] >= layers]
    assert {dag.phase[i] for i in drafted} == {Phase.DECODE} and {dag.stage[i] for i in drafted} == {1}
    assert {dag.layer[i] for i in drafted} == {layers, layers + 1}       # two passes
    assert not [i for i in range(len(dag)) if dag.phase[i] is Phase.PREFILL and dag.layer[i] >= layers]


@pytest.mark.parametrize("extra", ["serving = inflight", ""])
def test_speculation_shortens_tpot_served_statically_in_flight_and_in_a_decode_pool(extra):
    spec = "method = mtp  tokens = 2  acceptance = 0.75"
    text = QWEN_1GPU.replace("batch = 1 ", "batch = 16 ")
    (with_spec,) = check(load_plan_text(text.format(extra=f"{extra}\n  speculative {{ {spec} }}")))
    (without,) = check(load_plan_text(text.format(extra=extra)))
    assert with_spec.metrics.tpot_s < without.metrics.tpot_s
    if extra:            # in flight: a disaggregated decode pool decodes with its speculation too
        pooled = text.replace('gpus = 1 ', 'gpus = 4 ').replace("strategy tp 1",
                                                              "strategy prefill 1 < tp 1 > decode 1 < tp 2 >")
        (p_spec,) = check(load_plan_text(pooled.format(extra=f"{extra}\n  speculative {{ {spec} }}")))
        (p_plain,) = check(load_plan_text(pooled.format(extra=extra)))
        assert p_spec.pooled.figures.tpot_s < p_plain.pooled.figures.tpot_s
        # the MTP layer's KV moves to the decode pool with the model's 48 layers' (vLLM keeps it in the same KV
        # cache, SGLang hands its draft pool to the transfer): 1,000 prompt tokens × 2 KV × 4 heads × 128 × 2 bytes a
        # layer, 49 layers against 48; its TTFT longer by that transfer alone
        assert p_plain.pooled.kv_bytes_per_request == 48 * 1000 * 2 * 4 * 128 * 2
        assert p_spec.pooled.kv_bytes_per_request == 49 * 1000 * 2 * 4 * 128 * 2
        assert p_spec.metrics.kv_transfer_s == pytest.approx(p_plain.metrics.kv_transfer_s * 49 / 48, rel=1e-12)
        assert p_spec.metrics.ttft_s - p_plain.metrics.ttft_s == pytest.approx(
            p_spec.metrics.kv_transfer_s - p_plain.metrics.kv_transfer_s, rel=1e-9)


@pytest.mark.parametrize("spec, code, at", [
    ("method = mtp  tokens = 1  acceptance = 0", "E104", "0"),          # a value out of range: at the value
    ("method = mtp  tokens = 1  acceptance = 1.5", "E104", "1.5"),
    ("method = mtp  tokens = 0  acceptance = 0.5", "E104", "0"),
    ("method = mtp  tokens = 1000  acceptance = 0.5", "E104", "1000"),
    ("method = medusa  tokens = 1  acceptance = 0.5", "E101", "medusa"),
    ("method = mtp  tokens = 2  acceptance = 0.5  accept_length = 2", "E104", "accept_length"),
    ("method = mtp  tokens = 2  accept_length = 4", "E104", "accept_length"),
    ("method = mtp  tokens = 2", "E103", "speculative"),
    ("tokens = 2  acceptance = 0.5", "E103", "speculative"),
])
def test_bad_speculation_is_located(spec, code, at):
    text = plan(spec)
    with pytest.raises(PlanError) as e:
        load_plan_text(text)
    d = next(d for d in e.value.diagnostics if d.code == code)
    assert d.span is not None and d.hint
    assert text[d.span.start:d.span.end].startswith(at), (text[d.span.start:d.span.end], at)


def test_report_json_says_tokens_per_step_and_the_drafts_share():
    from dagc.export.report import report_json

    (mtp,) = check(load_plan_text(plan("method = mtp  tokens = 1  acceptance = 0.8")))
    s = report_json(mtp)["speculative"]
    dag, costs, layers = mtp.compiled.dag, mtp.compiled.costs, mtp.plan.model.layers
    draft = sum(float(costs.node_s[i]) for i in decode_step(mtp) if dag.layer[i] == layers or dag.pos[i] > layers + 0.5)
    assert (s["method"], s["tokens"], s["acceptance"], s["accept_length"]) == ("mtp", 1, 0.8, None)
    assert s["tokens_per_step"] == 1.8 and s["verify_positions"] == 2
    assert s["step_s"] == pytest.approx(mtp.metrics.tpot_s * 1.8, rel=1e-12)
    assert s["draft_s"] == pytest.approx(draft, rel=1e-12) and 0 < s["draft_share"] < 1
    (plain,) = check(load_plan_text(plan()))
    assert report_json(plain)["speculative"] is None


def test_the_draft_layer_is_held_on_the_last_stage():
    """An MTP or EAGLE draft is one more decoder layer on the last stage: its weights and its KV cache (as a
    full-attention layer's); n-gram drafting holds nothing."""
    (plain,) = check(load_plan_text(plan()))
    (mtp,) = check(load_plan_text(plan("method = mtp  tokens = 2  acceptance = 0.8")))
    (ngram,) = check(load_plan_text(plan("method = ngram  tokens = 2  acceptance = 0.8")))
    m = plain.plan.model
    a, b, c = plain.memory.stages[-1], mtp.memory.stages[-1], ngram.memory.stages[-1]
    layers = m.layers                          # qwen3-30b-a3b: every layer MoE, 128 experts of 768, 32/4 heads
    assert b.routed_expert_bytes - a.routed_expert_bytes == a.routed_expert_bytes / layers
    assert b.attention_bytes - a.attention_bytes == a.attention_bytes / layers
    assert b.kv_cache_bytes - a.kv_cache_bytes == a.kv_cache_bytes / layers
    assert (c.weights_bytes, c.kv_cache_bytes) == (a.weights_bytes, a.kv_cache_bytes)


def test_the_search_varies_the_drafted_tokens_when_asked(tmp_path):
    import json

    from dagc.search.search import search
    from dagc.search.speculative import SPECULATIVE_TOKENS, search_speculative

    text = QWEN_1GPU.replace("gpus = 1 ", "gpus = 2 ").format(
        extra="\n  speculative { method = eagle  tokens = 2  acceptance = 0.7 }")
    p = load_plan_text(text)
    found = search_speculative(p, rescore=0)
    assert {c.speculative_tokens for c in found.ranked} == set(SPECULATIVE_TOKENS)
    # each count's best is what a search at that count finds
    for k in (1, 3):
        alone = search(p.model_copy(update={"workload": p.workload.model_copy(update={
            "speculative": p.workload.speculative.model_copy(update={"tokens": k})})}), rescore=0)
        ours = [c for c in found.ranked if c.speculative_tokens == k][0]
        assert (ours.text, ours.score) == (alone.best.text, alone.best.score)
    assert candidate_json(found.ranked[0])["workload"]["speculative_tokens"] in SPECULATIVE_TOKENS
    assert found.evaluated == found.total and found.complete
    path = tmp_path / "p.moe"
    path.write_text(text.replace("acceptance = 0.7", "accept_length = 2"))
    run = run_dagc("search", str(path), "--vary", "speculative", "--svg", str(tmp_path / "p.svg"), cwd=tmp_path)
    assert run.returncode == 2 and "acceptance" in run.stderr and "Traceback" not in run.stderr
    path.write_text(text)
    run = run_dagc("search", str(path), "--vary", "speculative", "--format", "json",
                   "--svg", str(tmp_path / "p.svg"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    best = json.loads(run.stdout)["candidates"][0]
    assert best["workload"]["speculative_tokens"] in SPECULATIVE_TOKENS
    # at 80 columns the drafted tokens stay in the table (two rows of one strategy differ by them alone), and a
    # line says how to check a row with them
    run = run_dagc("search", str(path), "--vary", "speculative", "--svg", str(tmp_path / "p.svg"), cwd=tmp_path,
                   env={"COLUMNS": "80"})
    assert run.returncode == 0, run.stderr
    head = next(line for line in run.stdout.splitlines() if "strategy" in line and "┃" in line)
    assert "drafted" in head, run.stdout
    assert "not shown at 80 columns" not in run.stdout or "`drafted`" not in run.stdout
    assert "--set workload.speculative.tokens=N --strategy" in run.stdout
    # at a rate too: the rate table keeps the column, and its `check it` line drafts the row's own tokens
    run = run_dagc("search", str(path), "--vary", "speculative", "--rate", "2", "--top", "4", "--svg",
                   str(tmp_path / "p.svg"), cwd=tmp_path, env={"COLUMNS": "80"})
    assert run.returncode == 0, run.stderr
    rate_table = run.stdout[run.stdout.index("at 2 requests/s"):]
    head = next(line for line in rate_table.splitlines() if "strategy" in line and "┃" in line)
    assert "drafted" in head, run.stdout
    check_it = next(line for line in run.stdout.splitlines() if "check it:" in line)
    assert "--set workload.speculative.tokens=" in check_it


def test_in_flight_a_speculating_request_lives_generate_over_e_steps_and_runs_q_positions_each():
    """d = 64 requests on one rank, chunk 8192, prompt 1000, generate 200; MTP drafting 3 at acceptance
    0.5: E = 1 + 0.5 + 0.25 + 0.125 = 1.875 tokens a step, q = 4 positions. Room = 8192 − 64·4 = 7936;
    need = 64 · 1000 · 1.875 / 200 = 600 prompt tokens a step; a mixed step carries one whole prompt
    (1000 ≤ room), so f = 600 / 1000 = 0.6; sustainable d ≤ 8192 · 200 / (4 · 200 + 1.875 · 1000) = 612.4."""
    from types import SimpleNamespace

    from dagc.layout.mix import shares
    from dagc.plan.workload import Workload
    w = Workload(batch=64, prompt=1000, generate=200, serving="inflight", chunk=8192,
                 speculative=Speculative(method="mtp", tokens=3, acceptance=0.5))
    s = shares(w, SimpleNamespace(requests_per_rank=64, adp=1, dp=1))
    assert (s.room, s.chunk_prompt_tokens, s.sustainable_batch) == (7936, 1000, 612)
    assert s.share == pytest.approx(0.6, rel=1e-15)
    plain = shares(w.model_copy(update={"speculative": None}), SimpleNamespace(requests_per_rank=64, adp=1, dp=1))
    assert (plain.room, plain.share, plain.sustainable_batch) == (8128, 0.32, 1365)     # 64·1000/200 = 320


def test_in_flight_the_verify_positions_count_against_the_chunk(tmp_path):
    """E307 counts d · q decode tokens: 8 requests × 4 positions fill a chunk of 32."""
    text = plan("method = mtp  tokens = 3  acceptance = 0.7", "serving = inflight  chunk = 32").replace(
        "batch = 1", "batch = 8")
    (r,) = check(load_plan_text(text))
    assert [d.code for d in r.diagnostics if d.is_error] == ["E307"] and "32 decode tokens" in r.diagnostics[0].message
