"""Seconds at a GPU's peak: lower bounds of ops' times that need neither a template nor a kernel table.

Input: a `Model`, a `Cluster`, token counts and a GPU count. Output: seconds no op can beat at 100 %
efficiency, for the bounds of the search (`dagc.schedule.recurrence`) and of the rules
(`dagc.rules.bounds`). An op's time is at least its FLOPs at the peak of its dtype on each rank, and
the slowest rank's at least the average rank's.
"""

from __future__ import annotations

from ..plan.cluster import Cluster
from ..plan.model import Model
from ..plan.params import ffn_params

__all__ = ["routed_experts_peak_s"]


def routed_experts_peak_s(model: Model, cluster: Cluster, tokens: float, gpus: int) -> float:
    """A lower bound of one MoE layer's routed-expert FFN for `tokens` tokens, each through its top-k
    experts, spread over `gpus` GPUs: the FLOPs of every assignment at the weights' peak on the
    average GPU (whatever the routing: no expert is assumed hit or missed).

    Example:
        >>> from dagc.verdict.check import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 128 generate = 8 } strategy tp 8')
        >>> # 2·4096·2·3·4096·14336 FLOPs on 8 GPUs of 989 TFLOP/s
        >>> round(routed_experts_peak_s(p.model, p.cluster, 4096, 8) * 1e6, 1)
        364.8
    """
    e = model.moe
    flops = 2.0 * tokens * e.top_k * ffn_params(model, e.ffn)
    return flops / (max(1, gpus) * cluster.gpu.peak_flops(model.weights))
