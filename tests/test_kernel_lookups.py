"""What the load simulation's exact step prices (`dagc.serve.step_prices.StepPrices`) look up once: each kernel of
the ops a timer prices (`dagc.cost.op_price.op_price`'s `raws`, kept by `dagc.schedule.timer_base.TimerCore`: the
decode ranks' kernels recur beside every chunk) and a step's shares of its workload and layout
(`dagc.layout.mix.shares`, asked by its chunk, its shapes' keys and its shapes) — each figure still the one looked
up afresh."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest

from dagc.cost import op_price as op_price_module
from dagc.cost.cost import _array_key
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan
from dagc.layout import mix
from dagc.layout.layout import resolve
from dagc.schedule.timer import Timer
from dagc.serve.step_prices import StepPrices

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
STEPS = [(n, p) for n in (3, 8, 16) for p in (0, 40, 200)]


class _Forgetful(dict):
    """A table of kernels' raw seconds that keeps none: every kernel looked up afresh."""

    def __setitem__(self, key, value):
        pass


def _strategy(plan):
    """The example's first strategy, `dep = tp 1 ; ep 4`: four attention-DP ranks, a chunk on the first."""
    return flatten(plan.strategies[0])[0]


def _prices(plan, timer: Timer) -> StepPrices:
    strategy = _strategy(plan)
    return StepPrices(plan, strategy, resolve(plan.model, plan.cluster, plan.workload, strategy), timer)


@pytest.fixture(scope="module")
def plan():
    return load_plan(EXAMPLES / "qwen3-30b-a3b-traffic.moe")


def test_a_kernel_recurring_in_the_ops_of_other_steps_is_looked_up_once(plan, monkeypatch):
    asked: collections.Counter[tuple[object, ...]] = collections.Counter()
    real = op_price_module.kernel_raw_s

    def counted(k, profile, lower=False):
        asked[k.cls, k.dtype, k.memory_op, k.launches, lower, tuple(map(_array_key, k.shape))] += 1
        return real(k, profile, lower)

    monkeypatch.setattr(op_price_module, "kernel_raw_s", counted)
    remembered = Timer(plan)
    figures = [_prices(plan, remembered).step(n, p) for n, p in STEPS]
    assert len(asked) > 50 and max(asked.values()) == 1
    asked.clear()
    afresh = Timer(plan)
    afresh.core.raws = _Forgetful()
    assert [_prices(plan, afresh).step(n, p) for n, p in STEPS] == figures
    assert max(asked.values()) > 1               # what the table saved: kernels the ops of other steps share


def test_a_step_asks_its_shares_once_and_each_workload_and_layout_gets_its_own(plan, monkeypatch):
    calls = []
    real = mix.shares_at

    def counted(workload, d, adp, dp):
        calls.append(d)
        return real(workload, d, adp, dp)

    monkeypatch.setattr(mix, "shares_at", counted)
    strategy = _strategy(plan)
    w1 = plan.workload.model_copy(update={"batch": 8, "batch_max": False})
    w2 = plan.workload.model_copy(update={"batch": 32, "batch_max": False, "prompt": 700})
    lay1, lay2 = (resolve(plan.model, plan.cluster, w, strategy) for w in (w1, w2))
    first = [mix.shares(w1, lay1) for _ in range(3)]
    assert len(calls) == 1 and all(s is first[0] for s in first)
    for w, lay in ((w2, lay2), (w1, lay2), (w2, lay1), (w1, lay1)):
        assert mix.shares(w, lay) == real(w, lay.requests_per_rank, lay.adp, lay.dp)
    assert len(calls) == 5 and np.unique(calls).size == 2
