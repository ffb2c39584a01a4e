"""What a run's plan deployed, as the calibration file records it: the GPUs of each engine instance its strategy runs
(`instance_gpus`, the file's `instance_gpus`) and how it served its requests (`run_serving`, the file's
`runs[].serving`) — what W540 compares a plan's with (`dagc.rules.calibration.calibration_range`).

Input: a run's plan, lowered, its `--set` overrides applied. Output: those figures.
"""

from __future__ import annotations

from ..lang.flatten import flatten
from ..layout.layout import resolve
from ..plan.plan import Plan
from ..plan.strategy import Strategy

__all__ = ["instance_gpus", "run_serving"]


def _pools(plan: Plan) -> tuple[Strategy, tuple[Strategy, ...]] | None:
    """The plan's first strategy, flattened, and its pools' strategies (none when it is not disaggregated); None when
    it is not a strategy (its plan gives no figures: `calibrate` refused it)."""
    s, _ = flatten(plan.strategies[0], plan.cluster.gpus)
    if s is None:
        return None
    return s, tuple(p.strategy for p in s.pools) if s.disaggregated else ()


def instance_gpus(plan: Plan) -> list[int]:
    """The GPUs of each engine instance the plan's strategy runs: a data-parallel replica's, or each pool's
    instance's (W540 compares a plan's with a calibration's, `dagc.rules.calibration.calibration_range`)."""
    if (got := _pools(plan)) is None:
        return []
    s, pools = got
    if pools:
        return [resolve(plan.model, plan.cluster, plan.workload, x).gpus_used for x in pools]
    lay = resolve(plan.model, plan.cluster, plan.workload, s)
    return [lay.gpus_used // max(1, lay.dp)]


def run_serving(plan: Plan) -> str:
    """How the plan's strategy serves its requests (`dagc.plan.calibration.SERVINGS`): `disaggregated` prefill and
    decode pools, else its workload's `serving`, `inflight` (what `dagc calibrate` fits: it refuses a static plan,
    which no benchmark run measures) or `static`.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> text = ('model preset "mixtral-8x7b"  cluster {{ gpus = 8  gpu preset "h100-sxm" }}  '
        ...         'workload {{ batch = 8  prompt = 512  generate = 128  serving = inflight }}  strategy {}')
        >>> run_serving(load_plan_text(text.format("tp 8"))), run_serving(load_plan_text(text.format(
        ...     "prefill 1 < tp 4 > decode 1 < tp 4 >")))
        ('inflight', 'disaggregated')
    """
    got = _pools(plan)
    return "disaggregated" if got is not None and got[1] else plan.workload.serving.value
