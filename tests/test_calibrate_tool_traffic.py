"""How the tools write a traffic dagc does or does not express, read as they write it.

SGLang's bench_serving (python/sglang/bench_serving.py, `benchmark`'s `result`) writes `"request_rate": "trace"` for a
run that replayed a trace's timestamps (`--dataset-name mooncake --use-trace-timestamps`): dagc told its user the
rate was `a string other than "inf": a rate is a JSON number, without quotes` — as though the file were edited, when
the tool wrote it so, and no number in its place makes the run one of a rate.

vLLM's `vllm bench serve --burstiness inf` (vllm/benchmarks/serve.py, `get_request`: `burstiness == float("inf")`
gives every gap 1 / rate) spaces its requests evenly — dagc's `arrival = uniform` — and `--save-result` writes
`"burstiness": Infinity` (json.dump of the float). dagc refused it, `is not a positive number`; and a run at vLLM's
default, `burstiness` 1 (Poisson gaps), was fitted on a plan of `arrival = uniform` unsaid. The hint that gives a
plan such a run's rate gives it its arrivals too: the rate's `--set` alone made a plan refused again (AIPerf's
`--request-rate-mode constant` runs alike).

vLLM sends one request per sample of its dataset (vllm/benchmarks/serve.py: an output each, `completed` + `failed`),
and writes `num_prompts` as asked (`--num-prompts`); with `--no-oversample` a dataset of fewer samples — a
`--dataset-name custom` file of 500 lines at the default 1,000 — is not padded to it (vllm/benchmarks/datasets.py,
`maybe_oversample_requests`), and the run sent fewer. dagc refused such a run, `completed` and `failed` `do not add up
to num_prompts: the requests the run sent are not told` — which they are.

A run of one output token a request (`--random-output-len 1`, the way to measure prefill alone) has no TPOT nor ITL
to measure, and both tools write them 0 (`np.mean(tpots or 0)`: vllm/benchmarks/serve.py `calculate_metrics`,
python/sglang/bench_serving.py alike): dagc refused the run at `mean_tpot_ms`, `is not a positive number`, where it
is a TTFT and throughput run like any other. A run without streaming (SGLang's `--disable-stream`: the response comes
in one piece, its TTFT the whole request's, no gap between tokens timed) writes its ITL 0: dagc said `is not a
positive number`, as of a bad figure, not of the run it is.
"""

from __future__ import annotations

import json

import pytest

from dagc.calibrate.match import disagreements
from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError, render
from dagc.lang.load import load_plan_text
from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "calibrate"


def _refused(path):
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    assert d.code == "E110" and "Traceback" not in render(d)
    return d


def test_an_sglang_trace_replay_is_refused_as_a_trace_not_as_a_quoted_number():
    path = FIXTURES / "sglang_trace.jsonl"       # SGLang's line of `--dataset-name mooncake --use-trace-timestamps`
    d = _refused(path)
    assert d.span.start == path.read_text().index('"request_rate"')
    assert d.message == ("field `request_rate` is `trace`: the run replayed the timestamps of a trace "
                         "(`--use-trace-timestamps`), not a fixed rate or clients, the traffic `dagc calibrate` "
                         "matches a run to its plan by")
    assert d.hint == ("calibrate on runs at a fixed `--request-rate` (or clients alone, `--max-concurrency` with "
                      "`--request-rate inf`)")


PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 256  prompt = 512  generate = 128  serving = inflight  rate = 4 requests/s  requests = 100  ARRIVAL }
strategy tp 8
"""


def _said(run, arrival: str = ""):
    return disagreements(run, load_plan_text(PLAN.replace("ARRIVAL", arrival)), "plan.moe")


def test_vllm_s_burstiness_inf_is_evenly_spaced_arrivals():
    path = FIXTURES / "vllm_uniform.json"       # `--request-rate 4 --burstiness inf`
    (run,) = read_runs(path)
    assert (run.rate, run.arrival, run.requests) == (4.0, "uniform", 100)
    (d,) = _said(run)
    assert d.code == "E110" and d.span.start == path.read_text().index('"burstiness"')
    assert d.message == ("run vllm_uniform.json is not of plan `plan.moe`: the run's arrivals were evenly spaced "
                         "(`burstiness` inf), the plan's Poisson (`arrival = poisson`)")
    assert d.hint == ('give the plan the run\'s traffic: `--set "workload.arrival=uniform"` (in a manifest, '
                      '`set = ["workload.arrival=uniform"]`), or calibrate with the plan this run measured')
    assert _said(run, "arrival = uniform") == []


def test_vllm_s_default_burstiness_is_poisson_arrivals(tmp_path):
    doc = json.loads((FIXTURES / "vllm_uniform.json").read_text()) | {"burstiness": 1.0}
    (tmp_path / "run.json").write_text(json.dumps(doc))
    (run,) = read_runs(tmp_path / "run.json")
    assert run.arrival == "poisson" and _said(run) == []
    (d,) = _said(run, "arrival = uniform")
    assert d.message.endswith("the run's arrivals were Poisson (`burstiness` 1), the plan's evenly spaced "
                              "(`arrival = uniform`)")


@pytest.mark.parametrize("traffic, hinted", [
    ("rate = 2 requests/s  requests = 100", '`--set "workload.rate=4 requests/s" --set "workload.arrival=uniform"`'),
    ("", '`--set "workload.rate=4 requests/s" --set "workload.requests=100" --set "workload.arrival=uniform"`')])
def test_the_hint_that_gives_the_plan_the_run_s_rate_gives_it_its_arrivals_too(traffic, hinted):
    # the `--set` of the rate alone left the plan's Poisson arrivals: the plan it made was refused again, at them
    (run,) = read_runs(FIXTURES / "vllm_uniform.json")
    text = PLAN.replace("rate = 4 requests/s  requests = 100  ARRIVAL", traffic)
    (d,) = disagreements(run, load_plan_text(text), "plan.moe")
    assert d.span.text == '"request_rate"' and hinted in d.hint
    assert _said(run, "arrival = uniform") == []        # the plan those `--set`s make


@pytest.mark.parametrize("completed, failed", [(500, 0), (497, 3)])
def test_a_vllm_run_of_fewer_samples_than_num_prompts_sent_completed_and_failed(tmp_path, completed, failed):
    # `--dataset-name custom --num-prompts 1000 --no-oversample` on a file of 500 prompts
    doc = json.loads((FIXTURES / "vllm_uniform.json").read_text()) | {
        "num_prompts": 1000, "completed": completed, "failed": failed, "burstiness": 1.0,
        "total_input_tokens": 512 * completed, "total_output_tokens": 128 * completed}
    (tmp_path / "run.json").write_text(json.dumps(doc, indent=1))
    (run,) = read_runs(tmp_path / "run.json")
    assert (run.requests, run.fields["requests"], run.prompt, run.generate) == (500, "completed", 512.0, 128.0)
    text = PLAN.replace("requests = 100", "requests = 1000").replace("ARRIVAL", "")
    (d,) = disagreements(run, load_plan_text(text), "plan.moe")
    assert d.message.endswith("the run sent 500 requests, the plan 1,000")
    assert d.span.text == '"completed"' and '--set "workload.requests=500"' in d.hint


def test_more_requests_completed_and_failed_than_num_prompts_are_still_refused(tmp_path):
    doc = json.loads((FIXTURES / "vllm_uniform.json").read_text()) | {"num_prompts": 90, "burstiness": 1.0}
    (tmp_path / "run.json").write_text(json.dumps(doc, indent=1))
    d = _refused(tmp_path / "run.json")
    assert d.message == ("field `completed` and `failed` do not add up to `num_prompts`: the requests the run sent "
                         "are not told")


def _one_token(tool: str) -> dict:
    """A run of one output token a request, as vLLM (`--save-result`) or SGLang (`--output-file`) writes it."""
    doc = json.loads((FIXTURES / "vllm_uniform.json").read_text()) | {"burstiness": 1.0} if tool == "vllm" else \
        json.loads((FIXTURES / "sglang.jsonl").read_text().splitlines()[0])
    doc |= {"total_output_tokens": doc["completed"], "output_throughput": doc["request_throughput"]}
    return doc | {k: 0.0 for k in doc if k.endswith(("_tpot_ms", "_itl_ms"))}


@pytest.mark.parametrize("tool", ["vllm", "sglang"])
def test_a_run_of_one_output_token_a_request_is_read_without_tpot_and_itl(tmp_path, tool):
    (tmp_path / "run.json").write_text(json.dumps(_one_token(tool)))
    (run,) = read_runs(tmp_path / "run.json")
    assert run.generate == 1.0 and run.measured["ttft_ms"] > 0
    assert not any(k.startswith(("tpot", "itl")) for k in run.measured)


def test_a_tpot_of_0_beside_longer_outputs_is_still_refused(tmp_path):
    doc = json.loads((FIXTURES / "vllm_uniform.json").read_text()) | {"burstiness": 1.0, "mean_tpot_ms": 0.0}
    (tmp_path / "run.json").write_text(json.dumps(doc))
    assert _refused(tmp_path / "run.json").message == \
        "field `mean_tpot_ms` is not a positive number from 1e-06 up to 1e+12"


def test_an_sglang_run_without_streaming_is_told_so_at_its_itl(tmp_path):
    # python/sglang/bench_serving.py: `"stream": not args.disable_stream`; one chunk, so `itl` stays [] and
    # `mean_itl_ms = np.mean(itls or 0) * 1000` is 0, TTFT the whole request's and TPOT a few microseconds
    doc = json.loads((FIXTURES / "sglang.jsonl").read_text().splitlines()[0])
    doc |= {k: 0.0 for k in doc if k.endswith("_itl_ms")} | {k: 0.0004 for k in doc if k.endswith("_tpot_ms")}
    (tmp_path / "run.jsonl").write_text(json.dumps(doc) + "\n")
    d = _refused(tmp_path / "run.jsonl")
    assert d.span.start == (tmp_path / "run.jsonl").read_text().index('"mean_itl_ms"')
    assert d.message == ("field `mean_itl_ms` is 0: the run timed no gap between tokens, as a run without streaming "
                         "(SGLang's `--disable-stream`) does, whose TTFT is then the whole request's")
    assert d.hint == "calibrate on a streamed run (the tools stream by default)"
