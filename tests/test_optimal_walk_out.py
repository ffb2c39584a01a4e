"""The optimal verdict when the walk under the plan's traffic ran out (`SearchResult.known_first`): the candidates it
simulated, which missed, rank above those judged on the steady state alone, so "the search's best misses" does not
mean that none meets. A strategy that meets every requirement is not "optimal: yes" beside a better candidate that
meets them on the steady state and was never simulated (a new user's DeepSeek-V3 on 32 H200s under min-gpus, until
2026-12-03: `dp 4 < tp 8 ; ep 8 >` optimal on 32 GPUs, though its own check of a 24-GPU pair met every requirement)."""

from __future__ import annotations

from types import SimpleNamespace as N

from dagc.drive.drive import DriveOptions, drive
from dagc.export.optimal_words import optimal_note
from dagc.lang.load import load_plan_text
from dagc.verdict.optimal import Why, _claiming

DSV3 = """model preset "deepseek-v3"
cluster { gpus = 32  gpus_per_node = 8  gpu preset "h200"  inter_node = 50 GB/s  engine = sglang  price = 3.49 $/h }
workload { batch = 512  prompt = 3000  generate = 800  serving = inflight  rate = 6 requests/s  requests = 1000
           seed = 7 }
require { ttft_p99 <= 3 s  tpot_p90 <= 50 ms  memory <= 90 % }
objective = min-gpus
strategy nodes = dp 4 < tp 8 ; ep 8 >
"""


def test_claiming_is_the_first_steady_state_candidate_that_meets_and_beats_past_the_tolerance():
    def c(text: str, score: float, judged: str, meets: bool) -> N:
        return N(text=text, score=score, judged=judged, meets_requirements=meets)

    ranked = [c("simulated, missed", -16, "all", False), c("steady, misses", -16, "steady-state", False),
              c("simulated, met", -20, "all", True), c("steady, within", -31, "steady-state", True),
              c("steady, meets", -24, "steady-state", True)]
    # min-gpus: a score of −GPUs; 31 GPUs lies within 5 % of 32, 24 does not
    assert _claiming(ranked, -32.0, 0.05).text == "steady, meets"
    assert _claiming(ranked[:4], -32.0, 0.05) is None
    assert _claiming(ranked, -24.0, 0.05) is None       # as good as this strategy: none better


def test_a_walk_that_ran_out_leaves_optimal_not_judged_beside_an_unsimulated_better_claim():
    plan = load_plan_text(DSV3, name="dsv3.moe")
    (r,) = drive(plan, DriveOptions()).results
    ev = r.optimality
    assert r.verdict.meets_requirements is True and ev is not None
    assert r.verdict.optimal is None and ev.why is Why.BETTER_UNSIMULATED
    assert ev.best is not None and ev.best.judged != "all" and ev.best.meets_requirements and ev.best.gpus < 32
    note = optimal_note(ev, r)
    assert note.startswith(f"not judged: `{ev.best.text}` needs fewer GPUs ({ev.best.gpus} vs 32)"), note
    assert "it was judged on the steady state alone" in note
