"""What a user reads of a plan priced for its serving engine: the search and `check` agree on what the
plan's engine can start, the figures after admission (W520) speak of the requests admitted, and the
outputs say which TTFT is the client's and which the server's."""

from __future__ import annotations

import re

import pytest

import dagc
from dagc.export.optimal_words import evidence_json
from dagc.export.result_json import load_json
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
    best = evidence_json(judged.optimality, judged)["best_strategy"]
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
    ttft_ms = near.metrics.ttft_s * 1e3
    assert f"TTFT {ttft_ms:.4g} ms" in e702.hint
    # `dagc launch` says the same under its refusal
    path = tmp_path / "plan.moe"
    path.write_text(text)
    main(["launch", str(path), "--engine", "vllm"])
    assert f"= help: {e702.hint}" in capsys.readouterr().out


def test_figures_after_w520_speak_of_the_requests_the_kv_cache_admits():
    import math

    from test_admission import kv_tokens_by_hand, plan_text

    from dagc.export.markdown import report_md
    from dagc.export.report import report_json

    def checked(batch: int):
        # a chunk of 140 tokens cannot keep up (W513) and no TPOT of a microsecond is physical (W506)
        text = plan_text(batch=batch, extra="chunk = 140").replace("strategy tp 1",
                                                                   "require { tpot <= 1 us }\nstrategy tp 1")
        [r] = dagc.check(load_plan_text(text))
        return r

    capped = checked(128)
    # by hand (tests/test_admission.py): the KV cache's tokens at a mean context of 2,000 + 500 / 2
    running = math.floor(kv_tokens_by_hand(capped.memory.worst.activation_bytes) / 2250)
    assert running == 31 and capped.metrics.concurrency_effective == running
    assert any(d.code == "W520" for d in capped.diagnostics)
    fixed = checked(running)                      # a batch of what the engine runs anyway: no W520
    assert not any(d.code == "W520" for d in fixed.diagnostics)

    def said(r, code):
        [d] = [d for d in r.diagnostics if d.code == code]
        return d.message

    # W506's TPOT bound and W513's requests per rank are those of the 31 requests in flight, as the figures are
    assert said(capped, "W506") == said(fixed, "W506")
    assert said(capped, "W513") == said(fixed, "W513")
    d, room = running, 140 - running              # 31 requests need 31 · 2,000 / 500 = 124 prompt tokens a step
    assert (f"{d} requests in flight per attention-DP rank need {d * 2000 // 500} prompt tokens per step, a step "
            f"has room for {room}") in said(capped, "W513")
    # report.json's serving figures too: d = 31 on the one rank, every step carries a chunk (124 > 109)
    serving = report_json(capped)["serving"]
    assert serving == report_json(fixed)["serving"]
    assert serving["requests_per_rank"] == 31 and serving["mixed_step_share"] == 1.0
    # report.md: the steady state with the 31 in flight, and the KV cache admitting them, not holding all 128
    md = report_md(capped)
    assert ("the figures are the steady state with 31 requests in flight (of the 128 `batch` allows: the KV cache "
            "admits no more, W520), 31 per attention-DP rank") in md
    assert "the KV cache admits 31 of them at their mean context, so the engine runs 31 at once (W520)" in md
    assert "holds every request" not in md and "holds every request at full context" in report_md(fixed)


def test_report_md_names_the_clients_ttft_and_the_servers():
    from dagc.export.load_md import load_md
    from dagc.export.markdown import report_md

    text = ('model preset "mixtral-8x7b"\ncluster { gpus = 8 gpu preset "h100-sxm" engine = vllm }\n'
            'workload { batch = 8 prompt = 512 generate = 64 serving = inflight concurrency = 4 requests = 40 }\n'
            'strategy tp 8\n')
    [r] = dagc.check(load_plan_text(text))
    m, front = r.metrics, r.plan.cluster.engine.terms.frontend_alone_s
    assert front > 0 and m.ttft_s == m.ttft_server_s + front       # vLLM's front end: 20.02 ms, and 4 ms on its server
    md = report_md(r)
    ms = lambda x: f"{x * 1e3:.4g} ms"                                     # noqa: E731 (as every output rounds)
    # in its parts, as the Engine line names them (until 2026-12-02 "the engine's front end, 24.02 ms")
    parts = f"the engine's front end {ms(r.plan.cluster.engine.terms.frontend_s)} + its one server's time 4 ms"
    client = f"TTFT as a client measures it (the server's + {parts})"
    assert f"| {client} | {ms(m.ttft_s)} |" in md
    assert f"| TTFT at the server (mixed steps to a first token) | {ms(m.ttft_server_s)} |" in md
    # the load's percentiles say which are the client's: TTFT and end to end with the front end, and the server's
    load = load_json(r.load)
    section = "\n".join(load_md(load))
    assert "as a benchmark client measures them" in section
    for key, name in (("ttft_s", "TTFT (client)"), ("ttft_server_s", "TTFT (server)"),
                      ("e2e_s", "end to end (client)"), ("e2e_server_s", "end to end (server)")):
        assert f"| {name} | {ms(load[key]['mean'])} |" in section, name
    # the load's server TTFT holds the front end's queue (`ingest_s`, simulated); the client's adds `frontend_s`
    constant = r.plan.cluster.engine.terms.frontend_s
    assert load["ttft_s"]["p50"] == load["ttft_server_s"]["p50"] + constant


def test_w506_bounds_the_clients_ttft_by_physics_without_the_engines_front_end():
    from dagc.rules.bounds import bounds

    base = ('model preset "mixtral-8x7b"\ncluster { gpus = 8 gpu preset "h100-sxm" engine = vllm }\n'
            'workload { batch = 64 prompt = 2048 generate = 256 }\nREQUIRE\nstrategy tp 8\n')
    plan = load_plan_text(base.replace("REQUIRE", ""))
    server = bounds(plan.model, plan.workload, plan.cluster, gpus=8).ttft_s     # 427.0 ms at 100 % efficiency
    front = plan.cluster.engine.terms.frontend_alone_s                          # 20.02 ms + 4 ms on its server
    # a target between the server's bound and the server's + the front end is not ruled out by physics: the front
    # end is a constant fitted on published runs, not a bound (it was quoted as one: 451.0 ms)
    target_ms = (server + front / 2) * 1e3
    [r] = dagc.check(load_plan_text(base.replace("REQUIRE", f"require {{ ttft <= {target_ms:.3f} ms }}")))
    assert not [d for d in r.diagnostics if d.code in ("W506", "N604")]
    assert r.metrics.ttft_s >= server + front                     # the client's TTFT still adds it
    # below the server's bound: W506 quotes the roofline alone, 427.0 ms
    [r] = dagc.check(load_plan_text(base.replace("REQUIRE", "require { ttft <= 400 ms }")))
    [w506] = [d for d in r.diagnostics if d.code == "W506"]
    [quoted] = re.findall(r"it is at least ([\d.]+) ms", w506.message)
    assert float(quoted) == pytest.approx(server * 1e3, abs=0.05) == 427.0


def test_a_ttft_line_under_closed_loop_traffic_says_it_is_the_steady_states_and_shows_the_loads():
    from test_admission import plan_text

    from dagc.export.markdown import report_md
    from dagc.export.report import report_json

    # 128 clients in a closed loop on a GPU whose KV cache admits 31 (W520): 97 wait, so the load's TTFT is
    # that of a queue, while the steady state (no queueing) is a few mixed steps
    text = plan_text(batch=128, extra="concurrency = 128  requests = 200").replace(
        "strategy tp 1", "require { ttft <= 2 s  ttft_p50 <= 2 s }\nstrategy tp 1")
    [r] = dagc.check(load_plan_text(text))
    load, steady = load_json(r.load), r.metrics.ttft_s
    assert steady < 2 < load["ttft_s"]["mean"]
    ttft, p50 = report_json(r)["requirements"]
    assert (ttft["judged_on"], ttft["value"], ttft["met"]) == ("steady-state", steady, True)
    assert ttft["load_value"] == load["ttft_s"]["mean"]
    assert (p50["judged_on"], p50["value"], p50["met"], p50["load_value"]) == ("load", load["ttft_s"]["p50"],
                                                                                False, None)
    md = report_md(r)
    t = lambda x: f"{x * 1e3:.4g} ms" if x < 1 else f"{x:.4g} s"          # noqa: E731 (as every output rounds)
    mean = t(load["ttft_s"]["mean"])
    assert f"| `ttft <= 2 s` | {t(steady)} (steady state; the simulated load's mean {mean}) |" in md
    assert "A `ttft` or `tpot` line is judged on the steady state" in md


def test_disaggregated_instances_are_searched_without_the_overlap_their_engine_has_no_option_for():
    from dagc.plan.printer import aggregated
    from dagc.search.space import variants

    plan = load_plan_text(QWEN_TRTLLM.replace("ENGINE", "engine = trtllm"))
    s = aggregated(tp=1, ep=4)
    # 4 requests an attention-DP group: 1 and 2 micro-batches, the two overlaps of the 2 (the space's own)
    assert [(mb, o.value) for mb, o in variants(s, 4)] == [(1, "none"), (2, "none"), (2, "microbatch")]
    # TensorRT-LLM has no micro-batch overlap (E725): a pool's instance is searched without it
    assert [(mb, o.value) for mb, o in variants(s, 4, plan)] == [(1, "none"), (2, "none")]


def test_the_terminals_steady_state_line_after_w520_is_that_of_the_requests_admitted():
    import io

    from rich.console import Console
    from test_admission import plan_text

    from dagc.cli.print_check import print_result

    def line(batch: int) -> str:
        [r] = dagc.check(load_plan_text(plan_text(batch=batch, extra="chunk = 140")))
        out = io.StringIO()
        print_result(Console(file=out, width=400, color_system=None), r)
        [steady] = [s for s in out.getvalue().splitlines() if s.startswith("in flight (chunk")]
        return steady

    # 128 allowed, 31 admitted (the test above): the terminal's shares and "sustains" are those of 31 in flight,
    # as report.json's serving object is — a chunk in every step (f 100 %)
    assert line(128) == line(31)
    assert "steps with a chunk f 100.0 %" in line(128)


def test_the_terminals_steady_state_line_words_its_counts():
    """A prompt in one chunk is `TTFT 1 mixed step`, never `1 mixed step(s)`."""
    import io

    from rich.console import Console
    from test_admission import plan_text

    from dagc.cli.print_check import print_result

    [r] = dagc.check(load_plan_text(plan_text(batch=8, extra="chunk = 100000")))
    out = io.StringIO()
    print_result(Console(file=out, width=400, color_system=None), r)
    [steady] = [s for s in out.getvalue().splitlines() if s.startswith("in flight (chunk")]
    assert "TTFT 1 mixed step;" in steady and "(s)" not in steady, steady
