"""A request's own rate of tokens where a latency goes — `tpot >= 30 tokens/s`, the "30 tokens/s per user" an engine's
dashboard shows — or as a throughput per user, `decode_throughput >= 30 tokens/s/user`: the hint is the TPOT it is,
1 / rate, as an upper bound. Until 2026-12-02 the first was told "for example `tpot >= 50 ms`", the operator kept (a
requirement W522 then calls backwards), and the second the deployment's throughput units, `decode_throughput >= 30
tokens/s`, a target hundreds of times lower than what was meant."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from dagc.lang.overrides import load_plan_with
from conftest import plan_text

TRAFFIC = "workload { batch = 64  prompt = 2048  generate = 256  rate = 2 requests/s }"


def _error(require: str):
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(workload=TRAFFIC, require=f"require {{ {require} }}"))
    (d,) = [d for d in exc.value.diagnostics if d.is_error]
    return d


@pytest.mark.parametrize(("written", "code", "rewrite"), [
    ("tpot >= 30 tokens/s", "E102", "tpot <= 33.33 ms"),                  # 1 / 30 s
    ("tpot <= 30 tokens/s", "E102", "tpot <= 33.33 ms"),
    ("tpot_p90 >= 0.04 tokens/ms", "E102", "tpot_p90 <= 25 ms"),           # 40 tokens/s: 1 / 40 s
    ("itl_p99 >= 20 tokens/s", "E102", "itl_p99 <= 50 ms"),
    ("tpot >= 0.5 tokens/s", "E102", "tpot <= 2 s"),
    ("decode_throughput >= 30 tokens/s/user", "E101", "tpot <= 33.33 ms"),
    ("decode_throughput >= 0.05 tokens/ms/request", "E101", "tpot <= 20 ms"),
])
def test_a_token_rate_of_one_request_is_told_its_tpot(written, code, rewrite):
    d = _error(written)
    assert d.code == code
    assert d.hint.endswith(f"write `{rewrite}`")
    assert ">= 50 ms" not in d.hint
    kind = rewrite.split()[0]
    # the rewrite itself is a plan dagc reads, without W522 (a latency bounded from below)
    plan = load_plan_text(plan_text(workload=TRAFFIC, require=f"require {{ {rewrite} }}"))
    (req,) = plan.requirements
    assert req.op == "<=" and str(req.kind.value) == kind.partition("_")[0]


@pytest.mark.parametrize("written", ["ttft >= 30 tokens/s", "tpot >= 30 tokens/s/gpu", "tpot >= 0 tokens/s"])
def test_a_latency_that_is_no_request_rate_keeps_its_example_bounded_from_above(written):
    """A TTFT is no rate of tokens, nor a per-GPU throughput a request's: the example is a latency, with `<=`."""
    d = _error(written)
    assert d.code == "E102"
    name = written.split()[0]
    assert d.hint == f"for example `{name} <= 50 ms`: a latency is bounded from above"


def test_a_bandwidth_for_a_latency_keeps_its_hint():
    """Another dimension than a throughput is not read as a rate of tokens."""
    d = _error("ttft <= 2 GB/s")
    assert d.hint == "for example `ttft <= 50 ms`"


def test_the_set_form_of_the_hint_is_an_option_dagc_takes(tmp_path):
    path = tmp_path / "p.moe"
    path.write_text(plan_text(workload=TRAFFIC))
    for option, told in (("require.tpot=30 tokens/s", "require.tpot=33.33 ms"),
                         ("require.decode_throughput=30 tokens/s/user", "require.tpot=33.33 ms")):
        with pytest.raises(PlanError) as exc:
            load_plan_with(path, [option])
        (d,) = exc.value.diagnostics
        assert d.hint.endswith(f"write `--set '{told}'`")
        plan = load_plan_with(path, [told])                 # the option the hint writes
        assert [r.target for r in plan.requirements] == [pytest.approx(0.03333)]   # 33.33 ms
