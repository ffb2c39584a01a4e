"""A parallel degree written as a field at the top level of a plan (`tensor_parallel_size = 4`, as vLLM's config
spells it) is E001 whose hint is the strategy at the degree written — until 2026-12-03 `strategy tp 8` whatever it
was (dagc.lang.syntax_errors, `elsewhere`'s `degree`)."""

from __future__ import annotations

import pytest

from dagc import PlanError, load_plan_text

HEAD = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h200" }
workload { batch = 8  prompt = 100  generate = 100 }
"""


@pytest.mark.parametrize(("line", "axis", "degree"), [
    ("tensor_parallel_size = 4", "tp", "4"), ("ep-size: 16", "ep", "16"), ("tp 2", "tp", "2"),
    ("pipeline_parallel_size = x", "pp", "8"),          # no degree written: the example's
])
def test_the_hint_writes_the_degree_the_plan_wrote(line, axis, degree):
    with pytest.raises(PlanError) as exc:
        load_plan_text(HEAD + line + "\n")
    d = exc.value.diagnostics[0]
    assert d.code == "E001" and (d.span.line, d.span.column) == (4, 1)
    assert f"e.g. `strategy {axis} {degree}`, or `--strategy \"{axis} {degree}\"`" in (d.hint or "")
