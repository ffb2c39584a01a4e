"""`sp` on the engines: no engine has a setting for it among the flags checked against its parser (E709,
dagc.launch.sp), so `dagc launch` refuses it with the nearest strategy it runs, `check` on a plan that chose
its engine rejects it, and the search leaves it out there (docs/launch.md, docs/search.md)."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check as engine_check
from dagc.search.search import search
from conftest import plan_text

MIXTRAL_SGLANG = dict(cluster='cluster { gpus = 8  gpu preset "h100-sxm"  engine = sglang }',
                      workload="workload { batch = 64  prompt = 2048  generate = 256 }")


def _has_sp(strategy) -> bool:
    return strategy.sp or any(p.strategy.sp and p.strategy.tp > 1 for p in strategy.pools)


def test_check_on_the_plans_engine_refuses_sp_and_names_the_strategy_without_it():
    (r,) = engine_check(load_plan_text(plan_text(**MIXTRAL_SGLANG, strategy="strategy tp 8 sp")))
    (d,) = [d for d in r.diagnostics if d.code == "E709"]
    assert d.message.startswith("SGLang: `sp` (sequence-parallel activations in the tp 8 group")
    assert d.hint.startswith("the nearest strategy SGLang can run: `tp 8` (") and not r.verdict.correct


def test_the_search_leaves_sp_out_on_a_plan_whose_engine_cannot_run_it():
    plan = load_plan_text(plan_text(**MIXTRAL_SGLANG, strategy="strategy tp 8"))
    ranked = search(plan, top=5).ranked
    assert ranked and not [c.text for c in ranked if _has_sp(c.strategy)]
