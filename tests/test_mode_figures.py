"""Which of TTFT and TPOT a serving mode owns, and the figure an instance is weighed by (`dagc.layout.modes`)."""

from __future__ import annotations

from dagc.layout.modes import DECODE_POOL, IN_FLIGHT, PREFILL_POOL, STATIC, mode_of, pool_mode
from dagc.plan.workload import PoolRole, Workload
from dagc.verdict.pools import role_workload


def test_a_pool_instance_owns_its_own_figure_and_a_deployment_both():
    # a prefill instance of TTFT 0.25 s is weighed by it; a decode instance of TPOT 0.02 s by its TPOT
    assert PREFILL_POOL.own_figure(0.25, 0.02) == 0.25
    assert DECODE_POOL.own_figure(0.25, 0.02) == 0.02
    assert STATIC.own_figure(0.25, 0.02) == IN_FLIGHT.own_figure(0.25, 0.02) == 0.02
    assert [m.owns for m in (STATIC, IN_FLIGHT, PREFILL_POOL, DECODE_POOL)] == \
        [(True, True), (True, True), (True, False), (False, True)]


def test_a_prefill_instance_generates_its_first_token_alone():
    w = Workload(batch=8, prompt=100, generate=10, serving="inflight")
    assert pool_mode(PoolRole.PREFILL) is PREFILL_POOL and pool_mode(PoolRole.DECODE) is DECODE_POOL
    assert not PREFILL_POOL.decodes and DECODE_POOL.decodes and STATIC.decodes and IN_FLIGHT.decodes
    prefill, decode = (role_workload(w, role, 4) for role in (PoolRole.PREFILL, PoolRole.DECODE))
    assert (prefill.generate, decode.generate) == (1, 10)
    assert (mode_of(prefill), mode_of(decode)) == (PREFILL_POOL, DECODE_POOL)
