"""A strategy whose weights alone exceed its GPU (E402, the plan's batch priced as if it fit): report.md's summary
said "Meets the requirements: yes" for a plan without requirements, and its figures read as the deployment's
(2026-12-03)."""

from __future__ import annotations

from dagc.export.summary import summary_md
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from conftest import plan_text

TEXT = plan_text(model='model preset "mixtral-8x7b"', cluster='cluster { gpus = 1  gpu preset "h100-sxm" }',
                 workload="workload { batch = 64  prompt = 2048  generate = 256 }", strategy="strategy tp 1")


def test_an_invalid_strategy_meets_nothing_even_without_requirements():
    [r] = check(load_plan_text(TEXT))
    assert not r.valid and r.verdict.meets_requirements is False
    said = "\n".join(summary_md(r))
    assert "**Meets the requirements: no.** A strategy that is not correct cannot be deployed" in said
    assert "Meets the requirements: yes" not in said


def test_its_figures_are_said_not_to_be_a_deployments():
    [r] = check(load_plan_text(TEXT))
    assert r.metrics is not None and r.figures_requests is None          # priced at the plan's batch of 64
    assert r.figures_requests_text == ("the strategy has errors, so these figures are not a deployment's: dagc "
                                       "priced the plan's batch of 64 as if they were not there; no requirement is "
                                       "judged on them")
    [ok] = check(load_plan_text(TEXT.replace("gpus = 1", "gpus = 2").replace("tp 1", "tp 2")))
    assert ok.valid and ok.figures_requests_text is None


def test_a_requirement_is_not_judged_on_an_invalid_strategys_figures_in_the_summary():
    """report.md's summary went on "`ttft <= 2 s` is not met: the strategy gives 5.946 s" for a strategy whose figures
    it says are not a deployment's (2026-12-03)."""
    [r] = check(load_plan_text(TEXT.replace("strategy tp 1", "require { ttft <= 2 s }\nstrategy tp 1")))
    said = "\n".join(summary_md(r))
    assert "**Meets the requirements: no.** A strategy that is not correct cannot be deployed" in said
    assert "is not met" not in said and "5.9" not in said.partition("Meets the requirements")[2].partition("\n")[0]


def test_one_gpu_is_said_as_one():
    [r] = check(load_plan_text(TEXT))
    (e,) = [d for d in r.diagnostics if d.code == "E402"]
    assert "at least about 1 GPU, which this one holds)" in e.hint          # was "which these 1 hold"
