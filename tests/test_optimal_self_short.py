"""The optimal verdict when the search's best is the checked strategy itself, which met every requirement on its
run under the traffic (the search does not bisect its rows' capacities) while its check, capacity included, finds
it short of the rate: not "`X` meets the requirements; this strategy does not" of X itself, but why nothing is
known of a better one (`Why.SELF_SHORT`). The plan: Qwen3-30B-A3B on 4 H200s replaying 150 long-context requests
(32,000 tokens on average) at 0.8 requests/s."""

from __future__ import annotations

from pathlib import Path

from dagc.drive.drive import DriveOptions, drive
from dagc.export.summary import optimal_note
from dagc.lang.load import strategy_option
from dagc.lang.overrides import load_plan_with
from dagc.verdict.optimal import Why

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "self_short"
PLAN = """model preset "qwen3-30b-a3b" { context_length = 131072 }
cluster { gpus = 4  gpu preset "h200" }
workload { batch = 32  prompt = 32000  generate = 850  serving = inflight  chunk = 8192
  requests from "longctx.csv" }
require { ttft_p99 <= 10 s  tpot_p90 <= 50 ms  goodput >= 0.3 requests/s }
strategy dep = tp 1 ; ep 4
"""


def test_the_best_that_is_this_strategy_and_falls_short_is_not_named_as_another(tmp_path):
    (tmp_path / "longctx.csv").write_bytes((FIXTURE / "longctx.csv").read_bytes())
    (tmp_path / "p.moe").write_text(PLAN)
    plan = load_plan_with(tmp_path / "p.moe", ["workload.rate=0.8 requests/s"])
    # the search's best (`tp 1 cp 2 ; ep 1 etp 2` until 2026-11-29, its experts' exchange left out of the DAG)
    strategy = strategy_option("tp 2 ; ep 2", plan)
    driven = drive(plan, DriveOptions(strategy=strategy, search=True))
    (r,) = driven.results
    assert r.verdict.meets_requirements is False and r.load is not None and not r.load.carries_traffic
    assert r.optimality is not None and r.optimality.why is Why.SELF_SHORT and r.verdict.optimal is None
    note = optimal_note(r)
    assert note.startswith("not judged: the search's best by tokens-per-gpu is this strategy, which met every "
                           "requirement on its run under the traffic")
    assert "this strategy does not" not in note
