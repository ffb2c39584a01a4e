"""Under `objective = cost` the optimal line and the Cost line each say their basis, and with a price the
optimal line speaks in $ per million tokens (dagc.export.optimal_words, dagc.export.techniques;
docs/language.md "objective")."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from dagc.export.optimal_words import gain, objective_text
from dagc.export.techniques import technique_lines
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check


def _evidence(best: dict[str, float], own: dict[str, float]) -> Any:
    return cast(Any, SimpleNamespace(best_figures=best, own_figures=own, objective="cost"))


def test_the_objective_figure_is_the_steady_states_and_in_dollars_with_a_price():
    # 36 GPUs at 120,260 tokens/s: 36 / 120,260 s per token = 0.08315 GPU-hours per million tokens; 64 GPUs at
    # 168,200: 0.1057; at 6.50 $/h, 0.5405 and 0.6870 $
    best = {"gpus": 36, "throughput_tokens_per_s": 120_260.0}
    own = {"gpus": 64, "throughput_tokens_per_s": 168_200.0}
    assert gain(_evidence(best, own)) == ("costs 1.27× less GPU time per token in the steady state, every request "
                                          "slot busy (0.08315 vs 0.1057 GPU-hours per million tokens)")
    assert gain(_evidence(best, own), 6.5) == ("costs 1.27× less per token in the steady state, every request slot "
                                               "busy (0.5405 vs 0.687 $ per million tokens at 6.50 $/h; 0.08315 vs "
                                               "0.1057 GPU-hours)")
    assert objective_text("cost", cast(Any, best), 6.5) == \
        "0.5405 $ per million tokens (0.08315 GPU-hours) in the steady state"


def test_the_cost_line_on_the_goodput_says_the_verdict_ranks_the_steady_state():
    text = ('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200"  engine = pytorch  price = 3 $/h } '
            "workload { batch = 64 prompt = 1000 generate = 200 serving = inflight rate = 2 requests/s "
            "requests = 100 } objective = {obj} strategy tp 8")
    by_cost = dict(technique_lines(check(load_plan_text(text.replace("{obj}", "cost")))[0]))["Cost"]
    assert "on its goodput under the plan's traffic" in by_cost
    assert by_cost.endswith("; the optimal verdict ranks by the steady state's cost instead (every request slot "
                            "busy, no queueing), the same for every traffic")
    by_default = dict(technique_lines(check(load_plan_text(text.replace("{obj}", "tokens-per-gpu")))[0]))["Cost"]
    assert "optimal verdict" not in by_default
