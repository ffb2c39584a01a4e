"""report.json's `verdict.optimal_evidence` has the same keys whatever the verdict: a key that does not apply is null
or empty (outputs.md, "Keys are stable"); until 2026-12-03 `factor`, its band and the `best_*` keys were left out,
and a CI script's `d["factor"]` raised (2026-12-03)."""

from __future__ import annotations

import json

from dagc.cli.main import main
from conftest import plan_text

SMALL = plan_text(model='model preset "mixtral-8x7b"', cluster='cluster { gpus = 8  gpu preset "h100-sxm" }',
                  workload="workload { batch = 8  prompt = 512  generate = 64 }")


def _evidence(tmp_path, capsys, text: str) -> dict:
    plan = tmp_path / "p.moe"
    plan.write_text(text)
    main(["check", str(plan), "--format", "json"])
    return json.loads(capsys.readouterr().out)["verdict"]["optimal_evidence"]


def test_the_keys_are_the_same_for_not_optimal_optimal_and_not_judged(tmp_path, capsys):
    not_optimal = _evidence(tmp_path, capsys, SMALL.replace("strategy tp 8", "strategy tp 8 ; ep 8"))
    nothing_legal = _evidence(tmp_path, capsys, SMALL.replace("gpus = 8 ", "gpus = 1 ").replace("tp 8", "tp 1"))
    assert not_optimal["factor"] is not None and nothing_legal["best_strategy"] is None
    assert set(not_optimal) == set(nothing_legal)
    assert nothing_legal["factor"] is None and nothing_legal["within_error"] is None and nothing_legal["rejected_by"]
    assert not_optimal["rejected_by"] == [] and not_optimal["best_engine_refusals"] == []
