"""Requirements as seed 004 writes them: "Latency: 50ms" and "<64GB per GPU". `latency <= 50 ms` got the list of 24
requirement names, and `memory <= 64 GB/gpu` the hint "`memory` takes a ratio in `%`, e.g. `memory <= 64 %`" — 64 %
of the GPU where the user meant 64 GB of it (dagc.lang.requirements)."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from conftest import plan_text


def _only(require: str):
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(require=f"require {{ {require} }}"))
    (d,) = exc.value.diagnostics
    return d


@pytest.mark.parametrize("written, kept", [
    ("memory <= 64 GB/gpu", "memory <= 64 GB"),
    ("memory < 80 GiB/GPU", "memory < 80 GiB"),
    ("memory <= 64GB/gpu", "memory <= 64 GB"),
])
def test_a_memory_limit_per_gpu_keeps_its_size(written, kept):
    d = _only(written)
    assert d.code == "E101" and d.message == f"unknown unit `{written.split()[-1].lstrip('0123456789')}`"
    assert d.hint == f"`memory` bounds each GPU's memory already: write `{kept}`", d.hint
    load_plan_text(plan_text(require=f"require {{ {kept} }}"))        # the hint's line reads


def test_latency_is_told_the_requirements_it_may_mean():
    d = _only("latency <= 50 ms")
    assert d.code == "E101" and d.message == "unknown requirement `latency`"
    assert d.hint == ("`latency` is not one of dagc's requirements: between two tokens of a request it is `tpot <= "
                      "50 ms`, to the first token `ttft <= 50 ms`, a request's whole time under traffic "
                      "`e2e_p50 <= 50 ms` (or another percentile)"), d.hint
    load_plan_text(plan_text(require="require { tpot <= 50 ms }"))
