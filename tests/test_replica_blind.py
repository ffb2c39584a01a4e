"""A capacity's trial on ranks that can neither run short of KV blocks nor refuse a request, recording no timeline,
counts no KV blocks (`DecodeBlocks.blind`, dagc.serve.replica): nothing reads them. Its run is the same as one that
counts them, bit for bit — every request's arrival, first token and end, each step's gap and tokens, the area."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dagc.lang.load import load_plan_text
from dagc.serve import replica as replica_module
from dagc.serve.load import simulate
from dagc.serve.step_prices import StepPrices
from dagc.verdict.check import check

ROOT = Path(__file__).resolve().parents[1]
INFLIGHT = (ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text()


def _plan(strategy: str, rate: float):
    text = INFLIGHT.replace("chunk = 8192", f"chunk = 8192\n  rate = {rate} requests/s  requests = 800")
    return load_plan_text(text[:text.index("strategy dep")] + f"strategy s = {strategy}\n")


@pytest.mark.parametrize("strategy", ["tp 1 ; ep 4", "tp 4"])
def test_a_blind_trial_is_the_run_that_counts_its_blocks(strategy, monkeypatch):
    plan = _plan(strategy, 5.5)
    (r,) = check(plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": None})}))
    prices = StepPrices(r.plan, r.strategy, r.layout)
    blind: list[tuple[bool, bool]] = []
    made = replica_module.Replica.run

    def run(self):
        blind.append((self.blocks.blind, self.syncs))
        return made(self)

    monkeypatch.setattr(replica_module.Replica, "run", run)
    trial = simulate(plan, r.strategy, r.layout, prices, watch=True)      # no watched requirement: it runs whole
    counted = simulate(plan, r.strategy, r.layout, prices)
    assert blind == [(True, False), (False, len(r.layout.group_requests(0)) > 1)]
    assert trial.timeline is None and counted.timeline is not None
    for a, b in ((trial.first_token, counted.first_token), (trial.finish, counted.finish), (trial.itl, counted.itl),
                 (trial.itl_weight, counted.itl_weight), (trial.preemptions, counted.preemptions)):
        assert np.array_equal(a, b)
    assert trial.area == counted.area and len(trial.finish) == 800
    assert float(np.nanmax(counted.timeline.kv_share)) > 0.0            # the run that counts them holds some
