"""dagc.calibrate's run files: vLLM, SGLang and AIPerf fixtures (tests/fixtures/calibrate, written from the tools'
documented output), every bad input a located E110 that never echoes the file, and a run checked against its plan."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

import dagc.calibrate.runs as runs_mod
from dagc.calibrate.match import disagreements, queued_by_design
from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError, render
from dagc.lang.load import load_plan_text
from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "calibrate"
PLAN = ('model preset "mixtral-8x7b"\ncluster {{ gpus = 8  gpu preset "h100-sxm"  engine = {engine} }}\n'
        "workload {{ batch = 256  prompt = {prompt}  generate = 128  serving = inflight  {traffic} }}\nstrategy tp 8\n")


def plan(traffic: str = "rate = 4 requests/s  requests = 100", prompt: int = 512, engine: str = "vllm"):
    return load_plan_text(PLAN.format(traffic=traffic, prompt=prompt, engine=engine), "p.moe")


def error(path) -> tuple:
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    assert d.code == "E110" and "Traceback" not in render(d)
    return d, render(d)


def test_vllm_save_result_field_by_field():
    (r,) = read_runs(FIXTURES / "vllm.json")
    assert (r.id, r.tool, r.requests, r.rate, r.concurrency, r.prompt, r.generate) == \
        ("vllm.json", "vllm", 100, 4.0, None, 512.0, 128.0)
    assert r.measured == {"ttft_ms": 61.2, "ttft_ms_median": 60.4, "ttft_ms_p99": 74.9, "tpot_ms": 8.9,
                          "tpot_ms_median": 8.8, "tpot_ms_p99": 10.3, "itl_ms": 8.9, "itl_ms_median": 8.5,
                          "itl_ms_p99": 13.0, "e2e_ms": 1191.5, "e2e_ms_median": 1180.2, "e2e_ms_p99": 1402.7,
                          "output_tokens_per_s": 423.8, "total_tokens_per_s": 2119.2, "requests_per_s": 3.31}
    assert r.fields["e2e_ms"] == "mean_e2el_ms" and r.fields["requests"] == "num_prompts"
    at = r.span("rate")
    assert (at.line, at.column) == (9, 3)          # `"request_rate"` in the fixture


def test_sglang_json_lines_one_run_a_line():
    rate, burst = read_runs(FIXTURES / "sglang.jsonl")
    assert (rate.id, burst.id, rate.tool) == ("sglang.jsonl#1", "sglang.jsonl#2", "sglang")
    assert (rate.rate, rate.concurrency, burst.rate, burst.concurrency) == (4.0, None, None, 16)
    assert burst.requests == 100 and burst.fields["requests"] == "completed"
    assert burst.measured["e2e_ms"] == 1480.2 and burst.measured["ttft_ms_p99"] == 130.2
    assert burst.span("concurrency").line == 2       # the second line's `max_concurrency`
    assert not queued_by_design(burst) and not queued_by_design(rate)


def test_aiperf_profile_export_units_and_config():
    (r,) = read_runs(FIXTURES / "profile_export_aiperf.json")
    assert (r.tool, r.requests, r.rate, r.concurrency, r.prompt, r.generate) == ("aiperf", 100, None, 16, 512.0,
                                                                                    128.0)
    assert r.measured["ttft_ms"] == pytest.approx(95.0) and r.measured["ttft_ms_p99"] == pytest.approx(140.0)
    assert r.measured["tpot_ms"] == 11.1 and r.measured["e2e_ms_median"] == 1490.1     # ITL is per-request TPOT
    assert r.measured["output_tokens_per_s"] == 1331.2 and r.measured["requests_per_s"] == 10.4
    assert r.fields["concurrency"] == "input_config.loadgen.concurrency"


def test_detailed_arrays_give_the_means_the_summary_leaves_out(tmp_path):
    doc = json.loads((FIXTURES / "vllm.json").read_text())
    for k in ("mean_ttft_ms", "mean_itl_ms", "total_input_tokens"):
        del doc[k]
    # one entry per request (the run's 100): pairs of requests repeated
    doc |= {"input_lens": [500, 524] * 50, "output_lens": [128, 128] * 50, "ttfts": [0.05, 0.07] * 50,
            "itls": [[0.01, 0.02], [0.03]] * 50}
    (tmp_path / "d.json").write_text(json.dumps(doc))
    (r,) = read_runs(tmp_path / "d.json")
    assert r.prompt == 512.0 and r.measured["ttft_ms"] == pytest.approx(60.0)
    assert r.measured["itl_ms"] == pytest.approx(20.0) and r.fields["ttft_ms"] == "ttfts"


def test_truncated_file_is_located_never_echoed(tmp_path):
    text = (FIXTURES / "vllm.json").read_text()
    (tmp_path / "t.json").write_text(text[:300])
    d, shown = error(tmp_path / "t.json")
    assert "not valid JSON" in d.message and d.span.line > 1
    assert "mean_ttft" not in shown and "Mixtral" not in shown


def test_a_wrongly_shaped_field_is_named_at_its_line(tmp_path):
    doc = json.loads((FIXTURES / "vllm.json").read_text()) | {"mean_ttft_ms": "secret-value"}
    (tmp_path / "w.json").write_text(json.dumps(doc, indent=2))
    d, shown = error(tmp_path / "w.json")
    assert d.message == ("field `mean_ttft_ms` is a string, not a number: the tools write their figures as JSON "
                         "numbers, without quotes")
    assert (d.span.line, d.span.column) == (list(doc).index("mean_ttft_ms") + 2, 3)
    assert "secret-value" not in shown


@pytest.mark.parametrize("change, field", [({"num_prompts": None, "completed": None}, "num_prompts"),
                                           ({"request_rate": -1}, "request_rate"),
                                           ({"total_input_tokens": True}, "total_input_tokens")])
def test_missing_or_bad_traffic_fields(tmp_path, change, field):
    doc = {k: v for k, v in json.loads((FIXTURES / "vllm.json").read_text()).items() if change.get(k, 0) is not None}
    doc |= {k: v for k, v in change.items() if v is not None}
    (tmp_path / "m.json").write_text(json.dumps(doc))
    d, _ = error(tmp_path / "m.json")
    assert f"`{field}`" in d.message


def test_huge_non_utf8_special_and_foreign_files(tmp_path, monkeypatch):
    big = tmp_path / "big.json"
    big.write_text(" " * 2000)
    monkeypatch.setattr(runs_mod, "MAX_RUN_BYTES", 1000)
    assert "larger than 1,000 bytes" in error(big)[0].message
    monkeypatch.undo()
    (tmp_path / "latin.json").write_bytes(b'{"mean_ttft_ms": 1,\n "x": "caf\xe9"}')
    d, _ = error(tmp_path / "latin.json")
    assert "not valid UTF-8" in d.message and (d.span.line, d.span.column) == (2, 11)
    assert "not a regular file" in error(tmp_path)[0].message
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        assert "not a regular file" in error(tmp_path / "fifo")[0].message      # refused before it is opened
    (tmp_path / "list.json").write_text("[1, 2]")
    assert "not one" in error(tmp_path / "list.json")[0].message
    (tmp_path / "other.json").write_text('{"tokens": 3}')
    assert "none of the fields" in error(tmp_path / "other.json")[0].message
    (tmp_path / "deep.json").write_text("[" * 100_000)
    assert error(tmp_path / "deep.json")[0].code == "E110"
    assert "does not exist" in error(tmp_path / "missing.json")[0].message


def test_a_run_of_other_traffic_is_named_at_its_field():
    (r,) = read_runs(FIXTURES / "vllm.json")
    assert disagreements(r, plan(), "p.moe") == []
    found = disagreements(r, plan("rate = 8 requests/s  requests = 200", prompt=1024), "p.moe")
    by_field = {r.src.text[d.span.start:d.span.end]: d for d in found}
    assert set(by_field) == {'"num_prompts"', '"request_rate"', '"total_input_tokens"'}
    assert by_field['"request_rate"'].message.endswith("the run sent 4 requests/s, the plan 8 requests/s")
    # each field's hint holds every setting the run needs (until 2026-12-03 its own alone)
    every = '`--set "workload.requests=100" --set "workload.rate=4 requests/s" --set "workload.prompt=512"`'
    assert all(f"give the plan the run's traffic: {every}" in d.hint for d in found)
    # the plan's line as a plan writes it (no thousands separator: `prompt = 1,024` does not parse)
    said = by_field['"total_input_tokens"'].message
    assert "mean input length is 512.0 tokens, the plan's `prompt = 1024` (more than" in said
    bare = load_plan_text(PLAN.format(traffic="", prompt=512, engine="vllm"))
    assert [d.message for d in disagreements(r, bare, "p")][0].endswith("sends no traffic, the run sent 100 requests")
    # a plan without traffic and of other lengths: both said at once (the lengths were said only once traffic was)
    bare = load_plan_text(PLAN.format(traffic="", prompt=4000, engine="vllm"))
    said = [d.message for d in disagreements(r, bare, "p")]
    assert len(said) == 2 and "sends no traffic" in said[0] and "the plan's `prompt = 4000`" in said[1]


@pytest.mark.parametrize("model_id, other", [
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", False),   # the preset's own
    ("mistralai/Mixtral-8x7B-v0.1", False),            # its base model: the same family, no size said
    ("/models/mixtral", False),                        # a local path: nothing to judge by
    ("my-finetune", False),                            # a name of no known family
    ("meta-llama/Llama-3.1-8B", True),                 # another family
    ("Qwen/Qwen3-235B-A22B", True),
])
def test_a_run_of_another_model_is_named_at_its_model_id(tmp_path, model_id, other):
    """A run whose `model_id` names another model than the plan's preset is E110 at that field; one whose name
    may be the plan's model (its own, a local path, an unknown name) is not judged by it."""
    text = (FIXTURES / "vllm.json").read_text().replace("mistralai/Mixtral-8x7B-Instruct-v0.1", model_id)
    (tmp_path / "run.json").write_text(text)
    (r,) = read_runs(tmp_path / "run.json")
    found = disagreements(r, plan(), "p.moe")
    assert len(found) == other
    if other:
        (d,) = found
        assert r.src.text[d.span.start:d.span.end] == '"model_id"'
        assert d.message == (f"run run.json is not of plan `p.moe`: the run measured `{model_id}`, the plan's model "
                             "is preset `mixtral-8x7b` (mistralai/Mixtral-8x7B-Instruct-v0.1)")


def test_a_run_of_another_engine_than_the_plans_is_refused_at_its_backend():
    rate, _ = read_runs(FIXTURES / "sglang.jsonl")
    assert rate.backend == "sglang"
    (d,) = disagreements(rate, plan(), "p.moe")             # the plan runs vLLM
    assert d.code == "E110" and rate.src.text[d.span.start:d.span.end] == '"backend"'
    assert d.message == ("run sglang.jsonl#1 is not of plan `p.moe`: its client measured the `sglang` backend "
                         "(SGLang's server); the plan's engine is vllm")
    assert d.hint.startswith("calibrate with the plan of the engine this run measured: `--set cluster.engine=sglang`")
    assert disagreements(rate, plan(engine="sglang"), "p.moe") == []
    (v,) = read_runs(FIXTURES / "vllm.json")
    assert v.backend == "vllm" and disagreements(v, plan(engine="vllm"), "p.moe") == []


def test_a_run_of_another_engine_and_gpu_is_hinted_both_settings_at_each():
    """A run that disagrees on its engine and its GPUs is hinted the `--set`s of both at each: until 2026-12-03
    each hint named its own alone, and the plan given one of them was refused at the other."""
    rate, _ = read_runs(FIXTURES / "sglang.jsonl")
    h200 = dataclasses.replace(rate, gpu="NVIDIA H200")
    found = disagreements(h200, plan(), "p.moe")
    both = ('calibrate with the plan this run measured: `--set "cluster.gpu=h200" --set "cluster.engine=sglang"` (in '
            'a manifest, `set = ["cluster.gpu=h200", "cluster.engine=sglang"]`)')
    assert [d.hint for d in found] == [both, both]


def test_a_run_of_another_engine_and_rate_is_hinted_both_settings_at_each():
    """An SGLang run at another rate than the vLLM plan's: the hint at its rate carries the engine's `--set` too, as
    the one at its backend carries the rate's (until 2026-12-03 the rate's hint held its own `--set` alone, which
    the plan given it refused again at the backend)."""
    rate, _ = read_runs(FIXTURES / "sglang.jsonl")
    other = dataclasses.replace(rate, rate=(rate.rate or 1.0) * 2)
    found = disagreements(other, plan(), "p.moe")
    sets = ("cluster.engine=sglang", f"workload.rate={other.rate:g} requests/s")
    options = " ".join(f'--set "{x}"' for x in sets)
    assert [d.code for d in found] == ["E110", "E110"]
    assert found[0].hint.startswith(f"calibrate with the plan this run measured: `{options}`")
    assert found[1].hint.startswith(f"give the plan the run's traffic and deployment: `{options}`")


@pytest.mark.parametrize(("serving", "said"), [("", ", the default"), ("serving = static", "")])
def test_a_plan_served_statically_is_not_of_any_run(serving, said):
    """Every run file measures a server, which batches in flight: against a plan served statically (`batch`
    requests prefilled together, then decoded together) the fit bought TPOT with a TTFT 48 times off (a
    Qwen3-235B plan left at the default: TTFT median |error| 3,418 % uncalibrated, 4,855 % calibrated)."""
    (v,) = read_runs(FIXTURES / "vllm.json")
    static = load_plan_text(PLAN.format(traffic="rate = 4 requests/s  requests = 100", prompt=512, engine="vllm")
                            .replace("serving = inflight", serving), "p.moe")
    (d,) = disagreements(v, static, "p.moe")
    assert d.code == "E110" and v.src.text[d.span.start:d.span.end] == '"backend"'
    assert d.message == ("run vllm.json is not of plan `p.moe`: the plan serves static batches (`batch` requests "
                         f"prefilled together, then decoded together: `serving = static`{said}), the run measured a "
                         "server, which batches requests in flight")
    assert d.hint == ("give the plan the run's serving: `--set workload.serving=inflight` (in a manifest, "
                      '`set = ["workload.serving=inflight"]`)')


def test_closed_loop_runs_against_the_plans_clients():
    _, burst = read_runs(FIXTURES / "sglang.jsonl")
    assert disagreements(burst, plan("concurrency = 16  requests = 100", engine="sglang"), "p.moe") == []
    (d,) = disagreements(burst, plan("concurrency = 32  requests = 100", engine="sglang"), "p.moe")
    assert "kept 16 requests in flight, the plan 32 clients" in d.message
    assert '`--set "workload.concurrency=16"`' in d.hint                   # the same loop: a --set works


def test_a_loop_of_the_other_kind_is_told_the_set_that_replaces_the_plans(tmp_path):
    """A run of the other loop than the plan's: the hint's `--set` replaces the plan's loop (a `--set` of the rate
    takes `concurrency` away, and the reverse: docs/cli.md), and the plan with it is the run's."""
    from dagc.lang.overrides import load_plan_with

    _, closed = read_runs(FIXTURES / "sglang.jsonl")
    (r,) = read_runs(FIXTURES / "vllm.json")
    for run, traffic, setting in ((closed, "rate = 4 requests/s  requests = 100", "workload.concurrency=16"),
                                  (r, "concurrency = 8  requests = 100", "workload.rate=4 requests/s")):
        (d,) = disagreements(run, plan(traffic, engine=run.tool), "p.moe")
        assert d.hint.startswith(f'give the plan the run\'s traffic: `--set "{setting}"`')
        path = tmp_path / "p.moe"
        path.write_text(PLAN.format(traffic=traffic, prompt=512, engine=run.tool))
        assert disagreements(run, load_plan_with(path, [setting]), "p.moe") == []


def test_aiperf_wrong_shapes_and_genai_perf_config(tmp_path):
    doc = json.loads((FIXTURES / "profile_export_aiperf.json").read_text())
    for change, said in (({"time_to_first_token": 95.0}, "field `time_to_first_token` is not a metric object"),
                         ({"time_to_first_token": {"unit": "fortnights", "avg": 1.0}},
                          "field `time_to_first_token.unit` is not a unit of time"),
                         ({"request_count": None, "input_config": {}}, "field `request_count` is missing")):
        (tmp_path / "a.json").write_text(json.dumps({k: v for k, v in (doc | change).items() if v is not None}))
        assert error(tmp_path / "a.json")[0].message.startswith(said)
    # genai-perf: the traffic at the top of input_config, times in ms
    genai = doc | {"input_config": {"concurrency": 8, "request_count": 100}}
    (tmp_path / "g.json").write_text(json.dumps(genai))
    (r,) = read_runs(tmp_path / "g.json")
    assert (r.concurrency, r.requests, r.fields["concurrency"]) == (8, 100, "input_config.concurrency")


def test_a_burst_is_told_the_closed_loop_that_starts_every_client_at_once(tmp_path):
    """A run that sent every request at once (`request_rate` inf, no cap) against a plan at a rate: the hint's
    closed loop starts its clients together (`ramp = 0 s`, as the corpus writes bursts), not over the default
    ramp; the plan with the hint's `--set`s is the run's."""
    from dagc.lang.overrides import load_plan_with

    doc = json.loads((FIXTURES / "vllm.json").read_text()) | {"request_rate": "inf", "max_concurrency": None}
    (tmp_path / "b.json").write_text(json.dumps(doc))
    (burst,) = read_runs(tmp_path / "b.json")
    traffic = "rate = 4 requests/s  requests = 100"
    (d,) = disagreements(burst, plan(traffic), "p.moe")
    assert d.message.endswith("the run sent all 100 requests at once, the plan 4 requests/s")
    assert d.hint == ('give the plan the run\'s traffic: `--set "workload.concurrency=100" --set "workload.ramp=0 s"` '
                      '(in a manifest, `set = ["workload.concurrency=100", "workload.ramp=0 s"]`), or calibrate with '
                      "the plan this run measured")
    path = tmp_path / "p.moe"
    path.write_text(PLAN.format(traffic=traffic, prompt=512, engine="vllm"))
    followed = load_plan_with(path, ["workload.concurrency=100", "workload.ramp=0 s"])
    assert followed.workload.traffic.concurrency == 100 and followed.workload.traffic.ramp == 0.0
    assert disagreements(burst, followed, "p.moe") == []


@pytest.mark.parametrize("change, field", [
    ({"mean_tpot_ms": 1e-300, "median_tpot_ms": 1e-300, "p99_tpot_ms": 1e-300}, "mean_tpot_ms"),
    ({"output_throughput": 1e-7}, "output_throughput"),
    ({"mean_ttft_ms": 9e-7}, "mean_ttft_ms"),
])
def test_a_figure_too_small_to_be_measured_is_refused(tmp_path, change, field):
    """A time or throughput below 1e-6 (ms, per second) is no measurement, as one above 1e12 is not: it was read,
    and the calibration printed an error of 300 digits against it."""
    doc = json.loads((FIXTURES / "vllm.json").read_text()) | change
    (tmp_path / "t.json").write_text(json.dumps(doc, indent=2))
    with pytest.raises(PlanError) as exc:
        read_runs(tmp_path / "t.json")
    said = exc.value.diagnostics      # every figure too small, each in one run (until 2026-12-03 the first alone)
    assert [x.message for x in said] == [f"field `{f}` is not a positive number from 1e-06 up to 1e+12" for f in change]
    d, shown = said[0], "".join(render(x) for x in said)
    assert d.message == f"field `{field}` is not a positive number from 1e-06 up to 1e+12"
    assert (d.span.line, d.span.column) == (list(doc).index(field) + 2, 3)
    assert not any(repr(v) in shown for v in change.values())
    doc = json.loads((FIXTURES / "vllm.json").read_text()) | {"mean_tpot_ms": 1e-6}      # the bound itself is read
    (tmp_path / "t.json").write_text(json.dumps(doc))
    assert read_runs(tmp_path / "t.json")[0].measured["tpot_ms"] == 1e-6


def test_a_converted_time_too_small_is_refused(tmp_path):
    doc = json.loads((FIXTURES / "profile_export_aiperf.json").read_text())
    doc["time_to_first_token"] = {"unit": "ns", "avg": 0.5, "p50": 91000000.0}      # 0.5 ns: 5e-7 ms
    (tmp_path / "a.json").write_text(json.dumps(doc))
    d, _ = error(tmp_path / "a.json")
    assert d.message == "field `time_to_first_token.avg` is below 1e-06 ms once converted: not a measurement"
    doc = json.loads((FIXTURES / "vllm.json").read_text())
    del doc["mean_ttft_ms"]
    doc |= {"ttfts": [0.0] * 99 + [1e-12]}
    (tmp_path / "v.json").write_text(json.dumps(doc))
    d, _ = error(tmp_path / "v.json")
    assert d.message == "field `ttfts` is below 1e-06 ms once converted: not a measurement"


def test_a_per_request_array_of_another_length_than_the_run_is_refused(tmp_path):
    """`ttfts` of 10 requests in a run that completed 200, its summary TTFT removed: the TTFT was the 10's mean."""
    doc = json.loads((FIXTURES / "vllm.json").read_text())
    for k in ("mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms"):
        del doc[k]
    doc |= {"num_prompts": 200, "completed": 200, "total_input_tokens": 102400, "total_output_tokens": 25600,
            "ttfts": [0.05] * 10}
    (tmp_path / "d.json").write_text(json.dumps(doc, indent=2))
    d, shown = error(tmp_path / "d.json")
    assert d.message == "field `ttfts` does not hold one entry per request of the run (`completed`, `num_prompts`)"
    assert (d.span.line, d.span.column) == (list(doc).index("ttfts") + 2, 3) and "0.05" not in shown
    for n in (200, 199):        # vLLM writes one per request sent, failed ones too: `num_prompts` or `completed`
        doc |= {"completed": 199, "failed": 1, "ttfts": [0.05] * n}
        (tmp_path / "d.json").write_text(json.dumps(doc))
        assert read_runs(tmp_path / "d.json")[0].measured["ttft_ms"] == pytest.approx(50.0)
    del doc["num_prompts"]
    for n in (199, 201):        # without `num_prompts` (SGLang's), `completed` + `failed`
        doc |= {"completed": 199, "failed": 2, "ttfts": [0.05] * n}
        (tmp_path / "d.json").write_text(json.dumps(doc))
        assert read_runs(tmp_path / "d.json")[0].measured["ttft_ms"] == pytest.approx(50.0)


def test_a_key_written_twice_is_refused_at_its_second(tmp_path):
    """`mean_ttft_ms` twice was read silently, the second value taken (json.loads keeps the last)."""
    text = (FIXTURES / "vllm.json").read_text()
    twice = text.replace('"mean_ttft_ms": 61.2,', '"mean_ttft_ms": 61.2,\n  "mean_ttft_ms": 1.5,')
    assert twice != text
    (tmp_path / "t.json").write_text(twice)
    d, shown = error(tmp_path / "t.json")
    assert d.message == "this key is written twice in its object: which value is the run's cannot be told"
    second = twice.index('"mean_ttft_ms"', twice.index('"mean_ttft_ms"') + 1)
    assert (d.span.line, d.span.column) == (twice[:second].count("\n") + 1, 3) and "1.5" not in shown
    # JSON lines: the second line's own; the same key in two objects (AIPerf's `avg` of each metric) is not twice
    lines = (FIXTURES / "sglang.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"completed":', '"completed": 3, "completed":', 1)
    assert '"completed": 3, "completed":' in lines[1]
    (tmp_path / "s.jsonl").write_text("\n".join(lines) + "\n")
    d, _ = error(tmp_path / "s.jsonl")
    assert (d.span.line, d.span.column) == (2, lines[1].index('"completed":', lines[1].index('"completed": 3') + 5) + 1)
    assert read_runs(FIXTURES / "profile_export_aiperf.json")[0].measured["tpot_ms"] == 11.1


@pytest.mark.parametrize("config, field, at", [
    (["x"], "input_config", "input_config"),                               # not an object: at it
    ({"endpoint": {"type": "chat"}}, "input_config.loadgen", "input_config"),   # no loadgen: named, at its object
    ({"loadgen": {"request_count": 100}}, "input_config.loadgen.concurrency", "loadgen"),
    ({"loadgen": 16}, "input_config.loadgen", "loadgen"),
])
def test_aiperfs_config_of_another_shape_is_refused_not_read_as_a_burst(tmp_path, config, field, at):
    """`input_config: ["x"]` or no `loadgen` was read as "the run sent all 100 requests at once"."""
    doc = json.loads((FIXTURES / "profile_export_aiperf.json").read_text()) | {"input_config": config}
    text = json.dumps(doc, indent=2)
    (tmp_path / "a.json").write_text(text)
    d, _ = error(tmp_path / "a.json")
    assert d.message.startswith(f"field `{field}` ")
    assert d.message.endswith(("is not an object of the run's settings ({\"loadgen\": …, \"endpoint\": …})",
                               "is not an object of the run's load ({\"concurrency\": …})",
                               "how the run sent its requests (its `concurrency` or `request_rate`)"))
    assert d.span.start == text.index(f'"{at}"')
    del doc["input_config"]
    (tmp_path / "a.json").write_text(json.dumps(doc))
    assert error(tmp_path / "a.json")[0].message.startswith("field `input_config` is missing: how the run sent")


def test_aiperfs_model_is_checked_against_the_plans(tmp_path):
    """A Mixtral run's AIPerf export against a Qwen3 plan is E110 at its `model_names`, as vLLM's `model_id`."""
    (r,) = read_runs(FIXTURES / "profile_export_aiperf.json")
    assert r.model == "mistralai/Mixtral-8x7B-Instruct-v0.1"
    qwen = load_plan_text(PLAN.replace("mixtral-8x7b", "qwen3-30b-a3b").replace("tp 8", "tp 2").replace(
        "gpus = 8", "gpus = 2").format(traffic="concurrency = 16  requests = 100", prompt=512, engine="vllm"), "q.moe")
    said = [d for d in disagreements(r, qwen, "q.moe") if "model" in d.message]
    assert [d.message for d in said] == ["run profile_export_aiperf.json is not of plan `q.moe`: the run measured "
                                         "`mistralai/Mixtral-8x7B-Instruct-v0.1`, the plan's model is preset "
                                         "`qwen3-30b-a3b` (Qwen/Qwen3-30B-A3B)"]
    assert r.src.text[said[0].span.start:said[0].span.end] == '"model_names"'
    assert disagreements(r, plan("concurrency = 16  requests = 100"), "p.moe") == []


def test_sglang_arrays_with_failed_requests_and_no_failed_field(tmp_path):
    """SGLang's `--output-details` writes one entry per request sent, failed ones too, with `errors` beside them and
    no `failed` count (newer releases: `failures`): 200 requests sent, 199 completed — its arrays are the run's, and
    a failed request's TTFT (0) and lengths are left out of the means."""
    line = json.loads((FIXTURES / "sglang.jsonl").read_text().splitlines()[0])
    for k in [k for k in line if k.split("_")[0] in ("mean", "median", "p99", "std") and "_tt" in k or "_itl" in k]:
        del line[k]
    line |= {"completed": 199, "ttfts": [0.05] * 99 + [0.0] + [0.07] * 100,
             "input_lens": [500] * 99 + [600] + [524] * 100, "output_lens": [128] * 99 + [0] + [128] * 100,
             "itls": [[0.009, 0.009]] * 99 + [[]] + [[0.011]] * 100,
             "errors": [""] * 99 + ["Server disconnected"] + [""] * 100}
    path = tmp_path / "fail.jsonl"
    path.write_text(json.dumps(line) + "\n")
    (r,) = read_runs(path)
    assert r.measured["ttft_ms"] == pytest.approx((99 * 50 + 100 * 70) / 199)
    assert r.measured["itl_ms"] == pytest.approx((99 * 2 * 9 + 100 * 11) / 298)
    # SGLang's newer count, `failures`, says the same without `errors`
    del line["errors"]
    path.write_text(json.dumps(line | {"failures": 1}) + "\n")
    (r,) = read_runs(path)
    assert r.measured["ttft_ms"] == pytest.approx((99 * 50 + 0 + 100 * 70) / 200)   # which one failed is unknown
    # without either, 3 entries for 2 requests are not the run's
    path.write_text(json.dumps(line) + "\n")
    d, _ = error(path)
    assert "ttfts" in d.message or "input_lens" in d.message


@pytest.mark.parametrize("change, message", [
    ({"ttfts": "SECRET-ARRAY"}, "field `ttfts` is not a list of one entry per request"),
    ({"output_lens": {"n": 1}}, "field `output_lens` is not a list of one entry per request"),
    ({"mean_tpot_ms": None}, "field `mean_tpot_ms` is null: the tool writes this figure as a number"),
    ({"output_throughput": None}, "field `output_throughput` is null: the tool writes this figure as a number"),
])
def test_a_per_request_array_not_a_list_or_a_null_figure_is_refused(tmp_path, change, message):
    """A `ttfts` that is not a list was skipped when the summary had a mean TTFT, and a null mean TPOT read as a run
    that measured none: both are files no tool writes, E110 at the field."""
    doc = json.loads((FIXTURES / "vllm.json").read_text()) | change
    (tmp_path / "n.json").write_text(json.dumps(doc, indent=2))
    d, shown = error(tmp_path / "n.json")
    (field,) = change
    assert d.message == message
    assert (d.span.line, d.span.column) == (list(doc).index(field) + 2, 3) and "SECRET" not in shown
    doc["max_concurrency"] = None            # vLLM's own null: no cap on the clients, read as none
    assert read_runs_ok(tmp_path, {k: v for k, v in doc.items() if k != field})


def read_runs_ok(tmp_path, doc) -> bool:
    (tmp_path / "ok.json").write_text(json.dumps(doc))
    return read_runs(tmp_path / "ok.json")[0].concurrency is None


def test_a_plan_without_traffic_is_told_the_runs_requests_beside_its_rate(tmp_path):
    """A plan that sends no traffic simulates 1,000 requests once it has a rate: the hint of "the plan sends no
    traffic, the run sent 100 requests" gave the rate alone, and the plan with it was a new E110, "the run sent 100
    requests, the plan 1,000" (trial14: a vLLM run of 200 requests took two runs of `dagc calibrate`)."""
    from dagc.lang.overrides import load_plan_with

    (r,) = read_runs(FIXTURES / "vllm.json")
    path = tmp_path / "p.moe"
    path.write_text(PLAN.format(traffic="", prompt=512, engine="vllm"))
    (d,) = disagreements(r, load_plan_with(path, []), "p.moe")
    assert d.hint == ("give the plan the run's traffic: `--set \"workload.rate=4 requests/s\" --set "
                      "\"workload.requests=100\"` (in a manifest, `set = [\"workload.rate=4 requests/s\", "
                      "\"workload.requests=100\"]`), or calibrate with the plan this run measured")
    given = load_plan_with(path, ["workload.rate=4 requests/s", "workload.requests=100"])
    assert disagreements(r, given, "p.moe") == []
    # a run of the default's 1,000 requests is told the rate alone: the plan then simulates as many
    (tmp_path / "k.json").write_text((FIXTURES / "vllm.json").read_text()
                                     .replace('"num_prompts": 100', '"num_prompts": 1000')
                                     .replace('"completed": 100', '"completed": 1000')
                                     .replace('"total_input_tokens": 51200', '"total_input_tokens": 512000')
                                     .replace('"total_output_tokens": 12800', '"total_output_tokens": 128000'))
    (k,) = read_runs(tmp_path / "k.json")
    (d,) = disagreements(k, load_plan_with(path, []), "p.moe")
    assert d.hint.startswith("give the plan the run's traffic: `--set \"workload.rate=4 requests/s\"` (in a manifest")


def test_one_client_is_said_in_the_singular():
    # a run of 1 request in flight against a plan of 1 client said `the run kept 1 requests in flight, the plan 1
    # clients`
    _, burst = read_runs(FIXTURES / "sglang.jsonl")
    one = dataclasses.replace(burst, concurrency=1)
    (d,) = disagreements(one, plan("concurrency = 32  requests = 100", engine="sglang"), "p.moe")
    assert d.message.endswith("the run kept 1 request in flight, the plan 32 clients")
    (d,) = disagreements(burst, plan("concurrency = 1  requests = 100", engine="sglang"), "p.moe")
    assert d.message.endswith("the run kept 16 requests in flight, the plan 1 client")


def test_two_run_files_joined_are_said_so_at_the_second_value(tmp_path):
    """`cat a.json b.json > both.json`: one whole JSON value and another after it. Until 2026-12-03 this was "this line
    is not valid JSON (truncated?)" at the first line's `{`, though nothing had been cut."""
    text = (FIXTURES / "vllm.json").read_text()
    pretty = json.dumps(json.loads(text), indent=2) + "\n"
    (tmp_path / "both.json").write_text(pretty + pretty)
    d, shown = error(tmp_path / "both.json")
    assert d.message == ("the run file holds more than one JSON value: another begins here, after a whole one (two run "
                         "files joined?)")
    assert d.span.line == pretty.count("\n") + 1 and d.span.column == 1
    assert "JSON lines" in d.hint
    # one value a line is JSON lines, read as such
    one_line = json.dumps(json.loads(text)) + "\n"
    (tmp_path / "lines.json").write_text(one_line + one_line)
    assert len(read_runs(tmp_path / "lines.json")) == 2


def test_every_bad_figure_of_a_run_is_said_in_one_run_in_the_file_s_order(tmp_path):
    """A new user's file with four figures no tool writes (a quoted TTFT and rate, a fractional count, `completed`
    true) took four runs of `dagc calibrate` to clear, one E110 a run and not the first in the file (until
    2026-12-03); each is now said at once, in the file's order, and what may follow from them (the counts that do
    not add up) is not said beside them."""
    doc = json.loads((FIXTURES / "vllm.json").read_text()) | {
        "mean_ttft_ms": "97.5", "num_prompts": 200.5, "completed": True, "request_rate": "8"}
    (tmp_path / "t.json").write_text(json.dumps(doc, indent=2))
    with pytest.raises(PlanError) as exc:
        read_runs(tmp_path / "t.json")
    said = exc.value.diagnostics
    assert [x.message.split("`")[1] for x in said] == sorted(
        ("mean_ttft_ms", "num_prompts", "completed", "request_rate"), key=list(doc).index)
    assert [x.span.line for x in said] == sorted(x.span.line for x in said)
    assert all(x.code == "E110" and "97.5" not in render(x) for x in said)
