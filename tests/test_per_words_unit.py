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



ONE_LINE = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64 }
require { %s }
strategy tp 8
"""


@pytest.mark.parametrize("written, unit, meant", [
    # seed 003's requirements as a user writes them, in the one-line block the README shows
    ("ttft <= 10s  decode_throughput >= 10 {} memory <= 64 GB  gpus <= 64", "tokens/ms per GPU",
     "decode_throughput >= 10 tokens/ms/gpu"),
    ("ttft <= 2 s  throughput >= 5 {}", "tokens per second per gpu", "throughput >= 5 tokens/s/gpu"),
    ("decode_throughput >= 200 {} memory <= 90 %", "tokens/s per GPU", "decode_throughput >= 200 tokens/s/gpu"),
])
def test_a_unit_in_words_in_a_block_on_one_line_is_written_as_one(written, unit, meant):
    """Until 2026-11-30 the requirement before it on the line (`ttft <= 10s`) was taken for the one whose unit goes on
    in words, and the hint was "requirements are written `ttft <= 10 s`"; the next one (`memory`) is no word of the
    unit."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(ONE_LINE % written.format(unit + " "))
    (d,) = exc.value.diagnostics
    assert d.code == "E001" and d.span.line == 4
    assert d.hint == f"a unit is one word: write `{meant}`"
    load_plan_text(ONE_LINE % written.format(meant.rsplit(" ", 1)[1] + " "))     # the unit it writes reads


@pytest.mark.parametrize("written, hint, meant", [
    # a `/` spaced: the parser stopped at it and said "remove it"
    ("decode_throughput >= 10 tokens / ms / gpu", "a unit is one word: write `decode_throughput >= 10 tokens/ms/gpu`",
     "decode_throughput >= 10 tokens/ms/gpu"),
    ("throughput >= 640 tokens / ms", "a unit is one word: write `throughput >= 640 tokens/ms`",
     "throughput >= 640 tokens/ms"),
    # `per-gpu` as one word: "requirements are written `ttft <= 10 s`", or on the next line's `ttft` "a percentile is
    # part of the requirement's name"
    ("decode_throughput >= 10 tokens/ms per-gpu", "a unit is one word: write `decode_throughput >= 10 tokens/ms/gpu`",
     "decode_throughput >= 10 tokens/ms/gpu"),
])
@pytest.mark.parametrize("layout", ["one line", "a line each"])
def test_a_throughput_unit_in_pieces_is_written_as_one(written, hint, meant, layout):
    text = (ONE_LINE % f"ttft <= 10 s  {written}  memory <= 90 %") if layout == "one line" else \
        (PLAN % f"{written}\n  ttft <= 10 s")
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    (d,) = exc.value.diagnostics
    assert d.code == "E001" and d.hint == hint, d.hint
    load_plan_text(text.replace(written, meant))                          # the line it writes reads


@pytest.mark.parametrize("written, meant", [
    ("10 tokens/ms/device", "10 tokens/ms/gpu"),     # was told `tokens/ms`: the whole deployment's, 1/64 of it here
    ("10 tokens/msec/gpu", "10 tokens/ms/gpu"),
    ("500 tok/sec/card", "500 tokens/s/gpu"),
])
def test_a_per_gpu_unit_under_another_name_keeps_its_gpu(written, meant):
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN % f"decode_throughput >= {written}")
    (d,) = exc.value.diagnostics
    unit = meant.split()[1]
    assert d.code == "E101" and d.hint == (f"did you mean `{unit}`? (`{written.split()[1]}` is {unit}: "
                                           f"`decode_throughput >= {meant}`)"), d.hint
    plan = load_plan_text(PLAN % f"decode_throughput >= {meant}")
    assert plan.requirements[0].per_gpu
