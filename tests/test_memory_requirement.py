"""A memory requirement in bytes above the GPU's memory (`memory <= 200 GB` on an H200, 140.40 GiB) bounds nothing,
and one written as a floor there cannot be met: W524, located at the requirement, with a hint. It was accepted
silently: the engine's memory share dagc sizes the KV cache from stops at the GPU's memory."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = """model preset "mixtral-8x7b"
cluster {{ gpus = 8  gpu preset "{gpu}" }}
workload {{ batch = 32  prompt = 512  generate = 64 }}
require {{ ttft <= 2 s  {req} }}
strategy tp 8
"""


def _w524(req: str, gpu: str = "h200"):
    [r] = check(load_plan_text(PLAN.format(req=req, gpu=gpu)))
    return r, [d for d in r.diagnostics if d.code == "W524"]


def test_a_memory_ceiling_above_the_gpu_is_located_with_its_hint_and_judged_as_written():
    r, (d,) = _w524("memory <= 200 GB")
    # line 4, column 24: `require { ttft <= 2 s  ` is 23 characters; an H200 holds 143,771 MiB = 140.40 GiB
    assert (d.span.line, d.span.column) == (4, 24)
    assert d.message == ("`memory <= 200 GB` is above the memory of one `h200`, 140.40 GiB (143,771 MiB): it bounds "
                         "nothing: every strategy that fits the GPU meets it")
    assert d.hint == ("memory requirements are per GPU: write a share of its memory (`memory <= 90 %`) or a size at "
                      "most 143,771 MiB, the GPU's own, rounded down")
    (_, mem) = r.requirements
    assert mem.met is True                         # judged as written


@pytest.mark.parametrize(("req", "gpu", "flagged"), [
    ("memory >= 200 GB", "h200", True),            # a floor no GPU of 140.40 GiB reaches
    ("memory <= 140 GB", "h200", False),           # 140e9 bytes: below 143,771 MiB (150.76e9 bytes)
    ("memory <= 90 %", "h200", False),             # a share: a value above 100 % is refused as it is read
    ("memory <= 100 GB", "h100-sxm", True),        # an H100 holds 81,559 MiB (85.5e9 bytes)
    ("memory <= 81559 MiB", "h100-sxm", False),    # the size the hint gives: not flagged again
    ("memory <= 79.65 GiB", "h100-sxm", True),     # 81,561.6 MiB: the GiB figure, rounded, is above it
])
def test_which_memory_requirements_are_above_the_gpu(req, gpu, flagged):
    _, found = _w524(req, gpu)
    assert bool(found) is flagged
