"""A requirement named as serving benchmarks name their results — `vllm bench serve`'s and SGLang's
`output_throughput`, `total_token_throughput`, `request_throughput`, AIPerf's `output_token_throughput_per_user` — is
told dagc's requirement of the same quantity, its value kept and bounded from below (until 2026-12-02 the list of
every requirement's name); one request's rate of tokens is told the TPOT it is, 1 / rate."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from dagc.lang.overrides import load_plan_with
from conftest import plan_text

TRAFFIC = "workload { batch = 64  prompt = 2048  generate = 256  rate = 2 requests/s }"


def _hint(require: str) -> str:
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(workload=TRAFFIC, require=f"require {{ {require} }}"))
    (d,) = exc.value.diagnostics
    assert d.code == "E101" and d.message.startswith("unknown requirement")
    return d.hint


@pytest.mark.parametrize(("written", "meant"), [
    ("output_throughput >= 1000 tokens/s", "decode_throughput >= 1000 tokens/s"),
    ("output-token-throughput >= 2 tokens/ms/gpu", "decode_throughput >= 2 tokens/ms/gpu"),
    ("total_token_throughput >= 5000 tokens/s", "throughput >= 5000 tokens/s"),
    ("input_throughput >= 3 tokens/ms/gpu", "prefill_throughput >= 3 tokens/ms/gpu"),
    ("request_throughput >= 1.5 requests/s", "goodput >= 1.5 requests/s"),
    ("request_throughput <= 1.5 requests/s", "goodput >= 1.5 requests/s"),        # a floor, whatever was written
])
def test_a_benchmark_name_is_told_dagc_s_requirement(written, meant):
    hint = _hint(written)
    assert hint.startswith(f"did you mean `{meant}`?")
    load_plan_text(plan_text(workload=TRAFFIC, require=f"require {{ {meant} }}"))       # the hint's line is read


@pytest.mark.parametrize(("written", "tpot"), [
    ("output_token_throughput_per_user >= 30 tokens/s", "33.33 ms"),
    ("tokens_per_user >= 25", "40 ms"),                                      # a bare number: tokens/s
    ("tps_per_user >= 0.05 tokens/ms", "20 ms"),
    ("interactivity >= 50 tokens/s/user", "20 ms"),
])
def test_a_rate_of_one_request_is_told_its_tpot(written, tpot):
    hint = _hint(written)
    assert f"write `tpot <= {tpot}`" in hint and "inverse of its TPOT" in hint


def test_the_set_form_names_dagc_s_requirement_as_an_option(tmp_path):
    path = tmp_path / "p.moe"
    path.write_text(plan_text(workload=TRAFFIC))
    with pytest.raises(PlanError) as exc:
        load_plan_with(path, ["require.output_throughput=1000 tokens/s"])
    (d,) = exc.value.diagnostics
    # `--set` writes a requirement of unknown name as a ceiling: the hint is the floor a throughput is
    assert d.hint.startswith("did you mean `--set 'require.decode_throughput=1000 tokens/s'`?")
    (req,) = load_plan_with(path, ["require.decode_throughput=1000 tokens/s"]).requirements
    assert (req.op, req.target) == (">=", 1000.0)
