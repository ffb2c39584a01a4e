"""An engine's release written as other tools write it — `sglang 0.5.6`, `sglang==0.5.6`, `vllm-0.11.0`,
`vllm v0.11.0`, `vllm@v0.11.0`, quoted, unquoted or in `--set` — gets the hint `engine = sglang@0.5.6`, where it
was "unknown engine `sglang 0.5.6`" with the list of engines, "fields are written `name = value`", "remove it" or
--set's list of what a value may be."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from dagc.lang.overrides import load_plan_with

PLAN = ('model preset "qwen3-30b-a3b"\ncluster {{ gpus = 8  gpu preset "h200"  engine = {engine} }}\n'
        "workload {{ batch = 64  prompt = 2000  generate = 300 }}\nstrategy tp 8\n")


def _error(engine: str):
    with pytest.raises(PlanError) as err:
        load_plan_text(PLAN.format(engine=engine))
    (d,) = err.value.diagnostics
    return d


@pytest.mark.parametrize("engine, meant", [
    ('"sglang 0.5.6"', "sglang@0.5.6"), ('"sglang==0.5.6"', "sglang@0.5.6"), ('"vllm-0.11.0"', "vllm@0.11.0"),
    ('"vllm v0.11.0"', "vllm@0.11.0"), ('"VLLM 0.11.0"', "vllm@0.11.0"),
    ("sglang 0.5.6", "sglang@0.5.6"), ("sglang==0.5.6", "sglang@0.5.6"), ("vllm-0.11.0", "vllm@0.11.0"),
    ("vllm v0.11.0", "vllm@0.11.0"), ("vllm@v0.11.0", "vllm@0.11.0"),
])
def test_the_hint_writes_the_release_after_the_at(engine, meant):
    d = _error(engine)
    assert d.code in ("E001", "E101") and d.hint == f"an engine's release follows `@`: `engine = {meant}`"


def test_a_release_with_a_v_is_said_a_release_and_other_names_keep_their_hints():
    assert _error("vllm@v0.11.0").message == "unknown release `v0.11.0` of vLLM"
    assert _error('"foo 1.0"').hint == "the engines dagc knows: `vllm`, `sglang`, `trtllm`, `pytorch`"
    assert load_plan_text(PLAN.format(engine="vllm@0.11.0")).cluster.engine.release == "0.11.0"


@pytest.mark.parametrize("value", ["sglang 0.5.6", "sglang==0.5.6", "sglang-0.5.6"])
def test_a_set_of_the_engine_says_it_too(tmp_path, value):
    path = tmp_path / "p.moe"
    path.write_text(PLAN.format(engine="vllm"))
    with pytest.raises(PlanError) as err:
        load_plan_with(path, [f"cluster.engine={value}"])
    (d,) = err.value.diagnostics
    assert d.hint == "an engine's release follows `@`: --set cluster.engine=sglang@0.5.6"


@pytest.mark.parametrize("limit, size", [("150", "150 GB"), ("150000", "150000 MiB")])
def test_a_memory_limit_past_100_without_a_unit_is_asked_whether_it_is_a_size(limit, size):
    """`memory <= 150` on GPUs of 141 or 179 GiB: a size without its unit, not a share of 15,000 % (the hint said
    "dagc accepts at most 100 %"); `memory <= 90` keeps its hint, 90 %."""
    text = PLAN.format(engine="vllm").replace("strategy", f"require {{ memory <= {limit} }}\nstrategy")
    with pytest.raises(PlanError) as err:
        load_plan_text(text)
    (d,) = err.value.diagnostics
    assert d.code == "E104" and d.hint == (f"a bare number is a share of the GPU's memory, at most 1: did you mean "
                                           f"the size `memory <= {size}`?")
    with pytest.raises(PlanError) as err:
        load_plan_text(text.replace(f"<= {limit}", "<= 90"))
    assert err.value.diagnostics[0].hint == "did you mean `memory <= 90 %`? (or the fraction `memory <= 0.9`)"
