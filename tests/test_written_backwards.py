"""A requirement written on the wrong side of its figure — a latency from below (`ttft >= 2 s`, W522), a throughput
or goodput from above (`throughput <= 1000 tokens/s`, W523) — is almost surely a mistyped comparator: a located
warning whose hint says what was meant ("did you mean `ttft <= 2 s`?"). It is judged as written, and while a
strategy misses it no next step is offered: each would make the deployment slower (issue: `require { ttft >= 2 s }`
on Mixtral 8x7B, 8 H100s, `tp 8` got "8-bit weights" and "64 GPUs" as next steps)."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.rules.requirements import written_backwards
from dagc.verdict.check import check
from dagc.verdict.next_steps import with_next_steps

PLAN = """model preset "mixtral-8x7b"
cluster {{ gpus = 8  gpu preset "h100-sxm" }}
workload {{ batch = 32  prompt = 512  generate = 64{traffic} }}
require {{ {req} }}
strategy tp 8
"""
TRAFFIC = "  serving = inflight  rate = 4 requests/s  requests = 100"


def _checked(req: str, traffic: str = ""):
    [r] = check(load_plan_text(PLAN.format(req=req, traffic=traffic)))
    return r


def _flagged(r):
    return [(d.code, d.span.line, d.span.column, d.hint) for d in r.diagnostics if d.code in ("W522", "W523")]


def test_ttft_as_a_floor_is_located_with_its_hint_and_gets_no_next_steps():
    r = _checked("ttft >= 2 s")
    # line 4, column 11: `require { ` is ten characters
    assert _flagged(r) == [("W522", 4, 11, "did you mean `ttft <= 2 s`? Latency targets are upper bounds")]
    (d,) = [d for d in r.diagnostics if d.code == "W522"]
    assert d.message == "`ttft >= 2 s` asks for its TTFT to be at least its target: a faster deployment misses it"
    # judged as written: a TTFT of 170 ms is not at least 2 s
    (q,) = r.requirements
    assert q.value is not None and q.value < 0.2 and q.met is False and r.verdict.meets_requirements is False
    [r] = with_next_steps([r])
    assert r.next_steps == ()                # before: 8-bit weights, then 64 GPUs, each making TTFT shorter


@pytest.mark.parametrize(("req", "traffic", "code", "column", "meant"), [
    ("tpot > 20 ms", "", "W522", 11, "tpot < 20 ms"),
    ("ttft <= 2 s  e2e_p99 >= 5 s", TRAFFIC, "W522", 24, "e2e_p99 <= 5 s"),
    ("itl_p90 >= 30 ms", TRAFFIC, "W522", 11, "itl_p90 <= 30 ms"),
    ("decode_throughput <= 2 tokens/ms/gpu", "", "W523", 11, "decode_throughput >= 2 tokens/ms/gpu"),
    ("prefill_throughput < 1000 tokens/s", "", "W523", 11, "prefill_throughput > 1000 tokens/s"),
    ("goodput <= 2 requests/s", TRAFFIC, "W523", 11, "goodput >= 2 requests/s"),
])
def test_each_latency_floor_and_throughput_ceiling_is_flagged_where_written(req, traffic, code, column, meant):
    flagged = _flagged(_checked(req, traffic))
    assert [(c, line, col) for c, line, col, _ in flagged] == [(code, 4, column)]
    assert flagged[0][3].startswith(f"did you mean `{meant}`?")


@pytest.mark.parametrize("req", ["ttft <= 2 s", "tpot_p99 < 40 ms", "throughput >= 1000 tokens/s", "memory <= 90 %",
                                 "gpus <= 8", "gpus >= 4", "decode_throughput >= 0.1 tokens/ms/gpu"])
def test_a_requirement_on_its_own_side_is_not_flagged(req):
    r = _checked(req, TRAFFIC if "_p" in req else "")
    assert _flagged(r) == []
    assert not any(written_backwards(q.requirement) for q in r.requirements)


def test_a_throughput_ceiling_that_is_missed_gets_no_next_steps_either():
    """`decode_throughput <= 0.1 tokens/ms/gpu` (100 tokens/s per GPU): `tp 8` serves more, so it misses."""
    r = _checked("decode_throughput <= 0.1 tokens/ms/gpu")
    assert [c for c, *_ in _flagged(r)] == ["W523"]
    (q,) = r.requirements
    assert q.value is not None and q.value > 100 and q.met is False
    [r] = with_next_steps([r])
    assert r.next_steps == ()
