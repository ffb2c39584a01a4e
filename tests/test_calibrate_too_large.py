"""A run file's figure past the bound `dagc calibrate` reads (`MAX_FIGURE`, 10¹², docs/limits.md) is E110 saying
the value is too large and naming the bound — not "is not a positive whole number", which a count of 10¹⁸ is —,
for every bounded number of every format: vLLM's `--save-result` JSON, SGLang's bench_serving JSON lines, AIPerf's
profile export; a time once converted to ms, and the per-request arrays' entries, too. Located at the field, its
value never shown."""

from __future__ import annotations

import json

import pytest

from dagc.calibrate.run_fields import MAX_FIGURE
from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError, render
from conftest import ROOT, run_dagc

FIXTURES = ROOT / "tests" / "fixtures" / "calibrate"
BOUND = "past 1e+12, the most dagc reads of a run's figure (docs/limits.md)"
CONVERTED = "past 1e+12 ms once converted, the most dagc reads of a run's figure (docs/limits.md)"
HINT = "no benchmark run measures a figure that large: is this the run file (and the field) you meant?"
BIG = 10**18
VLLM_MEANS = {k: None for k in ("mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms")}
VLLM_ITLS = {k: None for k in ("mean_itl_ms", "median_itl_ms", "p99_itl_ms")}


def vllm(**change):
    return json.loads((FIXTURES / "vllm.json").read_text()) | change


def sglang(**change):
    return json.loads((FIXTURES / "sglang.jsonl").read_text().splitlines()[0]) | change


def aiperf(**change):
    return json.loads((FIXTURES / "profile_export_aiperf.json").read_text()) | change


def refused(tmp_path, doc: dict, field: str | None = None) -> tuple:
    """The E110 of the run file `doc`: its only one, or the one at `field` (each bad figure is said in one run)."""
    doc = {k: v for k, v in doc.items() if v is not None}
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    said = exc.value.diagnostics
    (d,) = said if field is None else [x for x in said if f"`{field}`" in x.message]
    assert d.code == "E110" and all(x.code == "E110" for x in said)
    return d, path.read_text()


def line_of(text: str, dotted: str) -> int:
    """The line of the key `dotted` (`a.b`: `b` after `a`) in `text`."""
    at = 0
    for part in dotted.split("."):
        at = text.index(f'"{part}"', at)
    return text.count("\n", 0, at) + 1


LOADGEN = {"input_config": {"loadgen": {"concurrency": 16, "request_count": BIG}}, "request_count": None}

CASES = [
    # vLLM: the new user's file (both counts 10¹⁸, each said: since 2026-12-03 every bad figure in one run), then each
    # bounded field alone
    (vllm(num_prompts=BIG, completed=BIG), "completed", BOUND),
    (vllm(num_prompts=BIG), "num_prompts", BOUND),
    (vllm(max_concurrency=BIG), "max_concurrency", BOUND),
    (vllm(mean_ttft_ms=1e13), "mean_ttft_ms", BOUND),
    (vllm(median_tpot_ms=2e12), "median_tpot_ms", BOUND),
    (vllm(p99_e2el_ms=10**400), "p99_e2el_ms", BOUND),          # an integer of 401 digits: no float holds it
    (vllm(output_throughput=1e15), "output_throughput", BOUND),
    (vllm(total_token_throughput=1e15), "total_token_throughput", BOUND),
    (vllm(request_throughput=1e15), "request_throughput", BOUND),
    (vllm(duration=1e13), "duration", BOUND),
    (vllm(total_input_tokens=BIG), "total_input_tokens", BOUND),
    (vllm(total_output_tokens=BIG), "total_output_tokens", BOUND),
    # the per-request arrays: a time in s past 10⁹ (10¹² ms), a token count past 10¹²
    (vllm(ttfts=[0.06] * 99 + [2e9], **VLLM_MEANS), "ttfts", "holds a time that is too large: " + CONVERTED),
    (vllm(itls=[[0.009, 0.009]] * 99 + [[0.009, 1e10]], **VLLM_ITLS), "itls",
     "holds a time that is too large: " + CONVERTED),
    (vllm(input_lens=[512] * 99 + [BIG], total_input_tokens=None), "input_lens",
     "holds a token count that is too large: " + BOUND),
    (vllm(output_lens=[10**400] * 100, total_output_tokens=None), "output_lens",   # was an OverflowError
     "holds a token count that is too large: " + BOUND),
    # SGLang
    (sglang(completed=BIG), "completed", BOUND),
    (sglang(mean_e2e_latency_ms=1e13), "mean_e2e_latency_ms", BOUND),
    (sglang(max_concurrency=BIG), "max_concurrency", BOUND),
    # AIPerf: each metric's statistics, the lengths, the counts, and a time once converted from seconds
    (aiperf(request_count={"unit": "requests", "avg": 1e18}), "request_count.avg", BOUND),
    (aiperf(time_to_first_token={"unit": "ms", "avg": 1e13}), "time_to_first_token.avg", BOUND),
    (aiperf(time_to_first_token={"unit": "s", "avg": 2e9}), "time_to_first_token.avg", CONVERTED),
    (aiperf(inter_token_latency={"unit": "ms", "avg": 11.1, "p50": 11.0, "p99": 1e13}), "inter_token_latency.p99",
     BOUND),
    (aiperf(request_latency={"unit": "ms", "avg": 1502.3, "p50": 1e13}), "request_latency.p50", BOUND),
    (aiperf(output_token_throughput={"unit": "tokens/sec", "avg": 1e13}), "output_token_throughput.avg", BOUND),
    (aiperf(input_sequence_length={"unit": "tokens", "avg": 1e13}), "input_sequence_length.avg", BOUND),
    (aiperf(output_sequence_length={"unit": "tokens", "avg": 1e13}), "output_sequence_length.avg", BOUND),
    (aiperf(input_config={"loadgen": {"concurrency": BIG, "request_count": 100}}), "input_config.loadgen.concurrency",
     BOUND),
    (aiperf(**LOADGEN), "input_config.loadgen.request_count", BOUND),
]


@pytest.mark.parametrize(("doc", "field", "words"), CASES, ids=[f"{i}-{c[1]}" for i, c in enumerate(CASES)])
def test_a_value_past_the_bound_is_said_too_large_with_the_bound(tmp_path, doc, field, words):
    d, text = refused(tmp_path, doc, field)
    said = words if words.startswith("holds") else f"is too large: {words}"
    assert d.message == f"field `{field}` {said}"
    assert d.hint == HINT and "not a positive" not in d.message
    assert d.span.line == line_of(text, field)
    shown = render(d)
    assert "1e+18" not in shown.replace(d.message, "") and str(BIG) not in shown and "Traceback" not in shown


def test_the_bound_itself_is_read(tmp_path):
    """10¹² is the most dagc reads, and read: a count, a time in ms, and 10⁹ s of `ttfts` (10¹² ms once converted)."""
    path = tmp_path / "run.json"
    # without the fixture's peak in flight (7), below which a cap at a rate is none (`run_counts.binding_cap`)
    doc = vllm(duration=MAX_FIGURE, mean_e2el_ms=1e12, max_concurrency=10**12, max_concurrent_requests=None)
    path.write_text(json.dumps(doc))
    (r,) = read_runs(path)
    assert r.measured["e2e_ms"] == 1e12 and r.concurrency == 10**12
    path.write_text(json.dumps({k: v for k, v in vllm(ttfts=[1e9] * 100, **VLLM_MEANS).items() if v is not None}))
    (r,) = read_runs(path)
    assert r.measured["ttft_ms"] == 1e12


def test_small_values_keep_their_words(tmp_path):
    """Below the bound nothing changes: a negative count is not a positive whole number, a time below 1e-6 ms not
    a positive number in the range."""
    d, _ = refused(tmp_path, vllm(completed=-3))
    assert d.message == "field `completed` is not a positive whole number"
    d, _ = refused(tmp_path, vllm(mean_ttft_ms=1e-9))
    assert d.message == "field `mean_ttft_ms` is not a positive number from 1e-06 up to 1e+12"


def test_dagc_calibrate_says_too_large_at_the_field_and_exits_4(tmp_path):
    """The new user's `vllm bench serve --save-result` JSON: `num_prompts` and `completed` 10**18."""
    (tmp_path / "plan.moe").write_text(
        'model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }\n'
        "workload { batch = 256  prompt = 512  generate = 128  serving = inflight  rate = 4 requests/s  "
        "requests = 100 }\nstrategy tp 8\n")
    doc = vllm(num_prompts=BIG, completed=BIG)
    (tmp_path / "run.json").write_text(json.dumps(doc, indent=2))
    r = run_dagc("calibrate", "run.json", "--plan", "plan.moe", "-o", "cal.json", cwd=tmp_path)
    assert r.returncode == 4
    line = list(doc).index("completed") + 2
    assert (f"run.json:{line}:3: error[E110]: field `completed` is too large: past 1e+12, the most dagc reads of a "
            "run's figure (docs/limits.md)") in r.stderr
    assert "not a positive whole number" not in r.stderr and str(BIG) not in r.stderr
    assert not (tmp_path / "cal.json").exists()
