"""A custom GPU's name holds no backtick: dagc's sentences name the GPU as it is called ("the `h100-sxm`'s 79.65 GiB",
"above the memory of one …", "one …'s NVLink domain holds …", "on …, which has no …"), and report.md reads those
sentences for dagc's code spans, so until 2026-11-30 a GPU named ``a`<b>`c`` turned `<b>` into a code
span of report.md and report.html in each of them. The name is now E104 at the name, before anything is priced;
and those sentences fence the name as a code span (tests/test_gpu_name_code_span.py), for a Plan built in Python."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from conftest import plan_text

CLUSTER = 'cluster {{ gpus = 4  gpu "{name}" {{ memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s }} }}'


def test_a_gpu_name_with_a_backtick_is_refused_at_the_name():
    text = plan_text(cluster=CLUSTER.format(name="a`<b>`c"), strategy="strategy tp 4")
    with pytest.raises(PlanError) as exc:
        load_plan_text(text, "p.moe")
    (d,) = exc.value.diagnostics
    line = text.splitlines()[1]
    assert (d.code, d.message) == ("E104", "a GPU's name holds no backtick: ``a`<b>`c``")
    assert d.hint == "dagc's reports quote the name in their sentences: write it without `` ` ``, e.g. `gpu \"a<b>c\"`"
    assert (d.span.line, d.span.column) == (2, line.index('"a`') + 1)


def test_a_gpu_name_of_other_punctuation_is_read():
    (r,) = check(load_plan_text(plan_text(cluster=CLUSTER.format(name="my <gpu> [64GB] *x*"),
                                          strategy="strategy tp 4"), "p.moe"))
    assert r.plan.cluster.gpu.name == "my <gpu> [64GB] *x*"
