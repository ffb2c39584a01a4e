"""A plan that names no engine is priced as vLLM serves it; a strategy vLLM cannot start but another engine can is
said (N607), with the engines that start it and how to price it for one (until 2026-12-03 nothing said so: the
plan's `tp 4 ; ep 2 etp 2` read "correct: yes", its figures vLLM's)."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check
from conftest import plan_text

TEXT = plan_text(model='model preset "qwen3-30b-a3b"', cluster='cluster { gpus = 8  gpu preset "h100-sxm" }',
                 workload="workload { batch = 32  prompt = 2048  generate = 256 }",
                 strategy="strategy tp 4 ; ep 2 etp 2")


def _notes(text: str):
    [result] = check(load_plan_text(text))
    return result, [d for d in result.diagnostics if d.code == "N607"]


def test_the_default_engines_refusal_is_noted_with_the_engines_that_start_it():
    result, (note,) = _notes(TEXT)
    assert note.message == ("vLLM, the engine dagc prices this plan for (it names none), cannot start this strategy "
                            "(E702: `dagc launch`); SGLang and TensorRT-LLM can")
    assert note.hint.startswith("name the engine you will run, `cluster { engine = sglang }`")
    assert note.span.text == "ep 2" and result.verdict.correct          # the plan chose no engine to refuse it


def test_no_note_when_the_default_engine_starts_it_or_the_plan_names_one():
    assert _notes(TEXT.replace("tp 4 ; ep 2 etp 2", "tp 4 ; ep 4"))[1] == []
    named = TEXT.replace('"h100-sxm" }', '"h100-sxm"  engine = sglang }')
    assert _notes(named)[1] == []                                    # SGLang starts it: nothing to say


def test_every_engine_refusing_is_still_w533_alone():
    result, notes = _notes(TEXT.replace("tp 4 ; ep 2 etp 2", "tp 4 sp ; ep 4"))
    assert notes == [] and "W533" in {d.code for d in result.diagnostics}
