"""Which candidates the engine a plan chose does not start for want of KV cache (E732), as `check` says it.

Input: a `Plan`, a candidate's strategy, the workload it runs and its fast check (`dagc.verdict.fastcheck`: its
layout and memory). Output: whether the plan's engine refuses it with E732 (`dagc.launch.kv_start`). `check`
refuses such a strategy on a plan that chose its engine (`dagc.launch.engine_check`), once its memory is made; the
search leaves it out the same way, once its fast check has made that memory — an aggregated candidate in
`dagc.search.score`, each pool's instance of a disaggregated one in `dagc.search.pooled` and `pooled_max`, as
`dagc launch` judges each pool — and counts it among the rejected, so that it never ranks first what `check`
then calls not correct. On a plan that names no engine, or on `pytorch`, nothing is refused (`engine_judges`).

The engine's length limit (`dagc.serve.requests.length_limit`: the longest request the traffic sends) is the same
for every candidate of a workload's lengths: drawn once a search, not once a candidate.
"""

from __future__ import annotations

from ..launch.engine_check import engine_judges
from ..launch.kv_start import kv_starts_short
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Workload
from ..serve.requests import length_limit
from ..verdict.fastcheck import FastCheck

__all__ = ["kv_refused"]

# the length limit by what it reads of a workload: its traffic, prompt and generate, and the model's context
_LIMITS: dict[tuple[object, ...], int] = {}
_LIMITS_MAX = 16


def kv_refused(plan: Plan, strategy: Strategy, workload: Workload, fc: FastCheck) -> bool:
    """Whether the engine `plan` chose does not start `strategy` running `workload` (E732), its layout and memory
    those of its fast check `fc`; False on a plan that chose no engine with a launcher.

    Example (Qwen3-30B-A3B's 56.9 GiB of weights on one H200 under `memory <= 45 %`: no room for a request of
    40,500 tokens, `dagc.launch.kv_start`):
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.plan.printer import aggregated
        >>> from dagc.schedule.timer import Timer
        >>> from dagc.verdict.fastcheck import fast_check
        >>> text = ('model preset "qwen3-30b-a3b" cluster { gpus = 1 gpu preset "h200" ENGINE } '
        ...         'workload { batch = 8 prompt = 40000 generate = 500 serving = inflight } '
        ...         'require { memory <= 45 % } strategy tp 1')
        >>> def refused(t):
        ...     p, s = load_plan_text(t), aggregated(tp=1)
        ...     return kv_refused(p, s, p.workload, fast_check(p, s, p.workload, Timer(p)))
        >>> refused(text.replace("ENGINE", "engine = vllm")), refused(text.replace("ENGINE", ""))
        (True, False)
    """
    if not engine_judges(plan):
        return False
    w = strategy.workload_for(workload)
    key = (w.traffic, w.prompt, w.generate, plan.model.context_length)
    longest = _LIMITS.get(key)
    if longest is None:
        if len(_LIMITS) >= _LIMITS_MAX:
            _LIMITS.clear()
        longest = _LIMITS[key] = length_limit(w, plan.model.context_length)
    return kv_starts_short(plan, fc.layout, w, fc.memory, longest)
