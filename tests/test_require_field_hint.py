"""A field of another block written in `require { … }` (`weights = fp8`) is E001 at its `=`, hinted with the block it
belongs to, where the hint was how a requirement is written; a requirement written with `=` keeps that hint."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = ('model preset "qwen3-30b-a3b"\ncluster {{ gpus = 4 gpu preset "h200" }}\n'
        "workload {{ batch = 64 prompt = 1000 generate = 100 }}\nrequire {{ {line} }}\nstrategy tp 4\n")


def _e001(line: str) -> tuple[int, int, str, str]:
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.format(line=line))
    [d] = exc.value.diagnostics
    assert d.code == "E001" and d.span is not None
    return d.span.line, d.span.column, d.span.text, d.hint or ""


@pytest.mark.parametrize(("line", "hint"), [
    ("weights = fp8", "`weights` is a field of `model { … }`: move the line there"),
    ("engine = vllm", "`engine` is a field of `cluster { … }`: move the line there"),
    ("tp = 8", "`tp` is a parallel degree, which the strategy gives, not a field: e.g. `strategy tp 8`, or "
               "`--strategy \"tp 8\"` (an axis and its degree; docs/language.md, \"strategy\")"),
    ("ttft = 1 s", "requirements are written `ttft <= 10 s`"),
])
def test_a_field_in_require_names_its_block(line, hint):
    at = line.index("=")
    assert _e001(line) == (4, len("require { ") + at + 1, "=", hint)
