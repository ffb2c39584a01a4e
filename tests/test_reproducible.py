"""The optimal verdict a user can reproduce and steer (SPEC 3.4, 3.5, 9): strategies carry their
execution options, every printed strategy evaluates to the same figures, the plan names its
objective, and the search gives the same answer on every run."""

from __future__ import annotations

import json

import pytest

from dagc.diagnostics import PlanError
from dagc.export.optimal_words import evidence_json
from dagc.export.result_json import metrics_json
from dagc.export.search_json import search_json
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text, parse_strategy
from dagc.plan.objective import OBJECTIVES
from dagc.plan.workload import Overlap
from dagc.search.search import cpu_count, objective_picks, search
from dagc.verdict.check import check
from conftest import plan_text

MIXTRAL = plan_text(cluster='cluster { gpus = 8  gpu preset "h100-sxm" }',
                    workload="workload { batch = 32  prompt = 1024  generate = 64 }", strategy="strategy tp 8")


# prefill-heavy: the strategy with the most decode tokens/s per GPU is not the one with the shortest TTFT
PREFILL_HEAVY = plan_text(model='model preset "qwen3-30b-a3b"', cluster='cluster { gpus = 4  gpu preset "h100-sxm" }',
                          workload="workload { batch = 32  prompt = 8192  generate = 16 }", strategy="strategy tp 4")


def codes(text: str) -> list[str]:
    decl = parse_strategy(text)
    s, diags = flatten(decl)
    return [d.code for d in diags]


def test_options_parse_into_the_strategy_and_its_text():
    decl = parse_strategy("fast = tp 4 ;ep 8   with microbatches 2  overlap microbatch")
    assert decl.name == "fast" and decl.text == "tp 4 ; ep 8 with microbatches 2 overlap microbatch"
    s, diags = flatten(decl)
    assert not diags and (s.microbatches, s.overlap) == (2, Overlap.MICROBATCH)
    assert flatten(parse_strategy("tp 4"))[0].microbatches is None
    plan = load_plan_text(plan_text(strategy="strategy a = pp 2 < tp 4 > with microbatches 8"))
    assert plan.strategies[0].text == "pp 2 < tp 4 > with microbatches 8"


@pytest.mark.parametrize("text, code", [
    ("tp 4 with microbatch 2", "E101"),             # unknown option (did you mean `microbatches`?)
    ("tp 4 with microbatches 0", "E104"),
    ("tp 4 with microbatches 2.5", "E104"),
    ("tp 4 with overlap sometimes", "E101"),
    ("tp 4 with overlap none overlap none", "E104"),
])
def test_bad_options_are_located_diagnostics(text, code):
    assert codes(text) == [code]


def test_an_option_without_a_value_is_a_syntax_error():
    with pytest.raises(PlanError) as e:
        parse_strategy("tp 4 with microbatches")
    assert e.value.diagnostics[0].code == "E001"


def test_options_override_the_workload():
    plan = load_plan_text(MIXTRAL)
    own = check(plan, strategy="tp 8 with microbatches 2 overlap microbatch")[0]
    rewritten = load_plan_text(MIXTRAL.replace("generate = 64 }", "generate = 64  microbatches = 2  "
                                                                  "overlap = microbatch }"))
    other = check(rewritten, strategy="tp 8")[0]
    assert own.layout.microbatches == 2 and own.plan.workload.overlap is Overlap.MICROBATCH
    assert own.metrics == other.metrics


def test_every_strategy_the_search_prints_evaluates_to_its_figures():
    plan = load_plan_text(MIXTRAL)
    found = search(plan, top=30)                     # the 30 shown are re-scored exactly
    assert found.complete and len(found.ranked) >= 30
    for c in found.ranked[:30]:
        assert c.exact and " with microbatches " in c.text and " overlap " in c.text
        r = check(plan, strategy=c.text)[0]           # pasted verbatim
        assert r.valid
        for key in ("ttft_s", "tpot_s", "decode_tokens_per_s"):
            assert metrics_json(r.metrics)[key] == pytest.approx(metrics_json(c.metrics)[key], rel=1e-9), (c.text, key)
    # and as a plan line
    line = load_plan_text(MIXTRAL.replace("strategy tp 8", f"strategy best = {found.best.text}"))
    assert check(line)[0].metrics.tpot_s == pytest.approx(found.best.metrics.tpot_s, rel=1e-9)


def test_the_verdict_names_a_strategy_that_reproduces():
    plan = load_plan_text(MIXTRAL)
    found = search(plan)
    (r,) = check(plan, optimality=found)
    ev = evidence_json(r.optimality, r)
    assert r.verdict.optimal is False and ev["best_strategy"] == found.best.text
    again = check(plan, strategy=ev["best_strategy"])[0]
    assert again.metrics.decode_tokens_per_s / again.layout.gpus_used == pytest.approx(ev["best_score"], rel=1e-9)


def test_the_plan_names_its_objective():
    plan = load_plan_text(MIXTRAL + "\nobjective = ttft")
    assert plan.objective == "ttft"
    assert load_plan_text(MIXTRAL).objective == "tokens-per-gpu"
    with pytest.raises(PlanError) as e:
        load_plan_text(MIXTRAL + "\nobjective = fastest")
    (d,) = e.value.diagnostics
    assert d.code == "E101" and "objective" in d.message and d.span.line == MIXTRAL.count("\n") + 2


def test_the_objective_changes_the_verdict():
    """A prefill-heavy plan: the strategy with the most decode tokens/s per GPU is not the one with
    the shortest TTFT."""
    text = PREFILL_HEAVY
    per_gpu = search(load_plan_text(text))
    ttft = search(load_plan_text(text + "\nobjective = ttft"), objective="ttft")
    assert per_gpu.best.text != ttft.best.text
    assert ttft.best.metrics.ttft_s == min(c.metrics.ttft_s for c in ttft.ranked if c.meets_requirements)
    (r,) = check(load_plan_text(text + "\nobjective = ttft"), optimality=ttft)
    ev = evidence_json(r.optimality, r)
    assert "shorter TTFT" in ev["note"] and ev["objective"] == "ttft"


def test_the_search_is_the_same_on_every_run():
    plan = load_plan_text(MIXTRAL)

    def answer(**kw):
        data = search_json(search(plan, **kw))
        data.pop("seconds")
        return data

    one = answer()
    assert one == answer()
    if cpu_count() > 1:
        assert one == answer(jobs=2)


def test_the_pareto_front_holds_only_what_meets_the_requirements(tmp_path):
    import xml.etree.ElementTree as ET

    from dagc.export.compile import CompileOptions, compile_results
    from dagc.export.output_dir import compile_plot
    from dagc.export.pareto import pareto_svg

    text = MIXTRAL.replace("strategy tp 8", "require { tpot <= 20 ms }\nstrategy tp 8")
    plan = load_plan_text(text)
    found = search(plan)
    assert found.pareto and all(c.meets_requirements for c in found.pareto)
    assert any(not c.meets_requirements for c in found.ranked)       # some miss: they stay off the front
    svg = pareto_svg(found, "t", [], plan.requirements)
    root = ET.fromstring(svg)
    lines = [e for e in root.iter("{http://www.w3.org/2000/svg}line") if e.get("class") == "requirement"]
    assert len(lines) == 1                                             # TPOT ≤ 20 ms: one dashed vertical
    assert "dashed: requirements" in svg
    # compile writes the plot beside the reports and report.md shows it
    results = check(plan, optimality=found)
    written = compile_results(plan, results, tmp_path / "out", CompileOptions(pareto_svg=svg))
    assert (tmp_path / "out" / "pareto.svg").read_text() == compile_plot(svg)     # marked as a compile's own
    assert tmp_path / "out" / "pareto.svg" in written[-1].files                # and says it wrote it
    assert "![Pareto front](pareto.svg)" in (tmp_path / "out" / "report.md").read_text()


def test_what_each_objective_picks_is_its_own_search_and_reproducible():
    """`objective_picks` gives, per objective, the best of that objective's own search; each pick
    pasted back through `--strategy` evaluates to the figures it is shown with."""
    plan = load_plan_text(PREFILL_HEAVY)
    found = search(plan, top=5)
    picks = objective_picks(plan, found, top=5)
    assert list(picks) == list(OBJECTIVES) and picks["tokens-per-gpu"] is found.best
    for objective, pick in picks.items():
        assert pick is not None and pick.text == search(plan, objective=objective, top=5).best.text
        (r,) = check(plan, strategy=pick.text)
        assert (r.metrics.ttft_s, r.metrics.tpot_s) == pytest.approx(
            (pick.metrics.ttft_s, pick.metrics.tpot_s), rel=1e-9)
    assert picks["ttft"].text != picks["tokens-per-gpu"].text           # a prefill-heavy plan: they disagree
    (r,) = check(plan, optimality=found, picks=picks)
    shown = evidence_json(r.optimality, r)["by_objective"]
    assert shown["ttft"]["strategy"] == picks["ttft"].text
    assert shown["ttft"]["ttft_s"] == picks["ttft"].metrics.ttft_s
    assert shown["tpot"]["tpot_s"] == min(p["tpot_s"] for p in shown.values() if p["meets_requirements"])


def test_compile_reports_what_each_objective_would_pick(tmp_path):
    from dagc.cli import main as cli
    path = tmp_path / "prefill.moe"
    path.write_text(PREFILL_HEAVY)
    assert cli.main(["compile", str(path), "-o", str(tmp_path / "out"), "--jobs", "1"]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    picks = report["verdict"]["optimal_evidence"]["by_objective"]
    assert list(picks) == list(OBJECTIVES)
    md = (tmp_path / "out" / "report.md").read_text()
    assert "The objectives disagree" in md
    for pick in picks.values():
        assert f"`{pick['strategy']}`" in md
