"""Metrics of a scheduled DAG (SPEC 7): TTFT, TPOT, throughputs, bubble, time on the critical path.

Input: a `Dag`, its `Schedule`, the workload and the layout. Output: `Metrics`. `rate_metrics`
is the one formula from TTFT and TPOT to throughputs, shared with `dagc.serve.estimate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir.dag import Dag, OpKind, Phase
from ..layout.layout import Layout
from ..plan.workload import Workload
from ..schedule.schedule import PathBreakdown, Schedule

__all__ = ["Metrics", "metrics", "rate_metrics"]


def rate_metrics(ttft_s: float, tpot_s: float, workload: Workload, gpus: int, batch: int | None = None) -> dict:
    """TTFT, TPOT and the throughputs they imply, total and per GPU (SPEC 7), for the workload's
    batch or `batch` requests.

    Example:
        >>> from dagc.plan.workload import Workload
        >>> rate_metrics(2.0, 0.01, Workload(batch=10, prompt=100, generate=10), 5)["decode_tokens_per_s_per_gpu"]
        200.0
    """
    b, s, g = workload.batch if batch is None else batch, workload.prompt, workload.generate
    rates = {"prefill_tokens_per_s": b * s / ttft_s, "decode_tokens_per_s": b / tpot_s,
             "throughput_tokens_per_s": b * (s + g) / (ttft_s + g * tpot_s)}
    return {"ttft_s": ttft_s, "tpot_s": tpot_s, **rates, **{f"{k}_per_gpu": v / gpus for k, v in rates.items()}}


@dataclass(frozen=True)
class Metrics:
    rates: dict                    # rate_metrics(): ttft_s, tpot_s and the throughputs
    bubble_fraction: float
    prefill_path: PathBreakdown
    decode_path: PathBreakdown

    @property
    def ttft_s(self) -> float:
        return self.rates["ttft_s"]

    @property
    def tpot_s(self) -> float:
        return self.rates["tpot_s"]

    def to_json(self) -> dict:
        return {**self.rates, "bubble_fraction": self.bubble_fraction,
                "critical_path": {"prefill": self.prefill_path.to_json(), "decode": self.decode_path.to_json()}}




def _bubble(dag: Dag, idx: list[int], start: np.ndarray, finish: np.ndarray, makespan: float) -> float:
    """Share of stage-time during which a stage runs nothing (the pipeline bubble)."""
    if makespan <= 0:
        return 0.0
    idle = 0.0
    by_stage: dict[int, list[tuple[float, float]]] = {}
    began, ended, stage = start.tolist(), finish.tolist(), dag.stage     # Python floats: no numpy element reads
    for i in idx:
        by_stage.setdefault(stage[i], []).append((began[i], ended[i]))
    for spans in by_stage.values():
        spans.sort()
        busy = 0.0
        cur_s, cur_f = spans[0]   # a stage is listed only with a span
        for s, f in spans[1:]:
            if s > cur_f:
                busy += cur_f - cur_s
                cur_s, cur_f = s, f
            else:
                cur_f = max(cur_f, f)
        busy += cur_f - cur_s
        idle += makespan - busy
    return idle / (dag.pp * makespan)


def metrics(dag: Dag, sched: Schedule, workload: Workload, layout: Layout) -> Metrics:
    """TTFT (the prefill makespan), TPOT (the steady-state gap between a request's two decode
    tokens, the slowest micro-batch's), the throughputs, the bubble and the critical paths."""
    finish = sched.finish
    heads = {(dag.step[i], dag.mb[i]): i for i in dag.indices(Phase.DECODE) if dag.kind[i] is OpKind.LM_HEAD}
    tpot = max(float(finish[heads[(1, j)]] - finish[heads[(0, j)]]) for j in range(layout.microbatches))
    ttft = sched.prefill_path.makespan_s
    return Metrics(rates=rate_metrics(ttft, tpot, workload, layout.gpus_used),
                   bubble_fraction=_bubble(dag, dag.indices(Phase.PREFILL), sched.start, finish, ttft),
                   prefill_path=sched.prefill_path, decode_path=sched.decode_path)
