"""A throughput requirement whose unit goes on in words — `tokens/s per GPU`, as dagc's own lines say it ("616.7 vs
211 tokens/s per GPU") — is told the unit as one word (`dagc.lang.per_unit.per_words_hint`). Until 2026-11-29 the
parser stopped at the word after `per`, and the hint was "requirements are written `ttft <= 10 s`", which the line
already was."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64 }
require {
  %s
}
strategy tp 8
"""


@pytest.mark.parametrize("written, meant", [
    ("throughput >= 100 tokens/ms per gpu", "throughput >= 100 tokens/ms/gpu"),
    ("decode_throughput >= 200 tokens/s per GPU", "decode_throughput >= 200 tokens/s/gpu"),
    ("decode_throughput >= 200 tokens per second per gpu", "decode_throughput >= 200 tokens/s/gpu"),
    ("prefill_throughput >= 5000 tokens per second", "prefill_throughput >= 5000 tokens/s"),
])
def test_a_throughput_unit_in_words_is_written_as_one(written, meant):
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN % written)
    (d,) = exc.value.diagnostics
    assert d.code == "E001" and d.span.line == 5
    assert d.hint == f"a unit is one word: write `{meant}`"
    load_plan_text(PLAN % meant)                                        # the line it writes reads


def test_another_requirement_keeps_the_general_hint():
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN % "ttft <= 2 s per request")
    (d,) = exc.value.diagnostics
    assert d.hint == "requirements are written `ttft <= 10 s`"
